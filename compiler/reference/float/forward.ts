// The float reference: llama2.c's `forward` (run.c, current version: RoPE computed per
// position with powf/cosf/sinf, grouped-query attention via kv_mul), one position at a
// time with a KV cache. It is the quality oracle every quantization plan is measured
// against. The model itself is model.ts (shared with the float64 LoRA pass); this file
// chooses its arithmetic and keeps run.c's RunState.
//
// Arithmetic is float32, step for step as the C code does it (gcc -O3, no fast-math, no
// FMA): every product, sum and quotient is rounded with Math.fround (a double result of
// +,-,*,/,sqrt on float32 inputs rounds to exactly the float32 result); expf/powf/cosf/
// sinf are the double functions rounded to float32.
// Measured against llama2.c's golden logits (test/float-reference.test.ts): position 0 is
// bit-identical for both models, max |error| over 32 positions is 9.5e-6 (stories260K)
// and 1.6e-5 (babyllama936K). The rest comes from glibc's cosf/sinf/expf, which are not
// correctly rounded (glibc 2.36: ~2.6% of the RoPE angles and ~0.06% of expf arguments
// differ in the last bit), so it starts where RoPE angles stop being exact.
// Also measured: float64 accumulation in matmul (max error 1.4e-5 / 1.5e-5, faster
// matmuls; kept as the opt-in `accumulate: 'float64'`), float64 everywhere (1.7e-5 /
// 1.9e-5), 4- or 8-lane vectorized sums and FMA (further from C). All pass the 1e-4 bar;
// sequential float32 is the closest to C, so it is the default.
import type { FloatWeights, ModelConfig } from '../../import/graph.ts';
import * as model from './model.ts';
import { Activations, FLOAT32, FLOAT32_SUMS64, FloatModel, type RopeParams } from './model.ts';

export { ropeParams, type RopeParams } from './model.ts';

/** llama2.c's ε; a model's own comes from its spec (model-spec.ts). */
const RMS_EPS = Math.fround(1e-5);

/** model.ts's RMSNorm in float32 over whole arrays: o = weight * x / sqrt(mean(x²) + ε). `o` may be `x`. */
export function rmsnorm(o: Float32Array, x: Float32Array, weight: Float32Array, eps = RMS_EPS): void {
  model.rmsnorm(o, 0, x, 0, weight, x.length, eps, true);
}

/** model.ts's softmax in float32, in place on x[0..size). */
export function softmax(x: Float32Array, size = x.length): void {
  model.softmax(x, 0, size, true);
}

/** model.ts's RoPE in float32: rotates all heads of q and the first kvDim entries of k for position `pos`. */
export function rope(q: Float32Array, k: Float32Array, pos: number, headSize: number, p: RopeParams = { theta: 10000 }): void {
  const cos = new Float32Array(headSize / 2), sin = new Float32Array(headSize / 2);
  model.ropeCoefficients(cos, sin, 0, pos, headSize, p);
  model.rotate(q, 0, q.length, headSize, cos, sin, 0, true);
  model.rotate(k, 0, k.length, headSize, cos, sin, 0, true);
}

export interface FloatTransformerOptions {
  /**
   * 'float32' (default): matrix products accumulate in float32 like run.c; the oracle.
   * 'float64': accumulate in float64, for long quality runs where the speed matters more
   * than the last bits; measured max |logit error| vs llama2.c 1.4e-5.
   */
  accumulate?: 'float32' | 'float64';
}

export class FloatTransformer {
  readonly config: ModelConfig;
  private readonly model: FloatModel;
  /** Activations reused across calls like run.c's RunState, and the KV cache. */
  private readonly acts: Activations<Float32Array>;

  constructor(w: FloatWeights, opts: FloatTransformerOptions = {}) {
    this.config = w.config;
    this.model = new FloatModel(w, opts.accumulate === 'float64' ? FLOAT32_SUMS64 : FLOAT32);
    this.acts = new Activations(w.config, w.config.seqLen, false, (n) => new Float32Array(n));
  }

  /**
   * Runs `token` at position `pos` (positions must be fed in order 0, 1, 2, ... as the
   * KV cache fills) and returns the logits. The array is reused by the next call.
   */
  forward(token: number, pos: number): Float32Array {
    const c = this.config;
    if (!Number.isInteger(token) || token < 0 || token >= c.vocabSize) throw new RangeError(`token ${token} outside vocabulary [0, ${c.vocabSize})`);
    if (!Number.isInteger(pos) || pos < 0 || pos >= c.seqLen) throw new RangeError(`position ${pos} outside [0, ${c.seqLen})`);
    this.model.step(token, pos, this.acts);
    return this.acts.logits;
  }
}
