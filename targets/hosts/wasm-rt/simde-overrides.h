/* Faster forms of a few SIMDe wasm-SIMD operations, for the SIMD runtime's wasm2c builds
 * (compiler/engines/wasm2c.ts force-includes this file ahead of runtime.c when the C uses
 * SIMDe). Each override computes exactly the wasm operation it replaces; only the
 * instruction sequence differs.
 *
 * AArch64: SIMDe 0.7.4 maps i8x16.swizzle through its ARMv7 path (two 64-bit `vtbl2` plus
 * lane moves, ~6 instructions); AArch64's one-register `tbl` (vqtbl1q) is exactly wasm's
 * swizzle: an index >= 16 gives 0. And SIMDe builds i8x16 constants from a byte array, which
 * gcc 12 turns into lane-by-lane inserts inside loops (8 `mov v.b[i]` per use of the LUT
 * kernel's nibble mask); a vector literal folds to one `movi` hoisted out of the loop.
 * Measured on the 4-bit 110M shape: see docs/engines.md. */
#ifndef EDGEQ_SIMDE_OVERRIDES_H
#define EDGEQ_SIMDE_OVERRIDES_H

#include <simde/wasm/simd128.h>

#if defined(__aarch64__) && defined(SIMDE_ARM_NEON_A64V8_NATIVE) && !defined(SIMDE_WASM_SIMD128_NATIVE)
#include <arm_neon.h>

static inline simde_v128_t edgeq_i8x16_swizzle(simde_v128_t a, simde_v128_t b) {
  return vreinterpretq_s32_s8(vqtbl1q_s8(vreinterpretq_s8_s32(a), vreinterpretq_u8_s32(b)));
}
#undef simde_wasm_i8x16_swizzle
#define simde_wasm_i8x16_swizzle edgeq_i8x16_swizzle

#undef simde_wasm_i8x16_const
#define simde_wasm_i8x16_const(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15) \
  vreinterpretq_s32_s8((int8x16_t){(int8_t)(c0), (int8_t)(c1), (int8_t)(c2), (int8_t)(c3), (int8_t)(c4), (int8_t)(c5), \
    (int8_t)(c6), (int8_t)(c7), (int8_t)(c8), (int8_t)(c9), (int8_t)(c10), (int8_t)(c11), (int8_t)(c12), (int8_t)(c13), \
    (int8_t)(c14), (int8_t)(c15)})
#endif

#endif
