// The integer path's arithmetic building blocks against exact BigInt / float64 oracles:
// the 64-bit helper, saturating ops, division, integer sqrt, scale arithmetic, the RNG.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mulHiU32, mulShiftFloor, mulShiftRound } from '../runtime/kernels/reference/int64.ts';
import { I32_MAX, divFloor, divRound, isqrtRound, satAdd, satSub, shlSat } from '../runtime/kernels/reference/arith.ts';
import { mulScale, recipScale, rsqrtScale, scaleOf } from '../runtime/kernels/reference/scale.ts';
import { Xorshift64Star } from '../runtime/kernels/reference/rng.ts';
import { Rng as FloatRng } from '../compiler/reference/float/sampler.ts';
import { Rng } from '../compiler/synth/prng.ts';

const B = BigInt;
const sat = (v: bigint): number => Number(v > B(I32_MAX) ? B(I32_MAX) : v < -B(I32_MAX) ? -B(I32_MAX) : v);
// Floor division by 2^s (BigInt >> is arithmetic, i.e. floor, for negative values too).
const mulShiftRoundRef = (a: number, b: number, s: number) => sat(s === 0 ? B(a) * B(b) : (B(a) * B(b) + (1n << B(s - 1))) >> B(s));
const mulShiftFloorRef = (a: number, b: number, s: number) => sat((B(a) * B(b)) >> B(s));

const EDGE = [0, 1, -1, 2, -2, 0x7fff, 0x8000, -0x8000, 0xffff, 0x10000, -0x10000, 123456789, -987654321, I32_MAX, -I32_MAX, -2147483648];

test('mulShiftRound / mulShiftFloor equal exact 64-bit arithmetic (edges and 200k random)', () => {
  const r = new Rng(7, 'int64');
  const check = (a: number, b: number, s: number) => {
    const got = mulShiftRound(a, b, s), want = mulShiftRoundRef(a, b, s);
    if (got !== want) assert.unreachable(`mulShiftRound(${a}, ${b}, ${s}) = ${got}, want ${want}`);
    const gf = mulShiftFloor(a, b, s), wf = mulShiftFloorRef(a, b, s);
    if (gf !== wf) assert.unreachable(`mulShiftFloor(${a}, ${b}, ${s}) = ${gf}, want ${wf}`);
  };
  for (const a of EDGE) for (const b of EDGE) for (let s = 0; s <= 62; s++) check(a, b, s);
  for (let i = 0; i < 200000; i++) {
    const bitsA = r.next() % 32, bitsB = r.next() % 32;
    const a = (r.next() | 0) >> (31 - bitsA), b = (r.next() | 0) >> (31 - bitsB);
    check(a, b, r.next() % 63);
  }
});

test('mulHiU32 is the upper word of the unsigned 64-bit product', () => {
  const r = new Rng(8, 'mulhi');
  const vals = [0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 0x10000, 0xffff, 0x2545f491, 0x4f6cdd1d];
  const check = (a: number, b: number) => {
    const want = Number(((B(a >>> 0) * B(b >>> 0)) >> 32n) & 0xffffffffn) | 0;
    assert.is(mulHiU32(a, b), want, `mulHiU32(${a}, ${b})`);
  };
  for (const a of vals) for (const b of vals) check(a, b);
  for (let i = 0; i < 100000; i++) check(r.next() | 0, r.next() | 0);
});

test('saturating add/sub/shift stay in the symmetric int32 range', () => {
  assert.is(satAdd(I32_MAX, 1), I32_MAX);
  assert.is(satAdd(-I32_MAX, -1), -I32_MAX);
  assert.is(satAdd(-1073741824, -1073741824), -I32_MAX); // -2^31 itself is never produced
  assert.is(satAdd(I32_MAX, -I32_MAX), 0);
  assert.is(satSub(I32_MAX, -I32_MAX), I32_MAX);
  assert.is(satSub(-I32_MAX, I32_MAX), -I32_MAX);
  assert.is(satAdd(5, -7), -2);
  assert.is(shlSat(3, 30), I32_MAX);
  assert.is(shlSat(-3, 30), -I32_MAX);
  assert.is(shlSat(3, 29), 3 << 29);
  assert.is(shlSat(-1, 30), -(1 << 30));
  assert.is(shlSat(1, 40), I32_MAX);
  assert.is(shlSat(0, 40), 0);
});

// s is the integer nearest sqrt(n): (s - 1/2)^2 <= n < (s + 1/2)^2 (times 4, in integers).
function assertNearestSqrt(n: number): void {
  const s = isqrtRound(n);
  assert.ok((s === 0 || 4 * s * s - 4 * s + 1 <= 4 * n) && 4 * n < 4 * s * s + 4 * s + 1, `isqrtRound(${n}) = ${s}`);
}

test('divFloor / divRound / isqrtRound are exact', () => {
  const r = new Rng(9, 'div');
  for (let i = 0; i < 100000; i++) {
    const n = r.next() >>> 1, d = 1 + (r.next() >>> (2 + (r.next() % 30)));
    assert.is(divFloor(n, d), Math.floor(n / d));
    if (n + (d >> 1) <= I32_MAX) assert.is(divRound(n, d), Math.floor((n + (d >> 1)) / d));
    assertNearestSqrt(n);
  }
  for (const n of [0, 1, 2, 3, 4, 6, 7, I32_MAX, 1 << 30, (1 << 30) - 1]) assertNearestSqrt(n);
});

test('scale arithmetic: normalized mantissas and relative errors within the stated bounds', () => {
  const r = new Rng(10, 'scale');
  const out = new Int32Array(2);
  const val = () => out[0] * 2 ** -out[1];
  const normalized = () => out[0] >= 1 << 14 && out[0] < 1 << 15;
  for (let i = 0; i < 20000; i++) {
    const m1 = (1 << 14) + (r.next() % (1 << 14)), m2 = (1 << 14) + (r.next() % (1 << 14));
    const e1 = (r.next() % 60) - 20, e2 = (r.next() % 60) - 20;
    mulScale(m1, e1, m2, e2, out, 0);
    const want = m1 * 2 ** -e1 * m2 * 2 ** -e2;
    assert.ok(normalized() && Math.abs(val() / want - 1) <= 2 ** -15, `mulScale ${m1} ${e1} ${m2} ${e2}`);
    const v = 1 + (r.next() >>> (1 + (r.next() % 31)));
    recipScale(v, out, 0);
    assert.ok(normalized() && Math.abs(val() * v - 1) <= 2 ** -13, `recipScale ${v}: ${val() * v - 1}`);
    rsqrtScale(v, out, 0);
    assert.ok(normalized() && Math.abs(val() * Math.sqrt(v) - 1) <= 2 ** -13, `rsqrtScale ${v}: ${val() * Math.sqrt(v) - 1}`);
    scaleOf(v, 16, out, 0);
    assert.ok(normalized() && Math.abs(val() / (v * 2 ** -16) - 1) <= 2 ** -14, `scaleOf ${v}`);
  }
});

test('the RNG reproduces llama2.c xorshift64* (the float sampler\'s BigInt Rng) exactly', () => {
  for (const seed of [42n, 1n, 0xdeadbeefcafebaben, (1n << 64n) - 1n, 1234567n]) {
    const a = new Xorshift64Star(Number(seed & 0xffffffffn) | 0, Number(seed >> 32n) | 0);
    const b = new FloatRng(seed);
    for (let i = 0; i < 2000; i++) assert.is(a.next() >>> 0, b.u32(), `seed ${seed} step ${i}`);
  }
});

test.run();
