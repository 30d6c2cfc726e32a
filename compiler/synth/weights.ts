// Synthetic weights that look statistically like a trained llama2.c model, so that
// quantization, precision planning and kernels see realistic scale structure (per-layer
// trends, per-head and per-row spread, heavy tails, outlier channels) at any size.
//
// Each tensor draws from its own stream Rng(seed, tensor name), so a tensor's values do not
// depend on file order (v0 and v1 files of one seed hold the same weights) and a 440 MB
// model is produced chunk by chunk without holding more than one chunk.
//
// What was matched (measured on ../shared/models/stories260K.bin, the better-trained of
// the two real checkpoints; t = layer / (n_layers - 1); "gain" = std * sqrt(fan_in)):
//   tok_embeddings  gain ~2.5 (dim 64); we use 1.7, i.e. std 0.10 at dim 288 and 0.06 at
//                   768, in the range of the larger trained models. Row norms bimodal: most
//                   rows alike, ~15% of tokens (rare ones) ~0.6x. A few residual channels
//                   ~3x the median column std (max col std 0.66 vs median 0.22).
//   rms_att         mean ~1.2, std 0.2-0.37, heavy-tailed (max 2.8).
//   rms_ffn         mean rising with depth 0.57 -> 1.04, std ~0.12.
//   rms_final       mean 1.8, std 0.58, max 4.4 (outlier channels).
//   wq, wk          gain 1.9-2.2 falling to ~1.3 in the last layer; kurtosis ~7 from
//                   strong per-row spread (row std p5/p50/p95 = 0.5x/1x/3.3x), rows of
//                   one head move together.
//   wv              gain rising 0.37 -> 0.82; rows uniform (p95/p5 ~1.3x); kurtosis ~4.
//   wo              gain rising 0.43 -> 0.96; kurtosis ~5; input (head) columns vary ~1.5x.
//   w1              gain ~1.0 flat; row spread p5/p95 0.7x/1.6x; kurtosis ~3.5.
//   w2              gain rising 1.5 -> 1.8 (fan_in = hidden); kurtosis ~3.9.
//   w3              gain rising 0.9 -> 1.07; rows uniform; kurtosis ~3.1.
// (babyllama936K, trained only 5000 steps, is still near its init: std ~0.02, norms 1 +- 0.01.)
// Every tensor's overall scale also gets +-8% jitter, so no two layers are identical.
import type { FloatWeights, ModelConfig } from '../import/graph.ts';
import { blockTensor, headSize, kvDim } from '../import/graph.ts';
import type { TensorSource } from '../import/llama2c-write.ts';
import { Rng } from './prng.ts';

/** Per-matrix knobs: gain(t) as above; sigmas are log-normal spreads of scale factors. */
interface MatrixProfile {
  gain: (t: number) => number;
  headSigma: number;   // per head of output rows
  rowSigma: number;    // per output row
  colHeadSigma: number; // per head of input columns (wo)
  tail: number;        // fraction of elements scaled by TAIL_SCALE (heavier tails)
  residualIn: boolean; // reads the residual stream: its outlier channels are boosted
}

const TAIL_SCALE = 2.5;
const MATRICES: Record<string, MatrixProfile> = {
  wq: { gain: (t) => 2.0 - 0.6 * t * t, headSigma: 0.45, rowSigma: 0.25, colHeadSigma: 0, tail: 0.02, residualIn: true },
  wk: { gain: (t) => 1.8 - 0.5 * t * t, headSigma: 0.45, rowSigma: 0.25, colHeadSigma: 0, tail: 0.02, residualIn: true },
  wv: { gain: (t) => 0.35 + 0.45 * t, headSigma: 0.1, rowSigma: 0.06, colHeadSigma: 0, tail: 0.02, residualIn: true },
  wo: { gain: (t) => 0.45 + 0.5 * t, headSigma: 0, rowSigma: 0.2, colHeadSigma: 0.2, tail: 0.03, residualIn: false },
  w1: { gain: (t) => 1.05 - 0.05 * t, headSigma: 0, rowSigma: 0.22, colHeadSigma: 0, tail: 0.01, residualIn: true },
  w2: { gain: (t) => 1.55 + 0.25 * t, headSigma: 0, rowSigma: 0.18, colHeadSigma: 0, tail: 0.02, residualIn: false },
  w3: { gain: (t) => 0.9 + 0.17 * t, headSigma: 0, rowSigma: 0.1, colHeadSigma: 0, tail: 0.005, residualIn: true },
};
/** Norm gains: mean(t), spread, and the factor applied on residual outlier channels. */
const NORMS: Record<string, { mean: (t: number) => number; sd: number; outlier: number }> = {
  rms_att: { mean: (t) => 1.1 + 0.1 * t, sd: 0.22, outlier: 1.8 },
  rms_ffn: { mean: (t) => 0.6 + 0.45 * t, sd: 0.12, outlier: 1.3 },
  rms_final: { mean: () => 1.8, sd: 0.35, outlier: 2.2 },
};
const EMBED_GAIN = 1.7;
const EMBED_OUTLIER = 2.8;
const RESIDUAL_IN_OUTLIER = 1.5;
const CHUNK = 1 << 20;

/** The model's residual-stream outlier channels: ~1 per 64 of dim, at least 1. */
export function outlierChannels(c: ModelConfig, seed: number): number[] {
  const rng = new Rng(seed, '#outlier-channels');
  const want = Math.min(c.dim, Math.max(1, Math.round(c.dim / 64)));
  const set = new Set<number>();
  while (set.size < want) set.add(rng.next() % c.dim);
  return [...set].sort((a, b) => a - b);
}

