// The float reference: llama2.c's `forward` (run.c, current version: RoPE computed per
// position with powf/cosf/sinf, grouped-query attention via kv_mul) rewritten for
// clarity. It is the quality oracle every quantization plan is measured against.
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
// Also measured: float64 accumulation in matmul (max error 1.4e-5 / 1.5e-5, ~3x faster
// matmuls; kept as the opt-in `accumulate: 'float64'`), float64 everywhere (1.7e-5 /
// 1.9e-5), 4- or 8-lane vectorized sums and FMA (further from C). All pass the 1e-4 bar;
// sequential float32 is the closest to C, so it is the default.
import type { FloatWeights, ModelConfig } from '../../import/graph.ts';
import { headSize, kvDim } from '../../import/graph.ts';
import type { ModelSpec } from '../../import/model-spec.ts';

const f = Math.fround;
/** llama2.c's ε; a model's own comes from its spec (model-spec.ts). */
const RMS_EPS = f(1e-5);

/** o = weight * x / sqrt(mean(x²) + ε). `o` may be `x`. */
export function rmsnorm(o: Float32Array, x: Float32Array, weight: Float32Array, eps = RMS_EPS): void {
  const size = x.length;
  let ss = 0;
  for (let j = 0; j < size; j++) ss = f(ss + f(x[j] * x[j]));
  ss = f(ss / size);
  ss = f(ss + eps);
  ss = f(1 / f(Math.sqrt(ss)));
  for (let j = 0; j < size; j++) o[j] = weight[j] * f(ss * x[j]);
}

/** In-place softmax of x[0..size). */
export function softmax(x: Float32Array, size = x.length): void {
  let max = x[0];
  for (let i = 1; i < size; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = 0; i < size; i++) {
    x[i] = Math.exp(f(x[i] - max));
    sum = f(sum + x[i]);
  }
  for (let i = 0; i < size; i++) x[i] = x[i] / sum;
}

/** out[d] = W[d, n] · x[n], W row-major; the sum runs left to right in float32 like run.c. */
export function matmul(out: Float32Array, x: Float32Array, w: Float32Array, n: number, d: number): void {
  for (let i = 0; i < d; i++) {
    let val = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) val = f(val + f(w[row + j] * x[j]));
    out[i] = val;
  }
}

/**
 * The same product summed in float64, rounded once when stored. About 3x faster in V8
 * (a Math.fround per step is two conversions), and more accurate than C, not closer to it.
 */
export function matmulF64(out: Float32Array, x: Float32Array, w: Float32Array, n: number, d: number): void {
  for (let i = 0; i < d; i++) {
    let val = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) val += w[row + j] * x[j];
    out[i] = val;
  }
}

/** The RoPE of a spec as forward.ts's rope() takes it: θ and the per-pair divisors. */
export interface RopeParams { theta: number; factors?: Float32Array }
export const ropeParams = (spec?: ModelSpec): RopeParams => ({ theta: spec?.ropeTheta ?? 10000, ...(spec?.ropeFreqFactors ? { factors: spec.ropeFreqFactors } : {}) });

/**
 * Rotates consecutive pairs of q (all heads) and k (its first kvDim entries) by the angle
 * pos * θ^(-headDim/headSize) / factor[headDim/2] (θ = 10000 and no factors in llama2.c);
 * run.c recomputes the angles every call, so do we.
 */
export function rope(q: Float32Array, k: Float32Array, pos: number, headSize: number, p: RopeParams = { theta: 10000 }): void {
  const { theta, factors } = p;
  for (let i = 0; i < q.length; i += 2) {
    const headDim = i % headSize;
    let freq = f(1 / f(Math.pow(theta, f(headDim / headSize))));
    if (factors) freq = f(freq / factors[headDim >> 1]);
    const val = f(pos * freq);
    const fcr = f(Math.cos(val));
    const fci = f(Math.sin(val));
    rotatePair(q, i, fcr, fci);
    if (i < k.length) rotatePair(k, i, fcr, fci);
  }
}

function rotatePair(v: Float32Array, i: number, fcr: number, fci: number): void {
  const v0 = v[i], v1 = v[i + 1];
  v[i] = f(v0 * fcr) - f(v1 * fci);
  v[i + 1] = f(v0 * fci) + f(v1 * fcr);
}

/**
 * Causal multi-head attention of the query at `pos` over cached keys/values 0..pos of one
 * layer. Query head h reads kv head floor(h / kvMul) (grouped-query attention).
 * `att` is scratch of at least pos + 1 floats; the result goes to `out` (dim).
 */
export function attention(
  out: Float32Array, q: Float32Array, keys: Float32Array, values: Float32Array,
  pos: number, c: ModelConfig, att: Float32Array,
): void {
  const hs = headSize(c), kd = kvDim(c), kvMul = c.nHeads / c.nKvHeads;
  const scale = f(Math.sqrt(hs));
  for (let h = 0; h < c.nHeads; h++) {
    const qo = h * hs, kvo = Math.floor(h / kvMul) * hs;
    for (let t = 0; t <= pos; t++) {
      const ko = t * kd + kvo;
      let score = 0;
      for (let i = 0; i < hs; i++) score = f(score + f(q[qo + i] * keys[ko + i]));
      att[t] = score / scale;
    }
    softmax(att, pos + 1);
    out.fill(0, qo, qo + hs);
    for (let t = 0; t <= pos; t++) {
      const vo = t * kd + kvo, a = att[t];
      for (let i = 0; i < hs; i++) out[qo + i] = out[qo + i] + f(a * values[vo + i]);
    }
  }
}

