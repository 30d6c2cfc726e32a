// Limits the device verifier enforces (runtime/assembly/verify.ts exports the same values;
// test/verify-wasm.test.ts compares them with the compiled module's). They bound the
// verifier's work on a hostile file and are far above any real model's needs.
export const LIMITS = {
  /** Dims of a tensor or slot shape. */
  MAX_RANK: 8,
  MAX_TENSORS: 1 << 16,
  MAX_SLOTS: 1 << 16,
  MAX_OPS: 1 << 20,
  /** Inputs or outputs of one op. */
  MAX_REFS: 16,
  /** Integer params of one op or one Quant. */
  MAX_PARAMS: 1 << 16,
  MAX_VOCAB: 1 << 20,
  MAX_CONFORMANCE_CASES: 64,
  MAX_PLAN_BLOCKS: 1 << 12,
  MAX_KEY_VALUES: 256,
  /** Elements of one tensor or slot (the device addresses it with 32-bit offsets). */
  MAX_ELEMENTS: 2 ** 32 - 1,
} as const;
