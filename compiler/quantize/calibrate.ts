// Calibration statistics for GPTQ without any dataset: the float model writes its own
// calibration text. Starting from BOS it samples `sequences` sequences of `length` tokens
// (temperature 1, top-p 0.9, fixed seed, so the result is deterministic), and every input
// vector x of every matrix product is accumulated into that product's Hessian H = sum x x^T,
// and (for AWQ, awq.ts) its channels' mean magnitudes mean |x_j|.
import type { FloatWeights } from '../import/graph.ts';
import { AblationTransformer, type TapPoint } from '../eval/ablate.ts';
import { Sampler } from '../reference/float/sampler.ts';

/** Calibration defaults: 32 sequences of 256 tokens (8192 tokens). */
export const CALIBRATION_SEQUENCES = 32;
export const CALIBRATION_LENGTH = 256;

/** About `tokens` calibration tokens: sequences of CALIBRATION_LENGTH (one shorter one below that), rounded up to whole sequences. */
export function calibrationOfTokens(tokens: number): CalibrationOptions {
  const length = Math.max(1, Math.min(tokens, CALIBRATION_LENGTH));
  return { sequences: Math.ceil(tokens / length), length };
}

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

/** What calibration measures of each matrix input (keyed as Hessians). */
export interface CalibrationStats {
  hessians: Hessians;
  /** mean |x_j| per input channel j over the calibration tokens. */
  absMeans: Map<string, Float64Array>;
}

export function calibrate(w: FloatWeights, opts: CalibrationOptions = {}): Hessians {
  return calibrateStats(w, opts).hessians;
}

export function calibrateStats(w: FloatWeights, opts: CalibrationOptions = {}): CalibrationStats {
  const c = w.config;
  const sequences = opts.sequences ?? CALIBRATION_SEQUENCES, length = Math.min(opts.length ?? CALIBRATION_LENGTH, c.seqLen);
  const hs: Hessians = new Map(), absMeans = new Map<string, Float64Array>();
  const tap = (layer: number, point: TapPoint, x: Float64Array) => {
    const key = hessianKey(layer, point), n = x.length;
    let h = hs.get(key), a = absMeans.get(key);
    if (!h || !a) { h = new Float64Array(n * n); hs.set(key, h); a = new Float64Array(n); absMeans.set(key, a); }
    for (let i = 0; i < n; i++) {
      const xi = x[i];
      a[i] += Math.abs(xi);
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
  for (const [, a] of absMeans) for (let i = 0; i < a.length; i++) a[i] /= sequences * length;
  return { hessians: hs, absMeans };
}
