// The integer Walsh–Hadamard transform of each head (docs/integer-spec.md §3.7.2): the
// unnormalized Sylvester matrix H of order hs = 2^r (H[i][j] = (-1)^popcount(i & j), so
// H = Hᵀ and Hᵀ H = hs·I), applied in place by r stages of butterflies. Used on q and k
// before a rotated quantized KV cache stores K: it spreads an outlier channel over the
// whole head, so the per-(position, head) scale no longer follows one channel.

import { satAdd, satSub } from './arith.ts';

/**
 * v[h·hs .. h·hs + hs) ← H · v[h·hs .. h·hs + hs) for every head h of v[0..n) (n a multiple
 * of hs, hs a power of two). Stage s pairs elements j and j + 2^s of each block of 2^(s+1):
 * (a, b) ← (a + b, a − b), each saturated to ±(2³¹ − 1) (exact while max|v| < 2³¹ / hs).
 */
export function hadamard(v: Int32Array, n: number, hs: number): void {
  for (let h = 0; h < n; h += hs) {
    for (let len = 1; len < hs; len <<= 1) {
      for (let i = h; i < h + hs; i += len << 1) {
        for (let j = i; j < i + len; j++) {
          const a = v[j], b = v[j + len];
          v[j] = satAdd(a, b);
          v[j + len] = satSub(a, b);
        }
      }
    }
  }
}
