// Teacher-forced comparison of two engines over a token stream. The stream is cut into
// windows of seqLen positions; each window restarts at position 0 (a fresh KV cache; the
// engines overwrite cache rows in position order) and begins with BOS, followed by the
// next seqLen - 1 stream tokens. Position p of a window predicts the window's token p + 1,
// so every stream token is predicted exactly once (the BOS tokens are never predicted).
import type { QuantModel } from '../quantize/quant-model.ts';
import { IntTransformer } from '../../runtime/reference/model.ts';
import { MetricsAccumulator, type QualityMetrics } from './metrics.ts';
import { EdgeqError } from '../util/errors.ts';

export const BOS = 1;

/** Anything that maps (token, position) to next-token logits, positions fed in order. */
export interface LogitsEngine {
  forward(token: number, pos: number): ArrayLike<number>;
}

/**
 * `engine` with every logit vector checked finite: a reference whose float32 arithmetic
 * overflows (huge weights) would otherwise give "KL 0, ppl NaN" and look like a result.
 * Throws EdgeqError naming `file` and the position.
 */
export function finiteLogits(engine: LogitsEngine, file: string, what: string): LogitsEngine {
  return {
    forward(token, pos) {
      const l = engine.forward(token, pos);
      for (let i = 0; i < l.length; i++) {
        if (!Number.isFinite(l[i])) {
          throw new EdgeqError(`${what} gave a non-finite logit (${l[i]}) for token ${i} at position ${pos}: its float arithmetic overflows, so nothing can be measured against it`, { file });
        }
      }
      return l;
    },
  };
}

/** The integer reference as a float-logit engine: value / 2^logitFrac, host-side. */
export function intEngine(m: QuantModel): LogitsEngine {
  const t = new IntTransformer(m);
  const scale = 2 ** -m.params.logitFrac;
  let out = new Float64Array(0);
  return {
    forward(token, pos) {
      const l = t.forward(token, pos);
      if (out.length !== l.length) out = new Float64Array(l.length);
      for (let i = 0; i < l.length; i++) out[i] = l[i] * scale;
      return out;
    },
  };
}

/** The windows [BOS, s_i, ..., s_{i+seqLen-2}] covering `stream` (which has no BOS of its own). */
export function windows(stream: ArrayLike<number>, seqLen: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < stream.length; i += seqLen - 1) {
    const w = [BOS];
    for (let j = i; j < Math.min(i + seqLen - 1, stream.length); j++) w.push(stream[j]);
    out.push(w);
  }
  return out;
}

/**
 * An engine that runs a whole window at once (the JavaScript API's evaluate): `each` gets the
 * logits of every position of `tokens` in order (valid during the call).
 */
export interface WindowEngine {
  window(tokens: number[], each: (logits: ArrayLike<number>, pos: number) => void): void;
}

export interface TeacherForcedOptions {
  seqLen: number;
  /** Called after each window with the number of stream tokens predicted so far. */
  onProgress?: (done: number) => void;
}

/** Metrics of `test` against `ref` over every token of `stream`. */
export function teacherForced(stream: ArrayLike<number>, ref: LogitsEngine, test: LogitsEngine | WindowEngine, opts: TeacherForcedOptions): QualityMetrics {
  const acc = new MetricsAccumulator();
  for (const w of windows(stream, opts.seqLen)) {
    // The last token of a window is only predicted, never fed.
    const fed = w.slice(0, -1);
    // Copy the reference logits: an engine may reuse its output array.
    if ('window' in test) test.window(fed, (tl, p) => acc.add(Float64Array.from(ref.forward(w[p], p)), tl, w[p + 1]));
    else fed.forEach((t, p) => { const rl = Float64Array.from(ref.forward(t, p)); acc.add(rl, test.forward(t, p), w[p + 1]); });
    opts.onProgress?.(acc.count);
  }
  return acc.result();
}
