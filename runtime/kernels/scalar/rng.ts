// The sampler's random numbers (docs/integer-spec.md §3.12): llama2.c's xorshift64*.
// Port of runtime/kernels/reference/rng.ts, which keeps the state as two int32 words;
// here it is one u64 (same stream, bit for bit).

let state: u64 = 42;

/** Seed = hi * 2^32 + lo (uint32 words); must not be 0 (xorshift stays at 0 forever). */
export function rngSeed(lo: i32, hi: i32): void {
  state = (<u64><u32>hi << 32) | <u64><u32>lo;
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
