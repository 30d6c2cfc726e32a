// llama2.c's sampler (run.c: random_u32, random_f32, sample_argmax, sample_mult,
// sample_topp, sample), with the same float32 arithmetic, so that a given seed picks the
// same tokens as `./run -s SEED` on the same logits.
//
// Seeds: llama2.c seeds from the clock unless -s is given. We want runs to be
// reproducible, so the default is the fixed DEFAULT_SEED; a seed of 0 is refused because
// xorshift never leaves the all-zero state.
import { softmax } from './forward.ts';

export const DEFAULT_SEED = 42n;
const f = Math.fround;
const U64 = (1n << 64n) - 1n;

/** xorshift64* on a uint64 state, exactly run.c's random_u32 / random_f32. */
export class Rng {
  private state: bigint;

  constructor(seed: bigint | number) {
    const s = BigInt(seed);
    if (s <= 0n || s > U64) throw new RangeError(`seed must be in [1, 2^64), got ${seed}`);
    this.state = s;
  }

  /** The next uint32. */
  u32(): number {
    let s = this.state;
    s ^= s >> 12n;
    s = (s ^ (s << 25n)) & U64;
    s ^= s >> 27n;
    this.state = s;
    return Number(((s * 0x2545f4914f6cdd1dn) & U64) >> 32n);
  }

  /** A float32 in [0, 1): the top 24 bits of u32() / 2^24 (exact in float32). */
  f32(): number {
    return (this.u32() >>> 8) / 16777216;
  }
}

/** Index of the largest value; the first one on ties. */
export function sampleArgmax(p: ArrayLike<number>): number {
  let maxI = 0, maxP = p[0];
  for (let i = 1; i < p.length; i++) if (p[i] > maxP) { maxI = i; maxP = p[i]; }
  return maxI;
}

/** Samples from probabilities summing to 1 with a coin in [0, 1). */
export function sampleMult(p: ArrayLike<number>, coin: number): number {
  let cdf = 0;
  for (let i = 0; i < p.length; i++) {
    cdf = f(cdf + p[i]);
    if (coin < cdf) return i;
  }
  return p.length - 1; // rounding left cdf below the coin
}

/**
 * Top-p (nucleus) sampling: keep the most likely tokens whose cumulative probability just
 * exceeds topp, and sample among them. Tokens below (1 - topp) / (n - 1) cannot be part
 * of the nucleus and are dropped before sorting (run.c's speed-up, kept because it decides
 * which tokens exist when probabilities tie at the cut-off).
 * Ties in the descending sort: C's qsort promises no order, but glibc's is a stable merge
 * sort, so equal probabilities stay in increasing token order; JS's sort is stable too.
 */
export function sampleTopp(p: ArrayLike<number>, topp: number, coin: number): number {
  const n = p.length;
  const tp = f(topp);
  const cutoff = f(f(1 - tp) / (n - 1));
  const kept: number[] = [];
  for (let i = 0; i < n; i++) if (p[i] >= cutoff) kept.push(i);
  // A nearly flat distribution with a tiny top-p can leave no token above the cutoff (run.c
  // then reads probindex[-1], out of bounds): the nucleus is the single most probable token,
  // as in the integer sampler (lowest id among equals).
  if (kept.length === 0) {
    let best = 0;
    for (let i = 1; i < n; i++) if (p[i] > p[best]) best = i;
    return best;
  }
  kept.sort((a, b) => (p[a] > p[b] ? -1 : p[a] < p[b] ? 1 : 0));

  let cumulative = 0;
  let last = kept.length - 1; // if rounding keeps the sum <= topp, consider them all
  for (let i = 0; i < kept.length; i++) {
    cumulative = f(cumulative + p[kept[i]]);
    if (cumulative > tp) { last = i; break; }
  }
  const r = f(coin * cumulative);
  let cdf = 0;
  for (let i = 0; i <= last; i++) {
    cdf = f(cdf + p[kept[i]]);
    if (r < cdf) return kept[i];
  }
  return kept[last];
}

export interface SamplerOptions {
  /** 0 = greedy argmax; otherwise logits are divided by it before the softmax. */
  temperature: number;
  /** Nucleus mass in (0, 1); 0 or >= 1 means sample from the full distribution. */
  topp: number;
  seed?: bigint | number;
}

export class Sampler {
  readonly temperature: number;
  readonly topp: number;
  private readonly rng: Rng;
  private probs = new Float32Array(0);

  constructor(opts: SamplerOptions) {
    // run.c keeps both as C floats.
    this.temperature = f(opts.temperature);
    this.topp = f(opts.topp);
    this.rng = new Rng(opts.seed ?? DEFAULT_SEED);
  }

  /** Picks the next token. `logits` is left untouched (run.c scales it in place). */
  sample(logits: Float32Array): number {
    if (this.temperature === 0) return sampleArgmax(logits);
    if (this.probs.length !== logits.length) this.probs = new Float32Array(logits.length);
    const p = this.probs;
    for (let i = 0; i < p.length; i++) p[i] = logits[i] / this.temperature;
    softmax(p);
    // The coin is drawn even when top-p is off, as in run.c, so the stream stays aligned.
    const coin = this.rng.f32();
    return this.topp <= 0 || this.topp >= 1 ? sampleMult(p, coin) : sampleTopp(p, this.topp, coin);
  }
}
