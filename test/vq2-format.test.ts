// The vq2 format (docs/integer-spec.md §9.7) checked against values worked out by hand from
// the spec, not by the code under test: the tiled code bytes of a 16 x 16 matrix, the size
// rule, one GEMV row, plan spellings and the int8 fallback for inputs that are not whole
// blocks; and the quantizer's determinism and its codes chosen against the stored integers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tensorBytes } from '../compiler/emit/dtype.ts';
import { parsePlan, planName, resolveMatrix, requested } from '../compiler/plan/plan.ts';
import { dequantizeVq2, packVq2, quantizeVq2, vq2Code } from '../compiler/quantize/vq2.ts';
import { vq2Format } from '../compiler/quantize/formats/vq2.ts';
import { gemvVq } from '../runtime/kernels/reference/gemv_vq.ts';
import { Rng } from '../compiler/synth/prng.ts';

test('codes of a 16 x 16 matrix, code(o, p) = (o + p) % 32: the bytes §9.7.1 gives', () => {
  const codes = Array.from({ length: 16 * 8 }, (_, i) => ((i >> 3) + (i & 7)) % 32);
  const b = packVq2(codes, 16, 16);
  assert.is(b.length, 80);
  // Nibble line l, row r: pair 2l low, pair 2l + 1 high.
  assert.is(b[0], 0x10); //          row 0, pairs 0, 1: codes 0, 1
  assert.is(b[16 * 3 + 5], 0xcb); // row 5, pairs 6, 7: codes 11, 12
  assert.is(b[15], 0x0f); //         row 15, pairs 0, 1: codes 15, 16 (direction nibble 0)
  assert.is(b[16 * 1 + 15], 0x21); // row 15, pairs 2, 3: codes 17, 18 -> nibbles 1, 2
  // Magnitude bits, byte 64 + r: bit i = code(r, i) >> 4.
  assert.is(b[64 + 0], 0x00); //  codes 0..7
  assert.is(b[64 + 12], 0xf0); // codes 12..19: pairs 4..7
  assert.is(b[64 + 15], 0xfe); // codes 15..22: pairs 1..7
  for (let o = 0; o < 16; o++) for (let p = 0; p < 8; p++) assert.is(vq2Code(b, o, p, 16), codes[o * 8 + p]);
});

test('size rule: ceil(rows/16) * ceil(cols/16) * 80 bytes; a tile of 16 rows x 16 columns at 2.5 bits', () => {
  assert.is(tensorBytes('vq2', [16, 16]), 80);
  assert.is(tensorBytes('vq2', [17, 32]), 2 * 2 * 80);
  assert.is(tensorBytes('vq2', [768, 2048]), 48 * 128 * 80); // 491,520: §9.7.1's example
  assert.is(vq2Format.bits, 2.5);
  assert.equal(vq2Format.tensors(128, 128, 0).map((t) => [t.suffix, t.dtype, t.shape]), [
    ['', 'vq2', [128, 128]], ['.codebook', 'int8', [32, 2]], ['.scale_m', 'int16', [1]], ['.scale_e', 'int8', [1]],
  ]);
});

test('one row by hand: E[3] = (2, -1) for pair 0, E[17] = (-5, 7) for pairs 1..7, x[j] = j + 1', () => {
  const codes = packVq2([3, 17, 17, 17, 17, 17, 17, 17], 1, 16);
  const cb = new Int8Array(64);
  cb.set([2, -1], 6); cb.set([-5, 7], 34);
  const x = Int16Array.from({ length: 16 }, (_, j) => j + 1);
  const out = new Int32Array(1);
  // acc = 2·1 − 2 + Σ_{p=1..7} (−5(2p+1) + 7(2p+2)) = Σ (4p + 9) = 175; scales 1 and 1
  // (16384 · 2^-14), outFrac 16: 175 · 2^16.
  gemvVq(out, codes, cb, 16384, 14, x, 16384, 14, 16, 1, 16);
  assert.is(out[0], 175 * 65536);
  // The dequantized weights: ŵ = E[c] · s.
  assert.equal(Array.from(dequantizeVq2(codes, cb, 16384, 15, 1, 16)).slice(0, 4), [1, -0.5, -2.5, 3.5]);
});

test('plans: uniform:vq2 = uniform:2.5, canonical name by the format name; inputs not a multiple of 16 stay int8', () => {
  const a = parsePlan('uniform:vq2'), b = parsePlan('uniform:2.5');
  assert.is(a.bits, 2.5); assert.is(b.bits, 2.5);
  assert.is(planName(a), 'uniform:vq2');
  assert.is(parsePlan('uniform:4g64,clsvq2').name, 'uniform:4g64,clsvq2');
  assert.throws(() => parsePlan('uniform:vq2g64'), /vq2 weights have per-row scales, no group size/);
  assert.is(resolveMatrix(requested(a, 0, 'wq'), 128).format, 'vq2');
  const r = resolveMatrix(requested(a, 0, 'w2'), 172);
  assert.is(r.format, 'int8');
  assert.match(r.rule, /input size 172 is not a multiple of 16: int8 fallback/);
});

test('quantizer: deterministic; the codes are the nearest stored codeword pairs (no calibration); error below 2-bit uniform', () => {
  const r = new Rng(15, 'vq2'), rows = 24, cols = 32;
  const w = Float32Array.from({ length: rows * cols }, () => r.gauss() * 0.02);
  const q1 = quantizeVq2(w, rows, cols), q2 = quantizeVq2(w, rows, cols);
  assert.equal([q1.codes, q1.codebook, q1.scaleM, q1.scaleE], [q2.codes, q2.codebook, q2.scaleM, q2.scaleE]);
  assert.ok(Math.max(...Array.from(q1.codebook, Math.abs)) === 127, 'the largest codeword coordinate is 127');
  const s = q1.scaleM[0] * 2 ** -q1.scaleE[0];
  for (let o = 0; o < rows; o++) {
    for (let p = 0; p < cols / 2; p++) {
      const err = (c: number) => (w[o * cols + 2 * p] - q1.codebook[2 * c] * s) ** 2 + (w[o * cols + 2 * p + 1] - q1.codebook[2 * c + 1] * s) ** 2;
      const got = err(vq2Code(q1.codes, o, p, cols));
      for (let c = 0; c < 32; c++) assert.ok(got <= err(c) + 1e-15, `row ${o} pair ${p}: code ${c} is nearer`);
    }
  }
  let energy = 0;
  for (const x of w) energy += x * x;
  // Gaussian weights at 2.5 bits: well under the 2-bit uniform grid's ~0.12 relative MSE.
  assert.ok(q1.sqError / energy < 0.12, `relative error ${q1.sqError / energy}`);
});

test.run();
