// SiLU and the SwiGLU gate (docs/integer-spec.md §3.8). silu(x) = x * sigmoid(x) comes from
// a baked int32 table of silu at x = -16 + j/64 (j = 0..2048, Q16 values) with linear
// interpolation; outside [-16, 16] silu(x) is taken as 0 (x < -16: |silu| < 2^-19) or x.

import { ACT_FRAC } from './constants.ts';
import { SILU_STEP_SHIFT, SILU_X_MAX_Q16 } from './constants.ts';
import { mulShiftRound } from './int64.ts';

/** silu(x) for x in Q16, result in Q16. */
export function siluQ16(x: number, table: Int32Array): number {
  if (x <= -SILU_X_MAX_Q16) return 0;
  if (x >= SILU_X_MAX_Q16) return x;
  const u = x + SILU_X_MAX_Q16; // [0, 2^21)
  const j = u >> SILU_STEP_SHIFT, f = u & ((1 << SILU_STEP_SHIFT) - 1);
  const y0 = table[j], dy = table[j + 1] - y0; // |dy| < 2^11
  return y0 + ((Math.imul(dy, f) + (1 << (SILU_STEP_SHIFT - 1))) >> SILU_STEP_SHIFT);
}

/** h1[i] = silu(h1[i]) * h3[i] for i < n, all Q16 (the product rounded half up, saturated). */
export function swigluQ16(h1: Int32Array, h3: Int32Array, n: number, table: Int32Array): void {
  for (let i = 0; i < n; i++) h1[i] = mulShiftRound(siluQ16(h1[i], table), h3[i], ACT_FRAC);
}
