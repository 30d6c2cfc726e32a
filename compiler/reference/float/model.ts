// The llama forward of one position, written once for every float semantics edgeq has
// (issue 13 item 4): llama2.c's `forward` (run.c: RMSNorm, q/k/v, RoPE, grouped-query
// causal attention, SwiGLU, classifier), driven by the model spec (θ, ε, RoPE frequency
// factors), with optional LoRA terms on wq and wv. Three users:
//   - the float reference (forward.ts, FloatTransformer): float32 rounding after every
//     operation as the C code does, one reused slot of activations plus the KV cache;
//   - the float64 LoRA pass (lora-pass.ts): no rounding, every position's activations
//     recorded for the hand-written backward;
//   - the ablation simulator (compiler/eval/ablate.ts) and through it GPTQ's calibration:
//     float64 with the integer tables' constants, dequantized matrices in place of some
//     weights, and a probe that rounds or records the vectors the integer format rounds.
// The number mode is two booleans read once per kernel call and passed down, so each
// rounding is `on ? Math.fround(x) : x` with a loop-invariant `on`: V8 inlines it and the
// float32 path runs as fast as code written with Math.fround directly (measured with
// bench/float-reference.bench.ts). A rounding *function* passed in instead makes the call
// sites megamorphic: measured 6x slower matrix products.
import type { ModelConfig } from '../../import/graph.ts';
import { headSize, kvDim } from '../../import/graph.ts';
import { ropeFrequencies, type ModelSpec } from '../../import/model-spec.ts';

const f = Math.fround;

/** How the arithmetic rounds. */
export interface NumberMode {
  /** Round every product, sum, quotient, root and exp to float32, as run.c's float code does. */
  round32: boolean;
  /** Round the running sums of the matrix products to float32 as well (else sum in float64, round once when stored). */
  matmulRound32: boolean;
  /**
   * The constants of the model as run.c has them: RoPE angles from float32 powf/cosf/sinf
   * and ε rounded to float32. Else as the integer format's tables are computed from them
   * (compiler/quantize/tables.ts): RoPE frequencies from model-spec.ts ropeFrequencies and
   * cos/sin in float64, ε as the spec gives it.
   */
  constants32: boolean;
}
/** llama2.c's arithmetic, step for step: the oracle. */
export const FLOAT32: NumberMode = { round32: true, matmulRound32: true, constants32: true };
/** The same with float64 sums in the matrix products (FloatTransformer's `accumulate: 'float64'`). */
export const FLOAT32_SUMS64: NumberMode = { round32: true, matmulRound32: false, constants32: true };
/** Plain float64 with the reference's constants (the LoRA pass). */
export const FLOAT64: NumberMode = { round32: false, matmulRound32: false, constants32: true };
/** Plain float64 with the integer tables' constants (the ablation simulator of the integer format). */
export const FLOAT64_TABLES: NumberMode = { round32: false, matmulRound32: false, constants32: false };

/** x rounded to float32 when `on`. */
const rd = (x: number, on: boolean): number => (on ? f(x) : x);

export type Vec = Float32Array | Float64Array;

/**
 * out[oo+i] = Σ_j W[i, j]·x[xo+j] for i < d (W row-major [d, n]), summed left to right from 0;
 * with `add`, out[oo+i] + that sum.
 */
export function matmul(out: Vec, oo: number, w: Vec, x: Vec, xo: number, n: number, d: number, m: NumberMode, add = false): void {
  const r = m.round32, rs = m.matmulRound32;
  for (let i = 0; i < d; i++) {
    const s = rs ? dot32(w, i * n, x, xo, n) : dot64(w, i * n, x, xo, n);
    out[oo + i] = add ? rd(out[oo + i] + rd(s, r), r) : rd(s, r);
  }
}

// One sum in two spellings, the float32 one being what rd(s + rd(w·x, true), true) is: a
// per-element rd(…, rs) made the float64 sums 20% slower (measured).
function dot32(w: Vec, wo: number, x: Vec, xo: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s = f(s + f(w[wo + j] * x[xo + j]));
  return s;
}
function dot64(w: Vec, wo: number, x: Vec, xo: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s += w[wo + j] * x[xo + j];
  return s;
}

/** out[oo..oo+n) = weight ⊙ x[xo..xo+n) · inv, inv = 1/sqrt(mean(x²) + ε); returns inv. `out` may be `x`. */
export function rmsnorm(out: Vec, oo: number, x: Vec, xo: number, weight: Vec, n: number, eps: number, r: boolean): number {
  let ss = 0;
  for (let j = 0; j < n; j++) ss = rd(ss + rd(x[xo + j] * x[xo + j], r), r);
  ss = rd(ss / n, r);
  ss = rd(ss + eps, r);
  const inv = rd(1 / rd(Math.sqrt(ss), r), r);
  for (let j = 0; j < n; j++) out[oo + j] = rd(weight[j] * rd(inv * x[xo + j], r), r);
  return inv;
}

