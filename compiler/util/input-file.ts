// Every file edgeq reads from the user goes through here first: it must be a regular file
// (not a directory, FIFO, device or socket — a FIFO would block forever, /dev/zero would
// grow memory without limit) and no larger than its format allows. Problems are EdgeqError
// (exit 1) naming the file and saying what was expected.
import { closeSync, openSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import { EdgeqError } from './errors.ts';

/** 4 GiB: more than any checkpoint or bundle file edgeq handles (stories110M is 440 MB). */
export const MAX_INPUT_BYTES = 2 ** 32;

/** What kind of thing `s` is, in words, for "is a FIFO, expected …" messages. */
export function fileKind(s: Stats): string {
  if (s.isFile()) return 'a regular file';
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'neither a file nor a directory';
}

/** The one-line message for a failed stat/open of an input, by errno. */
export function inputErrnoMessage(e: NodeJS.ErrnoException, what: string): string {
  switch (e.code) {
    case 'ENOENT': return `no such file or directory (expected ${what})`;
    case 'ENOTDIR': return `a part of the path is not a directory (expected ${what})`;
    case 'ELOOP': return `too many levels of symbolic links (a symlink loop?) (expected ${what})`;
    case 'EACCES': case 'EPERM': return `permission denied (cannot read ${what})`;
    case 'ENAMETOOLONG': return 'file name too long';
    default: return `cannot read ${what}: ${e.code ?? e.message}`;
  }
}

/**
 * Checks, without opening it, that `path` is a regular file of at most `maxBytes` bytes
 * (and at least `minBytes`); returns its size. `what` names the expected content, e.g.
 * "a llama2.c checkpoint (.bin)".
 */
export function checkInputFile(path: string, what: string, o: { maxBytes?: number; minBytes?: number } = {}): number {
  if (path === '') throw new EdgeqError(`an empty path was given where ${what} was expected`, {}, 2);
  let s: Stats;
  try { s = statSync(path); } catch (e) { throw new EdgeqError(inputErrnoMessage(e as NodeJS.ErrnoException, what), { file: path }); }
  if (!s.isFile()) throw new EdgeqError(`is ${fileKind(s)}, expected ${what} (a regular file)`, { file: path });
  const max = o.maxBytes ?? MAX_INPUT_BYTES;
  if (s.size > max) throw new EdgeqError(`is ${s.size} bytes, more than ${max} bytes, the most ${what} can be`, { file: path });
  // /proc and /sys files report 0 bytes and have content: refuse them rather than read them as empty.
  if (s.size === 0 && hasContent(path)) throw new EdgeqError(`reports a size of 0 bytes but has content (a /proc or /sys file?); expected ${what} on disk`, { file: path });
  if (o.minBytes !== undefined && s.size < o.minBytes) throw new EdgeqError(`is ${s.size} bytes, too small for ${what} (at least ${o.minBytes} bytes)`, { file: path });
  return s.size;
}

function hasContent(path: string): boolean {
  const fd = openSync(path, 'r');
  try { return readSync(fd, new Uint8Array(1), 0, 1, 0) > 0; } finally { closeSync(fd); }
}

/** checkInputFile, then the whole file (read bounded by the size just checked). */
export function readInputFile(path: string, what: string, o: { maxBytes?: number; minBytes?: number } = {}): Buffer {
  checkInputFile(path, what, o);
  let bytes: Buffer;
  try { bytes = readFileSync(path); } catch (e) { throw new EdgeqError(inputErrnoMessage(e as NodeJS.ErrnoException, what), { file: path }); }
  // The file may have been swapped between the check and the read; the bound still holds.
  if (bytes.length > (o.maxBytes ?? MAX_INPUT_BYTES)) throw new EdgeqError(`grew while being read (expected ${what})`, { file: path });
  return bytes;
}
