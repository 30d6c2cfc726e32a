// Every CLI command, in the order `edgeq --help` lists them. Add a command by writing
// ./<name>.ts exporting `register(program)` and listing it here.
import type { Command } from 'commander';
import { register as inspect } from './inspect.ts';
import { register as synth } from './synth.ts';
import { register as run } from './run.ts';
import { register as compile } from './compile.ts';
import { register as evalCommand } from './eval.ts';
import { register as keygen } from './keygen.ts';
import { register as verify } from './verify.ts';
import { register as flash } from './flash.ts';

export const COMMANDS: Array<(program: Command) => void> = [
  inspect,
  synth,
  compile,
  run,
  evalCommand,
  keygen,
  verify,
  flash,
];
