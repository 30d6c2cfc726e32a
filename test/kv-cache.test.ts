// The quantized KV cache (--kv, compiler/quantize/kv-cache.ts; ops kv_store_q/attention_q,
// docs/integer-spec.md §3.7.1): the format syntax, its bytes against hand arithmetic and
// against the lowering's slots, the program interpreter equal to IntTransformer for each
// format (the window wrapping inside the positions run), the artifact recording the format
// (and k12v8 writing nothing, so old bundles keep their bytes), scalar and SIMD runtimes
// passing the conformance vectors per format, and fine-tuning refusing it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveModels, model } from './helpers/models.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { lowerInt8 } from '../compiler/lower/program.ts';
import { emitArtifact, parsePlan } from '../compiler/emit/from-quant.ts';
import { readArtifact } from '../compiler/emit/artifact-read.ts';
import { IntTransformer } from '../runtime/reference/model.ts';
import { ProgramInterpreter } from '../compiler/engines/program-interpreter.ts';
import { anchorSlots, kvCacheBytes, parseKvFormat, kvFormatName, KV_SLOT_NAME } from '../compiler/quantize/kv-cache.ts';
import { trainBaseIndices } from '../compiler/codegen/train-runtime.ts';
import { parseContext, withContext } from '../compiler/plan/context.ts';
import type { QuantModel } from '../compiler/quantize/quant-model.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { WasmRuntime } from '../compiler/engines/wasm-runtime.ts';
import { generateRuntimeSource } from '../compiler/codegen/runtime.ts';

test('--kv syntax: names round-trip; bad ones are usage errors naming the syntax', () => {
  for (const s of ['k12v8', 'k8v8', 'k4v4', 'k2v2,w32', 'k4v2,w1', 'k8v4', 'k2v2,w16,anchors=1%', 'k4v4,w1,anchors=0.5%', 'k4v4,rot', 'k4v4,w32,rot', 'k2v2,w32,anchors=1%,rot']) assert.is(kvFormatName(parseKvFormat(s)), s);
  assert.is(parseKvFormat('k4v4,w32,rot').rot, true);
  assert.is(parseKvFormat('k4v4,w32').rot, false);
  // rot comes last, and only on the quantized cache.
  for (const s of ['k3v3', 'k4', 'k12v4', 'k4v4,w', 'k4v4,w5000', 'K4V4', 'k12v8,rot', 'k4v4,rot,w32', 'k4v4,w32,rot,rot', 'k4v4,w32,rotate']) {
    assert.throws(() => parseKvFormat(s), (e: Error) => /k<8\|4\|2>v<8\|4\|2>/.test(e.message) || /over 4096/.test(e.message), s);
  }
  assert.throws(() => parseKvFormat('k2v2,anchors=1%'), /anchors need a window/);
  // K blocks (§3.7.3): after the window, before anchors; the block must divide the window.
  for (const s of ['k2v2,w32,kblock=8', 'k4v4,w32,kblock=32', 'k2v2,w32,kblock=8,anchors=1%,rot']) assert.is(kvFormatName(parseKvFormat(s)), s);
  assert.is(parseKvFormat('k2v2,w32,kblock=8').kBlock, 8);
  assert.is(parseKvFormat('k2v2,w32').kBlock, 0);
  for (const s of ['k2v2,kblock=8', 'k2v2,w30,kblock=8', 'k2v2,w32,kblock=0', 'k2v2,w8,kblock=16']) assert.throws(() => parseKvFormat(s), /kblock=\d+ needs a window \(,w<W>\) that is a multiple of it/, s);
  for (const s of ['k2v2,w32,anchors=1%,kblock=8', 'k2v2,w32,kblock=', 'k2v2,w32,kblock=-8', 'k12v8,w32,kblock=8']) assert.throws(() => parseKvFormat(s), /k<8\|4\|2>v<8\|4\|2>/, s);
  for (const s of ['k2v2,w8,anchors=0%', 'k2v2,w8,anchors=101%']) assert.throws(() => parseKvFormat(s), /percent in \(0, 100\]/, s);
  // Slots per kv head: ceil(P% of S), in integers (7% of 100 is 7 slots, not 8).
  assert.is(anchorSlots(parseKvFormat('k2v2,w8,anchors=7%'), 100), 7);
  assert.is(anchorSlots(parseKvFormat('k2v2,w8,anchors=1%'), 256), 3);
  assert.is(anchorSlots(parseKvFormat('k2v2,w8,anchors=100%'), 10), 10);
});

