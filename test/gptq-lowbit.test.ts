// GPTQ for the LUT formats (compiler/quantize/gptq-lowbit.ts). Codes only (refit: 0): the
// groups and row scales are the clip search's and the output error ||(W - Ŵ) X|| is smaller
// than the clip search's at every bit-width. With the grid refit (the default): the groups,
// row scales and codes all change, every stored field stays in its range, the stored bytes
// mean what dequantizeLowbit says, and the output error is no larger than codes-only GPTQ's
// (smaller on real layers). Errors are measured here, from the stored bytes or the format's
// own dequantization against the float product, never taken from the quantizer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../compiler/synth/prng.ts';
import { GPTQ_REFIT_MAX, gptqLowbit } from '../compiler/quantize/gptq-lowbit.ts';
import { LOWBIT_MIN_ROW_E, dequantizeLowbit, quantizeLowbit, type LowbitMatrix } from '../compiler/quantize/lowbit.ts';
import { LOWBIT_BITS, groupOffset, planeOffset } from '../compiler/quantize/lowbit-format.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { blockInputKey, calibrate } from '../compiler/quantize/calibrate.ts';
import { haveModels, model } from './helpers/models.ts';

const rows = 24, cols = 128, samples = 400;
const rng = new Rng(15, 'gptq-lowbit');
const g = () => rng.gauss();
const w = Float32Array.from({ length: rows * cols }, () => 0.02 * g());
// Correlated inputs: x = A z with a random mixing A (so H is far from diagonal).
const a = Float64Array.from({ length: cols * cols }, () => g() / Math.sqrt(cols));
const xs = Array.from({ length: samples }, () => {
  const z = Float64Array.from({ length: cols }, g), x = new Float64Array(cols);
  for (let i = 0; i < cols; i++) { let s = 0; for (let k = 0; k < cols; k++) s += a[i * cols + k] * z[k]; x[i] = s + 0.3 * z[i]; }
  return x;
});
const h = new Float64Array(cols * cols);
for (const x of xs) for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) h[i * cols + j] += x[i] * x[j];

function outputError(dq: Float32Array): number {
  let e = 0;
  for (const x of xs) for (let r = 0; r < rows; r++) {
    let d = 0;
    for (let j = 0; j < cols; j++) d += (w[r * cols + j] - dq[r * cols + j]) * x[j];
    e += d * d;
  }
  return e;
}

/** The stored fields read byte by byte at the layout's offsets (spec §9.1), each range checked; the real values they mean. */
function decodeChecked(m: LowbitMatrix, label: string): Float32Array {
  const { bits, groupSize: gs } = m, qmax = (1 << bits) - 1, out = new Float32Array(m.rows * m.cols);
  for (let o = 0; o < m.rows; o++) {
    const e = m.scaleE[o], sm = m.scaleM[o];
    assert.ok(e >= LOWBIT_MIN_ROW_E && e <= 127, `${label} row ${o}: scale exponent ${e}`);
    assert.ok(sm >= 16384 && sm <= 32767, `${label} row ${o}: scale mantissa ${sm}`);
    for (let j = 0; j < m.cols; j++) {
      const at = groupOffset(m.cols, gs, o, Math.floor(j / gs)), gm = m.groups[at.gm], z2 = m.groups[at.z2];
      assert.ok(z2 <= 2 * qmax, `${label} row ${o} col ${j}: z2 ${z2} > ${2 * qmax}`);
      let q = 0;
      for (let k = 0; k < bits; k++) q |= ((m.planes[planeOffset(bits, m.cols, gs, o, k, j)] >> (j % 8)) & 1) << k;
      out[o * m.cols + j] = sm * 2 ** -e * gm * (2 * q - z2);
    }
  }
  return out;
}