/** In-place softmax of x[o..o+n). */
export function softmax(x: Vec, o: number, n: number, r: boolean): void {
  let max = x[o];
  for (let i = 1; i < n; i++) if (x[o + i] > max) max = x[o + i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = rd(Math.exp(rd(x[o + i] - max, r)), r);
    x[o + i] = e;
    sum = rd(sum + e, r);
  }
  for (let i = 0; i < n; i++) x[o + i] = rd(x[o + i] / sum, r);
}

/** The RoPE of a spec: θ and the per-pair divisors (llama3-style frequency factors). */
export interface RopeParams { theta: number; factors?: Float32Array }
export const ropeParams = (spec?: ModelSpec): RopeParams => ({ theta: spec?.ropeTheta ?? 10000, ...(spec?.ropeFreqFactors ? { factors: spec.ropeFreqFactors } : {}) });

/**
 * cos and sin of the angles of position `pos` into cos/sin[o .. o + hs/2): pair i of a head
 * turns by pos·θ^(-2i/hs) / factor[i], computed in float32 as run.c does (powf, cosf, sinf
 * up to glibc's last bit). Constants of the model: float32 in every number mode.
 */
export function ropeCoefficients(cos: Vec, sin: Vec, o: number, pos: number, hs: number, p: RopeParams): void {
  for (let i = 0; i < hs; i += 2) {
    let freq = f(1 / f(Math.pow(p.theta, f(i / hs))));
    if (p.factors) freq = f(freq / p.factors[i >> 1]);
    const val = f(pos * freq);
    cos[o + (i >> 1)] = f(Math.cos(val));
    sin[o + (i >> 1)] = f(Math.sin(val));
  }
}

/** As ropeCoefficients from float64 frequencies (ropeFrequencies), in float64: the integer tables' angles. */
function ropeCoefficients64(cos: Vec, sin: Vec, pos: number, freqs: Float64Array): void {
  for (let i = 0; i < freqs.length; i++) {
    const a = pos * freqs[i];
    cos[i] = Math.cos(a);
    sin[i] = Math.sin(a);
  }
}

/**
 * Rotates the consecutive pairs of v[o .. o+n) (n a multiple of hs) by the coefficients at
 * cos/sin[co ..]; `inverse` rotates by the negative angle (the transpose, for a backward).
 */
export function rotate(v: Vec, o: number, n: number, hs: number, cos: Vec, sin: Vec, co: number, r: boolean, inverse = false): void {
  for (let i = 0; i < n; i += 2) {
    const k = co + ((i % hs) >> 1), c = cos[k], s = inverse ? -sin[k] : sin[k];
    const v0 = v[o + i], v1 = v[o + i + 1];
    v[o + i] = rd(rd(v0 * c, r) - rd(v1 * s, r), r);
    v[o + i + 1] = rd(rd(v0 * s, r) + rd(v1 * c, r), r);
  }
}

/** h[ho+i] = silu(a[ao+i]) · b[bo+i] for i < n (the SwiGLU gate). */
export function swiglu(h: Vec, ho: number, a: Vec, ao: number, b: Vec, bo: number, n: number, r: boolean): void {
  for (let i = 0; i < n; i++) {
    const x = a[ao + i];
    h[ho + i] = rd(rd(x * rd(1 / rd(1 + rd(Math.exp(-x), r), r), r), r) * b[bo + i], r);
  }
}

/**
 * Causal attention of the query at slot offset `o` (position `pos`) over the keys and values
 * of positions 0..pos, into L.o; query head h reads kv head floor(h / kvMul) (grouped-query
 * attention). Head h's weights go to L.p[pBase + h·pStride ..].
 */
function attention<V extends Vec>(L: LayerActivations<V>, o: number, pos: number, pBase: number, pStride: number,
  nHeads: number, kvMul: number, hs: number, kd: number, scale: number, r: boolean): void {
  const q = L.q, keys = L.k, values = L.v, p = L.p, out = L.o;
  for (let head = 0; head < nHeads; head++) {
    const qo = o + head * hs, kvo = Math.floor(head / kvMul) * hs, po = pBase + head * pStride;
    for (let j = 0; j <= pos; j++) {
      const ko = j * kd + kvo;
      let s = 0;
      for (let i = 0; i < hs; i++) s = rd(s + rd(q[qo + i] * keys[ko + i], r), r);
      p[po + j] = rd(s / scale, r);
    }
    softmax(p, po, pos + 1, r);
    out.fill(0, qo, qo + hs);
    for (let j = 0; j <= pos; j++) {
      const vo = j * kd + kvo, a = p[po + j];
      for (let i = 0; i < hs; i++) out[qo + i] = rd(out[qo + i] + rd(a * values[vo + i], r), r);
    }
  }
}

