// Quality metrics of a quantized model against the float reference, per next-token
// distribution, all in float64 (host-side only: the device never sees these).
//   top-1 agreement: argmax(ref) == argmax(test) (lowest index on ties, as the samplers)
//   KL(ref || test) in nats, from stable log-softmax
//   perplexity of each engine on the actual next tokens: exp(mean NLL)

/** log-softmax in float64: x - max - log(sum exp(x - max)). */
export function logSoftmax(logits: ArrayLike<number>, out = new Float64Array(logits.length)): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

/** KL(p || q) in nats for log-probabilities lp, lq (terms with p = 0 contribute 0). */
export function klFromLogProbs(lp: Float64Array, lq: Float64Array): number {
  let kl = 0;
  for (let i = 0; i < lp.length; i++) {
    const p = Math.exp(lp[i]);
    if (p > 0) kl += p * (lp[i] - lq[i]);
  }
  return Math.max(kl, 0); // rounding can leave -1e-17 for identical distributions
}

/** Index of the largest value, lowest index on ties. */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Running totals over predicted positions. */
export class MetricsAccumulator {
  count = 0;
  agree = 0;
  klSum = 0;
  klMax = 0;
  nllRef = 0;
  nllTest = 0;
  private lp = new Float64Array(0);
  private lq = new Float64Array(0);

  /** One position: logits of both engines and the token that actually came next. */
  add(refLogits: ArrayLike<number>, testLogits: ArrayLike<number>, next: number): void {
    if (this.lp.length !== refLogits.length) { this.lp = new Float64Array(refLogits.length); this.lq = new Float64Array(refLogits.length); }
    const lp = logSoftmax(refLogits, this.lp), lq = logSoftmax(testLogits, this.lq);
    const kl = klFromLogProbs(lp, lq);
    this.count++;
    if (argmax(refLogits) === argmax(testLogits)) this.agree++;
    this.klSum += kl;
    if (kl > this.klMax) this.klMax = kl;
    this.nllRef -= lp[next];
    this.nllTest -= lq[next];
  }

  result(): QualityMetrics {
    const n = this.count;
    return {
      tokens: n,
      top1Agreement: this.agree / n,
      meanKL: this.klSum / n,
      maxKL: this.klMax,
      pplRef: Math.exp(this.nllRef / n),
      pplTest: Math.exp(this.nllTest / n),
    };
  }
}

export interface QualityMetrics {
  /** Number of predicted positions. */
  tokens: number;
  top1Agreement: number;
  /** Mean KL(ref || test) in nats. */
  meanKL: number;
  maxKL: number;
  /** Perplexity of the reference and of the tested engine on the actual next tokens. */
  pplRef: number;
  pplTest: number;
}
