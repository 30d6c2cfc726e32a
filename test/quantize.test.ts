// The int8 quantizer: weight rows and scales, gains, GPTQ, the QuantModel it produces
// (integers only, complete, named as docs/integer-spec.md §5 says) and its refusals.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../compiler/synth/prng.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { quantizeGain, quantizeRows } from '../compiler/quantize/weights.ts';
import { gptqRows } from '../compiler/quantize/gptq.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { FORMAT_VERSION, getTensor, quantModelBytes } from '../compiler/quantize/quant-model.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import type { FloatWeights } from '../compiler/import/graph.ts';

const gaussMatrix = (r: Rng, rows: number, cols: number, sd = 0.05) =>
  Float32Array.from({ length: rows * cols }, (_, i) => r.gauss() * sd * (1 + (i % cols === 3 ? 6 : 0)));

test('quantizeRows: |q| <= 127, normalized scales, error <= half a step, zero rows', () => {
  const r = new Rng(1, 'rows');
  const rows = 40, cols = 96;
  const w = gaussMatrix(r, rows, cols);
  w.fill(0, 5 * cols, 6 * cols); // an all-zero row
  const q = quantizeRows(w, rows, cols);
  for (let i = 0; i < rows; i++) {
    assert.ok(q.m[i] >= 16384 && q.m[i] < 32768, 'mantissa in [2^14, 2^15)');
    const s = q.m[i] * 2 ** -q.e[i];
    let amax = 0;
    for (let j = 0; j < cols; j++) amax = Math.max(amax, Math.abs(w[i * cols + j]));
    if (i !== 5) assert.ok(Math.abs(s / (amax / 127) - 1) <= 2 ** -15, 'scale = absmax / 127');
    for (let j = 0; j < cols; j++) {
      const v = q.q[i * cols + j];
      assert.ok(v >= -127 && v <= 127);
      assert.ok(Math.abs(w[i * cols + j] - v * s) <= s / 2 + 1e-12, `row ${i} col ${j}`);
    }
  }
  assert.ok(Array.from(q.q.subarray(5 * cols, 6 * cols)).every((v) => v === 0));
  // Symmetric: quantize(-w) = -quantize(w).
  const neg = quantizeRows(w.map((v) => -v), rows, cols);
  assert.ok(neg.q.every((v, i) => v === -q.q[i]));
});

test('clip search never increases a row\'s squared error', () => {
  const r = new Rng(2, 'clip');
  const w = gaussMatrix(r, 30, 200);
  const plain = quantizeRows(w, 30, 200), clipped = quantizeRows(w, 30, 200, { clip: true });
  assert.ok(clipped.sqError <= plain.sqError);
});

test('GPTQ: same format, lower output error than rounding to nearest on correlated inputs', () => {
  const r = new Rng(3, 'gptq');
  const rows = 24, cols = 48, n = 400;
  const w = gaussMatrix(r, rows, cols);
  // Correlated inputs: x = A g with a random mixing matrix.
  const a = Float64Array.from({ length: cols * cols }, () => r.gauss());
  const xs = Array.from({ length: n }, () => {
    const g = Array.from({ length: cols }, () => r.gauss());
    return Float64Array.from({ length: cols }, (_, i) => g.reduce((s, v, k) => s + a[i * cols + k] * v, 0));
  });
  const h = new Float64Array(cols * cols);
  for (const x of xs) for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) h[i * cols + j] += x[i] * x[j];
  const rtn = quantizeRows(w, rows, cols), gq = gptqRows(w, rows, cols, h);
  assert.equal(Array.from(gq.m), Array.from(rtn.m));
  assert.equal(Array.from(gq.e), Array.from(rtn.e));
  assert.ok(gq.q.every((v) => v >= -127 && v <= 127));
  const outErr = (q: Int8Array) => {
    let e = 0;
    for (const x of xs) for (let o = 0; o < rows; o++) {
      const s = rtn.m[o] * 2 ** -rtn.e[o];
      let d = 0;
      for (let j = 0; j < cols; j++) d += (w[o * cols + j] - q[o * cols + j] * s) * x[j];
      e += d * d;
    }
    return e;
  };
  const er = outErr(rtn.q), eg = outErr(gq.q);
  assert.ok(eg < 0.8 * er, `GPTQ output error ${eg} vs ${er}`);
});

