// GSE, group-shared-exponent integers, for integer-only fine-tuning (GSQ-Tuning;
// docs/integer-spec.md §12). A group of G consecutive values shares one int8 exponent E;
// each value keeps a signed mantissa m of M bits, |m| <= 2^(M-1) - 1; value = m * 2^E.
//
//   gseQuantize            int32 fixed point (Q frac) -> GSE, round half away or stochastic
//   gseDequantizeToFixed   GSE -> int32 fixed point (Q frac), round half away
//   gseMatVec              y = A x      (A [rows, cols] GSE, x [cols] GSE) -> int32 Q outFrac
//   gseMatVecT             z = A^T g    (A [rows, cols] GSE, g [rows] GSE) -> int32 Q outFrac
//
// Every intermediate is an int32 except the accumulators of the two products, which are
// signed 64-bit values kept in two int32 words (HI, LO) as in int64.ts; the AssemblyScript
// port (runtime/kernels/scalar/gse.ts) uses i64 and must give the same bytes.

import { I32_MAX, abs32, bitLength, shlSat } from './arith.ts';
import type { Xorshift64Star } from './rng.ts';

/** Supported group sizes G (values per shared exponent). */
export const GSE_GROUP_SIZES: readonly number[] = [16, 32, 64, 128];
/** Supported mantissa widths M (bits, sign included). */
export const GSE_MANTISSA_BITS: readonly number[] = [5, 6, 7, 8];
/** Defaults: G = 32, M = 8 (docs/integer-spec.md §12.1). */
export const GSE_DEFAULT_G = 32;
export const GSE_DEFAULT_M = 8;
/** Guard bits of the products' accumulators below the largest term's unit (§12.4). */
export const GSE_GUARD_BITS = 16;

/** Largest mantissa magnitude 2^(M-1) - 1 (127 for M = 8). */
export function gseQmax(M: number): number {
  return (1 << (M - 1)) - 1;
}

/**
 * The group's shift e >= 0 for a group whose largest |x| is amax: the smallest e with
 * (amax >> e) <= 2^(M-1) - 1, i.e. max(0, bitLength(amax) - (M - 1)); 0 for amax = 0.
 */
export function gseShiftOf(amax: number, M: number): number {
  if (amax === 0) return 0;
  const e = bitLength(amax) - (M - 1);
  return e > 0 ? e : 0;
}

/** log2 of a group size (G is a power of two: 16 .. 128). */
export function log2G(G: number): number {
  return bitLength(G) - 1;
}

export function checkGse(n: number, frac: number, G: number, M: number): void {
  if (!GSE_GROUP_SIZES.includes(G)) throw new RangeError(`gse: group size must be 16, 32, 64 or 128, got ${G}`);
  if (!GSE_MANTISSA_BITS.includes(M)) throw new RangeError(`gse: mantissa bits must be 5..8, got ${M}`);
  if (!(frac >= 0 && frac <= 30)) throw new RangeError(`gse: frac must be in [0, 30], got ${frac}`);
  if (!(n >= 0) || n % G !== 0) throw new RangeError(`gse: length ${n} is not a multiple of the group size ${G}`);
}

/** A GSE tensor: mantissas (one per value) and exponents (one per group), both int8. */
export interface GseTensor {
  m: Int8Array;
  e: Int8Array;
}

/**
 * Quantizes x (int32, value x / 2^frac) in groups of G. Per group: amax = max |x| (x = -2^31
 * is read as -(2^31 - 1)), e = gseShiftOf(amax, M), stored exponent E = e - frac. Per value,
 * on the magnitude a = |x|: 'nearest' q = (a >> e) + bit e-1 of a (half away from zero);
 * 'stochastic' q = (a >> e) + (r < (a mod 2^e)) with r the top e bits of one rng draw (one
 * draw per value, in order, whatever e or x). q is clamped to qmax; m = sign(x) * q.
 */