test('cache bytes of the stories15M shape at 256 positions (6 layers, 6 kv heads of 48), by hand', () => {
  const shape = { nLayers: 6, nKvHeads: 6, headSize: 48, seqLen: 256 };
  // Values: 6 layers × 256 positions × 288 values × (K + V); scales: 3 bytes per (layer, position, head) each for K and V.
  const values = 6 * 256 * 288, scales = 6 * 256 * 6 * 3 * 2;
  assert.is(kvCacheBytes(parseKvFormat('k12v8'), shape), values * 3 + scales); // 1,382,400
  assert.is(kvCacheBytes(parseKvFormat('k4v4'), shape), values + scales); // 497,664 <= 0.5 MB
  assert.is(kvCacheBytes(parseKvFormat('k2v2'), shape), values / 2 + scales); // 276,480 <= 0.3 MB
  // A window of 32 adds 32 int8 rows of K and V and their scales per layer.
  assert.is(kvCacheBytes(parseKvFormat('k4v4,w32'), shape), values + scales + 6 * 32 * 288 * 2 + 6 * 32 * 6 * 3 * 2);
  // anchors=1% of 256: 3 slots per kv head, i.e. 3 more int8 rows (with scales) after the
  // window's 16, and the int32 state: scores and slot map [256, 6], slot table [3, 6].
  assert.is(kvCacheBytes(parseKvFormat('k2v2,w16,anchors=1%'), shape),
    values / 2 + scales + 6 * 19 * 288 * 2 + 6 * 19 * 6 * 3 * 2 + 6 * 4 * (2 * 256 + 3) * 6);
  // K blocks of 8 (§3.7.3): K's scale rows are the 32 blocks' and the window's (3 bytes per kv
  // head each), plus (lo, step), 4 bytes, per (block, channel); V keeps its per-position scales.
  assert.is(kvCacheBytes(parseKvFormat('k2v2,w32,kblock=8'), shape),
    values / 2 + 6 * 32 * 288 * 2 + 6 * (256 + 32) * 6 * 3 + 6 * (32 + 32) * 6 * 3 + 6 * 32 * 288 * 4); // 590,976
  // Blocks of 32 (the bench's and the byte goal's 4-bit format): 8 blocks' scale rows and pairs.
  assert.is(kvCacheBytes(parseKvFormat('k4v4,w32,kblock=32'), shape),
    values + 6 * 32 * 288 * 2 + 6 * (256 + 32) * 6 * 3 + 6 * (8 + 32) * 6 * 3 + 6 * 8 * 288 * 4); // 643,680
  // anchors=1% on blocks of 8: 3 slots (int8 K and V rows with scales) and the int32 state.
  assert.is(kvCacheBytes(parseKvFormat('k2v2,w32,kblock=8,anchors=1%'), shape),
    values / 2 + 6 * 35 * 288 * 2 + 6 * (256 + 35) * 6 * 3 + 6 * (32 + 35) * 6 * 3 + 6 * 32 * 288 * 4 + 6 * 4 * (2 * 256 + 3) * 6); // 676,152
  // A context that cuts the window to a non-multiple of the block is refused, naming both.
  assert.throws(() => kvCacheBytes(parseKvFormat('k2v2,w32,kblock=8'), { ...shape, seqLen: 20 }), /at context 20 the window is 20 positions, not a multiple of kblock=8/);
});

const base = haveModels ? quantizeInt8(loadWeights(openModel(model('stories260K.bin')))) : null;
const withKv = (kv: string): QuantModel => ({ ...base!, kvCache: parseKvFormat(kv) });
const contentsOf = (q: QuantModel) => readArtifact(emitArtifact({
  model: q, program: lowerInt8(q), target: { name: 'wasm32', simd: true }, plan: parsePlan('uniform:8'),
  sourceSha256: new Uint8Array(32), sourcePath: 'stories260K.bin', vectors: 0,
}));

