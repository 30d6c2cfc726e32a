// The only 64-bit arithmetic of the integer path (docs/integer-spec.md §2.3): a signed
// 64-bit product of two int32 followed by an arithmetic right shift, saturated to the
// symmetric int32 range. It runs once per output element (GEMV rows, attention scores,
// RoPE, SwiGLU), never per multiply-accumulate.
//
// In AssemblyScript each function is one line of i64 arithmetic. Here JS numbers cannot
// hold a 64-bit integer exactly and BigInt allocates, so the product is formed from 16-bit
// halves in two int32 "registers" (HI, LO): every intermediate is an int32 and every
// multiply a Math.imul whose exact result fits in 32 bits.

import { I32_MAX } from './arith.ts';

// The 64-bit value being worked on: HI is the signed upper word, LO the lower word's bits.
let HI = 0;
let LO = 0;

/** (HI, LO) = a * b, exactly (|a*b| < 2^62). */
function mul64(a: number, b: number): void {
  const al = a & 0xffff, ah = a >> 16; // a = ah * 2^16 + al, al in [0, 2^16)
  const bl = b & 0xffff, bh = b >> 16;
  const ll = Math.imul(al, bl); // al*bl < 2^32: its bit pattern is the unsigned value
  const lh = Math.imul(al, bh); // |al*bh| < 2^31: exact
  const hl = Math.imul(ah, bl); // exact
  let hi = Math.imul(ah, bh); //  |ah*bh| <= 2^30: exact
  let lo = ll;
  // a*b = ah*bh*2^32 + (al*bh + ah*bl)*2^16 + al*bl; add each middle term on its own
  // (their sum may not fit an int32): its high half to HI, its low half (<< 16) to LO.
  hi = (hi + (lh >> 16)) | 0;
  let s = (lo + (lh << 16)) | 0;
  if ((s >>> 0) < (lo >>> 0)) hi = (hi + 1) | 0; // carry out of the low word
  lo = s;
  hi = (hi + (hl >> 16)) | 0;
  s = (lo + (hl << 16)) | 0;
  if ((s >>> 0) < (lo >>> 0)) hi = (hi + 1) | 0;
  lo = s;
  HI = hi;
  LO = lo;
}

/** (HI, LO) += 2^(s-1), s in [1, 62]: the rounding term of round-half-up. */
function addHalf(s: number): void {
  if (s <= 32) {
    const t = 1 << (s - 1); // s = 32: bit 31, i.e. 2^31 as an unsigned word
    const lo = (LO + t) | 0;
    if ((lo >>> 0) < (LO >>> 0)) HI = (HI + 1) | 0;
    LO = lo;
  } else {
    HI = (HI + (1 << (s - 33))) | 0;
  }
}

/** floor((HI, LO) / 2^s) for s in [0, 62], saturated to [-(2^31-1), 2^31-1]. */
function shiftOutSat(s: number): number {
  let rHi: number, rLo: number;
  if (s === 0) { rHi = HI; rLo = LO; }
  else if (s < 32) { rLo = (LO >>> s) | (HI << (32 - s)); rHi = HI >> s; }
  else { rLo = HI >> (s - 32); rHi = HI >> 31; }
  // The result fits an int32 exactly when its upper word is the sign extension of the lower.
  if (rHi !== (rLo >> 31)) return rHi < 0 ? -I32_MAX : I32_MAX;
  if (rLo === -2147483648) return -I32_MAX; // symmetric range: -2^31 is never produced
  return rLo;
}

/**
 * sat32(floor((a*b + 2^(s-1)) / 2^s)): multiply, then round half up (toward +inf on
 * exact ties). a, b int32; s is clamped into [0, 62] (s = 0: no rounding term).
 * AssemblyScript: sat32((i64(a) * i64(b) + (s > 0 ? 1 << (s-1) : 0)) >> s).
 */
export function mulShiftRound(a: number, b: number, s: number): number {
  if (s < 0) s = 0; else if (s > 62) s = 62;
  mul64(a, b);
  if (s > 0) addHalf(s);
  return shiftOutSat(s);
}

/** sat32(floor(a*b / 2^s)), s clamped into [0, 62]. Used by the sampler's thresholds. */
export function mulShiftFloor(a: number, b: number, s: number): number {
  if (s < 0) s = 0; else if (s > 62) s = 62;
  mul64(a, b);
  return shiftOutSat(s);
}

/**
 * The upper 32 bits of the unsigned 64-bit product of two uint32 bit patterns, as an
 * int32 bit pattern (the RNG's xorshift64* output multiply needs it).
 */
export function mulHiU32(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  // Unsigned schoolbook product with 16-bit digits; each partial product < 2^32 is kept
  // as its bit pattern and split into 16-bit halves before adding, so no sum overflows.
  const ll = Math.imul(al, bl) >>> 16; // only the carry into bit 16 matters
  const lh = Math.imul(al, bh);
  const hl = Math.imul(ah, bl);
  const hh = Math.imul(ah, bh);
  const mid = ll + (lh & 0xffff) + (hl & 0xffff); // < 3 * 2^16
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) | 0;
}
