// The per-bundle runtime generator and the lowering: only the kernels a program uses,
// SIMD only for SIMD targets, deterministic output; a static arena whose live slots never
// overlap; deterministic bundles.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateRuntimeSource, buildRuntime } from '../compiler/codegen/runtime.ts';
import { lowerInt8 } from '../compiler/lower/program.ts';
import { layoutArena } from '../compiler/lower/arena.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { parsePlan } from '../compiler/emit/from-quant.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import type { ArtifactConfig, ArtifactProgram } from '../compiler/emit/artifact-contents.ts';
import { BITS_LIST, GROUP_SIZES_LIST, NO_BITS, NO_GROUP, literally } from './helpers/formats.ts';

const tiny = { ...SHAPES.stories260K, nLayers: 1, seqLen: 32 };
const qm = quantizeInt8(synthWeights(tiny, 3));
const program = lowerInt8(qm);
const p = qm.params;
const config: ArtifactConfig = {
  dim: p.dim, hiddenDim: p.hiddenDim, nLayers: p.nLayers, nHeads: p.nHeads, nKvHeads: p.nKvHeads,
  vocabSize: p.vocabSize, seqLen: p.seqLen, sharedClassifier: true, headSize: p.dim / p.nHeads,
};
const without = (kind: string): ArtifactProgram => ({ ...program, ops: program.ops.filter((o) => o.kind !== kind) });
const names = (wasm: Uint8Array) => new TextDecoder('latin1').decode(wasm);

test('generated source: only the op kinds used; SIMD GEMV only on SIMD targets; deterministic', () => {
  const simd = generateRuntimeSource(config, program, { name: 'wasm32', simd: true });
  const scalar = generateRuntimeSource(config, program, { name: 'cortex-m', simd: false });
  assert.equal(simd.kinds, ['embed', 'rmsnorm', 'gemv', 'rope', 'attention', 'swiglu', 'residual_add', 'classifier', 'kv_store', 'requantize']);
  assert.ok(simd.functions.includes('runGemvSimd') && !simd.functions.includes('runGemv'));
  assert.ok(scalar.functions.includes('runGemv') && !scalar.functions.includes('runGemvSimd'));
  assert.not.match(scalar.source, /ops-simd/);
  assert.is(generateRuntimeSource(config, program, { name: 'wasm32', simd: true }).source, simd.source);
  const noSwiglu = generateRuntimeSource(config, without('swiglu'), { name: 'cortex-m', simd: false });
  assert.not.ok(noSwiglu.kinds.includes('swiglu'));
  assert.not.match(noSwiglu.source, /Swiglu/);
  assert.match(noSwiglu.source, /const DIM: u32 = 64;/);
});

test('an op kind without a kernel is refused by name', () => {
  const bad: ArtifactProgram = { ...program, ops: [...program.ops, { kind: 'copy', inputs: [], outputs: [], params: [] }] };
  assert.throws(() => generateRuntimeSource(config, bad, { name: 'x', simd: false }), (e: Error) => e instanceof EdgeqError && /"copy"/.test(e.message));
});

test("compiled: an unused op kind's kernel is not in the module; integer-only; deterministic", async () => {
  const opts = { optimize: 'none' as const, debugNames: true };
  const all = await buildRuntime(config, program, { name: 'cortex-m', simd: false }, opts);
  const noSwiglu = await buildRuntime(config, without('swiglu'), { name: 'cortex-m', simd: false }, opts);
  assert.match(names(all.wasm), /swigluQ16/);
  assert.not.match(names(noSwiglu.wasm), /swigluQ16/);
  assert.not.match(names(all.wasm), /v128|simd\/gemv_q8/);
  const simd = await buildRuntime(config, program, { name: 'wasm32', simd: true }, opts);
  assert.match(names(simd.wasm), /simd\/gemv_q8/);
  const again = await buildRuntime(config, without('swiglu'), { name: 'cortex-m', simd: false }, opts);
  assert.ok(Buffer.from(again.wasm).equals(Buffer.from(noSwiglu.wasm)));
});

