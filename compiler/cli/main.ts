// `edgeq` command line. Each command lives in ./commands/<name>.ts and registers itself
// on the program; this file only wires them together and turns errors into exit codes.
import { Command, CommanderError } from 'commander';
import { EdgeqError } from '../util/errors.ts';
import { COMMANDS } from './commands/index.ts';
import { VERSION } from '../version.ts';
import { heavyPackagesPending, loadHeavyPackages } from '../util/heavy.ts';

export async function main(argv: string[]): Promise<number> {
  // --debug (anywhere) or EDGEQ_DEBUG=1: stack traces for every error.
  const debug = argv.includes('--debug') || process.env.EDGEQ_DEBUG === '1';
  argv = argv.filter((a) => a !== '--debug');
  const program = new Command('edgeq')
    .description('Compile trained LLaMA-family transformers into integer-only WebAssembly bundles for edge devices.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText('after', '\nExit codes: 0 done, 1 bad input or an I/O problem (missing, read-only, disk full…), 2 usage error,\n70 internal error (a bug). --debug (or EDGEQ_DEBUG=1) adds stack traces to errors.');
  // Load only the command being run; `edgeq`, `edgeq --help` and `edgeq help` list the
  // summaries without loading any command module.
  const words = argv.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  const entry = COMMANDS.find((c) => c.name === name);
  // A command that loads binaryen gets it outside the TypeScript loader first (~2 s, not ~34 s).
  if (entry?.heavy && !argv.some((a) => a === '--help' || a === '-h') && words[0] !== 'help') {
    if (heavyPackagesPending()) process.stderr.write(`edgeq ${entry.name}: loading the compiler\n`);
    await loadHeavyPackages();
  }
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
    if (err && err.code === 'EPIPE') return 0; // stdout closed (e.g. piped into head)
    const io = ioErrorLine(e);
    if (io !== null) {
      process.stderr.write(`edgeq: error: ${io}\n`);
      if (debug) process.stderr.write(`${err.stack}\n`);
      return 1;
    }
    process.stderr.write(`edgeq: internal error (a bug; please report it): ${describe(e)}\n`);
    process.stderr.write(debug ? `${(e as Error)?.stack ?? e}\n` : '(run with --debug or EDGEQ_DEBUG=1 for the stack trace)\n');
    return 70;
  }
}

/** The words for the I/O conditions a user meets (exit 1); anything else is a bug. */
const IO_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device (disk full)',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'is a directory, expected a file',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links (a symlink loop?)',
  ENAMETOOLONG: 'file name too long',
  EEXIST: 'already exists',
  ENOTEMPTY: 'directory not empty',
  EXDEV: 'cannot move across file systems',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  ETXTBSY: 'file busy',
  EBUSY: 'resource busy',
};

/** "<path>: <what happened>" for an operating-system I/O error, else null. */
export function ioErrorLine(e: unknown): string | null {
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err !== 'object' || typeof err.code !== 'string' || !Object.hasOwn(IO_ERRORS, err.code)) return null;
  const path = err.path ?? (err as { dest?: string }).dest;
  return `${path !== undefined ? `${path}: ` : ''}${IO_ERRORS[err.code]}${err.syscall ? ` (${err.syscall})` : ''}`;
}

/** One line for anything thrown: an Error's message, or a non-Error value as JSON-ish text (never "[object Object]"). */
export function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  if (typeof e === 'object' && e !== null) {
    try { return JSON.stringify(e); } catch { /* cyclic */ }
  }
  return String(e);
}
