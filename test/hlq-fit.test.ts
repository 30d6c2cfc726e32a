// The per-bit-plane-scale fit of the HLQ experiment (scripts/hlq-fit.ts): weights that lie on
// a non-uniform grid Σ a_k b_k + z are recovered up to the stored precision, where today's
// uniform grid cannot represent them; GPTQ on a fixed grid with a diagonal Hessian is plain
// nearest-level coding; the byte count is the stated layout's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../compiler/synth/prng.ts';
import { dequantizeLowbit, quantizeLowbit } from '../compiler/quantize/lowbit.ts';
import { fitHlq, gptqOnGrid, hlqBytes, nearest, Z_MODES } from '../scripts/hlq-fit.ts';

const rows = 16, cols = 128, gs = 64;
const rng = new Rng(3, 'hlq-fit');
// Per group, levels z + {0, a0, a1, a0 + a1} with a0 << a1 (spacings a0, a1 - a0, a0): far from uniform.
const w = new Float32Array(rows * cols);
for (let o = 0; o < rows; o++) {
  for (let g = 0; g < cols / gs; g++) {
    const s = 0.005 + 0.02 * rng.uniform(), z = -s * (0.5 + rng.uniform()), a0 = 0.2 * s, a1 = 1.9 * s;
    const lv = [z, z + a0, z + a1, z + a0 + a1];
    for (let j = 0; j < gs; j++) w[o * cols + g * gs + j] = lv[j % 4]; // every level used
  }
}
const sq = (a: Float32Array) => a.reduce((s, x, i) => s + (x - w[i]) ** 2, 0);
const ones = new Float64Array(cols).fill(1);

test('a non-uniform 2-bit grid is recovered (every z mode); the uniform grid is far off', () => {
  const uniform = sq(dequantizeLowbit(quantizeLowbit(w, rows, cols, { bits: 2, groupSize: gs })));
  // An int8 z (z8r: a row-wide step, coarse for a row's small groups; z8g: Amax_g/64) leaves
  // a rounding error of z that int16 does not: a looser bound.
  for (const z of Z_MODES) {
    const e = sq(fitHlq(w, rows, cols, ones, { bits: 2, groupSize: gs, z }).dq);
    assert.ok(e < (z === 'z16' ? 1e-3 : 1e-2) * uniform, `${z}: HLQ error ${e} vs uniform ${uniform}`);
  }
});

test('without ALS iterations the fit stays near the uniform start (the test above needs the ALS)', () => {
  const uniform = sq(dequantizeLowbit(quantizeLowbit(w, rows, cols, { bits: 2, groupSize: gs })));
  const e = sq(fitHlq(w, rows, cols, ones, { bits: 2, groupSize: gs, z: 'z16', iters: 0 }).dq);
  assert.ok(e > 0.1 * uniform, `iters 0: ${e} vs uniform ${uniform}`);
});

test('GPTQ on a fixed grid with a diagonal Hessian codes each weight to its nearest level', () => {
  const wn = Float32Array.from(w, (x) => x + 0.002 * rng.gauss());
  const fit = fitHlq(wn, rows, cols, ones, { bits: 2, groupSize: gs, z: 'z8g' });
  const h = new Float64Array(cols * cols);
  for (let j = 0; j < cols; j++) h[j * cols + j] = 1 + j; // act-order permutes, nothing is propagated
  const dq = gptqOnGrid(wn, rows, cols, gs, fit.levels, 4, h, fit.dq);
  for (let k = 0; k < dq.length; k++) {
    const at = (Math.floor(k / cols) * (cols / gs) + Math.floor((k % cols) / gs)) * 4;
    assert.is(dq[k], Math.fround(fit.levels[at + nearest(wn[k], fit.levels, at, 4)]));
  }
});

test('bytes: planes, b + 1 or b + 2 bytes per (padded row, group), row scales', () => {
  // 20 rows = 2 tiles of 16; planes 32 rows x 2 planes x 16 bytes; 32 x 2 groups.
  assert.is(hlqBytes(2, 20, 128, 64, 'z8g'), 1024 + 64 * 3 + 20 * 3);
  assert.is(hlqBytes(2, 20, 128, 64, 'z16'), 1024 + 64 * 4 + 20 * 3);
  assert.is(hlqBytes(2, 20, 128, 64, 'z8r'), 1024 + 64 * 3 + 20 * 4);
});

test.run();
