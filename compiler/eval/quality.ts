// The quality harness's measurements (issue 15; `npm run quality`, scripts/quality.ts):
// for a plan, bits per weight (block matrices, and the whole model.edgeq) against the
// teacher-forced metrics of compiler/eval/teacher-forced.ts, scored two ways:
//   all   every predicted position (what `edgeq eval` reports);
//   half  only positions p >= seqLen/2 of each window, llama.cpp's --kl-divergence
//         convention (it scores the second half of each n_ctx chunk, where every
//         prediction has at least n_ctx/2 tokens of context).
// And the frontier of a set of (bits, KL) points: the plans no other plan beats on both.
import type { FloatWeights } from '../import/graph.ts';
import type { QuantModel } from '../quantize/quant-model.ts';
import { BLOCK_MATRICES } from '../plan/plan.ts';
import { MetricsAccumulator, type QualityMetrics } from './metrics.ts';
import { windows, type LogitsEngine } from './teacher-forced.ts';

export interface HalfScored { all: QualityMetrics; half: QualityMetrics }

/** Metrics of `test` against `ref` over `stream`, over all positions and over each window's second half. */
export function scoreBoth(stream: ArrayLike<number>, ref: LogitsEngine, test: LogitsEngine, seqLen: number): HalfScored {
  const all = new MetricsAccumulator(), half = new MetricsAccumulator();
  const from = Math.floor(seqLen / 2);
  for (const w of windows(stream, seqLen)) {
    for (let p = 0; p + 1 < w.length; p++) {
      const rl = Float64Array.from(ref.forward(w[p], p)), tl = test.forward(w[p], p);
      all.add(rl, tl, w[p + 1]);
      if (p >= from) half.add(rl, tl, w[p + 1]);
    }
  }
  return { all: all.result(), half: half.result() };
}

/** Weights of the block matrices (wq..w3 of every layer). */
export function blockWeights(w: FloatWeights): number {
  return w.blocks.reduce((s, b) => s + BLOCK_MATRICES.reduce((t, m) => t + b[m].length, 0), 0);
}

/** Every float parameter of the model (a shared classifier counted once). */
export function modelParams(w: FloatWeights): number {
  let n = w.tokEmbeddings.length + w.rmsFinal.length + (w.wcls === w.tokEmbeddings ? 0 : w.wcls.length);
  for (const b of w.blocks) for (const v of Object.values(b)) n += v.length;
  return n;
}

/** Bytes of the quantized model's tensors that store block matrices (values, groups, row scales). */
export function blockMatrixBytes(m: QuantModel): number {
  const re = new RegExp(`^blocks\\.\\d+\\.(${BLOCK_MATRICES.join('|')})(\\.|$)`);
  let bytes = 0;
  for (const t of m.tensors) if (re.test(t.name)) bytes += t.data.byteLength;
  return bytes;
}

export interface QualityPoint { plan: string; bpw: number; kl: number }

/**
 * The frontier: points no other point beats or ties on both bits and KL (fewer bits and
 * lower KL), in ascending bits.
 */
export function frontier<P extends QualityPoint>(points: readonly P[]): P[] {
  const sorted = [...points].sort((a, b) => a.bpw - b.bpw || a.kl - b.kl);
  const out: P[] = [];
  for (const p of sorted) if (out.length === 0 || p.kl < out[out.length - 1].kl) out.push(p);
  return out;
}
