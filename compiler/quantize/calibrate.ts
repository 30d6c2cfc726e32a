// Calibration statistics for GPTQ without any dataset: the float model writes its own
// calibration text. Starting from BOS it samples `sequences` sequences of `length` tokens
// (temperature 1, top-p 0.9, fixed seed, so the result is deterministic), and every input
// vector x of every matrix product is accumulated into that product's Hessian H = sum x x^T.
import type { FloatWeights } from '../import/graph.ts';
import { AblationTransformer, type TapPoint } from '../eval/ablate.ts';
import { Sampler } from '../reference/float/sampler.ts';

export interface CalibrationOptions {
  sequences?: number;
  length?: number;
  seed?: number;
}

/** Hessians keyed by `blocks.{l}.{attn|wo|ffn|w2}` and `cls`, each n x n row-major. */
export type Hessians = Map<string, Float64Array>;

export const hessianKey = (layer: number, point: TapPoint): string => (point === 'cls' ? 'cls' : `blocks.${layer}.${point}`);

/** The Hessian key of a block matrix's input: wq/wk/wv share the attention norm's output, w1/w3 the FFN norm's. */
export const blockInputKey = (layer: number, matrix: 'wq' | 'wk' | 'wv' | 'wo' | 'w1' | 'w2' | 'w3'): string =>
  hessianKey(layer, ({ wq: 'attn', wk: 'attn', wv: 'attn', wo: 'wo', w1: 'ffn', w3: 'ffn', w2: 'w2' } as const)[matrix]);

export function calibrate(w: FloatWeights, opts: CalibrationOptions = {}): Hessians {
  const c = w.config;
  const sequences = opts.sequences ?? 32, length = Math.min(opts.length ?? 256, c.seqLen);
  const hs: Hessians = new Map();
  const tap = (layer: number, point: TapPoint, x: Float64Array) => {
    const key = hessianKey(layer, point), n = x.length;
    let h = hs.get(key);
    if (!h) { h = new Float64Array(n * n); hs.set(key, h); }
    for (let i = 0; i < n; i++) {
      const xi = x[i];
      if (xi === 0) continue;
      for (let j = 0; j <= i; j++) h[i * n + j] += xi * x[j];
    }
  };
  const model = new AblationTransformer(w, { sites: new Set(), tap });
  const sampler = new Sampler({ temperature: 1, topp: 0.9, seed: opts.seed ?? 1234 });
  const logits = new Float32Array(c.vocabSize);
  for (let s = 0; s < sequences; s++) {
    let token = 1; // BOS
    for (let pos = 0; pos < length; pos++) {
      logits.set(model.forward(token, pos));
      token = sampler.sample(logits);
    }
  }
  for (const [, h] of hs) { // fill the upper triangle
    const n = Math.round(Math.sqrt(h.length));
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) h[i * n + j] = h[j * n + i];
  }
  return hs;
}
