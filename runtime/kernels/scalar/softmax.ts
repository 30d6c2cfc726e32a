// Integer softmax numerator by table (docs/integer-spec.md §3.6). Port of
// runtime/kernels/reference/softmax.ts.
import { satSub } from "./arith";
import { SCORE_FRAC } from "./constants";
import { i16at, i32at, set32 } from "./mem";

/** 2^(-d / 2^SCORE_FRAC) for d >= 0: table[d & 1023] shifted right by d >> 10, rounded half up. */
export function exp2Neg(d: i32, table: usize): i32 {
  const n = d >> SCORE_FRAC;
  if (n >= 31) return 0;
  const t = i16at(table, d & ((1 << SCORE_FRAC) - 1)); // <= 2^14
  return n == 0 ? t : (t + (1 << (n - 1))) >> n;
}

/** e[0..n) = 2^(s - max s) for scores s[0..n); returns sum e. */
export function softmaxExp2(e: usize, s: usize, n: i32, table: usize): i32 {
  let max = i32at(s, 0);
  for (let t = 1; t < n; t++) if (i32at(s, t) > max) max = i32at(s, t);
  let sum = 0;
  for (let t = 0; t < n; t++) {
    const v = exp2Neg(satSub(max, i32at(s, t)), table);
    set32(e, t, v);
    sum = sum + v;
  }
  return sum;
}
