// AWQ (activation-aware weight quantization, Lin et al. 2023) as a compile-time transform
// of the float weights: for the matrices sharing one input x, every input channel j gets a
// scale s_j = a_j^α (a_j = mean |x_j| on calibration text, normalized so that
// max(s)·min(s) = 1), the columns W[:, j] are multiplied by s_j and x_j is divided by s_j
// where x is produced, so W x is unchanged in float while the channels that carry large
// activations get finer quantization steps. α ∈ {0, 1/grid, .., 1} is chosen per group as
// the one minimizing the quantized group's output error Σ_rows ΔW H ΔWᵀ (ΔW: the round
// trip through the matrix's own stored format, mapped back by 1/s; H = Σ x xᵀ), on a sample
// of rows. Where the inverse goes (the paper's scheme on LLaMA):
//   wq, wk, wv  ← attention RMSNorm gain   (one s for the three)
//   w1, w3      ← FFN RMSNorm gain
//   wo          ← wv's output rows         (attention output is a convex mix of V rows per
//                                           head; with GQA one s per kv-head channel)
//   w2          ← w3's output rows         (silu(w1 x)·(w3 x) is linear in w3 x)
// Only the float weights change: the artifact format, the integer semantics and the
// runtime do not, so every engine stays byte-exact by construction.
// A low-bit classifier is left alone: it shares the final norm's output with nothing, but
// when the embedding is shared its columns are the lookup's too.
import type { FloatWeights } from '../import/graph.ts';
import { headSize as headSizeOf, kvDim as kvDimOf } from '../import/graph.ts';
import { EdgeqError } from '../util/errors.ts';
import { hessianKey, type CalibrationStats, type Hessians } from './calibrate.ts';
import { formatNamed, BASE_FORMAT } from './formats/registry.ts';
import { requested, resolveStored, type BlockMatrix, type PlanSpec } from '../plan/plan.ts';

export interface AwqOptions {
  /** α is searched over {0, 1/grid, ..., 1} (default 20, the paper's grid). */
  grid?: number;
  /**
   * Rows of each matrix the α search quantizes, evenly spaced (default: 256, fewer for wide
   * inputs, down to 32, so that a matrix costs at most about 2^24 multiply-adds per α; all
   * rows of stories260K and babyllama936K but w1/w3 of the latter).
   */
  sampleRows?: number;
  /** Fold into `w`'s own arrays and scale `stats`' Hessians in place, instead of copies (the caller no longer needs the originals). */
  inPlace?: boolean;
  /** Also return the Hessians of the folded inputs (for GPTQ; default true). */
  hessians?: boolean;
}

/** Quantize then dequantize a [rows, cols] matrix in the format it will be stored in. */
export type RoundTrip = (w: Float32Array, rows: number, cols: number) => Float32Array;

export interface AwqResult {
  /** The folded float weights (W·diag(s), producers ·1/s). */
  weights: FloatWeights;
  /** The Hessians of the folded inputs (diag(1/s) H diag(1/s)); others as given. Empty with `hessians: false`. */
  hessians: Hessians;
  /** α chosen per input (`blocks.<l>.<attn|wo|ffn|w2>`); absent: group left alone (all int8). */
  alphas: Map<string, number>;
  /** The column scales s applied to each input's matrices (absent: none, α = 0 or left alone). */
  scales: Map<string, Float64Array>;
}

/** Smallest channel magnitude used, relative to the largest (a dead channel must not get s = 0). */
const A_FLOOR = 1e-3;

/** s_j = a_j^α normalized to max·min = 1 (llm-awq's normalization), floored channels at A_FLOOR·max a. */
export function awqScales(a: Float64Array, alpha: number): Float64Array {
  let amax = 0;
  for (const v of a) amax = Math.max(amax, v);
  const s = new Float64Array(a.length);
  if (amax === 0 || alpha === 0) return s.fill(1);
  let lo = Infinity, hi = 0;
  for (let j = 0; j < a.length; j++) {
    s[j] = Math.max(a[j], A_FLOOR * amax) ** alpha;
    lo = Math.min(lo, s[j]); hi = Math.max(hi, s[j]);
  }
  const norm = Math.sqrt(lo * hi);
  for (let j = 0; j < s.length; j++) s[j] /= norm;
  return s;
}

