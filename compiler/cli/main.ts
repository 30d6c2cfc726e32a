// `edgeq` command line. Each command lives in ./commands/<name>.ts and registers itself
// on the program; this file only wires them together and turns errors into exit codes.
import { Command, CommanderError } from 'commander';
import { EdgeqError } from '../util/errors.ts';
import { COMMANDS } from './commands/index.ts';
import { VERSION } from '../version.ts';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('edgeq')
    .description('Compile trained LLaMA-family transformers into integer-only WebAssembly bundles for edge devices.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  // Load only the command being run; `edgeq`, `edgeq --help` and `edgeq help` list the
  // summaries without loading any command module.
  const words = argv.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  const entry = COMMANDS.find((c) => c.name === name);
  for (const c of COMMANDS) {
    if (c === entry) (await c.load()).register(program);
    else program.command(c.name).summary(c.summary).description(c.summary);
  }
  program.commands.forEach((c) => c.exitOverride());
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; real usage errors were already printed.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof EdgeqError) {
      process.stderr.write(`edgeq: error: ${e.message}\n`);
      return e.exitCode;
    }
    const err = e as NodeJS.ErrnoException;
    if (err && err.code === 'ENOENT' && err.path) {
      process.stderr.write(`edgeq: error: ${err.path}: no such file or directory\n`);
      return 1;
    }
    if (err && err.code === 'EPIPE') return 0; // stdout closed (e.g. piped into head)
    process.stderr.write(`edgeq: internal error (a bug; please report it):\n${(e as Error)?.stack ?? e}\n`);
    return 70;
  }
}
