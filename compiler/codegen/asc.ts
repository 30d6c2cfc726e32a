// AssemblyScript → WebAssembly, in memory, through asc's programmatic API.
//
// Fixed choices, and why:
// - `--runtime stub`: the runtime allocates once (artifact + arena) and never frees; no GC.
// - `--use abort=`: AssemblyScript's abort() becomes `unreachable`, so the module imports
//   nothing it does not ask for (docs/runtime-abi.md; wasm2c hosts need no env.abort).
// - `--noAssert`: assertions would be dead weight; the verifier is what guards input.
// - Optimization is binaryen's, run by asc: -O3 (speed) or -Oz (size), with --converge.
//   binaryen.js is single-threaded, so its passes are deterministic; together with paths
//   made relative to a fixed root (they end up in internal names), the same sources give
//   the same bytes on any machine (test/asc.test.ts).
// - SIMD is a per-target choice: `simd: true` enables the proposal, `false` disables it
//   and a source that uses v128 fails to compile. Sources can branch on the compile-time
//   constant ASC_FEATURE_SIMD to share one file between both builds.
// - Builds are cached by content (asc-cache.ts): a runtime compiled once is not compiled
//   again while its sources, asc's arguments and the compiler's version stay the same.
import asc from 'assemblyscript/asc';
import { readFileSync, readdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { EdgeqError } from '../util/errors.ts';
import { ascCacheKey, lookupAscCache, storeAscCache, type AscInputs } from './asc-cache.ts';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

export interface AscOptions {
  /** Entry files, relative to `root` (or absolute paths inside it). */
  entries: string[];
  /** Enable WebAssembly SIMD (default false: the scalar build). */
  simd?: boolean;
  /** 'speed' (-O3, default), 'size' (-Oz) or 'none' (unoptimized, for debugging). */
  optimize?: 'speed' | 'size' | 'none';
  /** Re-run the optimizer until it stops improving (default true when optimizing). */
  converge?: boolean;
  /** Export the memory as "memory" (default true). */
  exportMemory?: boolean;
  /** Threads: atomics, and a shared memory imported as env.memory (needs maximumMemoryPages). */
  threads?: boolean;
  initialMemoryPages?: number;
  maximumMemoryPages?: number;
  /** Further features to disable, e.g. ['bulk-memory'] for an engine without them. */
  disable?: string[];
  /** Keep a name section with function names (for reports, e.g. float-check). */
  debugNames?: boolean;
  /** Also return the text format. */
  text?: boolean;
  /** Sources by path relative to `root`, used instead of (or in addition to) the disk. */
  sources?: Record<string, string>;
  /** Directory paths are relative to (default: the project root). */
  root?: string;
  /** Reuse an earlier build of the same inputs (default true; false compiles afresh). */
  cache?: boolean;
}

export interface AscResult {
  /** Backed by a plain ArrayBuffer, so it can go straight to WebAssembly.Module. */
  wasm: Uint8Array<ArrayBuffer>;
  wat?: string;
  /** The exact asc arguments used (for build logs and manifests). */
  argv: string[];
}

/** The asc command line for `opts` (without entry files). */
export function ascArgs(opts: AscOptions): string[] {
  const argv = ['--runtime', 'stub', '--use', 'abort=', '--noAssert', '--noColors'];
  const opt = opts.optimize ?? 'speed';
  if (opt === 'speed') argv.push('--optimizeLevel', '3', '--shrinkLevel', '0');
  if (opt === 'size') argv.push('--optimizeLevel', '2', '--shrinkLevel', '2');
  if (opt !== 'none' && (opts.converge ?? true)) argv.push('--converge');
  argv.push(opts.simd ? '--enable' : '--disable', 'simd');
  for (const f of opts.disable ?? []) argv.push('--disable', f);
  if (opts.exportMemory === false) argv.push('--noExportMemory');
  if (opts.threads) argv.push('--enable', 'threads', '--importMemory', '--sharedMemory');
  if (opts.initialMemoryPages !== undefined) argv.push('--initialMemory', String(opts.initialMemoryPages));
  if (opts.maximumMemoryPages !== undefined) argv.push('--maximumMemory', String(opts.maximumMemoryPages));
  if (opts.debugNames) argv.push('--debug');
  return argv;
}

/** Everything a compile of `opts` is determined by, resolved against its root. */
function resolveJob(opts: AscOptions) {
  const root = resolve(opts.root ?? PROJECT_ROOT);
  const rel = (p: string) => {
    const r = relative(root, isAbsolute(p) ? p : join(root, p));
    if (r.startsWith('..') || isAbsolute(r)) throw new EdgeqError(`AssemblyScript source ${p} is outside ${root}`);
    return r.split(sep).join('/');
  };
  const virtual = new Map(Object.entries(opts.sources ?? {}).map(([k, v]) => [rel(k), v]));
  const entries = opts.entries.map(rel);
  const argv = [...entries, ...ascArgs(opts), '--outFile', 'out.wasm', ...(opts.text ? ['--textFile', 'out.wat'] : [])];
  const publicArgv = argv.filter((a) => a !== 'out.wasm' && a !== 'out.wat' && a !== '--outFile' && a !== '--textFile');
  return { root, rel, virtual, entries, argv, publicArgv };
}

/** An earlier build of exactly `opts` from the cache, or null (no compiling). */
export function cachedAssemblyScript(opts: AscOptions): AscResult | null {
  const { root, virtual, argv, publicArgv } = resolveJob(opts);
  const hit = lookupAscCache(ascCacheKey(root, argv, virtual), root);
  return hit && { wasm: hit.wasm, ...(opts.text ? { wat: hit.wat } : {}), argv: publicArgv };
}

/** Compiles AssemblyScript sources to a wasm module, entirely in memory. */
export async function compileAssemblyScript(opts: AscOptions): Promise<AscResult> {
  const { root, rel, virtual, entries, argv, publicArgv } = resolveJob(opts);
  const key = opts.cache === false ? null : ascCacheKey(root, argv, virtual);
  const hit = key && lookupAscCache(key, root);
  if (hit) return { wasm: hit.wasm, ...(opts.text ? { wat: hit.wat } : {}), argv: publicArgv };

  // What the compile reads from disk (and the directories it lists): the cache entry is
  // valid while these stay the same.
  const inputs: AscInputs = { files: {}, listings: {} };
  const outputs = new Map<string, Uint8Array | string>();
  let stderr = '';
  const result = await asc.main(argv, {
    // asc's baseDir is '.', which we take to mean `root`, not the process's cwd.
    readFile(name, baseDir) {
      const path = rel(join(resolve(root, baseDir), name));
      if (virtual.has(path)) return virtual.get(path)!;
      let text: string | null = null;
      try { text = readFileSync(join(root, path), 'utf8'); } catch { /* asc probes several names */ }
      inputs.files[path] = text;
      return text;
    },
    writeFile(name, contents) { outputs.set(name, contents); },
    listFiles(dirname, baseDir) {
      const dir = resolve(root, baseDir, dirname);
      let names: string[] | null = null;
      try { names = readdirSync(dir).filter((n) => n.endsWith('.ts')); } catch { /* no such directory */ }
      inputs.listings[dir] = names;
      return names;
    },
    stdout: { write() {} },
    stderr: { write(chunk) { stderr += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk); } },
  });
  if (result.error || !outputs.has('out.wasm')) {
    throw new EdgeqError(`AssemblyScript compilation of ${entries.join(', ')} failed:\n${stderr || result.error?.message}`);
  }
  const out = outputs.get('out.wasm')!;
  const wasm = typeof out === 'string' ? new TextEncoder().encode(out) : new Uint8Array(out);
  const watOut = outputs.get('out.wat');
  const wat = watOut === undefined ? undefined : typeof watOut === 'string' ? watOut : new TextDecoder().decode(watOut);
  if (key) storeAscCache(key, inputs, wasm, wat);
  return { wasm, ...(opts.text ? { wat } : {}), argv: publicArgv };
}
