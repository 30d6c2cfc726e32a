// SiLU and the SwiGLU gate (docs/integer-spec.md §3.8). Port of
// runtime/kernels/reference/silu.ts; the table is the baked int32 [2049].
import { ACT_FRAC, SILU_STEP_SHIFT, SILU_X_MAX_Q16 } from "./constants";
import { mulShiftRound } from "./int64";
import { i32at, set32 } from "./mem";

/** silu(x) for x in Q16, result in Q16. */
export function siluQ16(x: i32, table: usize): i32 {
  if (x <= -SILU_X_MAX_Q16) return 0;
  if (x >= SILU_X_MAX_Q16) return x;
  const u = x + SILU_X_MAX_Q16; // [0, 2^21)
  const j = u >> SILU_STEP_SHIFT, f = u & ((1 << SILU_STEP_SHIFT) - 1);
  const y0 = i32at(table, j), dy = i32at(table, j + 1) - y0; // |dy| < 2^11
  return y0 + ((dy * f + (1 << (SILU_STEP_SHIFT - 1))) >> SILU_STEP_SHIFT);
}

/** h1[i] = silu(h1[i]) * h3[i] for i < n, all Q16 (the product rounded half up, saturated). */
export function swigluQ16(h1: usize, h3: usize, n: i32, table: usize): void {
  for (let i = 0; i < n; i++) set32(h1, i, mulShiftRound(siluQ16(i32at(h1, i), table), i32at(h3, i), ACT_FRAC));
}
