// GSE, group-shared-exponent integers (docs/integer-spec.md §12). Port of
// runtime/kernels/reference/gse.ts, which keeps the 64-bit accumulators in two int32
// words; here they are one i64 (same bytes). Arrays are addresses; mantissas and
// exponents are int8, fixed-point values int32. Stochastic rounding draws from the
// module RNG of ./rng (seed it with rngSeed first).
import { I32_MAX, abs32, bitLength, shlSat } from "./arith";
import { rngNext } from "./rng";
import { i32at, i8at, set32, set8 } from "./mem";

const GUARD: i32 = 16;

// @ts-ignore: decorator
@inline function log2G(G: i32): i32 { return bitLength(G) - 1; }

/** max(0, bitLength(amax) - (M - 1)); 0 for amax = 0. */
export function gseShiftOf(amax: i32, M: i32): i32 {
  if (amax == 0) return 0;
  const e = bitLength(amax) - (M - 1);
  return e > 0 ? e : 0;
}

/** Quantizes x[0..n) (Q frac) into mantissas outM[n] and exponents outE[n/G]. */
export function gseQuantize(outM: usize, outE: usize, x: usize, n: i32, frac: i32, G: i32, M: i32, stochastic: i32): void {
  const qmax = (1 << (M - 1)) - 1;
  for (let g0 = 0, gi = 0; g0 < n; g0 += G, gi++) {
    let amax = 0;
    for (let j = 0; j < G; j++) {
      let v = i32at(x, g0 + j);
      if (v == i32.MIN_VALUE) v = -I32_MAX;
      const a = abs32(v);
      if (a > amax) amax = a;
    }
    const e = gseShiftOf(amax, M);
    set8(outE, gi, e - frac);
    const mask = (1 << e) - 1;
    for (let j = 0; j < G; j++) {
      let v = i32at(x, g0 + j);
      if (v == i32.MIN_VALUE) v = -I32_MAX;
      const a = abs32(v);
      let q = a >> e;
      if (stochastic != 0) {
        const u = <u32>rngNext();
        if (e > 0 && (u >> <u32>(32 - e)) < <u32>(a & mask)) q = q + 1;
      } else if (e > 0) {
        q = q + ((a >> (e - 1)) & 1);
      }
      if (q > qmax) q = qmax;
      set8(outM, g0 + j, v < 0 ? -q : q);
    }
  }
}

/** out[i] = m[i] * 2^(E + frac) as int32 Q frac (saturated; right shifts half away). */
export function gseDequantizeToFixed(out: usize, m: usize, e: usize, n: i32, G: i32, frac: i32): void {
  const gs = log2G(G);
  for (let i = 0; i < n; i++) {
    const v = i8at(m, i);
    const s = i8at(e, i >> gs) + frac;
    if (s >= 0) { set32(out, i, shlSat(v, s)); continue; }
    const k = -s;
    if (k > 8) { set32(out, i, 0); continue; }
    const a = abs32(v);
    const q = (a >> k) + ((a >> (k - 1)) & 1);
    set32(out, i, v < 0 ? -q : q);
  }
}

// @ts-ignore: decorator
@inline function roundDown(d: i32, k: i32): i32 {
  return k > 30 ? 0 : (d + (1 << (k - 1))) >> k;
}

/** acc * 2^r as int32: r >= 0 saturating shift left; r < 0 round half up (-r <= 62). */
function outputOf(acc: i64, r: i32): i32 {
  if (r >= 0) {
    if (acc > <i64>I32_MAX) return I32_MAX;
    if (acc < -<i64>I32_MAX) return -I32_MAX;
    return shlSat(<i32>acc, r);
  }
  let s = -r;
  if (s > 62) s = 62;
  const v = (acc + (<i64>1 << <i64>(s - 1))) >> <i64>s;
  if (v > <i64>I32_MAX) return I32_MAX;
  if (v < -<i64>I32_MAX) return -I32_MAX;
  return <i32>v;
}

/** out[o] = A[rows, cols] . x[cols], int32 Q outFrac (spec §12.4). */
export function gseMatVec(out: usize, aM: usize, aE: usize, xM: usize, xE: usize, rows: i32, cols: i32, G: i32, outFrac: i32): void {
  const ng = cols >> log2G(G);
  for (let o = 0; o < rows; o++) {
    const eRow = o * ng;
    let mx = -1000;
    for (let g = 0; g < ng; g++) {
      const s = i8at(aE, eRow + g) + i8at(xE, g);
      if (s > mx) mx = s;
    }
    const C = mx - GUARD;
    let acc: i64 = 0;
    const row = aM + <usize>(o * cols);
    for (let g = 0; g < ng; g++) {
      let d = 0;
      const j0 = g * G;
      for (let j = j0; j < j0 + G; j++) d += i8at(row, j) * i8at(xM, j);
      const sh = i8at(aE, eRow + g) + i8at(xE, g) - C;
      acc += sh >= 0 ? <i64>d << <i64>sh : <i64>roundDown(d, -sh);
    }
    set32(out, o, outputOf(acc, C + outFrac));
  }
}

/** out[j] = A[rows, cols]^T . g[rows], int32 Q outFrac (spec §12.5). */
export function gseMatVecT(out: usize, aM: usize, aE: usize, gM: usize, gE: usize, rows: i32, cols: i32, G: i32, outFrac: i32): void {
  const gs = log2G(G), ng = cols >> gs;
  for (let c = 0; c < ng; c++) {
    let mx = -1000;
    for (let o = 0; o < rows; o++) {
      const s = i8at(aE, o * ng + c) + i8at(gE, o >> gs);
      if (s > mx) mx = s;
    }
    const C = mx - GUARD;
    for (let j = c * G; j < c * G + G; j++) {
      let acc: i64 = 0;
      for (let o = 0; o < rows; o++) {
        const p = i8at(aM, o * cols + j) * i8at(gM, o);
        const sh = i8at(aE, o * ng + c) + i8at(gE, o >> gs) - C;
        acc += <i64>(sh >= 0 ? p << sh : roundDown(p, -sh));
      }
      set32(out, j, outputOf(acc, C + outFrac));
    }
  }
}