function vectorOf(c: ModelConfig, seed: number, name: string, kind: string, t: number): Float32Array {
  const p = NORMS[kind];
  const rng = new Rng(seed, name);
  const mean = p.mean(t) * (1 + 0.05 * rng.gauss());
  const out = new Float32Array(c.dim);
  for (let i = 0; i < c.dim; i++) {
    // A Student-t-like tail: occasionally a channel's gain is far from the mean.
    const z = rng.gauss() * (rng.uniform() < 0.05 ? 3 : 1);
    out[i] = Math.max(0.05, mean + p.sd * z);
  }
  for (const ch of outlierChannels(c, seed)) out[ch] *= p.outlier;
  return out;
}

/** Yields the tensor row-major in chunks of about 1M values. */
function* matrixChunks(c: ModelConfig, seed: number, name: string, kind: string, t: number,
  rows: number, cols: number): Generator<Float32Array> {
  const rng = new Rng(seed, name);
  const isEmbed = kind === 'tok_embeddings' || kind === 'wcls';
  const p: MatrixProfile = isEmbed
    ? { gain: () => EMBED_GAIN, headSigma: 0, rowSigma: 0.08, colHeadSigma: 0, tail: 0, residualIn: false }
    : MATRICES[kind];
  const std = (p.gain(t) * (1 + 0.08 * rng.gauss())) / Math.sqrt(cols);
  const hs = headSize(c);
  const logNormal = (sigma: number) => (sigma > 0 ? Math.exp(sigma * rng.gauss()) : 1);

  const heads = Array.from({ length: Math.ceil(rows / hs) }, () => logNormal(p.headSigma));
  const rowScale = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    rowScale[r] = heads[Math.floor(r / hs)] * logNormal(p.rowSigma);
    if (isEmbed && rng.uniform() < 0.15) rowScale[r] *= 0.6; // rarely seen tokens
  }
  const colHeads = Array.from({ length: Math.ceil(cols / hs) }, () => logNormal(p.colHeadSigma));
  const colScale = new Float64Array(cols);
  for (let j = 0; j < cols; j++) colScale[j] = colHeads[Math.floor(j / hs)];
  if (isEmbed || p.residualIn) {
    for (const ch of outlierChannels(c, seed)) colScale[ch] *= isEmbed ? EMBED_OUTLIER : RESIDUAL_IN_OUTLIER;
  }
  // Normalise so the realised overall std is `std` whatever the spreads drew.
  const ms = (a: Float64Array) => a.reduce((s, x) => s + x * x, 0) / a.length;
  const tailMs = 1 + p.tail * (TAIL_SCALE * TAIL_SCALE - 1);
  const k = std / Math.sqrt(ms(rowScale) * ms(colScale) * tailMs);
  const tailCut = Math.floor(p.tail * 4294967296);

  const rowsPerChunk = Math.max(1, Math.floor(CHUNK / cols));
  for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
    const nr = Math.min(rowsPerChunk, rows - r0);
    const out = new Float32Array(nr * cols);
    for (let r = 0; r < nr; r++) {
      const rk = k * rowScale[r0 + r];
      for (let j = 0; j < cols; j++) {
        const tail = rng.next() < tailCut ? TAIL_SCALE : 1;
        out[r * cols + j] = rng.gauss() * rk * colScale[j] * tail;
      }
    }
    yield out;
  }
}

/** The synthetic values of one tensor (canonical name) as row-major chunks. */
export function synthTensorChunks(c: ModelConfig, seed: number, name: string): Iterable<Float32Array> {
  const m = /^blocks\.(\d+)\.(\w+)$/.exec(name);
  const layer = m ? Number(m[1]) : 0;
  const kind = m ? m[2] : name;
  const t = c.nLayers > 1 ? layer / (c.nLayers - 1) : 0;
  const kd = kvDim(c);
  if (kind in NORMS) return [vectorOf(c, seed, name, kind, t)];
  const shapes: Record<string, [number, number]> = {
    tok_embeddings: [c.vocabSize, c.dim], wcls: [c.vocabSize, c.dim],
    wq: [c.dim, c.dim], wk: [kd, c.dim], wv: [kd, c.dim], wo: [c.dim, c.dim],
    w1: [c.hiddenDim, c.dim], w2: [c.dim, c.hiddenDim], w3: [c.hiddenDim, c.dim],
  };
  const s = shapes[kind];
  if (!s || (m && layer >= c.nLayers)) throw new Error(`internal: no synthetic tensor ${name}`);
  return matrixChunks(c, seed, name, kind, t, s[0], s[1]);
}

/** One whole synthetic tensor in memory. */
export function synthTensor(c: ModelConfig, seed: number, name: string): Float32Array {
  const parts = [...synthTensorChunks(c, seed, name)];
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

/** A writer source (llama2c-write.ts) producing the synthetic weights of `seed`. */
export const synthSource = (c: ModelConfig, seed: number): TensorSource => (name) => synthTensorChunks(c, seed, name);

/** All synthetic weights in memory (small shapes; for float/integer reference tests). */
export function synthWeights(c: ModelConfig, seed: number): FloatWeights {
  const t = (n: string) => synthTensor(c, seed, n);
  const tokEmbeddings = t('tok_embeddings');
  const blocks = Array.from({ length: c.nLayers }, (_, l) => {
    const b = (n: string) => t(blockTensor(l, n));
    return {
      rmsAtt: b('rms_att'), wq: b('wq'), wk: b('wk'), wv: b('wv'), wo: b('wo'),
      rmsFfn: b('rms_ffn'), w1: b('w1'), w2: b('w2'), w3: b('w3'),
    };
  });
  return { config: c, tokEmbeddings, blocks, rmsFinal: t('rms_final'), wcls: c.sharedClassifier ? tokEmbeddings : t('wcls') };
}
