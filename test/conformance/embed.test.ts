// The embedded build (compiler/engines/embed.ts, docs/runtime-abi.md): the artifact as a
// data segment plus `selftest_embedded()`, on the stub runtime (fast, no model): the same
// hashes as the ordinary reserve/load path, with load_at and with the passive-segment
// fallback for a runtime without it; the runtime's other data stays intact.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import binaryen from 'binaryen';
import { embedArtifact } from '../../compiler/engines/embed.ts';
import { writeArtifact } from '../../compiler/emit/artifact.ts';
import { compileAssemblyScript } from '../../compiler/codegen/asc.ts';
import { fixtureContents } from '../helpers/artifact-fixture.ts';
import { STUB_RUNTIME_SOURCE, compileStubRuntime } from '../helpers/stub-runtime.ts';
import { stories260KBundle } from '../helpers/bundle.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const t = suite('conformance: embedded build');
const artifact = writeArtifact(fixtureContents());

async function instantiate(wasm: Uint8Array) {
  const printed: Array<[number, bigint]> = [];
  const { instance } = await WebAssembly.instantiate(new Uint8Array(wasm), { host: { print: (p: number, h: bigint) => { printed.push([p, BigInt.asUintN(64, h)]); } } });
  return { ex: instance.exports as Record<string, CallableFunction> & { memory: WebAssembly.Memory }, printed };
}

async function viaReserve(wasm: Uint8Array) {
  const { ex, printed } = await instantiate(wasm);
  const ptr = ex.reserve(artifact.length) as number;
  new Uint8Array(ex.memory.buffer, ptr, artifact.length).set(artifact);
  assert.is(ex.load(artifact.length), 0);
  assert.is(ex.selftest(), 0);
  return printed;
}

function withoutExport(wasm: Uint8Array, name: string): Uint8Array {
  const m = binaryen.readBinaryWithFeatures(wasm, binaryen.Features.All);
  try { m.removeExport(name); return m.emitBinary(); } finally { m.dispose(); }
}

t('load_at: an active segment above the module\'s data; same hashes as reserve + load', async () => {
  const rt = await compileStubRuntime();
  const e = embedArtifact(rt, artifact);
  assert.is(e.mode, 'load_at');
  assert.is(e.address % 65536, 0);
  assert.ok(e.address > 0);
  const { ex, printed } = await instantiate(e.wasm);
  assert.equal(Array.from(new Uint8Array(ex.memory.buffer, e.address, artifact.length)), Array.from(artifact));
  assert.is(ex.selftest_embedded(), 0);
  assert.equal(printed, await viaReserve(rt));
  assert.is(printed.length, 8);
});

t('no load_at: passive segment copied through reserve + memory.init, same hashes', async () => {
  const rt = withoutExport(await compileStubRuntime(), 'load_at');
  const e = embedArtifact(rt, artifact, { onlySelftestExport: true });
  assert.is(e.mode, 'reserve+memory.init');
  const { ex, printed } = await instantiate(e.wasm);
  assert.equal(Object.keys(ex).sort(), ['memory', 'selftest_embedded']);
  assert.is(ex.selftest_embedded(), 0);
  assert.equal(printed, await viaReserve(await compileStubRuntime()));
});

t('a runtime with static data keeps it: the artifact goes above every segment', async () => {
  const src = `${STUB_RUNTIME_SOURCE}\nconst GREETING = "static data that must survive";\nexport function greeting(): usize { return changetype<usize>(GREETING); }\n`;
  const rt = (await compileAssemblyScript({ entries: ['s.ts'], sources: { 's.ts': src } })).wasm;
  const e = embedArtifact(rt, artifact);
  const { ex } = await instantiate(e.wasm);
  const p = ex.greeting() as number;
  assert.ok(p < e.address);
  const len = new Uint32Array(ex.memory.buffer, p - 4, 1)[0];
  assert.is(Buffer.from(new Uint8Array(ex.memory.buffer, p, len)).toString('utf16le'), 'static data that must survive');
  assert.is(ex.selftest_embedded(), 0);
});

t('the real runtime: a refused artifact makes selftest_embedded return -(verifier code)', async () => {
  const dir = await stories260KBundle('wasm32', 16);
  const rt = readFileSync(join(dir, 'runtime.wasm'));
  const good = new Uint8Array(readFileSync(join(dir, 'model.edgeq')));
  const ok = await instantiate(embedArtifact(rt, good).wasm);
  assert.is(ok.ex.selftest_embedded(), 0);
  assert.is(ok.printed.length, 16);
  const bad = good.slice();
  bad[4] ^= 0xff; // the file identifier "EDGQ"
  const r = await instantiate(embedArtifact(rt, bad).wasm);
  const code = r.ex.selftest_embedded() as number;
  assert.ok(code < 0 && code > -64, `verifier code, got ${code}`);
  assert.is(r.printed.length, 0);
});

t.run();
