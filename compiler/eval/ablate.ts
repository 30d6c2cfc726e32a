// Which quantization step costs the most accuracy? A float64 forward pass of the same
// model in which each rounding step of the int8 format (docs/integer-spec.md) can be
// switched on or off independently ("fake quantization": quantize, then immediately
// dequantize in float). With every step on it tracks the integer reference closely
// (test/eval.test.ts checks that); switching one step off at a time shows what that step
// costs. It is a measuring tool only: the integer reference is the semantics.
import type { FloatWeights } from '../import/graph.ts';
import { headSize as headSizeOf, kvDim as kvDimOf } from '../import/graph.ts';
import { ropeFrequencies } from '../import/model-spec.ts';
import { quantizeRows, type QuantizedRows, type RowQuantOptions } from '../quantize/weights.ts';
import type { LogitsEngine } from './teacher-forced.ts';

/** The independently switchable rounding steps. */
export const SITES = [
  'weights', // int8 per-row weights of wq..w3 (and wcls when not shared)
  'embedding', // int8 per-row token embedding (and the shared classifier)
  'act_attn', // 12-bit per-token RMSNorm output feeding wq/wk/wv
  'act_wo', // 12-bit attention output feeding wo
  'act_ffn', // 12-bit RMSNorm output feeding w1/w3
  'act_w2', // 12-bit SwiGLU output feeding w2
  'act_cls', // 12-bit final RMSNorm output feeding the classifier
  'q', // 12-bit per-head query
  'k', // 12-bit per-head K cache
  'v', // int8 per-head V cache
] as const;
export type Site = (typeof SITES)[number];

export interface AblationOptions extends RowQuantOptions {
  /** Steps that are quantized; the rest run in float64. */
  sites: ReadonlySet<Site>;
  /** Quantization levels (qmax) of each site; defaults mirror the integer format: 2047 (12-bit) for activations, q and K, 127 for V. */
  qmax?: Partial<Record<Site, number>>;
  /** With 'weights' on: only these block matrices (default all of wq wk wv wo w1 w2 w3 wcls). */
  matrices?: ReadonlySet<string>;
  /** Replaces row quantization (e.g. GPTQ): the int8 rows and scales of a named matrix. */
  quantizedRows?: (name: string) => QuantizedRows | undefined;
  /** Sees the input vector of every matrix product (calibration statistics). */
  tap?: (layer: number, point: TapPoint, x: Float64Array) => void;
}

/** Inputs of the matrix products: wq/wk/wv, wo, w1/w3, w2 in each layer; the classifier after the last. */
export type TapPoint = 'attn' | 'wo' | 'ffn' | 'w2' | 'cls';

/** In place: v = round(v * qmax / amax) * amax / qmax over v[off .. off+n). */
function fakeQuant(v: Float64Array, off: number, n: number, qmax: number): void {
  let amax = 0;
  for (let i = 0; i < n; i++) amax = Math.max(amax, Math.abs(v[off + i]));
  if (amax === 0) return;
  const s = amax / qmax;
  for (let i = 0; i < n; i++) v[off + i] = Math.round(v[off + i] / s) * s;
}

/** Row-quantized then dequantized copy of a matrix (the stored int8 and scales, in float). */
function dequantRows(w: Float32Array, rows: number, cols: number, opts: RowQuantOptions, given?: QuantizedRows): Float64Array {
  const r = given ?? quantizeRows(w, rows, cols, opts);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const s = r.m[i] * 2 ** -r.e[i];
    for (let j = 0; j < cols; j++) out[i * cols + j] = r.q[i * cols + j] * s;
  }
  return out;
}

export class AblationTransformer implements LogitsEngine {
  private readonly c: FloatWeights['config'];
  private readonly on: (s: Site) => boolean;
  private readonly qmax: (s: Site) => number;
  private readonly emb: Float64Array; private readonly cls: Float64Array;
  private readonly blocks: Array<Record<'wq' | 'wk' | 'wv' | 'wo' | 'w1' | 'w2' | 'w3', Float64Array> & { rmsAtt: Float32Array; rmsFfn: Float32Array }>;
  private readonly rmsFinal: Float32Array;
  private readonly kc: Float64Array; private readonly vc: Float64Array;
  private readonly tap: AblationOptions['tap'];
  /** The spec's ε and per-pair RoPE frequencies (model-spec.ts). */
  private readonly eps: number; private readonly freqs: Float64Array;

