// A minimal module around the verifier, for tests and for checking artifacts on any
// engine: the host reserves room, copies an artifact in, and calls verify().
export { verify, errorOffset, dtypeBytes } from "./verify";
export {
  MAX_RANK, MAX_TENSORS, MAX_SLOTS, MAX_OPS, MAX_REFS, MAX_PARAMS, MAX_VOCAB,
  MAX_CONFORMANCE_CASES, MAX_PLAN_BLOCKS, MAX_KEY_VALUES, MAX_ELEMENTS,
} from "./verify";
export { fnv1a64 } from "./hash";

/** Room for `n` bytes at a 16-byte aligned address (the stub runtime never frees). */
export function alloc(n: usize): usize {
  return heap.alloc(n);
}

// The in-place reader, so tests can check it reads what the host wrote, where it wrote it.
export * from "./flatbuffer";
