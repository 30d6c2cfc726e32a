// Greedy decoding from BOS, the unit of work every speed section times: returns the
// number of positions run, for tokens per second.
import type { FloatWeights } from '../compiler/import/graph.ts';
import { FloatTransformer, type FloatTransformerOptions } from '../compiler/reference/float/forward.ts';
import { sampleArgmax } from '../compiler/reference/float/sampler.ts';
import type { WasmRuntime } from '../compiler/engines/wasm-runtime.ts';

/** The float reference, with a fresh KV cache each call. */
export function greedyFloat(w: FloatWeights, tokens: number, opts: FloatTransformerOptions = {}): number {
  const t = new FloatTransformer(w, opts);
  let token = 1;
  for (let pos = 0; pos < tokens; pos++) token = sampleArgmax(t.forward(token, pos));
  return tokens;
}

/** A bundle's runtime.wasm (positions restart at 0, so the KV cache is overwritten in order). */
export function greedyRuntime(rt: WasmRuntime, tokens: number): number {
  let token = 1;
  for (let pos = 0; pos < tokens; pos++) { rt.forward(token, pos); token = rt.argmax(); }
  return tokens;
}
