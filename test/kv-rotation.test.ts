// The rotated quantized KV cache (`--kv ...,rot`, docs/integer-spec.md §3.7.2): the
// hadamard kernel against the Walsh–Hadamard matrix written out independently, that it
// lowers K's 4-bit error on a head with an outlier channel, the lowering (hadamard ops on q
// and k, attScale / hs), the refusal of a head size that is not a power of two, and
// stories260K bundles with k4v4,w32,rot and k2v2,w32,anchors=1%,rot equal on the program
// interpreter, IntTransformer and the scalar and SIMD runtimes (anchors evicted).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveModels, model } from './helpers/models.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { lowerInt8 } from '../compiler/lower/program.ts';
import { emitArtifact, parsePlan } from '../compiler/emit/from-quant.ts';
import { readArtifact } from '../compiler/emit/artifact-read.ts';
import { paramsOf } from '../compiler/ops/registry.ts';
import { IntTransformer } from '../runtime/reference/model.ts';
import { ProgramInterpreter } from '../compiler/engines/program-interpreter.ts';
import { parseKvFormat } from '../compiler/quantize/kv-cache.ts';
import type { QuantModel } from '../compiler/quantize/quant-model.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { Rng } from '../compiler/synth/prng.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { WasmRuntime } from '../compiler/engines/wasm-runtime.ts';
import { hadamard } from '../runtime/kernels/reference/hadamard.ts';
import { quantizeAct } from '../runtime/kernels/reference/quantize_act.ts';
import { INV_QMAX4_E, INV_QMAX4_M, QMAX4 } from '../runtime/kernels/reference/constants.ts';

/** H[i][j] = (-1)^popcount(i & j): the Sylvester–Hadamard matrix, written out. */
const H = (i: number, j: number): number => { let b = i & j, s = 1; while (b) { s = -s; b &= b - 1; } return s; };

test('hadamard = the matrix (-1)^popcount(i&j) times each head, exactly; applied twice = hs·v', () => {
  const r = new Rng(3, 'hadamard matrix');
  for (const hs of [1, 2, 8, 64, 256]) {
    const heads = 3, bound = Math.floor(2 ** 31 / hs) - 1; // no saturation below 2^31 / hs
    const v = Int32Array.from({ length: hs * heads }, () => Math.round((2 * r.uniform() - 1) * bound / hs));
    const got = v.slice();
    hadamard(got, v.length, hs);
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < hs; i++) {
        let want = 0;
        for (let j = 0; j < hs; j++) want += H(i, j) * v[h * hs + j];
        assert.is(got[h * hs + i], want, `hs ${hs} head ${h} row ${i}`);
      }
    }
    hadamard(got, v.length, hs);
    assert.equal(Array.from(got), Array.from(v, (x) => x * hs), `H·H = ${hs}·I`);
  }
  // Beyond 2^31 / hs the butterflies saturate: (MAX, MAX) -> (MAX, 0).
  const sat = Int32Array.of(2 ** 31 - 1, 2 ** 31 - 1);
  hadamard(sat, 2, 2);
  assert.equal(Array.from(sat), [2 ** 31 - 1, 0]);
});

test('an outlier channel (x10, as stories260K): 4-bit K error over 500 heads of 8 is less than half with the rotation', () => {
  const r = new Rng(5, 'outlier'), hs = 8, rows = 500, sc = new Int32Array(2), q = new Int8Array(hs);
  // The dequantized 4-bit row (quantize_act at 4 bits, as kv_store_q), in float.
  const q4 = (v: Int32Array): number[] => { quantizeAct(q, 0, v, 0, hs, 16, QMAX4, INV_QMAX4_M, INV_QMAX4_E, sc, 0); return Array.from(q, (x) => x * sc[0] * 2 ** -sc[1]); };
  let plain = 0, rotated = 0;
  for (let t = 0; t < rows; t++) {
    const k = Int32Array.from({ length: hs }, (_, i) => Math.round(r.gauss() * (i === 3 ? 10 : 1) * 65536));
    const want = Array.from(k, (x) => x / 65536);
    const a = q4(k);
    const kr = k.slice();
    hadamard(kr, hs, hs);
    // Back from the rotated basis with H^-1 = H / hs, in float.
    const b0 = q4(kr), b = want.map((_, i) => b0.reduce((s, x, j) => s + H(i, j) * x, 0) / hs);
    for (let i = 0; i < hs; i++) { plain += (a[i] - want[i]) ** 2; rotated += (b[i] - want[i]) ** 2; }
  }
  assert.ok(rotated < 0.5 * plain, `squared error: rotated ${rotated.toFixed(1)}, plain ${plain.toFixed(1)}`);
});