/** The round trip of a block matrix in the format `plan` stores it in (int8 if the LUT format refuses its weights, as the quantizer does). */
export function planRoundTrip(plan: PlanSpec, layer: number, name: BlockMatrix, cols: number): { rt: RoundTrip; lowbit: boolean } {
  const r = resolveStored(requested(plan, layer, name), cols);
  const f = formatNamed(r.format)!, int8 = formatNamed(BASE_FORMAT.name)!;
  const via = (fm: typeof f, g: number): RoundTrip => (w, rows, c) => fm.dequantize(fm.quantize(w, rows, c, g).data, rows, c, g);
  const rt: RoundTrip = (w, rows, c) => {
    try { return via(f, r.groupSize)(w, rows, c); } catch (e) {
      if (!(e instanceof EdgeqError)) throw e;
      return via(int8, 0)(w, rows, c);
    }
  };
  return { rt, lowbit: r.format !== BASE_FORMAT.name };
}

/** A matrix of a group: its weights [rows, cols] and its round trip. */
export interface GroupMatrix { w: Float32Array; rows: number; cols: number; rt: RoundTrip }

/** The default sample of rows for a matrix of input size n (AwqOptions.sampleRows). */
const defaultSampleRows = (n: number) => Math.min(256, Math.max(32, Math.floor(2 ** 24 / (n * n))));

/** Σ over the sampled rows of ΔW H ΔWᵀ, ΔW = rt(W·s)/s − W (the output error over the calibration inputs). */
export function groupError(mats: readonly GroupMatrix[], s: Float64Array, h: Float64Array, sampleRows?: number): number {
  let err = 0;
  for (const m of mats) {
    const n = m.cols, take = Math.min(m.rows, sampleRows ?? defaultSampleRows(n));
    const ws = new Float32Array(take * n), orig = new Float64Array(take * n);
    for (let i = 0; i < take; i++) {
      const r = Math.floor((i * m.rows) / take);
      for (let j = 0; j < n; j++) { orig[i * n + j] = m.w[r * n + j]; ws[i * n + j] = m.w[r * n + j] * s[j]; }
    }
    const dq = m.rt(ws, take, n);
    const d = new Float64Array(n);
    for (let i = 0; i < take; i++) {
      for (let j = 0; j < n; j++) d[j] = dq[i * n + j] / s[j] - orig[i * n + j];
      for (let j = 0; j < n; j++) {
        if (d[j] === 0) continue;
        let hd = 0;
        for (let k = 0; k < n; k++) hd += h[j * n + k] * d[k];
        err += d[j] * hd;
      }
    }
  }
  return err;
}

/**
 * The α (and its column scales) minimizing groupError: `a` the channel magnitudes, `expand`
 * maps channel scales to column scales (identity except wo under GQA). Ties go to the
 * smaller α, so α = 0 (no scaling) wins unless scaling measurably helps.
 */
export function searchAlpha(mats: readonly GroupMatrix[], a: Float64Array, h: Float64Array, opts: AwqOptions = {}, expand = (s: Float64Array) => s): { alpha: number; s: Float64Array; err: number; err0: number } {
  const grid = opts.grid ?? 20, rows = opts.sampleRows;
  let best = { alpha: 0, s: awqScales(a, 0), err: Infinity, err0: 0 };
  for (let i = 0; i <= grid; i++) {
    const alpha = i / grid, s = awqScales(a, alpha);
    const err = groupError(mats, expand(s), h, rows);
    if (i === 0) best.err0 = err;
    if (err < best.err) best = { ...best, alpha, s, err };
  }
  return best;
}

/** D⁻¹ H D⁻¹ for D = diag(s): the Hessian of x/s (into `out`, which may be h). */
function scaleHessian(h: Float64Array, s: Float64Array, out: Float64Array): Float64Array {
  const n = s.length;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = h[i * n + j] / (s[i] * s[j]);
  return out;
}

const scaleCols = (w: Float32Array, rows: number, s: Float64Array) => {
  const n = s.length;
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) w[r * n + j] *= s[j];
};
const scaleRows = (w: Float32Array, cols: number, s: Float64Array) => {
  for (let r = 0; r < s.length; r++) for (let j = 0; j < cols; j++) w[r * cols + j] /= s[r];
};

