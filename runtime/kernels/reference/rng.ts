// The sampler's random numbers (docs/integer-spec.md §3.12): llama2.c's xorshift64* on a
// 64-bit state, kept as two int32 words so that it needs no 64-bit type. The stream is
// bit-identical to run.c's random_u32 for the same seed (test/int-reference.test.ts).

import { mulHiU32 } from './int64.ts';

// 0x2545F4914F6CDD1D, the xorshift64* multiplier, as two 32-bit words.
const MUL_HI = 0x2545f491;
const MUL_LO = 0x4f6cdd1d;

export class Xorshift64Star {
  private hi: number;
  private lo: number;

  /** Seed = hi * 2^32 + lo (uint32 words); must not be 0 (xorshift stays at 0 forever). */
  constructor(lo: number, hi: number) {
    this.lo = lo | 0;
    this.hi = hi | 0;
  }

  /** The state words [lo, hi] (to save a stream and resume it). */
  state(): [number, number] {
    return [this.lo, this.hi];
  }

  /** The next uint32, returned as its int32 bit pattern (run.c's random_u32). */
  next(): number {
    let lo = this.lo, hi = this.hi, tLo: number, tHi: number;
    // s ^= s >> 12
    tLo = (lo >>> 12) | (hi << 20); tHi = hi >>> 12;
    lo = lo ^ tLo; hi = hi ^ tHi;
    // s ^= s << 25
    tHi = (hi << 25) | (lo >>> 7); tLo = lo << 25;
    lo = lo ^ tLo; hi = hi ^ tHi;
    // s ^= s >> 27
    tLo = (lo >>> 27) | (hi << 5); tHi = hi >>> 27;
    lo = lo ^ tLo; hi = hi ^ tHi;
    this.lo = lo; this.hi = hi;
    // (s * MUL) mod 2^64, upper word: only three of the four word products reach it.
    return (mulHiU32(lo, MUL_LO) + Math.imul(lo, MUL_HI) + Math.imul(hi, MUL_LO)) | 0;
  }
}
