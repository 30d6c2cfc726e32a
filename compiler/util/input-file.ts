// The check every user-named input file goes through before it is read: it must exist and
// be a regular file (a FIFO or a device would block or never end), and a file whose size
// the kernel reports as 0 while it has content (/proc, /sys) is refused rather than read
// as empty.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { EdgeqError } from './errors.ts';

export function fileKind(path: string): string {
  const st = statSync(path);
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device'
    : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : st.isFile() ? 'a regular file' : 'not a regular file';
}

/** Throws an EdgeqError naming `path` unless it is a readable regular file of at most `maxBytes`. */
export function requireRegularFile(path: string, what: string, maxBytes = Number.MAX_SAFE_INTEGER): number {
  if (!existsSync(path)) throw new EdgeqError(`no such file (${what})`, { file: path });
  const st = statSync(path);
  if (!st.isFile()) throw new EdgeqError(`is ${fileKind(path)}; ${what} must be a regular file`, { file: path });
  if (st.size > maxBytes) throw new EdgeqError(`is ${st.size} bytes, more than ${maxBytes} for ${what}`, { file: path });
  if (st.size === 0) {
    const fd = openSync(path, 'r');
    try {
      if (readSync(fd, Buffer.alloc(1), 0, 1, 0) > 0) {
        throw new EdgeqError(`reports a size of 0 bytes but has content (a /proc or /sys file?); ${what} must be a regular file on disk`, { file: path });
      }
    } finally { closeSync(fd); }
  }
  return st.size;
}
