// The integer Walsh–Hadamard transform of each head (docs/integer-spec.md §3.7.2). Port of
// runtime/kernels/reference/hadamard.ts; v is an int32 vector of n = heads·hs values.
import { satAdd, satSub } from "./arith";
import { i32at, set32 } from "./mem";

/** v[h·hs ..) ← H · v[h·hs ..) for every head (hs a power of two), saturating butterflies, in place. */
export function hadamard(v: usize, n: i32, hs: i32): void {
  for (let h = 0; h < n; h += hs) {
    for (let len = 1; len < hs; len <<= 1) {
      for (let i = h; i < h + hs; i += len << 1) {
        for (let j = i; j < i + len; j++) {
          const a = i32at(v, j), b = i32at(v, j + len);
          set32(v, j, satAdd(a, b));
          set32(v, j + len, satSub(a, b));
        }
      }
    }
  }
}
