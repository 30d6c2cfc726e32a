// The sampler's random numbers (docs/integer-spec.md §3.12): llama2.c's xorshift64*.
// Port of runtime/kernels/reference/rng.ts, which keeps the state as two int32 words;
// here it is one u64 (same stream, bit for bit).

let state: u64 = 42;

/** Seed = hi * 2^32 + lo (uint32 words); must not be 0 (xorshift stays at 0 forever). */
export function rngSeed(lo: i32, hi: i32): void {
  // The mask is not redundant: with asc -O3 (binaryen 131), i64.extend_i32_u of an inlined
  // i32 load is folded into i64.load32_s, sign-extending lo (found by the training runtime,
  // which seeds from words in memory; test/train-runtime.test.ts).
  state = (<u64><u32>hi << 32) | (<u64><u32>lo & 0xffffffff);
}

/** The next uint32, returned as its int32 bit pattern (run.c's random_u32). */
export function rngNext(): i32 {
  let s = state;
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  state = s;
  return <i32>((s * 0x2545F4914F6CDD1D) >> 32);
}

/** The state words (lo, hi) as int32 bit patterns: the training runtime saves its stochastic-rounding stream. */
export function rngStateLo(): i32 { return <i32>state; }
export function rngStateHi(): i32 { return <i32>(state >> 32); }
