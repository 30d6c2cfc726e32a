// Greedy tokens from BOS on the float reference: the text `edgeq run --engine reference
// --temperature 0` prints, as token ids, for comparing model sources.
import type { FloatWeights } from '../../compiler/import/graph.ts';
import { FloatTransformer } from '../../compiler/reference/float/forward.ts';

export function greedy(w: FloatWeights, steps: number): number[] {
  const t = new FloatTransformer(w);
  const out = [1];
  for (let p = 0; p < steps; p++) {
    const l = t.forward(out[p], p);
    let b = 0;
    for (let i = 1; i < l.length; i++) if (l[i] > l[b]) b = i;
    out.push(b);
  }
  return out;
}
