// Backward of the SwiGLU gate (docs/integer-spec.md §13.3). Port of
// runtime/kernels/reference/swiglu_backward.ts.
import { ACT_FRAC, SILU_STEP_SHIFT, SILU_X_MAX_Q16 } from "./constants";
import { mulShiftRound } from "./int64";
import { i32at, set32 } from "./mem";
import { siluQ16 } from "./silu";

/** silu'(x) of the interpolated table, Q16. */
export function siluGradQ16(x: i32, table: usize): i32 {
  if (x <= -SILU_X_MAX_Q16) return 0;
  if (x >= SILU_X_MAX_Q16) return 1 << ACT_FRAC;
  const j = (x + SILU_X_MAX_Q16) >> SILU_STEP_SHIFT;
  return (i32at(table, j + 1) - i32at(table, j)) << (ACT_FRAC - SILU_STEP_SHIFT);
}

/** da, db (Q24) from dh (Q24), a, b (Q16). */
export function swigluBackward(da: usize, db: usize, dh: usize, a: usize, b: usize, n: i32, siluTable: usize): void {
  for (let i = 0; i < n; i++) {
    const g = i32at(dh, i), ai = i32at(a, i), bi = i32at(b, i);
    const sa = siluQ16(ai, siluTable);
    const bs = mulShiftRound(bi, siluGradQ16(ai, siluTable), ACT_FRAC);
    set32(db, i, mulShiftRound(g, sa, ACT_FRAC));
    set32(da, i, mulShiftRound(g, bs, ACT_FRAC));
  }
}
