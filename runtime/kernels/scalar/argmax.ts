// Greedy decoding (docs/integer-spec.md §3.11): the index of the largest logit, the lowest
// index among equal ones. Port of runtime/kernels/reference/argmax.ts.
import { i32at } from "./mem";

export function argmaxInt(logits: usize, n: i32): i32 {
  let best = 0, bestV = i32at(logits, 0);
  for (let i = 1; i < n; i++) if (i32at(logits, i) > bestV) { best = i; bestV = i32at(logits, i); }
  return best;
}