export function gseQuantize(
  x: Int32Array, frac: number, G: number, M: number,
  rounding: 'nearest' | 'stochastic', rng?: Xorshift64Star,
): GseTensor {
  const n = x.length;
  checkGse(n, frac, G, M);
  if (rounding === 'stochastic' && !rng) throw new RangeError('gse: stochastic rounding needs an rng');
  const m = new Int8Array(n), e = new Int8Array(n >> log2G(G));
  gseQuantizeInto(m, e, x, n, frac, G, M, rounding === 'stochastic' ? 1 : 0, rng);
  return { m, e };
}

/** gseQuantize into given arrays (the kernel form; `stochastic` 0 or 1). */
export function gseQuantizeInto(
  outM: Int8Array, outE: Int8Array, x: Int32Array, n: number, frac: number, G: number, M: number,
  stochastic: number, rng?: Xorshift64Star,
): void {
  const qmax = gseQmax(M);
  for (let g0 = 0, gi = 0; g0 < n; g0 += G, gi++) {
    let amax = 0;
    for (let j = 0; j < G; j++) {
      let v = x[g0 + j];
      if (v === -2147483648) v = -I32_MAX;
      const a = abs32(v);
      if (a > amax) amax = a;
    }
    const e = gseShiftOf(amax, M);
    outE[gi] = e - frac;
    const mask = (1 << e) - 1; // e <= 27
    for (let j = 0; j < G; j++) {
      let v = x[g0 + j];
      if (v === -2147483648) v = -I32_MAX;
      const a = abs32(v);
      let q = a >> e;
      if (stochastic !== 0) {
        const u = rng!.next(); // drawn for every value, so the stream does not depend on x
        if (e > 0 && (u >>> (32 - e)) < (a & mask)) q = q + 1;
      } else if (e > 0) {
        q = q + ((a >> (e - 1)) & 1);
      }
      if (q > qmax) q = qmax;
      outM[g0 + j] = v < 0 ? -q : q;
    }
  }
}

/** m * 2^(E + frac) as int32 Q frac: left shifts saturate, right shifts round half away. */
export function gseDequantizeToFixed(m: Int8Array, e: Int8Array, n: number, G: number, frac: number): Int32Array {
  const out = new Int32Array(n);
  const gs = log2G(G);
  for (let i = 0; i < n; i++) {
    const v = m[i];
    const s = e[i >> gs] + frac;
    if (s >= 0) { out[i] = shlSat(v, s); continue; }
    const k = -s;
    if (k > 8) { out[i] = 0; continue; } // |m| <= 127 < 2^7: |m| / 2^k < 1/2
    const a = abs32(v);
    const q = (a >> k) + ((a >> (k - 1)) & 1);
    out[i] = v < 0 ? -q : q;
  }
  return out;
}

// ---- the 64-bit accumulator: (HI, LO), signed upper word and lower word's bits ----
let HI = 0;
let LO = 0;

/** (HI, LO) += (tHi, tLo) mod 2^64 (the bounds of §12.4 keep it exact). */
function add64(tHi: number, tLo: number): void {
  const lo = (LO + tLo) | 0;
  const carry = (lo >>> 0) < (LO >>> 0) ? 1 : 0;
  HI = (HI + tHi + carry) | 0;
  LO = lo;
}

/** Round half up of d / 2^k for k >= 1, |d| < 2^22: 0 for k > 30. */
function roundDown(d: number, k: number): number {
  if (k > 30) return 0;
  return (d + (1 << (k - 1))) >> k;
}

/** (HI, LO) += d * 2^sh for sh <= 16 (sh < 0: round half up of d / 2^-sh), |d| < 2^22. */
function addTerm(d: number, sh: number): void {
  if (sh > 0) add64(d >> (32 - sh), d << sh);
  else if (sh === 0) add64(d >> 31, d);
  else { const t = roundDown(d, -sh); add64(t >> 31, t); }
}

/**
 * (HI, LO) * 2^r as int32: r >= 0 saturating left shift; r < 0 round half up of / 2^-r
 * (-r clamped to 62). Symmetric int32 saturation.
 */
