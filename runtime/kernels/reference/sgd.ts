// SGD with momentum over int32 parameters (docs/integer-spec.md §13.8):
//   v <- v - round(v / 2^momShift) + gacc        (mu = 1 - 2^-momShift; Q20, saturating)
//   w <- w - v * lr                              (w Q24, lr = lrM 2^-lrE; saturating)
//   gacc <- 0
// round(v / 2^s) is half up, computed as (v >> s) + bit s-1 of v so that v near the int32
// limits cannot overflow.

import { satAdd, satSub } from './arith.ts';
import { GACC_FRAC, W_FRAC } from './constants.ts';
import { mulShiftAny } from './train_arith.ts';

export function sgdMomentum(
  w: Int32Array, v: Int32Array, gacc: Int32Array, n: number, lrM: number, lrE: number, momShift: number,
): void {
  const sh = lrE + GACC_FRAC - W_FRAC;
  for (let i = 0; i < n; i++) {
    let vi = v[i];
    if (momShift > 0) vi = vi - ((vi >> momShift) + ((vi >> (momShift - 1)) & 1)); // |.| <= |v|
    vi = satAdd(vi, gacc[i]);
    v[i] = vi;
    w[i] = satSub(w[i], mulShiftAny(vi, lrM, sh));
    gacc[i] = 0;
  }
}
