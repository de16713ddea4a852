#!/usr/bin/env node
/** The `hsa` command. Each subcommand lives in src/commands/. */
import { Command } from 'commander';
import { registerDoctor } from './commands/doctor.js';

const program = new Command();
program.name('hsa').description('HSA-UltraLong: ultra-long-context language models on WebGPU and the CPU').version('0.1.0');
registerDoctor(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e as { code?: string; message?: string };
  console.error(`hsa: ${err.code ? `[${err.code}] ` : ''}${err.message ?? String(e)}`);
  process.exit(1);
});
