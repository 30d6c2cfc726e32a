// Error codes the runtime returns besides the verifier's (VerifyError in schemas/edgeq.fbs,
// 1..63). Host-side words: compiler/engines/wasm-runtime.ts; table: docs/runtime-abi.md.

/** forward/selftest called before a successful load. */
export const ERR_NOT_LOADED: i32 = 64;
/** forward: token >= vocab_size (or negative). */
export const ERR_BAD_TOKEN: i32 = 65;
/** forward: position >= seq_len (or negative). */
export const ERR_BAD_POSITION: i32 = 66;
/** load: memory could not grow for the arena and scratch. */
export const ERR_OUT_OF_MEMORY: i32 = 67;
/** load: an op's operands or params do not match what its kernel needs. */
export const ERR_BAD_PROGRAM: i32 = 68;
/** load: the program uses an op kind this runtime was not generated with. */
export const ERR_UNSUPPORTED_OP: i32 = 69;
/** load: the artifact's model config differs from the one this runtime was generated for. */
export const ERR_CONFIG_MISMATCH: i32 = 70;
/** train_init not (successfully) called before train_step, train_loss or lora_forward; or no model loaded. */
export const ERR_TRAIN_NOT_READY: i32 = 71;
/** train_init: r_pad not a positive multiple of 16 (<= 1024), seq_len outside [1, seq_len], rng state 0, or dim / kv dim not multiples of 16. */
export const ERR_TRAIN_PARAMS: i32 = 72;
/** train_step(n) with n != seq_len + 1, or train_loss(n) with n outside [2, model seq_len + 1]. */
export const ERR_TRAIN_TOKENS: i32 = 73;
/** forward (threaded V8 flavour only): a worker thread failed; the runtime cannot run on. */
export const ERR_THREAD_FAILED: i32 = 74;
