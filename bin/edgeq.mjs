#!/usr/bin/env node
// edgeq command-line entry. The sources are TypeScript, loaded through tsx so that
// `npx edgeq` works straight after `npm ci` with no build step to forget.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { register } from 'tsx/esm/api';

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
