// Backward of RoPE (docs/integer-spec.md §13.4): the rotation is orthogonal, so the
// gradient with respect to its input is the gradient of its output rotated back (the
// transpose): for each pair (a', b') of dv (Q24) at position pos,
//   a = round(a' cos / 2^14) + round(b' sin / 2^14),  b = -round(a' sin / 2^14) + round(b' cos / 2^14)
// each product rounded half up on its own (as ropeQ16), the sums saturated.

import { satAdd, satSub } from './arith.ts';
import { ROPE_FRAC } from './constants.ts';
import { mulShiftRound } from './int64.ts';

/** Rotates v[0..n) (Q24 gradients; n a multiple of headSize) back by the angle of pos, in place. */
export function ropeBackwardQ24(
  v: Int32Array, n: number, headSize: number, cos: Int16Array, sin: Int16Array, pos: number,
): void {
  const half = headSize >> 1, row = pos * half;
  for (let h = 0; h < n; h += headSize) {
    for (let i = 0; i < half; i++) {
      const c = cos[row + i], s = sin[row + i];
      const a = v[h + 2 * i], b = v[h + 2 * i + 1];
      v[h + 2 * i] = satAdd(mulShiftRound(a, c, ROPE_FRAC), mulShiftRound(b, s, ROPE_FRAC));
      v[h + 2 * i + 1] = satSub(mulShiftRound(b, c, ROPE_FRAC), mulShiftRound(a, s, ROPE_FRAC));
    }
  }
}
