// GPTQ for the LUT formats (compiler/quantize/gptq-lowbit.ts): only the codes change (the
// groups and row scales are the clip search's), and on correlated inputs the output error
// ||(W - Ŵ) X|| is smaller than the clip search's at every bit-width (measured here with
// the format's own dequantization against the float product, not by the quantizer).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../compiler/synth/prng.ts';
import { gptqLowbit } from '../compiler/quantize/gptq-lowbit.ts';
import { dequantizeLowbit, quantizeLowbit } from '../compiler/quantize/lowbit.ts';
import { LOWBIT_BITS } from '../compiler/quantize/lowbit-format.ts';

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

test('same groups and row scales as the clip search; smaller output error at every bit-width', () => {
  for (const bits of LOWBIT_BITS) {
    const base = quantizeLowbit(w, rows, cols, { bits, groupSize: 32 });
    const gq = gptqLowbit(w, rows, cols, h, { bits, groupSize: 32 });
    assert.equal(gq.groups, base.groups, `b${bits} groups`);
    assert.equal([gq.scaleM, gq.scaleE], [base.scaleM, base.scaleE], `b${bits} row scales`);
    const eb = outputError(dequantizeLowbit(base)), eg = outputError(dequantizeLowbit(gq));
    assert.ok(eg < eb, `b${bits}: GPTQ ${eg} < clip search ${eb}`);
  }
});

test('deterministic: the same inputs give the same codes', () => {
  const p = gptqLowbit(w, rows, cols, h, { bits: 3, groupSize: 64 }), q = gptqLowbit(w, rows, cols, h, { bits: 3, groupSize: 64 });
  assert.equal(p.planes, q.planes);
});

test.run();