/**
 * Folds AWQ scales into every block of `w` for the formats `plan` gives its matrices.
 * `stats`: calibration of the float model (calibrateStats). Groups whose matrices are all
 * stored int8 are left alone.
 */
export function awqFold(w: FloatWeights, stats: CalibrationStats, plan: PlanSpec, opts: AwqOptions = {}): AwqResult {
  const c = w.config, hs = headSizeOf(c), kd = kvDimOf(c), group = c.nHeads / c.nKvHeads;
  const copy = (a: Float32Array) => (opts.inPlace ? a : Float32Array.from(a));
  const blocks = w.blocks.map((b) => (opts.inPlace ? b : {
    rmsAtt: copy(b.rmsAtt), wq: copy(b.wq), wk: copy(b.wk), wv: copy(b.wv), wo: copy(b.wo),
    rmsFfn: copy(b.rmsFfn), w1: copy(b.w1), w2: copy(b.w2), w3: copy(b.w3),
  }));
  const wantH = opts.hessians ?? true;
  const hessians: Hessians = wantH ? new Map(stats.hessians) : new Map(), alphas = new Map<string, number>(), scales = new Map<string, Float64Array>();
  blocks.forEach((b, l) => {
    const rows: Record<BlockMatrix, number> = { wq: c.dim, wk: kd, wv: kd, wo: c.dim, w1: c.hiddenDim, w2: c.dim, w3: c.hiddenDim };
    /** Searches α for `names` (input key `point`), scales their columns, returns the channel scales (null: left alone). */
    const fold = (point: 'attn' | 'wo' | 'ffn' | 'w2', names: BlockMatrix[], a: Float64Array, expand = (s: Float64Array) => s): Float64Array | null => {
      const key = hessianKey(l, point), h = stats.hessians.get(key);
      if (!h) throw new EdgeqError(`AWQ: calibration has no statistics of ${key}`);
      const cols = Math.round(Math.sqrt(h.length));
      const mats = names.map((n) => ({ w: b[n], rows: rows[n], cols, ...planRoundTrip(plan, l, n, cols) }));
      if (!mats.some((m) => m.lowbit)) return null;
      const r = searchAlpha(mats, a, h, opts, expand);
      alphas.set(key, r.alpha);
      if (r.alpha === 0) return null;
      const sc = expand(r.s);
      for (const m of mats) scaleCols(m.w, m.rows, sc);
      if (wantH) hessians.set(key, scaleHessian(h, sc, opts.inPlace ? h : new Float64Array(h.length)));
      scales.set(key, sc);
      return r.s;
    };
    const abs = (point: 'attn' | 'wo' | 'ffn' | 'w2') => stats.absMeans.get(hessianKey(l, point)) ?? new Float64Array(0);
    // wo first (its inverse goes into wv's rows), w2 (into w3's rows): then the norm groups'
    // searches see the final wv and w3.
    // wo's column (h, i) reads V channel (g, i) of kv head g = ⌊h / group⌋: one s per V channel.
    const ao = abs('wo'), akv = new Float64Array(kd);
    for (let j = 0; j < c.dim; j++) akv[Math.floor(j / hs / group) * hs + (j % hs)] += ao[j] / group;
    const expandKv = (s: Float64Array) => Float64Array.from({ length: c.dim }, (_, j) => s[Math.floor(j / hs / group) * hs + (j % hs)]);
    const so = fold('wo', ['wo'], akv, expandKv);
    if (so) scaleRows(b.wv, c.dim, so);
    const s2 = fold('w2', ['w2'], abs('w2'));
    if (s2) scaleRows(b.w3, c.dim, s2);
    const sa = fold('attn', ['wq', 'wk', 'wv'], abs('attn'));
    if (sa) for (let j = 0; j < c.dim; j++) b.rmsAtt[j] /= sa[j];
    const sf = fold('ffn', ['w1', 'w3'], abs('ffn'));
    if (sf) for (let j = 0; j < c.dim; j++) b.rmsFfn[j] /= sf[j];
  });
  return { weights: opts.inPlace ? w : { ...w, blocks }, hessians, alphas, scales };
}
