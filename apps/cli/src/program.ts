/** The `hsa` command tree (main.ts parses argv with it; tests call it in-process). */
import { Command } from 'commander';
import { registerDoctor } from './commands/doctor.js';
import { registerEval } from './commands/eval.js';
import { registerGenerate } from './commands/generate.js';
import { registerInspect } from './commands/inspect.js';
import { registerLogits } from './commands/logits.js';
import { registerNeedle } from './commands/needle.js';
import { registerTrain } from './commands/train.js';

export function buildProgram(): Command {
  const program = new Command();
  program.name('hsa').description('HSA-UltraLong: ultra-long-context language models on WebGPU and the CPU').version('0.1.0');
  registerDoctor(program);
  registerEval(program);
  registerGenerate(program);
  registerInspect(program);
  registerLogits(program);
  registerNeedle(program);
  registerTrain(program);
  return program;
}