test('refit 0: same groups and row scales as the clip search; smaller output error at every bit-width', () => {
  for (const bits of LOWBIT_BITS) {
    const base = quantizeLowbit(w, rows, cols, { bits, groupSize: 32 });
    const gq = gptqLowbit(w, rows, cols, h, { bits, groupSize: 32, refit: 0 });
    assert.equal(gq.groups, base.groups, `b${bits} groups`);
    assert.equal([gq.scaleM, gq.scaleE], [base.scaleM, base.scaleE], `b${bits} row scales`);
    const eb = outputError(dequantizeLowbit(base)), eg = outputError(dequantizeLowbit(gq));
    assert.ok(eg < eb, `b${bits}: GPTQ ${eg} < clip search ${eb}`);
  }
});

test('grid refit (default): the grid changes, the stored fields stay in range and mean what dequantizeLowbit says; output error no larger', () => {
  for (const bits of LOWBIT_BITS) {
    const plain = gptqLowbit(w, rows, cols, h, { bits, groupSize: 32, refit: 0 });
    const als = gptqLowbit(w, rows, cols, h, { bits, groupSize: 32 });
    assert.not.equal(als.groups, plain.groups, `b${bits}: the refit changes the groups`);
    const dq = decodeChecked(als, `b${bits}`);
    assert.equal(dq, dequantizeLowbit(als), `b${bits}: stored bytes vs dequantizeLowbit`);
    let sq = 0;
    for (let k = 0; k < dq.length; k++) sq += (w[k] - dq[k]) ** 2;
    assert.ok(Math.abs(sq - als.sqError) <= 1e-9 * sq, `b${bits}: sqError ${als.sqError} vs ${sq}`);
    const ep = outputError(dequantizeLowbit(plain)), ea = outputError(dq);
    assert.ok(ea <= ep, `b${bits}: refit ${ea} <= codes only ${ep}`);
    if (bits <= 3) assert.ok(ea < 0.97 * ep, `b${bits}: refit ${ea} well below codes only ${ep}`);
  }
});

test('deterministic: the same inputs give the same bytes', () => {
  const p = gptqLowbit(w, rows, cols, h, { bits: 3, groupSize: 64 }), q = gptqLowbit(w, rows, cols, h, { bits: 3, groupSize: 64 });
  assert.equal([p.planes, p.groups, p.scaleM, p.scaleE], [q.planes, q.groups, q.scaleM, q.scaleE]);
});

test('an invalid refit count is refused', () => {
  for (const refit of [-1, 1.5, Number.NaN, GPTQ_REFIT_MAX + 1]) {
    assert.throws(() => gptqLowbit(w, rows, cols, h, { bits: 2, groupSize: 32, refit }), /refit: rounds must be an integer/, `refit ${refit}`);
  }
});

test('real layers (babyllama936K block 0): the refit lowers the Hessian-weighted error of GPTQ', () => {
  if (!haveModels) return;
  const fw = loadWeights(openModel(model('babyllama936K.bin')));
  const hs = calibrate(fw, { sequences: 4, length: 64 });
  for (const name of ['wq', 'w2'] as const) {
    const wm = fw.blocks[0][name], hm = hs.get(blockInputKey(0, name))!;
    const c = Math.round(Math.sqrt(hm.length)), r = wm.length / c;
    // Σ_rows (w − ŵ)ᵀ H (w − ŵ) with the undamped calibration Hessian.
    const herr = (dq: Float32Array) => {
      let s = 0;
      for (let o = 0; o < r; o++) for (let i = 0; i < c; i++) {
        const ei = wm[o * c + i] - dq[o * c + i];
        for (let j = 0; j < c; j++) s += ei * hm[i * c + j] * (wm[o * c + j] - dq[o * c + j]);
      }
      return s;
    };
    for (const bits of [2, 3, 4]) {
      const ep = herr(dequantizeLowbit(gptqLowbit(wm, r, c, hm, { bits, groupSize: 32, refit: 0 })));
      const ea = herr(dequantizeLowbit(gptqLowbit(wm, r, c, hm, { bits, groupSize: 32 })));
      assert.ok(ea < 0.95 * ep, `${name} b${bits}: refit ${ea} vs GPTQ ${ep}`);
    }
  }
});

test.run();
