// SGD with momentum over int32 parameters (docs/integer-spec.md §13.8). Port of
// runtime/kernels/reference/sgd.ts.
import { satAdd, satSub } from "./arith";
import { GACC_FRAC, W_FRAC } from "./constants";
import { i32at, set32 } from "./mem";
import { mulShiftAny } from "./train_arith";

export function sgdMomentum(w: usize, v: usize, gacc: usize, n: i32, lrM: i32, lrE: i32, momShift: i32): void {
  const sh = lrE + GACC_FRAC - W_FRAC;
  for (let i = 0; i < n; i++) {
    let vi = i32at(v, i);
    if (momShift > 0) vi = vi - ((vi >> momShift) + ((vi >> (momShift - 1)) & 1));
    vi = satAdd(vi, i32at(gacc, i));
    set32(v, i, vi);
    set32(w, i, satSub(i32at(w, i), mulShiftAny(vi, lrM, sh)));
    set32(gacc, i, 0);
  }
}