test('arena: 16-aligned offsets, live slots never overlap, temporaries share space', () => {
  const n = program.ops.length;
  const life = program.slots.map(() => ({ first: Infinity, last: -Infinity }));
  program.ops.forEach((o, i) => {
    for (const r of [...o.inputs, ...o.outputs]) if (r.kind === 'slot') {
      life[r.index].first = Math.min(life[r.index].first, i);
      life[r.index].last = Math.max(life[r.index].last, i);
    }
  });
  const persistent = (name?: string) => /cache|logits/.test(name ?? '');
  program.slots.forEach((s, i) => { if (persistent(s.name)) life[i] = { first: 0, last: n }; });
  let total = 0;
  for (let i = 0; i < program.slots.length; i++) {
    const a = program.slots[i];
    assert.is(a.offset % 16, 0);
    assert.ok(a.offset + a.size <= program.arenaSize);
    total += a.size;
    for (let j = 0; j < i; j++) {
      const b = program.slots[j];
      const live = life[i].first <= life[j].last && life[j].first <= life[i].last;
      const overlap = a.offset < b.offset + b.size && b.offset < a.offset + a.size;
      assert.ok(!(live && overlap), `${a.name} and ${b.name} overlap while both live`);
    }
  }
  assert.ok(program.arenaSize < total, `arena ${program.arenaSize} >= sum of slots ${total}`);
  assert.equal(layoutArena([{ size: 20, first: 0, last: 1 }, { size: 16, first: 2, last: 3 }, { size: 1, first: 1, last: 2 }]),
    { offsets: [0, 0, 32], arenaSize: 48 });
});

test('plans: uniform:<8|6|5|4|3|2|1>[g<G>]; others refused naming what is supported (exit 2)', () => {
  assert.equal(parsePlan('uniform:8'), { kind: 'uniform', bits: 8, groupSize: 0, name: 'uniform:8' });
  assert.equal(parsePlan('uniform:4'), { kind: 'uniform', bits: 4, groupSize: 64, name: 'uniform:4g64' });
  assert.equal(parsePlan('uniform:2g32'), { kind: 'uniform', bits: 2, groupSize: 32, name: 'uniform:2g32' });
  // q6 admits only g32 (its int32 bound): the default group size follows the format.
  assert.equal(parsePlan('uniform:6'), { kind: 'uniform', bits: 6, groupSize: 32, name: 'uniform:6g32' });
  assert.equal(parsePlan('uniform:5'), { kind: 'uniform', bits: 5, groupSize: 64, name: 'uniform:5g64' });
  const cases: Array<[string, RegExp]> = [
    [`uniform:${NO_BITS}`, literally(`${NO_BITS}-bit weights are not supported; bits: ${BITS_LIST}`)],
    [`uniform:4g${NO_GROUP}`, literally(`group size ${NO_GROUP} is not supported; group sizes: ${GROUP_SIZES_LIST}`)],
    ['uniform:8g64', /int8 weights have per-row scales, no group size/],
    ['ewq', /unknown plan; use uniform:<bits>\[g<group size>\]/],
    ['', /unknown plan/],
  ];
  for (const [bad, why] of cases) {
    assert.throws(() => parsePlan(bad), (e: Error) => e instanceof EdgeqError && e.exitCode === 2 && why.test(e.message), bad);
  }
});

test('bundles are deterministic: same inputs, same bytes', async () => {
  const make = () => bundleFromQuant({
    model: qm, target: loadTarget('cortex-m'), plan: { kind: 'uniform', bits: 8 }, planName: 'uniform:8',
    sourceSha256: new Uint8Array(32).fill(7), sourcePath: '/some/dir/tiny.bin', vectors: 4,
  });
  const a = await make(), b = await make();
  for (const f of ['model.edgeq', 'runtime.wasm', 'manifest.json'] as const) {
    assert.ok(Buffer.from(a.files[f]).equals(Buffer.from(b.files[f])), f);
  }
  // The checkpoint's name is in the manifest only: another name, the same model.edgeq.
  assert.is(a.contents.metadata.sourceName, '');
  assert.is(JSON.parse(new TextDecoder().decode(a.files['manifest.json'])).source.name, 'tiny.bin');
  const renamed = await bundleFromQuant({
    model: qm, target: loadTarget('cortex-m'), plan: { kind: 'uniform', bits: 8 }, planName: 'uniform:8',
    sourceSha256: new Uint8Array(32).fill(7), sourcePath: '/elsewhere/renamed.bin', vectors: 4,
  });
  assert.ok(Buffer.from(renamed.files['model.edgeq']).equals(Buffer.from(a.files['model.edgeq'])), 'model.edgeq does not depend on the file name');
  assert.not.match(new TextDecoder().decode(a.files['manifest.json']), /\/some\/dir|T\d\d:\d\d/);
});

test.run();
