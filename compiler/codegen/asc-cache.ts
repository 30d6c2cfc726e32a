// A content cache for AssemblyScript builds (asc.ts). Compiling a runtime takes seconds to
// a minute; the test suite, the planner and `run --adapter` build the same runtimes again
// and again. An entry is found by what is known before compiling (asc's arguments, the
// in-memory sources, the versions of assemblyscript and binaryen, the root) and is valid
// only while every file the compile read from disk, and every directory it listed, is
// still the same: asc decides what to read while compiling, so those are recorded then
// and checked on each hit (like ccache's manifest mode). A changed kernel file therefore
// misses, never returns a stale runtime.
//
// Entries are single JSON files under <cache>/asc/, written atomically (temporary file +
// rename), so a crash never leaves a half-written entry; a damaged entry is a miss.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, sha256 } from '../engines/cache.ts';

export interface AscInputs {
  /** root-relative path → its text, or null when asc probed a file that does not exist. */
  files: Record<string, string | null>;
  /** absolute directory → the .ts names listed, or null when it did not exist. */
  listings: Record<string, string[] | null>;
}

interface Entry {
  files: Record<string, string | null>; // path → sha256 of the text (null: absent)
  listings: Record<string, string[] | null>;
  wasm: string; // base64
  wat?: string;
}

/** The versions of the compiler and the optimizer: a new one is a new cache. */
function toolVersions(): string {
  const version = (pkg: string) => {
    try {
      let dir = dirname(fileURLToPath(import.meta.resolve(pkg)));
      for (let i = 0; i < 4; i++, dir = dirname(dir)) {
        try { return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version as string; } catch { /* go up */ }
      }
    } catch { /* not resolvable */ }
    return 'unknown';
  };
  return `assemblyscript@${version('assemblyscript/asc')} binaryen@${version('binaryen')}`;
}
let versions: string | undefined;

const textHash = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

export function ascCacheKey(root: string, argv: string[], virtual: Map<string, string>): string {
  versions ??= toolVersions();
  const sources = [...virtual.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flat();
  return sha256('asc-cache-v1', versions, root, ...argv, '\0', ...sources);
}

const entryPath = (key: string) => join(cacheRoot(), 'asc', `${key}.json`);

function stillValid(e: Entry, root: string): boolean {
  for (const [path, hash] of Object.entries(e.files)) {
    let text: string | null = null;
    try { text = readFileSync(join(root, path), 'utf8'); } catch { /* absent */ }
    if ((text === null ? null : textHash(text)) !== hash) return false;
  }
  for (const [dir, names] of Object.entries(e.listings)) {
    let now: string[] | null = null;
    try { now = readdirSync(dir).filter((n) => n.endsWith('.ts')); } catch { /* absent */ }
    if (JSON.stringify(now) !== JSON.stringify(names)) return false;
  }
  return true;
}

export function lookupAscCache(key: string, root: string): { wasm: Uint8Array<ArrayBuffer>; wat?: string } | null {
  let e: Entry;
  try { e = JSON.parse(readFileSync(entryPath(key), 'utf8')); } catch { return null; }
  if (typeof e?.wasm !== 'string' || !e.files || !e.listings || !stillValid(e, root)) return null;
  const buf = Buffer.from(e.wasm, 'base64');
  const wasm = new Uint8Array(new ArrayBuffer(buf.length));
  wasm.set(buf);
  return { wasm, wat: e.wat };
}

export function storeAscCache(key: string, inputs: AscInputs, wasm: Uint8Array, wat?: string): void {
  const files: Entry['files'] = {};
  for (const [path, text] of Object.entries(inputs.files)) files[path] = text === null ? null : textHash(text);
  const entry: Entry = { files, listings: inputs.listings, wasm: Buffer.from(wasm).toString('base64'), ...(wat === undefined ? {} : { wat }) };
  const path = entryPath(key);
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, path);
  } catch {
    // A cache that cannot be written (read-only home, disk full) only costs speed.
    rmSync(tmp, { force: true });
  }
}
