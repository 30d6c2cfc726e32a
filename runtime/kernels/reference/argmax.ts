// Greedy decoding (docs/integer-spec.md §3.11): the index of the largest logit, the lowest
// index among equal ones.

export function argmaxInt(logits: Int32Array, n: number): number {
  let best = 0, bestV = logits[0];
  for (let i = 1; i < n; i++) if (logits[i] > bestV) { best = i; bestV = logits[i]; }
  return best;
}