  constructor(w: FloatWeights, opts: AblationOptions) {
    const c = w.config;
    this.c = c;
    this.eps = w.spec?.normEps ?? 1e-5;
    this.freqs = ropeFrequencies(headSizeOf(c), w.spec);
    this.on = (s) => opts.sites.has(s);
    this.qmax = (s) => opts.qmax?.[s] ?? (s === 'v' ? 127 : 2047);
    const kd = kvDimOf(c);
    this.tap = opts.tap;
    const mat = (f: Float32Array, rows: number, cols: number, site: Site, name: string, full: string) =>
      this.on(site) && (site !== 'weights' || !opts.matrices || opts.matrices.has(name))
        ? dequantRows(f, rows, cols, opts, opts.quantizedRows?.(full)) : Float64Array.from(f);
    this.emb = mat(w.tokEmbeddings, c.vocabSize, c.dim, 'embedding', 'tok_embeddings', 'tok_embeddings');
    this.cls = c.sharedClassifier ? this.emb : mat(w.wcls, c.vocabSize, c.dim, 'weights', 'wcls', 'wcls');
    this.blocks = w.blocks.map((b, l) => ({
      rmsAtt: b.rmsAtt, rmsFfn: b.rmsFfn,
      wq: mat(b.wq, c.dim, c.dim, 'weights', 'wq', `blocks.${l}.wq`),
      wk: mat(b.wk, kd, c.dim, 'weights', 'wk', `blocks.${l}.wk`),
      wv: mat(b.wv, kd, c.dim, 'weights', 'wv', `blocks.${l}.wv`),
      wo: mat(b.wo, c.dim, c.dim, 'weights', 'wo', `blocks.${l}.wo`),
      w1: mat(b.w1, c.hiddenDim, c.dim, 'weights', 'w1', `blocks.${l}.w1`),
      w2: mat(b.w2, c.dim, c.hiddenDim, 'weights', 'w2', `blocks.${l}.w2`),
      w3: mat(b.w3, c.hiddenDim, c.dim, 'weights', 'w3', `blocks.${l}.w3`),
    }));
    this.rmsFinal = w.rmsFinal;
    this.kc = new Float64Array(c.nLayers * c.seqLen * kd);
    this.vc = new Float64Array(c.nLayers * c.seqLen * kd);
  }

  private norm(x: Float64Array, g: Float32Array, site: Site): Float64Array {
    let ss = 0;
    for (const v of x) ss += v * v;
    const r = 1 / Math.sqrt(ss / x.length + this.eps);
    const o = x.map((v, i) => v * r * g[i]);
    if (this.on(site)) fakeQuant(o, 0, o.length, this.qmax(site));
    return o;
  }

  private static matvec(w: Float64Array, x: Float64Array, rows: number): Float64Array {
    const n = x.length, out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += w[i * n + j] * x[j];
      out[i] = s;
    }
    return out;
  }

  forward(token: number, pos: number): Float64Array {
    const c = this.c, hs = headSizeOf(c), kd = kvDimOf(c), group = c.nHeads / c.nKvHeads;
    const mv = AblationTransformer.matvec;
    const x = this.emb.slice(token * c.dim, (token + 1) * c.dim);
    for (let l = 0; l < c.nLayers; l++) {
      const b = this.blocks[l];
      let xb = this.norm(x, b.rmsAtt, 'act_attn');
      this.tap?.(l, 'attn', xb);
      const q = mv(b.wq, xb, c.dim), k = mv(b.wk, xb, kd), v = mv(b.wv, xb, kd);
      for (const vec of [q, k]) {
        for (let i = 0; i < vec.length; i += 2) {
          const a = pos * this.freqs[(i % hs) >> 1];
          const v0 = vec[i], v1 = vec[i + 1];
          vec[i] = v0 * Math.cos(a) - v1 * Math.sin(a);
          vec[i + 1] = v0 * Math.sin(a) + v1 * Math.cos(a);
        }
      }
      for (let g = 0; g < c.nKvHeads; g++) {
        if (this.on('k')) fakeQuant(k, g * hs, hs, this.qmax('k'));
        if (this.on('v')) fakeQuant(v, g * hs, hs, this.qmax('v'));
      }
      const base = l * c.seqLen * kd;
      this.kc.set(k, base + pos * kd);
      this.vc.set(v, base + pos * kd);
      const att = new Float64Array(c.dim);
      for (let h = 0; h < c.nHeads; h++) {
        if (this.on('q')) fakeQuant(q, h * hs, hs, this.qmax('q'));
        const ko = Math.floor(h / group) * hs;
        const sc = new Float64Array(pos + 1);
        let max = -Infinity;
        for (let t = 0; t <= pos; t++) {
          let s = 0;
          for (let i = 0; i < hs; i++) s += q[h * hs + i] * this.kc[base + t * kd + ko + i];
          sc[t] = s / Math.sqrt(hs);
          max = Math.max(max, sc[t]);
        }
        let sum = 0;
        for (let t = 0; t <= pos; t++) { sc[t] = Math.exp(sc[t] - max); sum += sc[t]; }
        for (let t = 0; t <= pos; t++) {
          for (let i = 0; i < hs; i++) att[h * hs + i] += (sc[t] / sum) * this.vc[base + t * kd + ko + i];
        }
      }
      if (this.on('act_wo')) fakeQuant(att, 0, c.dim, this.qmax('act_wo'));
      this.tap?.(l, 'wo', att);
      const o = mv(b.wo, att, c.dim);
      for (let i = 0; i < c.dim; i++) x[i] += o[i];
      xb = this.norm(x, b.rmsFfn, 'act_ffn');
      this.tap?.(l, 'ffn', xb);
      const h1 = mv(b.w1, xb, c.hiddenDim), h3 = mv(b.w3, xb, c.hiddenDim);
      for (let i = 0; i < c.hiddenDim; i++) h1[i] = (h1[i] / (1 + Math.exp(-h1[i]))) * h3[i];
      if (this.on('act_w2')) fakeQuant(h1, 0, c.hiddenDim, this.qmax('act_w2'));
      this.tap?.(l, 'w2', h1);
      const o2 = mv(b.w2, h1, c.dim);
      for (let i = 0; i < c.dim; i++) x[i] += o2[i];
    }
    const xf = this.norm(x, this.rmsFinal, 'act_cls');
    this.tap?.(c.nLayers, 'cls', xf);
    return mv(this.cls, xf, c.vocabSize);
  }
}
