// Fixed constants of the integer formats (docs/integer-spec.md §1 and §4). Same values as
// runtime/kernels/reference/constants.ts (test/runtime-wasm.test.ts compares them).

export const ACT_FRAC: i32 = 16;
export const LOGIT_FRAC: i32 = 16;
export const SCORE_FRAC: i32 = 10;
export const EXP2_TABLE_SIZE: i32 = 1 << SCORE_FRAC;
export const ROPE_FRAC: i32 = 14;

export const SILU_X_MAX_Q16: i32 = 16 << 16;
export const SILU_STEP_SHIFT: i32 = 10;
export const SILU_TABLE_SIZE: i32 = ((2 * SILU_X_MAX_Q16) >> SILU_STEP_SHIFT) + 1; // 2049

export const QMAX8: i32 = 127;
export const ACT_QMAX: i32 = 2047;
export const INV_QMAX8_M: i32 = 16513;
export const INV_QMAX8_E: i32 = 21;
export const QMAX4: i32 = 7;
export const QMAX2: i32 = 1;
export const INV_QMAX4_M: i32 = 18725;
export const INV_QMAX4_E: i32 = 17;
export const INV_QMAX2_M: i32 = 16384;
export const INV_QMAX2_E: i32 = 14;
export const INV_ACT_QMAX_M: i32 = 16392;
export const INV_ACT_QMAX_E: i32 = 25;
export const LOG2E_M: i32 = 23637;
export const LOG2E_E: i32 = 14;
export const LN2_M: i32 = 22713;
export const LN2_E: i32 = 15;

export const GRAD_FRAC: i32 = 24;
export const GACC_FRAC: i32 = 20;
export const W_FRAC: i32 = 24;

export const ZERO_SCALE_M: i32 = 1 << 14;
export const ZERO_SCALE_E: i32 = 14;
