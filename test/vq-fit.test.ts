// The PCDVQ-style fit of the VQ experiment (compiler/quantize/vq-fit.ts, docs/quality.md "Vector-quantized
// 2-bit (PCDVQ-style): measured"): spherical k-means is deterministic for a seed and its error
// never rises; vectors that are exactly (magnitude level × codeword) code back to themselves; the
// stored-bytes count is the format's; GPTQ with the codebook lowers the output error on the
// calibration Hessian and the refit never raises it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../compiler/synth/prng.ts';
import { codeVector, decodeVq, fitSharedCodebook, fitVq, gptqVqRefit, hError, sphericalKmeans, vqBytes } from '../compiler/quantize/vq-fit.ts';

const rng = new Rng(15, 'vq-fit');
const g = () => rng.gauss();

test('spherical k-means: deterministic for a seed, error non-increasing over iterations', () => {
  const n = 600, d = 4, v = Float64Array.from({ length: n * d }, g), om = Float64Array.from({ length: n }, () => 0.5 + Math.abs(g()));
  const a = sphericalKmeans(v, n, d, 32, om, 25, 7), b = sphericalKmeans(v, n, d, 32, om, 25, 7);
  assert.equal(Array.from(a.centroids), Array.from(b.centroids));
  assert.equal(Array.from(a.assign), Array.from(b.assign));
  assert.ok(a.errors.length >= 3, `only ${a.errors.length} iterations`);
  for (let i = 1; i < a.errors.length; i++) assert.ok(a.errors[i] <= a.errors[i - 1] * (1 + 1e-12), `iteration ${i}: ${a.errors[i]} > ${a.errors[i - 1]}`);
  assert.ok(a.errors.at(-1)! < a.errors[0], 'the iterations lowered nothing');
  // Its error recomputed from the result: Σ ω (|v| − v·c).
  let e = 0;
  for (let i = 0; i < n; i++) {
    let nn = 0, dot = 0;
    for (let j = 0; j < d; j++) { nn += v[i * d + j] ** 2; dot += v[i * d + j] * a.centroids[a.assign[i] * d + j]; }
    e += om[i] * (Math.sqrt(nn) - dot);
  }
  assert.ok(Math.abs(e - a.errors.at(-1)!) <= 1e-9 * Math.abs(e), `${e} vs ${a.errors.at(-1)}`);
});

test('vectors that are exactly level × codeword reconstruct exactly', () => {
  const d = 4, K = 8, M = 4, rows = 16, cols = 32, ng = cols / d;
  // int8-exact codewords (multiples of 1/127 of the largest), levels and one row scale of 1.
  const C = Float64Array.from({ length: K * d }, (_, i) => (i === 0 ? 127 : Math.round(127 * Math.tanh(g()))) / 127);
  const L = Float64Array.from([0.25, 0.5, 1, 2]);
  const dir = Uint16Array.from({ length: rows * ng }, (_, i) => i % K), mag = Uint8Array.from({ length: rows * ng }, (_, i) => (i * 7) % M);
  const w = decodeVq({ codebook: C, levels: L, scale: new Float64Array(rows).fill(1), dir, mag }, rows, cols, d);
  for (let i = 0; i < rows * ng; i++) {
    const q = codeVector(w, i * d, new Float64Array(d).fill(1), 0, d, C, L, 1);
    assert.ok(q.err <= 1e-10, `vector ${i}: error ${q.err}`);
  }
  // A fitted codebook (int8 after its refits): its own products level × codeword code back exactly,
  // and the fit's dq is what its codes decode to.
  const f = fitVq(w, rows, cols, new Float64Array(cols).fill(1), { d, k: 3, m: 2, rowScale: false });
  assert.equal(Array.from(f.dq), Array.from(decodeVq(f, rows, cols, d)));
  for (let c = 0; c < K; c++) for (let l = 0; l < M; l++) {
    const v = Array.from({ length: d }, (_, j) => f.levels[l] * f.codebook[c * d + j]);
    const q = codeVector(v, 0, new Float64Array(d).fill(1), 0, d, f.codebook, f.levels, 1);
    const back = Array.from({ length: d }, (_, j) => f.levels[q.m] * f.codebook[q.c * d + j]);
    for (let j = 0; j < d; j++) assert.ok(Math.abs(back[j] - v[j]) <= 1e-12 * (1 + Math.abs(v[j])), `codeword ${c} level ${l}: ${back} vs ${v}`);
  }
});

test('stored bytes: (k + m)/d bits per weight, int8 codebook, fp16 levels and row scales', () => {
  assert.is(vqBytes(128, 128, { d: 4, k: 6, m: 3, rowScale: true }), (128 * 128 / 4) * 9 / 8 + 64 * 4 + 2 + 2 * 8 + 2 * 128);
  assert.is(vqBytes(10, 8, { d: 8, k: 5, m: 2, rowScale: false }), Math.ceil(10 * 7 / 8) + 32 * 8 + 2 + 8);
});

test('GPTQ with the refit: output error no larger than the first GPTQ pass, below the plain fit', () => {
  const rows = 12, cols = 32, samples = 200, d = 4;
  const w = Float32Array.from({ length: rows * cols }, () => 0.05 * g());
  const a = Float64Array.from({ length: cols * cols }, () => g() / Math.sqrt(cols));
  const h = new Float64Array(cols * cols);
  for (let s = 0; s < samples; s++) {
    const z = Array.from({ length: cols }, g), x = new Float64Array(cols);
    for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) x[i] += a[i * cols + j] * z[j];
    for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) h[i * cols + j] += x[i] * x[j];
  }
  const D = Float64Array.from({ length: cols }, (_, j) => h[j * cols + j]);
  const f = fitVq(w, rows, cols, D, { d, k: 4, m: 2, rowScale: true });
  const plain = hError(w, f.dq, rows, cols, h);
  const r0 = gptqVqRefit(w, rows, cols, h, f, d, 0), r3 = gptqVqRefit(w, rows, cols, h, f, d, 3);
  const e0 = hError(w, r0.dq, rows, cols, h), e3 = hError(w, r3.dq, rows, cols, h);
  assert.ok(e0 < plain, `GPTQ ${e0} not below the plain fit ${plain}`);
  assert.ok(e3 <= e0, `refit ${e3} above GPTQ ${e0}`);
});

test('a shared codebook (fitSharedCodebook) is used as is by fit and refit; its bytes are split', () => {
  const d = 4, cols = 16, ones = new Float64Array(cols).fill(1);
  const a = Float32Array.from({ length: 8 * cols }, g), b = Float32Array.from({ length: 6 * cols }, g);
  const C = fitSharedCodebook([{ w: a, cols, D: ones }, { w: b, cols, D: ones }], d, 3);
  const f = fitVq(a, 8, cols, ones, { d, k: 3, m: 1, rowScale: true, codebook: C });
  assert.equal(Array.from(f.codebook), Array.from(C));
  const h = new Float64Array(cols * cols);
  for (let j = 0; j < cols; j++) h[j * cols + j] = 1 + j;
  assert.equal(Array.from(gptqVqRefit(a, 8, cols, h, f, d, 2, true).codebook), Array.from(C));
  assert.is(vqBytes(8, cols, { d, k: 3, m: 1, rowScale: false }, 2), 8 * cols / d * 4 / 8 + (8 * d + 2) / 2 + 4);
});

test.run();