/** One adapted matrix's factors: A [rank, din], B [dout, rank]; the term added is B·(A·x) (scaling 1). */
export interface LoraFactors { a: Float64Array; b: Float64Array }
/** The adapters of one block (wq: dout = dim, wv: dout = kvDim). */
export interface BlockAdapters { wq: LoraFactors; wv: LoraFactors }

/** One layer's activations, each [slot][width] row-major (see Activations for the slots). */
export interface LayerActivations<V extends Vec> {
  xIn: V; rAtt: V; xn: V; hq: V; hv: V; q: V; o: V; xMid: V; rFfn: V; xn2: V; a: V; b: V;
  /** After RoPE; always one row per position: the KV cache. */
  k: V; v: V;
  /** Attention weights: recorded, [head][position][position]; else one head's row, reused. */
  p: V;
}

/**
 * Where a forward's activations go. Recording (the LoRA pass): one slot per position, so
 * the backward finds every value; else one slot reused by every position, as run.c's
 * RunState (the reference). Keys and values always have one row per position.
 */
export class Activations<V extends Vec> {
  readonly layers: LayerActivations<V>[] = [];
  readonly xFin: V; readonly rFin: V; readonly xf: V;
  /** Logits, [slot][vocab]. */
  readonly logits: V;
  // Scratch of one position: an output projection, the SwiGLU product, this position's RoPE coefficients.
  readonly proj: V; readonly h: V; readonly cos: V; readonly sin: V;
  /** Bytes of every array allocated here. */
  readonly bytes: number;

  constructor(c: ModelConfig, readonly positions: number, readonly record: boolean, make: (n: number) => V, rank = 0) {
    const { dim, hiddenDim: hd, nHeads } = c, kd = kvDim(c), hs = headSize(c);
    const S = record ? positions : 1;
    let bytes = 0;
    const F = (n: number) => { const v = make(n); bytes += v.byteLength; return v; };
    for (let l = 0; l < c.nLayers; l++) {
      this.layers.push({
        xIn: F(S * dim), rAtt: F(S), xn: F(S * dim), hq: F(S * rank), hv: F(S * rank),
        q: F(S * dim), k: F(positions * kd), v: F(positions * kd), p: F(record ? nHeads * positions * positions : positions),
        o: F(S * dim), xMid: F(S * dim), rFfn: F(S), xn2: F(S * dim), a: F(S * hd), b: F(S * hd),
      });
    }
    this.xFin = F(S * dim); this.rFin = F(S); this.xf = F(S * dim); this.logits = F(S * c.vocabSize);
    this.proj = F(dim); this.h = F(hd); this.cos = F(hs / 2); this.sin = F(hs / 2);
    this.bytes = bytes;
  }
}

/** The weights the model reads: FloatWeights, or a copy with matrices replaced (the ablation's dequantized ones, in float64). */
export interface ModelWeights {
  config: ModelConfig;
  tokEmbeddings: Vec;
  blocks: ReadonlyArray<Record<'rmsAtt' | 'wq' | 'wk' | 'wv' | 'wo' | 'rmsFfn' | 'w1' | 'w2' | 'w3', Vec>>;
  rmsFinal: Vec;
  wcls: Vec;
  spec?: ModelSpec;
}

/**
 * The vectors the integer format rounds, each right after it is computed and before it is
 * used: the inputs of the matrix products (the attention norm's output 'attn', the
 * attention output 'wo', the FFN norm's output 'ffn', the SwiGLU output 'w2', the final
 * norm's output 'cls' at layer nLayers) and the query, key and value after RoPE.
 */
export type ProbePoint = 'attn' | 'wo' | 'ffn' | 'w2' | 'cls' | 'q' | 'k' | 'v';
/** Sees (and may change in place) v[o .. o+n) at a probe point. */
export type Probe = (point: ProbePoint, layer: number, v: Vec, o: number, n: number) => void;

/** The model of one set of weights in one number mode. */
export class FloatModel {
  readonly config: ModelConfig;
  private readonly w: ModelWeights;
  private readonly eps: number;
  private readonly rope: RopeParams;
  /** With constants32 off: the float64 RoPE frequencies of a head's pairs. */
  private readonly freqs?: Float64Array;