// k2v2,w3,anchors=2%: 11 slots per kv head of seq_len 512; 21 positions leave the window
// in 24, so slots fill and then anchors are evicted inside the positions run.
// K blocks: k2v2,w4,kblock=4,anchors=2% requantizes 5 blocks and evicts anchors in 24 positions.
for (const kv of ['k8v8', 'k4v4,w5', 'k2v2,w3', 'k4v2', 'k2v2,w3,anchors=2%', 'k2v2,w4,kblock=2', 'k4v4,w8,kblock=4', 'k2v2,w4,kblock=4,anchors=2%']) {
  test(`stories260K ${kv}: the interpreter's logits equal IntTransformer's (24 positions), and the cache slots are kvCacheBytes`, () => {
    if (!haveModels) return;
    const q = withKv(kv), contents = contentsOf(q);
    assert.is(contents.plan.kvCache, kv);
    assert.ok(contents.program.ops.some((o) => o.kind === 'attention_q') && !contents.program.ops.some((o) => o.kind === 'attention'));
    const p = q.params;
    const slotBytes = contents.program.slots.filter((s) => KV_SLOT_NAME.test(s.name ?? '')).reduce((a, s) => a + s.size, 0);
    assert.is(slotBytes, kvCacheBytes(q.kvCache!, { nLayers: p.nLayers, nKvHeads: p.nKvHeads, headSize: p.dim / p.nHeads, seqLen: p.seqLen }));
    const it = new IntTransformer(q), interp = new ProgramInterpreter(contents);
    let token = 1;
    for (let pos = 0; pos < 24; pos++) {
      const want = it.forward(token, pos);
      assert.equal(Array.from(interp.forward(token, pos)), Array.from(want), `position ${pos}`);
      token = it.argmax(want);
    }
    assert.throws(() => trainBaseIndices(contents), /fine-tuning needs the default KV cache: this bundle's cache is/);
  });
}

// On the device, each format of issue 16 (windows shrunk so they wrap inside the 24
// positions; k2v2,w3,anchors=2% evicts anchors there): the SIMD build, which runs
// runtime/kernels/simd/attention_q.ts and kv_store_q.ts, and the scalar build both reproduce the conformance
// vectors (IntTransformer's logits hashes).
// (K blocks: the SIMD attention_q reads block rows with SIMD; the block requantization is scalar.)
for (const kv of ['k8v8', 'k4v4,w5', 'k2v2,w3,anchors=1%', 'k4v2,w4,anchors=2%', 'k2v2,w3,anchors=2%', 'k2v2,w4,kblock=2', 'k4v2,w8,kblock=4,anchors=2%']) {
  test(`stories260K ${kv} on the device: scalar and SIMD runtimes (V8) pass the conformance vectors (24 positions)`, async () => {
    if (!haveModels) return;
    const q = withKv(kv), contents = contentsOf(q);
    const simdSource = generateRuntimeSource(contents.config, contents.program, { name: 'wasm32', simd: true }).source;
    assert.match(simdSource, 'case OpKind.attention_q: runAttentionQSimd(r)');
    assert.match(simdSource, 'case OpKind.kv_store_q: runKvStoreQSimd(r)');
    for (const simd of [false, true]) {
      const b = await bundleFromQuant({
        model: q, target: { ...loadTarget('wasm32'), simd }, plan: parsePlan('uniform:8'), planName: 'uniform:8',
        sourceSha256: new Uint8Array(32), sourcePath: 'stories260K.bin', vectors: 24,
      });
      const manifest = JSON.parse(new TextDecoder().decode(b.files['manifest.json'])) as { kvCache: { format: string } };
      assert.is(manifest.kvCache.format, kv);
      const rt = await WasmRuntime.create(b.files['runtime.wasm'], b.files['model.edgeq'], q.params.vocabSize);
      const r = rt.selftest();
      assert.is(r.hashes.length, 24);
      assert.is(r.mismatches, 0, simd ? 'SIMD' : 'scalar');
    }
  });
}

test('same arena bytes, twice the context: k4v4 and the K block formats fit at least 2x the positions of k12v8 (synthetic 8-kv-head model, context 4096)', () => {
  // The flash demo's model (docs/kv-cache.md): babyllama936K's shape with 8 kv heads, 4096 positions.
  const m = quantizeInt8(synthWeights({ ...SHAPES.babyllama936K, nKvHeads: 8, seqLen: 4096 }, 3));
  const arena = (kv: string, n: number) => lowerInt8(withContext({ ...m, kvCache: parseKvFormat(kv) }, n)).arenaSize;
  const budget = arena('k12v8', 1024);
  for (const kv of ['k4v4', 'k4v4,w32,kblock=32', 'k2v2,w32,kblock=8']) assert.ok(arena(kv, 2048) <= budget, `${kv} at 2048: ${arena(kv, 2048)} > ${budget}`);
  assert.ok(arena('k12v8', 1025) > budget);
});

test('k12v8 (the default) records no kv_cache field: the artifact bytes equal an unset format\'s', () => {
  if (!haveModels) return;
  const a = emitArtifact({ model: base!, program: lowerInt8(base!), target: { name: 'wasm32', simd: true }, plan: parsePlan('uniform:8'), sourceSha256: new Uint8Array(32), sourcePath: 's', vectors: 2 });
  const q = withKv('k12v8');
  const b = emitArtifact({ model: q, program: lowerInt8(q), target: { name: 'wasm32', simd: true }, plan: parsePlan('uniform:8'), sourceSha256: new Uint8Array(32), sourcePath: 's', vectors: 2 });
  assert.equal(Buffer.from(a).equals(Buffer.from(b)), true);
  assert.is(readArtifact(a).plan.kvCache, undefined);
});

test('--context n: the cut model computes the same logits at positions < n (k12v8 and k4v4,w4), its cache is smaller; bad n refused', () => {
  if (!haveModels) return;
  for (const kv of ['k12v8', 'k4v4,w4']) {
    const full = withKv(kv), cut = withContext(full, 20);
    assert.is(cut.params.seqLen, 20);
    assert.ok(lowerInt8(cut).arenaSize < lowerInt8(full).arenaSize);
    const a = new IntTransformer(full), b = new IntTransformer(cut);
    let token = 1;
    for (let pos = 0; pos < 20; pos++) {
      const want = a.forward(token, pos);
      assert.equal(Array.from(b.forward(token, pos)), Array.from(want), `${kv} position ${pos}`);
      token = a.argmax(want);
    }
  }
  assert.throws(() => withContext(base!, 513), /--context 513: the model's context is 512 positions/);
  assert.throws(() => parseContext('0'), /expected a number of positions or max/);
  assert.is(parseContext('max'), 'max');
});

test.run();
