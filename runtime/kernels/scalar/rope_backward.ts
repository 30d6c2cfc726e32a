// Backward of RoPE (docs/integer-spec.md §13.4). Port of
// runtime/kernels/reference/rope_backward.ts.
import { satAdd, satSub } from "./arith";
import { ROPE_FRAC } from "./constants";
import { mulShiftRound } from "./int64";
import { i16at, i32at, set32 } from "./mem";

/** Rotates v[0..n) (Q24) back by the angle of pos, in place. */
export function ropeBackwardQ24(v: usize, n: i32, headSize: i32, cos: usize, sin: usize, pos: i32): void {
  const half = headSize >> 1, row = pos * half;
  for (let h = 0; h < n; h += headSize) {
    for (let i = 0; i < half; i++) {
      const c = i16at(cos, row + i), s = i16at(sin, row + i);
      const a = i32at(v, h + 2 * i), b = i32at(v, h + 2 * i + 1);
      set32(v, h + 2 * i, satAdd(mulShiftRound(a, c, ROPE_FRAC), mulShiftRound(b, s, ROPE_FRAC)));
      set32(v, h + 2 * i + 1, satSub(mulShiftRound(b, c, ROPE_FRAC), mulShiftRound(a, s, ROPE_FRAC)));
    }
  }
}