/** hb = silu(hb) * hb2, elementwise (the SwiGLU gate). */
export function swiglu(hb: Float32Array, hb2: Float32Array): void {
  for (let i = 0; i < hb.length; i++) {
    let val = hb[i];
    val = f(val * f(1 / f(1 + f(Math.exp(-val)))));
    hb[i] = val * hb2[i];
  }
}

function accumulate(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i] = x[i] + y[i];
}

export interface FloatTransformerOptions {
  /**
   * 'float32' (default): matrix products accumulate in float32 like run.c; the oracle.
   * 'float64': accumulate in float64 (matmulF64), for long quality runs where the 3x
   * matters more than the last bits; measured max |logit error| vs llama2.c 1.4e-5.
   */
  accumulate?: 'float32' | 'float64';
}

export class FloatTransformer {
  readonly config: ModelConfig;
  private readonly w: FloatWeights;
  private readonly matmul: typeof matmul;
  // Activations, reused across calls like run.c's RunState.
  private readonly x: Float32Array; private readonly xb: Float32Array; private readonly xb2: Float32Array;
  private readonly hb: Float32Array; private readonly hb2: Float32Array; private readonly q: Float32Array;
  private readonly att: Float32Array; private readonly logits: Float32Array;
  /** [layer][pos][kvDim] */
  private readonly keyCache: Float32Array; private readonly valueCache: Float32Array;
  private readonly eps: number; private readonly rope: RopeParams;

  constructor(w: FloatWeights, opts: FloatTransformerOptions = {}) {
    const c = w.config;
    this.config = c;
    this.w = w;
    this.eps = f(w.spec?.normEps ?? 1e-5);
    this.rope = ropeParams(w.spec);
    this.matmul = opts.accumulate === 'float64' ? matmulF64 : matmul;
    this.x = new Float32Array(c.dim); this.xb = new Float32Array(c.dim); this.xb2 = new Float32Array(c.dim);
    this.hb = new Float32Array(c.hiddenDim); this.hb2 = new Float32Array(c.hiddenDim);
    this.q = new Float32Array(c.dim);
    this.att = new Float32Array(c.seqLen);
    this.logits = new Float32Array(c.vocabSize);
    this.keyCache = new Float32Array(c.nLayers * c.seqLen * kvDim(c));
    this.valueCache = new Float32Array(c.nLayers * c.seqLen * kvDim(c));
  }

  /**
   * Runs `token` at position `pos` (positions must be fed in order 0, 1, 2, ... as the
   * KV cache fills) and returns the logits. The array is reused by the next call.
   */
  forward(token: number, pos: number): Float32Array {
    const c = this.config, w = this.w;
    if (!Number.isInteger(token) || token < 0 || token >= c.vocabSize) throw new RangeError(`token ${token} outside vocabulary [0, ${c.vocabSize})`);
    if (!Number.isInteger(pos) || pos < 0 || pos >= c.seqLen) throw new RangeError(`position ${pos} outside [0, ${c.seqLen})`);
    const { dim, hiddenDim } = c;
    const kd = kvDim(c), layerKv = c.seqLen * kd;
    const { x, xb, xb2, hb, hb2, q } = this;
    const mm = this.matmul;

    x.set(w.tokEmbeddings.subarray(token * dim, (token + 1) * dim));
    for (let l = 0; l < c.nLayers; l++) {
      const b = w.blocks[l];
      rmsnorm(xb, x, b.rmsAtt, this.eps);
      // k and v are written straight into this position's cache row, as run.c does.
      const keys = this.keyCache.subarray(l * layerKv, (l + 1) * layerKv);
      const values = this.valueCache.subarray(l * layerKv, (l + 1) * layerKv);
      const k = keys.subarray(pos * kd, (pos + 1) * kd), v = values.subarray(pos * kd, (pos + 1) * kd);
      mm(q, xb, b.wq, dim, dim);
      mm(k, xb, b.wk, dim, kd);
      mm(v, xb, b.wv, dim, kd);
      rope(q, k, pos, headSize(c), this.rope);
      attention(xb, q, keys, values, pos, c, this.att);
      mm(xb2, xb, b.wo, dim, dim);
      accumulate(x, xb2);

      rmsnorm(xb, x, b.rmsFfn, this.eps);
      mm(hb, xb, b.w1, dim, hiddenDim);
      mm(hb2, xb, b.w3, dim, hiddenDim);
      swiglu(hb, hb2);
      mm(xb, hb, b.w2, hiddenDim, dim);
      accumulate(x, xb);
    }
    rmsnorm(x, x, w.rmsFinal, this.eps);
    mm(this.logits, x, w.wcls, dim, c.vocabSize);
    return this.logits;
  }
}