test('quantizeGain: int16 with max |q| in [2^14, 2^15)', () => {
  for (const g of [Float32Array.of(1, 0.5, -2.5, 0.001), Float32Array.of(0.0123, 0.01), Float32Array.of(300, 1)]) {
    const { q, frac } = quantizeGain(g);
    const amax = Math.max(...Array.from(q, Math.abs));
    assert.ok(amax >= 16384 && amax <= 32767);
    g.forEach((v, i) => assert.ok(Math.abs(q[i] * 2 ** -frac - v) <= 2 ** -frac / 2 + 1e-9));
  }
  assert.equal(quantizeGain(new Float32Array(3)).frac, 0);
});

test('quantizeInt8: a complete integer model (integer params, typed integer tensors, sizes)', () => {
  const c = SHAPES.stories260K;
  const m = quantizeInt8(synthWeights(c, 1));
  assert.is(m.params.formatVersion, FORMAT_VERSION);
  for (const [k, v] of Object.entries(m.params)) assert.ok(Number.isInteger(v), `param ${k} = ${v}`);
  const names = new Set(m.tensors.map((t) => t.name));
  assert.is(names.size, m.tensors.length, 'unique names');
  for (const t of m.tensors) {
    assert.ok(t.data instanceof Int8Array || t.data instanceof Int16Array || t.data instanceof Int32Array, t.name);
    assert.is(t.data.length, t.shape.reduce((a, b) => a * b, 1), t.name);
    for (const v of Object.values(t.params)) assert.ok(Number.isInteger(v));
  }
  const kd = (c.dim / c.nHeads) * c.nKvHeads, hs = c.dim / c.nHeads;
  getTensor(m, 'tok_embeddings', 'int8', [c.vocabSize, c.dim]);
  getTensor(m, 'blocks.4.wk', 'int8', [kd, c.dim]);
  getTensor(m, 'blocks.4.w2.scale_m', 'int16', [c.dim]);
  getTensor(m, 'blocks.0.rms_ffn', 'int16', [c.dim]);
  getTensor(m, 'rope.cos', 'int16', [c.seqLen, hs / 2]);
  getTensor(m, 'silu', 'int32', [2049]);
  assert.not.ok(names.has('wcls'), 'shared classifier: no wcls');
  // Size formula of docs/integer-spec.md §5.2.
  const { dim: D, hiddenDim: H, nLayers: L, vocabSize: V, seqLen: S } = c;
  const want = V * D + 3 * V + L * (2 * 2 * D + 2 * (D * D + 3 * D) + 2 * (kd * D + 3 * kd) + 2 * (H * D + 3 * H) + (D * H + 3 * D))
    + 2 * D + 2 * S * hs + 2048 + 8196;
  assert.is(quantModelBytes(m), want);
});

test('quantizeInt8 refuses weights and shapes outside the proven format', () => {
  const w = synthWeights(SHAPES.stories260K, 1);
  const big: FloatWeights = { ...w, blocks: w.blocks.map((b, l) => (l === 2 ? { ...b, w1: b.w1.map((v, i) => (i === 7 ? 5000 : v)) } : b)) };
  assert.throws(() => quantizeInt8(big), (e: unknown) => e instanceof EdgeqError && /blocks\.2\.w1 row 0/.test((e as Error).message));
  const longSeq: FloatWeights = { ...w, config: { ...w.config, seqLen: 8192 } };
  assert.throws(() => quantizeInt8(longSeq), (e: unknown) => e instanceof EdgeqError && /seq_len/.test((e as Error).message));
});

test.run();
