#!/usr/bin/env node
/** The `hsa` command. Each subcommand lives in src/commands/. */
import { buildProgram } from './program.js';

buildProgram()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    const err = e as { code?: string; message?: string };
    console.error(`hsa: ${err.code ? `[${err.code}] ` : ''}${err.message ?? String(e)}`);
    process.exit(1);
  });
