// Which quantization step costs the most accuracy? The float model (compiler/reference/
// float/model.ts) in float64 with the integer tables' constants, in which each rounding
// step of the int8 format (docs/integer-spec.md) can be switched on or off independently
// ("fake quantization": quantize, then immediately dequantize in float): the weights by
// replacing matrices with their dequantized int8 rows, the activations, query, keys and
// values through the model's probe. With every step on it tracks the integer reference
// closely (test/eval.test.ts checks that); switching one step off at a time shows what
// that step costs. It is a measuring tool only: the integer reference is the semantics.
// test/ablate-pins.test.ts holds the outputs of the simulator's former forward of its own.
import type { FloatWeights } from '../import/graph.ts';
import { headSize as headSizeOf, kvDim as kvDimOf } from '../import/graph.ts';
import { Activations, FLOAT64_TABLES, FloatModel, type ModelWeights, type Probe, type ProbePoint, type Vec } from '../reference/float/model.ts';
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
export type TapPoint = Exclude<ProbePoint, 'q' | 'k' | 'v'>;
/** The site that rounds each probe point's vector: per vector, or per head (q, k, v). */
const SITE_OF: Record<ProbePoint, Site> = { attn: 'act_attn', wo: 'act_wo', ffn: 'act_ffn', w2: 'act_w2', cls: 'act_cls', q: 'q', k: 'k', v: 'v' };
const PER_HEAD: ReadonlySet<ProbePoint> = new Set(['q', 'k', 'v']);

/** In place: v = round(v * qmax / amax) * amax / qmax over v[off .. off+n). */
function fakeQuant(v: Vec, off: number, n: number, qmax: number): void {
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
  private readonly model: FloatModel;
  /** One reused slot of float64 activations and the KV cache. */
  private readonly acts: Activations<Float64Array>;

  constructor(w: FloatWeights, opts: AblationOptions) {
    const c = w.config, kd = kvDimOf(c), hs = headSizeOf(c);
    const on = (s: Site) => opts.sites.has(s);
    const qmax = (s: Site) => opts.qmax?.[s] ?? (s === 'v' ? 127 : 2047);
    const mat = (f: Float32Array, rows: number, cols: number, site: Site, name: string, full: string): Vec =>
      on(site) && (site !== 'weights' || !opts.matrices || opts.matrices.has(name))
        ? dequantRows(f, rows, cols, opts, opts.quantizedRows?.(full)) : f;
    const emb = mat(w.tokEmbeddings, c.vocabSize, c.dim, 'embedding', 'tok_embeddings', 'tok_embeddings');
    const weights: ModelWeights = {
      ...w,
      tokEmbeddings: emb,
      wcls: c.sharedClassifier ? emb : mat(w.wcls, c.vocabSize, c.dim, 'weights', 'wcls', 'wcls'),
      blocks: w.blocks.map((b, l) => ({
        ...b,
        wq: mat(b.wq, c.dim, c.dim, 'weights', 'wq', `blocks.${l}.wq`),
        wk: mat(b.wk, kd, c.dim, 'weights', 'wk', `blocks.${l}.wk`),
        wv: mat(b.wv, kd, c.dim, 'weights', 'wv', `blocks.${l}.wv`),
        wo: mat(b.wo, c.dim, c.dim, 'weights', 'wo', `blocks.${l}.wo`),
        w1: mat(b.w1, c.hiddenDim, c.dim, 'weights', 'w1', `blocks.${l}.w1`),
        w2: mat(b.w2, c.dim, c.hiddenDim, 'weights', 'w2', `blocks.${l}.w2`),
        w3: mat(b.w3, c.hiddenDim, c.dim, 'weights', 'w3', `blocks.${l}.w3`),
      })),
    };
    const tap = opts.tap;
    const probe: Probe = (point, layer, v, o, n) => {
      const site = SITE_OF[point];
      if (on(site)) {
        const step = PER_HEAD.has(point) ? hs : n;
        for (let i = 0; i < n; i += step) fakeQuant(v, o + i, step, qmax(site));
      }
      if (tap && !PER_HEAD.has(point)) tap(layer, point as TapPoint, (v as Float64Array).subarray(o, o + n));
    };
    this.model = new FloatModel(weights, FLOAT64_TABLES, probe);
    this.acts = new Activations(c, c.seqLen, false, (n) => new Float64Array(n));
  }

  /** Logits of `token` at `pos` (positions in order 0, 1, 2, ...); the array is reused by the next call. */
  forward(token: number, pos: number): Float64Array {
    this.model.step(token, pos, this.acts);
    return this.acts.logits;
  }
}