test('a rotation of a head size that is not a power of two is refused, naming the head size', () => {
  const m = quantizeInt8(synthWeights({ ...SHAPES.stories260K, dim: 48, nLayers: 1, seqLen: 16 }, 2)); // 8 heads of 6
  const kv = parseKvFormat('k4v4,w4,rot');
  assert.throws(() => lowerInt8({ ...m, kvCache: kv }), /rot needs a head size that is a power of two; this model's head size is 6/);
  assert.throws(() => new IntTransformer({ ...m, kvCache: kv }), /head size is 6/);
  lowerInt8({ ...m, kvCache: parseKvFormat('k4v4,w4') }); // the same model without the rotation lowers
});

const base = haveModels ? quantizeInt8(loadWeights(openModel(model('stories260K.bin')))) : null;
const withKv = (kv: string): QuantModel => ({ ...base!, kvCache: parseKvFormat(kv) });

test('stories260K k4v4,rot: hadamard on q and k after RoPE in every layer, attention_q at attScale / 8; the logits nearer k12v8\'s than k4v4\'s', () => {
  if (!haveModels) return;
  const ops = lowerInt8(withKv('k4v4,rot')).ops, L = base!.params.nLayers;
  for (let l = 0; l < L; l++) {
    const names = ops.filter((o) => o.name?.startsWith(`blocks.${l}.`)).map((o) => `${o.kind} ${o.name}`);
    const at = (s: string) => names.indexOf(s);
    assert.ok(at(`rope blocks.${l}.rope.k`) < at(`hadamard blocks.${l}.hadamard.q`) && at(`hadamard blocks.${l}.hadamard.k`) < at(`kv_store_q blocks.${l}.kv_store`), names.join(', '));
  }
  const had = ops.filter((o) => o.kind === 'hadamard').map((o) => paramsOf(o));
  assert.equal(had.slice(0, 2), [{ n: 64, hs: 8 }, { n: 32, hs: 8 }]);
  assert.is(had.length, 2 * L);
  const att = paramsOf(ops.find((o) => o.kind === 'attention_q')!);
  assert.equal([att.attScaleM, att.attScaleE], [base!.params.attScaleM, base!.params.attScaleE + 3]); // 1/8 = 2^-3
  // Greedy k12v8 tokens; squared logit distance of k4v4 and k4v4,rot to k12v8 over 96 positions.
  const ref = new IntTransformer(base!), plain = new IntTransformer(withKv('k4v4')), rot = new IntTransformer(withKv('k4v4,rot'));
  let token = 1, dPlain = 0, dRot = 0;
  for (let pos = 0; pos < 96; pos++) {
    const want = Array.from(ref.forward(token, pos)), a = plain.forward(token, pos), b = rot.forward(token, pos);
    for (let i = 0; i < want.length; i++) { dPlain += ((a[i] - want[i]) / 65536) ** 2; dRot += ((b[i] - want[i]) / 65536) ** 2; }
    token = ref.argmax();
  }
  assert.ok(dRot < 0.5 * dPlain, `squared logit distance to k12v8: rot ${dRot.toFixed(0)}, plain ${dPlain.toFixed(0)}`);
});

// 48 positions: 16 leave the window of 32, so anchors=1% (6 slots of 512) fill and evict.
for (const kv of ['k4v4,w32,rot', 'k2v2,w32,anchors=1%,rot']) {
  test(`stories260K ${kv}: program interpreter = IntTransformer, and the scalar and SIMD runtimes pass the conformance vectors (48 positions)`, async () => {
    if (!haveModels) return;
    const q = withKv(kv);
    const contents = readArtifact(emitArtifact({
      model: q, program: lowerInt8(q), target: { name: 'wasm32', simd: true }, plan: parsePlan('uniform:8'),
      sourceSha256: new Uint8Array(32), sourcePath: 'stories260K.bin', vectors: 0,
    }));
    assert.is(contents.plan.kvCache, kv);
    const it = new IntTransformer(q), interp = new ProgramInterpreter(contents);
    let token = 1;
    for (let pos = 0; pos < 48; pos++) {
      const want = it.forward(token, pos);
      assert.equal(Array.from(interp.forward(token, pos)), Array.from(want), `position ${pos}`);
      token = it.argmax(want);
    }
    for (const simd of [false, true]) {
      const b = await bundleFromQuant({
        model: q, target: { ...loadTarget('wasm32'), simd }, plan: parsePlan('uniform:8'), planName: 'uniform:8',
        sourceSha256: new Uint8Array(32), sourcePath: 'stories260K.bin', vectors: 48,
      });
      const manifest = JSON.parse(new TextDecoder().decode(b.files['manifest.json'])) as { kvCache: { format: string } };
      assert.is(manifest.kvCache.format, kv);
      const r = (await WasmRuntime.create(b.files['runtime.wasm'], b.files['model.edgeq'], q.params.vocabSize)).selftest();
      assert.is(r.hashes.length, 48);
      assert.is(r.mismatches, 0, simd ? 'SIMD' : 'scalar');
    }
  });
}

test.run();
