// Weight entropies for the EWQ precision planner (issue 6; compiler/plan/ewq.ts).
//
// Softmax entropy of a matrix W with n weights x_i (flattened), in nats:
//   p_i = exp(x_i) / Σ_j exp(x_j),   H = -Σ p_i ln p_i = LSE(x) - Σ p_i x_i
// computed in float64 in one streaming pass with a running maximum m (log-sum-exp):
//   s = Σ exp(x_i - m),  t = Σ exp(x_i - m) · x_i     (rescaled by exp(m_old - m_new) when m grows)
//   H = m + ln s - t / s
// 0 <= H <= ln n; for small-variance weights H ≈ ln n - Var(x)/2. A block's entropy is the
// parameter-weighted mean of its seven matrices' entropies.
//
// The alternative measure: the Shannon entropy (in bits) of the histogram of the quantized
// codes of a matrix at a given bits/group size (the low-bit quantizer's codes, or int8
// per-row codes for 8 bits); 0 <= H <= bits.
import type { Graph, TensorRef } from '../import/graph.ts';
import { blockTensor } from '../import/graph.ts';
import { quantizeLowbit } from '../quantize/lowbit.ts';
import { unpackPlanes, type LowBits } from '../quantize/lowbit-format.ts';
import { quantizeRows } from '../quantize/weights.ts';
import { BLOCK_MATRICES, resolveMatrix, type BlockMatrix, type PlanBits } from './plan.ts';

/** Streaming softmax-entropy accumulator (float64). */
export class SoftmaxEntropy {
  private m = -Infinity;
  private s = 0;
  private t = 0;
  n = 0;

  add(x: ArrayLike<number>): void {
    let m = this.m, s = this.s, t = this.t;
    let cmax = -Infinity;
    for (let i = 0; i < x.length; i++) if (x[i] > cmax) cmax = x[i];
    if (cmax > m) {
      const r = m === -Infinity ? 0 : Math.exp(m - cmax);
      s *= r; t *= r; m = cmax;
    }
    for (let i = 0; i < x.length; i++) {
      const v = x[i], e = Math.exp(v - m);
      s += e; t += e * v;
    }
    this.m = m; this.s = s; this.t = t; this.n += x.length;
  }

  /** H in nats (0 for an empty input). */
  value(): number {
    if (this.n === 0) return 0;
    return Math.max(0, this.m + Math.log(this.s) - this.t / this.s);
  }
}

/** Softmax entropy (nats) of a flat array. */
export function softmaxEntropy(x: ArrayLike<number>): number {
  const acc = new SoftmaxEntropy();
  acc.add(x);
  return acc.value();
}

/** Elements per read when streaming a tensor. */
export const ENTROPY_CHUNK = 1 << 18;

/** Softmax entropy of a tensor, streamed in chunks by readRange (one read() without it). */
export function tensorEntropy(ref: TensorRef, chunk = ENTROPY_CHUNK): number {
  const n = ref.shape.reduce((a, b) => a * b, 1);
  const acc = new SoftmaxEntropy();
  if (!ref.readRange) acc.add(ref.read());
  else for (let i = 0; i < n; i += chunk) acc.add(ref.readRange(i, Math.min(chunk, n - i)));
  return acc.value();
}

/** Shannon entropy (bits) of a histogram. */
export function histogramEntropy(counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  if (total === 0) return 0;
  let h = 0;
  for (let i = 0; i < counts.length; i++) if (counts[i] > 0) { const p = counts[i] / total; h -= p * Math.log2(p); }
  return Math.max(0, h);
}

/**
 * Entropy (bits) of the histogram of the codes a [rows, cols] matrix gets at `bits`
 * (1..4: the low-bit quantizer with clip search at `groupSize`; 8: int8 per-row codes).
 */
export function codeEntropy(w: Float32Array, rows: number, cols: number, bits: number, groupSize: number): number {
  if (bits === 8) {
    const q = quantizeRows(w, rows, cols).q, counts = new Float64Array(256);
    for (let i = 0; i < q.length; i++) counts[q[i] + 128]++;
    return histogramEntropy(counts);
  }
  const m = quantizeLowbit(w, rows, cols, { bits: bits as LowBits, groupSize });
  const codes = unpackPlanes(m.planes, m.bits, rows, cols, groupSize);
  const counts = new Float64Array(1 << bits);
  for (let i = 0; i < codes.length; i++) counts[codes[i]]++;
  return histogramEntropy(counts);
}

export interface MatrixEntropy { name: BlockMatrix; rows: number; cols: number; params: number; entropy: number }
export interface BlockEntropy { block: number; params: number; entropy: number; matrices: MatrixEntropy[] }

/** Parameter-weighted mean of the matrices' entropies. */
export function blockMean(ms: readonly MatrixEntropy[]): number {
  let p = 0, h = 0;
  for (const m of ms) { p += m.params; h += m.params * m.entropy; }
  return p > 0 ? h / p : 0;
}

/**
 * Softmax entropy of every block matrix of a model (one matrix in memory at a time, read in
 * chunks). `measure` replaces the softmax entropy (e.g. a code-histogram entropy).
 */
export function modelEntropies(g: Graph, measure?: (ref: TensorRef) => number): BlockEntropy[] {
  const out: BlockEntropy[] = [];
  for (let l = 0; l < g.config.nLayers; l++) {
    const matrices: MatrixEntropy[] = BLOCK_MATRICES.map((name) => {
      const ref = g.tensors.get(blockTensor(l, name));
      if (!ref) throw new Error(`internal: graph has no tensor ${blockTensor(l, name)}`);
      const [rows, cols] = ref.shape;
      return { name, rows, cols, params: rows * cols, entropy: measure ? measure(ref) : tensorEntropy(ref) };
    });
    out.push({ block: l, params: matrices.reduce((s, m) => s + m.params, 0), entropy: blockMean(matrices), matrices });
  }
  return out;
}

/** The code-histogram measure for modelEntropies (reads each matrix whole, one at a time). */
export const codeEntropyMeasure = (bits: PlanBits, groupSize: number) => (ref: TensorRef): number => {
  const r = resolveMatrix({ bits, groupSize }, ref.shape[1]);
  return codeEntropy(ref.read(), ref.shape[0], ref.shape[1], r.bits, r.groupSize);
};
