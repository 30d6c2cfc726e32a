// Fixed constants of the integer formats (docs/integer-spec.md §1 and §4). Constants that
// stand for a real number were computed once in float from the formula beside them and
// rounded half away from zero; test/int-tables.test.ts recomputes every one.

/** Fractional bits of the int32 activations: residual stream, q/k/v, FFN hidden, attention output. */
export const ACT_FRAC = 16;
/** Fractional bits of the int32 logits (logit = value / 2^16). */
export const LOGIT_FRAC = 16;
/** Attention scores and sampler exponents: fixed point in log2 units with 10 fractional bits. */
export const SCORE_FRAC = 10;
/** The exp2 table has 2^SCORE_FRAC entries, one per fractional score step. */
export const EXP2_TABLE_SIZE = 1 << SCORE_FRAC;
/** RoPE cos/sin: int16 with 14 fractional bits (1.0 = 16384 is exact). */
export const ROPE_FRAC = 14;

/** SiLU table: x in [-16, 16] (Q16) at steps of 2^-6, i.e. 2^SILU_STEP_SHIFT in Q16 units. */
export const SILU_X_MAX_Q16 = 16 << 16;
export const SILU_STEP_SHIFT = 10;
export const SILU_TABLE_SIZE = ((2 * SILU_X_MAX_Q16) >> SILU_STEP_SHIFT) + 1; // 2049

/**
 * Largest magnitude of quantized values (symmetric: -qmax-1 never occurs). Activations
 * (GEMV inputs), the query and the K cache are 12-bit values stored in int16; weights,
 * embeddings and the V cache are int8.
 */
export const QMAX8 = 127;
export const ACT_QMAX = 2047;
/** 1/127 as a scale: round(2^21 / 127) * 2^-21. */
export const INV_QMAX8_M = 16513;
export const INV_QMAX8_E = 21;
/** Low-bit KV cache values (docs/kv-cache.md): 4 bits hold [-7, 7], 2 bits [-1, 1]. */
export const QMAX4 = 7;
export const QMAX2 = 1;
/** 1/7 as a scale: round(2^17 / 7) * 2^-17. */
export const INV_QMAX4_M = 18725;
export const INV_QMAX4_E = 17;
/** 1/1 as a scale: 2^14 * 2^-14. */
export const INV_QMAX2_M = 16384;
export const INV_QMAX2_E = 14;
/** 1/2047 as a scale: round(2^25 / 2047) * 2^-25. */
export const INV_ACT_QMAX_M = 16392;
export const INV_ACT_QMAX_E = 25;
/** log2(e) as a scale: round(log2(e) * 2^14) * 2^-14. */
export const LOG2E_M = 23637;
export const LOG2E_E = 14;
/** ln(2) as a scale: round(ln(2) * 2^15) * 2^-15 (training: log2 -> nats, 1/sqrt(hs) = att * ln 2). */
export const LN2_M = 22713;
export const LN2_E = 15;

/** Integer LoRA training (docs/integer-spec.md §13): fractional bits of gradient vectors,
 *  of the parameter-gradient accumulators and momentum, and of the int32 master weights. */
export const GRAD_FRAC = 24;
export const GACC_FRAC = 20;
export const W_FRAC = 24;

/** Scale reported for an all-zero vector (any value works: every product with it is 0). */
export const ZERO_SCALE_M = 1 << 14;
export const ZERO_SCALE_E = 14;