  constructor(w: ModelWeights, readonly mode: NumberMode, private readonly probe?: Probe) {
    this.config = w.config;
    this.w = w;
    const eps = w.spec?.normEps ?? 1e-5;
    this.eps = mode.constants32 ? f(eps) : eps;
    this.rope = ropeParams(w.spec);
    if (!mode.constants32) this.freqs = ropeFrequencies(headSize(w.config), w.spec);
  }

  /**
   * Runs `token` at position `pos` into `acts`: attention reads keys and values of positions
   * 0..pos-1 from `acts`, so positions go in order 0, 1, 2, ... (the caller checks token and
   * position). The logits land in acts.logits at slot `pos` (recording) or 0.
   */
  step<V extends Vec>(token: number, pos: number, acts: Activations<V>, adapters?: readonly BlockAdapters[]): void {
    const c = this.config, w = this.w, m = this.mode, r = m.round32, eps = this.eps;
    const { dim, hiddenDim: hd, nHeads, vocabSize } = c;
    const kd = kvDim(c), hs = headSize(c), kvMul = nHeads / c.nKvHeads, scale = rd(Math.sqrt(hs), r);
    const T = acts.positions, t = acts.record ? pos : 0, o = t * dim, oh = t * hd, ok = pos * kd;
    // Attention weights of head h at acts.p[pBase + h·pStride ..].
    const pBase = acts.record ? pos * T : 0, pStride = acts.record ? T * T : 0;
    const { proj, h } = acts, probe = this.probe;
    if (this.freqs) ropeCoefficients64(acts.cos, acts.sin, pos, this.freqs);
    else ropeCoefficients(acts.cos, acts.sin, 0, pos, hs, this.rope);

    const x0 = c.nLayers > 0 ? acts.layers[0].xIn : acts.xFin;
    for (let j = 0; j < dim; j++) x0[o + j] = w.tokEmbeddings[token * dim + j];
    for (let l = 0; l < c.nLayers; l++) {
      const L = acts.layers[l], b = w.blocks[l], ad = adapters?.[l];
      L.rAtt[t] = rmsnorm(L.xn, o, L.xIn, o, b.rmsAtt, dim, eps, r);
      probe?.('attn', l, L.xn, o, dim);
      matmul(L.q, o, b.wq, L.xn, o, dim, dim, m);
      matmul(L.k, ok, b.wk, L.xn, o, dim, kd, m);
      matmul(L.v, ok, b.wv, L.xn, o, dim, kd, m);
      if (ad) {
        const rank = ad.wq.a.length / dim, or = t * rank;
        matmul(L.hq, or, ad.wq.a, L.xn, o, dim, rank, m);
        matmul(L.q, o, ad.wq.b, L.hq, or, rank, dim, m, true);
        matmul(L.hv, or, ad.wv.a, L.xn, o, dim, rank, m);
        matmul(L.v, ok, ad.wv.b, L.hv, or, rank, kd, m, true);
      }
      rotate(L.q, o, dim, hs, acts.cos, acts.sin, 0, r);
      rotate(L.k, ok, kd, hs, acts.cos, acts.sin, 0, r);
      if (probe) { probe('q', l, L.q, o, dim); probe('k', l, L.k, ok, kd); probe('v', l, L.v, ok, kd); }

      attention(L, o, pos, pBase, pStride, nHeads, kvMul, hs, kd, scale, r);
      probe?.('wo', l, L.o, o, dim);
      matmul(proj, 0, b.wo, L.o, o, dim, dim, m);
      for (let i = 0; i < dim; i++) L.xMid[o + i] = rd(L.xIn[o + i] + proj[i], r);

      L.rFfn[t] = rmsnorm(L.xn2, o, L.xMid, o, b.rmsFfn, dim, eps, r);
      probe?.('ffn', l, L.xn2, o, dim);
      matmul(L.a, oh, b.w1, L.xn2, o, dim, hd, m);
      matmul(L.b, oh, b.w3, L.xn2, o, dim, hd, m);
      swiglu(h, 0, L.a, oh, L.b, oh, hd, r);
      probe?.('w2', l, h, 0, hd);
      matmul(proj, 0, b.w2, h, 0, hd, dim, m);
      const next = l + 1 < c.nLayers ? acts.layers[l + 1].xIn : acts.xFin;
      for (let i = 0; i < dim; i++) next[o + i] = rd(L.xMid[o + i] + proj[i], r);
    }
    acts.rFin[t] = rmsnorm(acts.xf, o, acts.xFin, o, w.rmsFinal, dim, eps, r);
    probe?.('cls', c.nLayers, acts.xf, o, dim);
    matmul(acts.logits, t * vocabSize, w.wcls, acts.xf, o, dim, vocabSize, m);
  }
}
