// Backward of the SwiGLU gate h = silu(a) * b (docs/integer-spec.md §13.3), a and b the
// saved Q16 pre-activations, dh Q24:
//   db = dh * silu(a),   da = dh * b * silu'(a)
// silu' is the exact derivative of the forward's piecewise-linear table interpolation
// (silu.ts): on interval j (x in [-16 + j/64, -16 + (j+1)/64)) the slope is
// (T[j+1] - T[j]) * 64, i.e. (T[j+1] - T[j]) << 6 in Q16; 0 for x <= -16 (the forward
// returns the constant 0 there), 1 (65536) for x >= 16 (the forward returns x).

import { ACT_FRAC, SILU_STEP_SHIFT, SILU_X_MAX_Q16 } from './constants.ts';
import { mulShiftRound } from './int64.ts';
import { siluQ16 } from './silu.ts';

/** silu'(x) of the interpolated table, Q16 (|.| < 2^17: table steps are < 2^11). */
export function siluGradQ16(x: number, table: Int32Array): number {
  if (x <= -SILU_X_MAX_Q16) return 0;
  if (x >= SILU_X_MAX_Q16) return 1 << ACT_FRAC;
  const j = (x + SILU_X_MAX_Q16) >> SILU_STEP_SHIFT;
  return (table[j + 1] - table[j]) << (ACT_FRAC - SILU_STEP_SHIFT);
}

/**
 * da[i], db[i] (Q24) for i < n from dh (Q24), a, b (Q16). Each element's inputs are read
 * before its outputs are written, so da/db may alias dh, a or b element-wise.
 */
export function swigluBackward(
  da: Int32Array, db: Int32Array, dh: Int32Array, a: Int32Array, b: Int32Array, n: number,
  siluTable: Int32Array,
): void {
  for (let i = 0; i < n; i++) {
    const g = dh[i], ai = a[i], bi = b[i];
    const sa = siluQ16(ai, siluTable);
    // b * silu'(a) in Q16 (one rounding, saturated), then times dh.
    const bs = mulShiftRound(bi, siluGradQ16(ai, siluTable), ACT_FRAC);
    db[i] = mulShiftRound(g, sa, ACT_FRAC);
    da[i] = mulShiftRound(g, bs, ACT_FRAC);
  }
}
