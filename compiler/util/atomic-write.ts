// Every file edgeq produces is written through here: to a temporary file in the same
// directory, fsync'd, then renamed over the target. A crash at any moment leaves either
// the old file or the new one, never a torn one.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A file being written in pieces; nothing is visible at `path` until `commit()`. */
export interface AtomicFile {
  /** Appends all of `data`. */
  write(data: Uint8Array): void;
  /** Bytes appended so far. */
  readonly bytesWritten: number;
  /** fsync, rename over the target, fsync the directory. */
  commit(): void;
  /** Closes and deletes the temporary file; safe to call after a failed write or twice. */
  abort(): void;
}

/**
 * Streaming atomic write, for outputs too big to build in memory (a 440 MB checkpoint).
 * Use as: `const f = openAtomic(p); try { ...f.write(..); f.commit(); } catch (e) { f.abort(); throw e; }`.
 */
export function openAtomic(path: string, mode = 0o644): AtomicFile {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd = openSync(tmp, 'w', mode);
  let written = 0;
  let done = false;
  return {
    get bytesWritten() { return written; },
    write(data: Uint8Array) {
      if (done) throw new Error(`internal: write after commit/abort of ${path}`);
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, Math.min(data.length - off, 1 << 24));
      written += data.length;
    },
    commit() {
      if (done) throw new Error(`internal: commit after commit/abort of ${path}`);
      fsyncSync(fd);
      closeSync(fd);
      fd = -1;
      renameSync(tmp, path);
      done = true;
      fsyncDir(dir); // make the rename itself durable
    },
    abort() {
      if (fd >= 0) { try { closeSync(fd); } catch { /* already failing */ } fd = -1; }
      if (!done) rmSync(tmp, { force: true });
      done = true;
    },
  };
}

export function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): void {
  const f = openAtomic(path, mode);
  try {
    f.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    f.commit();
  } catch (e) {
    f.abort();
    throw e;
  }
}

/**
 * Writes and fsyncs a file that is not yet visible under its final name (a file inside a
 * temporary directory that will be renamed into place), so the rename publishes data that
 * is already on disk.
 */
export function writeFileDurable(path: string, data: Uint8Array): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, Math.min(data.length - off, 1 << 24));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncs a directory so that renames into or inside it are durable (best effort). */
export function fsyncDir(dir: string): void {
  try {
    const dfd = openSync(dir, 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* some filesystems refuse fsync on directories */ }
}
