// Every baked table and constant, regenerated here from the formula docs/integer-spec.md §4
// states (written independently of compiler/quantize/tables.ts) and compared entry by
// entry; plus the tables' accuracy against the functions they stand for.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as K from '../runtime/kernels/reference/constants.ts';
import { exp2Table, modelConstants, ropeTables, siluTable } from '../compiler/quantize/tables.ts';
import { toScale } from '../compiler/quantize/fixed-point.ts';
import { SHAPES } from '../compiler/synth/shapes.ts';

// Spec §2.4: compile-time rounding is half away from zero.
const rnd = (x: number) => Math.sign(x) * Math.floor(Math.abs(x) + 0.5);
// Spec §2.2: a positive real c as a scale: e = the exponent putting c * 2^e in [2^14, 2^15), m = rnd(c * 2^e).
function specScale(c: number): [number, number] {
  let e = 0;
  while (c * 2 ** e >= 32768) e--;
  while (c * 2 ** e < 16384) e++;
  const m = rnd(c * 2 ** e);
  return m === 32768 ? [16384, e - 1] : [m, e];
}

test('spec constants: 1/127, 1/2047, log2(e) as scales; format constants', () => {
  assert.equal([K.INV_QMAX8_M, K.INV_QMAX8_E], specScale(1 / 127));
  assert.equal([K.INV_ACT_QMAX_M, K.INV_ACT_QMAX_E], specScale(1 / 2047));
  assert.equal([K.LOG2E_M, K.LOG2E_E], specScale(Math.log2(Math.E)));
  assert.equal([K.LN2_M, K.LN2_E], specScale(Math.LN2));
  assert.is(K.QMAX8, 2 ** 7 - 1);
  assert.is(K.ACT_QMAX, 2 ** 11 - 1);
  assert.is(K.EXP2_TABLE_SIZE, 1024);
  assert.is(K.SILU_TABLE_SIZE, 2049);
  for (const c of [1 / 127, 1 / 2047, Math.LOG2E, 1e-9, 3.5, 12345.678]) {
    const s = toScale(c);
    assert.equal([s.m, s.e], specScale(c));
  }
});

test('exp2 table: round(2^14 * 2^(-j/1024)), within 2^-14 relative of exp2', () => {
  const t = exp2Table();
  assert.is(t.length, 1024);
  for (let j = 0; j < 1024; j++) {
    const want = rnd(16384 * Math.exp((-j * Math.LN2) / 1024));
    assert.is(t[j], want, `exp2[${j}]`);
    assert.ok(Math.abs(t[j] / 16384 - 2 ** (-j / 1024)) <= 0.5 / 16384);
  }
  assert.is(t[0], 16384);
});

test('SiLU table: round(2^16 * silu(-16 + j/64)), j = 0..2048', () => {
  const t = siluTable();
  assert.is(t.length, 2049);
  for (let j = 0; j <= 2048; j++) {
    const x = (j - 1024) / 64;
    const want = rnd(65536 * x * (1 / (1 + Math.exp(-x))));
    assert.is(t[j], want, `silu[${j}]`);
  }
  assert.is(t[0], 0); // consistent with silu = 0 below -16
  assert.is(t[2048], 16 * 65536); // and silu = x above 16
});

test('RoPE tables: round(2^14 * cos/sin(p * 10000^(-2i/headSize))) for the real and large shapes', () => {
  for (const [seq, hs] of [[512, 8], [256, 16], [1024, 64]]) {
    const { cos, sin } = ropeTables(seq, hs);
    const half = hs / 2;
    assert.is(cos.length, seq * half);
    for (let p = 0; p < seq; p++) {
      for (let i = 0; i < half; i++) {
        const angle = p * Math.exp((-2 * i / hs) * Math.log(10000));
        const c = cos[p * half + i], s = sin[p * half + i];
        // Independent formula (exp/log instead of pow): equal except where the scaled value
        // sits within float64 noise of a rounding tie; allow exactly those.
        const wc = 16384 * Math.cos(angle), ws = 16384 * Math.sin(angle);
        if (c !== rnd(wc)) assert.ok(Math.abs(Math.abs(wc % 1) - 0.5) < 1e-6, `cos[${p},${i}]`);
        if (s !== rnd(ws)) assert.ok(Math.abs(Math.abs(ws % 1) - 0.5) < 1e-6, `sin[${p},${i}]`);
        assert.ok(Math.abs(c / 16384 - Math.cos(angle)) <= 0.5 / 16384 + 1e-12);
      }
    }
  }
});

test('model constants: eps, sqShift, sqrt(dim / 2^sqShift), log2(e)/sqrt(headSize)', () => {
  for (const c of Object.values(SHAPES)) {
    const hs = c.dim / c.nHeads;
    const k = modelConstants(c.dim, hs);
    let sh = 0;
    while (1 << sh < c.dim) sh++;
    assert.is(k.rmsSqShift, sh);
    assert.is(k.rmsEpsQ32, rnd(1e-5 * 2 ** 32));
    assert.is(k.rmsEpsQ32, 42950);
    assert.equal([k.rmsDimScale.m, k.rmsDimScale.e], specScale(Math.sqrt(c.dim / 2 ** sh)));
    assert.equal([k.attScale.m, k.attScale.e], specScale(Math.LOG2E / Math.sqrt(hs)));
  }
});

test.run();
