#!/usr/bin/env node
// edgeq command-line entry. The sources are TypeScript, loaded through tsx so that
// `npx edgeq` works straight after `npm ci` with no build step to forget.
import { spawnSync } from 'node:child_process';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { register } from 'tsx/esm/api';

// glibc keeps freed blocks of up to 32 MB in its heap rather than returning them (its mmap
// threshold rises to the largest block freed). A compile frees the quantized tensors, tens
// of MB each, as they move into the artifact (compiler/bundle.ts): without a fixed threshold
// its peak RSS holds both (110M int8: 456 MB instead of 330; docs/benchmarks.md). glibc
// reads the setting at process start, so compile runs in a child that has it.
if (process.argv[2] === 'compile' && process.platform === 'linux' && process.env.MALLOC_MMAP_THRESHOLD_ === undefined) {
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, MALLOC_MMAP_THRESHOLD_: String(1 << 20) },
  });
  if (r.error) throw r.error;
  if (r.signal) process.kill(process.pid, r.signal);
  process.exit(r.status ?? 1);
}
// Node 20 crashes on large WebAssembly memories with V8's fast API calls on
// (see TOOLCHAIN-NOTES); turning them off costs nothing measurable.
v8.setFlagsFromString('--no-turbo-fast-api-calls');
// A full collection on request (compiler/util/collect.ts): the flag applies to contexts
// made from now on, so V8's gc function is taken from a new one.
v8.setFlagsFromString('--expose-gc');
globalThis.edgeqCollectGarbage = runInNewContext('gc');
let unregister = register();
// Large plain-JavaScript packages (binaryen, AssemblyScript) load 15x faster without tsx's
// loader in the way: compiler/util/heavy.ts imports them through this, on demand.
globalThis.edgeqImportPlain = async (specifier) => {
  await unregister();
  try { return await import(specifier); } finally { unregister = register(); }
};
// Output piped into `head` and closed early is not an error.
process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); throw e; });
const { main } = await import('../compiler/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