function outputOf(r: number): number {
  if (r >= 0) {
    if (HI !== (LO >> 31)) return HI < 0 ? -I32_MAX : I32_MAX;
    return shlSat(LO === -2147483648 ? -I32_MAX : LO, r);
  }
  let s = -r;
  if (s > 62) s = 62;
  // + 2^(s-1)
  if (s <= 32) add64(0, 1 << (s - 1)); // s = 32: 2^31 as an unsigned word
  else HI = (HI + (1 << (s - 33))) | 0;
  let rHi: number, rLo: number;
  if (s < 32) { rLo = (LO >>> s) | (HI << (32 - s)); rHi = HI >> s; }
  else { rLo = HI >> (s - 32); rHi = HI >> 31; }
  if (rHi !== (rLo >> 31)) return rHi < 0 ? -I32_MAX : I32_MAX;
  if (rLo === -2147483648) return -I32_MAX;
  return rLo;
}

/**
 * out[o] = sum_j A[o, j] x[j] as int32 Q outFrac. Per group g: d = the int32 dot of the
 * mantissas, exponent s_g = EA[o, g] + Ex[g]. Common exponent C = max_g s_g - 16; each
 * d * 2^(s_g - C) is added to a 64-bit accumulator (exact when s_g >= C, else rounded half
 * up); out = acc * 2^(C + outFrac), rounded half up, saturated.
 */
export function gseMatVec(
  out: Int32Array, aM: Int8Array, aE: Int8Array, xM: Int8Array, xE: Int8Array,
  rows: number, cols: number, G: number, outFrac: number,
): void {
  const ng = cols >> log2G(G);
  for (let o = 0; o < rows; o++) {
    const eRow = o * ng;
    let mx = -1000;
    for (let g = 0; g < ng; g++) {
      const s = aE[eRow + g] + xE[g];
      if (s > mx) mx = s;
    }
    const C = mx - GSE_GUARD_BITS;
    HI = 0; LO = 0;
    const row = o * cols;
    for (let g = 0; g < ng; g++) {
      let d = 0; // |d| <= G * 127 * 127 < 2^21 (G <= 128)
      const j0 = g * G;
      for (let j = j0; j < j0 + G; j++) d = (d + Math.imul(aM[row + j], xM[j])) | 0;
      addTerm(d, aE[eRow + g] + xE[g] - C);
    }
    out[o] = outputOf(C + outFrac);
  }
}

/**
 * out[j] = sum_o A[o, j] g[o] as int32 Q outFrac (the backward product). g is grouped along
 * rows (rows % G == 0). For the column group c of j: s_o = EA[o, c] + Eg[o / G], C_c =
 * max_o s_o - 16; each product p = A[o, j] g[o] is added as p * 2^(s_o - C_c) (rounded half
 * up when s_o < C_c); out = acc * 2^(C_c + outFrac), rounded half up, saturated.
 */
export function gseMatVecT(
  out: Int32Array, aM: Int8Array, aE: Int8Array, gM: Int8Array, gE: Int8Array,
  rows: number, cols: number, G: number, outFrac: number,
): void {
  const gs = log2G(G), ng = cols >> gs;
  for (let c = 0; c < ng; c++) {
    let mx = -1000;
    for (let o = 0; o < rows; o++) {
      const s = aE[o * ng + c] + gE[o >> gs];
      if (s > mx) mx = s;
    }
    const C = mx - GSE_GUARD_BITS;
    for (let j = c * G; j < c * G + G; j++) {
      HI = 0; LO = 0;
      for (let o = 0; o < rows; o++) {
        const p = Math.imul(aM[o * cols + j], gM[o]); // |p| <= 127^2 < 2^14
        const sh = aE[o * ng + c] + gE[o >> gs] - C; // <= 16: |p * 2^sh| < 2^30
        if (sh >= 0) { const t = p << sh; add64(t >> 31, t); }
        else { const t = roundDown(p, -sh); add64(t >> 31, t); }
      }
      out[j] = outputOf(C + outFrac);
    }
  }
}
