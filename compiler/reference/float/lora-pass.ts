// Forward and backward of the float64 LoRA reference (lora.ts) over one whole sequence.
// The forward is the float reference's model (model.ts: llama2.c's RMSNorm, RoPE,
// grouped-query causal attention, SwiGLU, classifier) in float64, position by position,
// with a LoRA adapter added to wq and wv of every block: q = Wq·xn + B_q·(A_q·xn),
// v = Wv·xn + B_v·(A_v·xn) (scaling 1), recording every activation. The loss is the mean
// cross-entropy of the T = tokens.length - 1 predictions. The backward is written by hand
// (no autodiff) from the logits down to every adapter, reading the recorded activations;
// gradients of the frozen weights are not formed, only the activation gradients that flow
// through them. RoPE coefficients and ε are constants of the model (float32, as in the
// reference); everything computed from data is float64.
import type { FloatWeights, ModelConfig } from '../../import/graph.ts';
import { headSize, kvDim } from '../../import/graph.ts';
import { Activations, FLOAT64, FloatModel, ropeCoefficients, ropeParams, rotate, type RopeParams } from './model.ts';

/** One adapted matrix: A [rank, din], B [dout, rank] and their gradients (same shapes). */
export interface LoraPair {
  a: Float64Array; b: Float64Array; gA: Float64Array; gB: Float64Array; din: number; dout: number;
}
/** The adapters of one block (wq: dout = dim, wv: dout = kvDim). */
export interface LoraBlock { wq: LoraPair; wv: LoraPair }

/** dx[j] += Σ_i W[i, j] g[i] for j < n (the transpose of mv). */
function mvT(dx: Float64Array, dxo: number, w: ArrayLike<number>, g: Float64Array, go: number, n: number, d: number): void {
  for (let i = 0; i < d; i++) {
    const gi = g[go + i];
    if (gi === 0) continue;
    const row = i * n;
    for (let j = 0; j < n; j++) dx[dxo + j] += w[row + j] * gi;
  }
}

/** dx += dL/dx of y = g ⊙ x · r (model.ts's rmsnorm, r = 1/sqrt(mean(x²) + ε)): r g_i dy_i − (r³/n) x_i Σ_j g_j dy_j x_j. */
function rmsBack(dx: Float64Array, dy: Float64Array, x: Float64Array, o: number, r: number, g: Float32Array, n: number): void {
  let dot = 0;
  for (let j = 0; j < n; j++) dot += g[j] * dy[o + j] * x[o + j];
  const c = (r * r * r * dot) / n;
  for (let j = 0; j < n; j++) dx[o + j] += r * g[j] * dy[o + j] - c * x[o + j];
}

/** model.ts's rotation coefficients for positions < T: [T][hs/2] cos and sin. */
export function ropeTables(T: number, hs: number, p: RopeParams = { theta: 10000 }): { cos: Float64Array; sin: Float64Array } {
  const half = hs / 2, cos = new Float64Array(T * half), sin = new Float64Array(T * half);
  for (let pos = 0; pos < T; pos++) ropeCoefficients(cos, sin, pos * half, pos, hs, p);
  return { cos, sin };
}

/** Buffers for sequences of up to T positions; reused across steps. */
export class LoraPass {
  readonly T: number;
  private readonly c: ModelConfig;
  private readonly w: FloatWeights;
  private readonly rank: number;
  private readonly model: FloatModel;
  /** Every position's activations; acts.logits becomes the softmax (then dlogits) of each position. */
  private readonly acts: Activations<Float64Array>;
  private readonly rt: { cos: Float64Array; sin: Float64Array };
  // Backward scratch.
  private readonly dx: Float64Array; private readonly dy: Float64Array; private readonly dh: Float64Array;
  private readonly dq: Float64Array; private readonly dk: Float64Array; private readonly dv: Float64Array;
  private readonly u: Float64Array; private readonly dp: Float64Array;
  private readonly da: Float64Array; private readonly db: Float64Array;
  /** Bytes of every typed array this pass allocated. */
  readonly bytes: number;

  constructor(w: FloatWeights, rank: number, T: number) {
    const c = w.config;
    this.c = c; this.w = w; this.rank = rank; this.T = T;
    const { dim, hiddenDim: hd } = c, kd = kvDim(c);
    this.model = new FloatModel(w, FLOAT64);
    this.acts = new Activations(c, T, true, (n) => new Float64Array(n), rank);
    let bytes = this.acts.bytes;
    const F = (n: number) => { bytes += 8 * n; return new Float64Array(n); };
    this.rt = ropeTables(T, headSize(c), ropeParams(w.spec));
    this.dx = F(T * dim); this.dy = F(T * dim); this.dh = F(hd);
    this.dq = F(T * dim); this.dk = F(T * kd); this.dv = F(T * kd); this.u = F(rank); this.dp = F(T);
    this.da = F(hd); this.db = F(hd);
    this.bytes = bytes + 8 * T * headSize(c); // + the two RoPE tables
  }

  /**
   * Forward over inputs tokens[0..n-1) with targets tokens[1..n); returns the mean loss and
   * leaves the softmax of every position's logits in acts.logits for backward().
   */
  forward(tokens: Int32Array, adapters: LoraBlock[]): number {
    const V = this.c.vocabSize, T = tokens.length - 1;
    if (T < 1 || T > this.T) throw new RangeError(`internal: sequence of ${T} predictions, pass sized for 1..${this.T}`);
    for (let t = 0; t < T; t++) {
      const tok = tokens[t];
      if (!Number.isInteger(tok) || tok < 0 || tok >= V) throw new RangeError(`token ${tok} at position ${t} outside vocabulary [0, ${V})`);
    }
    for (let t = 0; t < T; t++) this.model.step(tokens[t], t, this.acts, adapters);
    const probs = this.acts.logits;
    let loss = 0;
    for (let t = 0; t < T; t++) {
      const lo = t * V;
      let max = -Infinity;
      for (let i = 0; i < V; i++) if (probs[lo + i] > max) max = probs[lo + i];
      let sum = 0;
      for (let i = 0; i < V; i++) sum += Math.exp(probs[lo + i] - max);
      const target = tokens[t + 1];
      if (!Number.isInteger(target) || target < 0 || target >= V) throw new RangeError(`token ${target} at position ${t + 1} outside vocabulary [0, ${V})`);
      loss += Math.log(sum) + max - probs[lo + target];
      for (let i = 0; i < V; i++) probs[lo + i] = Math.exp(probs[lo + i] - max) / sum;
    }
    return loss / T;
  }

  /** Gradients of the mean loss of the last forward(tokens) into every adapter's gA/gB (overwritten). */
  backward(tokens: Int32Array, adapters: LoraBlock[]): void {
    const c = this.c, w = this.w, r = this.rank, T = tokens.length - 1;
    const { dim, hiddenDim: hd, nHeads, vocabSize: V } = c;
    const kd = kvDim(c), hs = headSize(c), kvMul = nHeads / c.nKvHeads, scale = Math.sqrt(hs);
    const { dx, dy, dh, dq, dk, dv, u, dp, da, db } = this, probs = this.acts.logits, { cos, sin } = this.rt;
    for (const ad of adapters) for (const p of [ad.wq, ad.wv]) { p.gA.fill(0); p.gB.fill(0); }
    // Classifier and final norm: dlogits = (softmax − onehot) / T, in place in probs.
    dx.fill(0, 0, T * dim); dy.fill(0, 0, T * dim);
    for (let t = 0; t < T; t++) {
      const lo = t * V;
      probs[lo + tokens[t + 1]] -= 1;
      for (let i = 0; i < V; i++) probs[lo + i] /= T;
      mvT(dy, t * dim, w.wcls, probs, lo, dim, V);
      rmsBack(dx, dy, this.acts.xFin, t * dim, this.acts.rFin[t], w.rmsFinal, dim);
    }
    for (let l = c.nLayers - 1; l >= 0; l--) {
      const L = this.acts.layers[l], b = w.blocks[l], ad = adapters[l];
      // FFN: out = xMid + W2·(silu(a) ⊙ b), a = W1·xn2, b = W3·xn2; dx is d(out) and d(xMid)'s residual part.
      dy.fill(0, 0, T * dim);
      for (let t = 0; t < T; t++) {
        const o = t * dim;
        dh.fill(0);
        mvT(dh, 0, b.w2, dx, o, hd, dim);
        for (let i = 0; i < hd; i++) {
          const a = L.a[t * hd + i], s = 1 / (1 + Math.exp(-a));
          db[i] = dh[i] * a * s;
          da[i] = dh[i] * L.b[t * hd + i] * s * (1 + a * (1 - s));
        }
        mvT(dy, o, b.w1, da, 0, dim, hd);
        mvT(dy, o, b.w3, db, 0, dim, hd);
        rmsBack(dx, dy, L.xMid, o, L.rFfn[t], b.rmsFfn, dim);
      }
      // Attention: xMid = xIn + Wo·o. dy := d(o).
      dy.fill(0, 0, T * dim);
      for (let t = 0; t < T; t++) mvT(dy, t * dim, b.wo, dx, t * dim, dim, dim);
      dq.fill(0, 0, T * dim); dk.fill(0, 0, T * kd); dv.fill(0, 0, T * kd);
      for (let h = 0; h < nHeads; h++) {
        const qo = h * hs, kvo = Math.floor(h / kvMul) * hs;
        for (let t = 0; t < T; t++) {
          const p = L.p.subarray((h * this.T + t) * this.T), go = t * dim + qo;
          let dot = 0;
          for (let j = 0; j <= t; j++) {
            let s = 0;
            for (let i = 0; i < hs; i++) s += dy[go + i] * L.v[j * kd + kvo + i];
            dp[j] = s;
            dot += p[j] * s;
          }
          for (let j = 0; j <= t; j++) {
            const ds = (p[j] * (dp[j] - dot)) / scale, pj = p[j];
            for (let i = 0; i < hs; i++) {
              dq[go + i] += ds * L.k[j * kd + kvo + i];
              dk[j * kd + kvo + i] += ds * L.q[go + i];
              dv[j * kd + kvo + i] += pj * dy[go + i];
            }
          }
        }
      }
      // Projections (through RoPE's transpose), LoRA, then the attention norm.
      dy.fill(0, 0, T * dim);
      for (let t = 0; t < T; t++) {
        const o = t * dim;
        rotate(dq, o, dim, hs, cos, sin, t * (hs / 2), false, true);
        rotate(dk, t * kd, kd, hs, cos, sin, t * (hs / 2), false, true);
        mvT(dy, o, b.wq, dq, o, dim, dim);
        mvT(dy, o, b.wk, dk, t * kd, dim, kd);
        mvT(dy, o, b.wv, dv, t * kd, dim, kd);
        loraBack(ad.wq, dq, o, L.hq, t * r, L.xn, o, dy, u, r);
        loraBack(ad.wv, dv, t * kd, L.hv, t * r, L.xn, o, dy, u, r);
        rmsBack(dx, dy, L.xIn, o, L.rAtt[t], b.rmsAtt, dim);
      }
    }
  }
}

/**
 * y += B·(A·x) with g = dL/dy: gB += g ⊗ h (h = A·x saved), u = Bᵀ g, gA += u ⊗ x,
 * dx += Aᵀ u.
 */
function loraBack(p: LoraPair, g: Float64Array, go: number, h: Float64Array, ho: number, x: Float64Array, xo: number,
  dx: Float64Array, u: Float64Array, r: number): void {
  const { din, dout } = p;
  for (let i = 0; i < dout; i++) {
    const gi = g[go + i];
    for (let k = 0; k < r; k++) p.gB[i * r + k] += gi * h[ho + k];
  }
  u.fill(0);
  mvT(u, 0, p.b, g, go, r, dout);
  for (let k = 0; k < r; k++) {
    const uk = u[k];
    for (let j = 0; j < din; j++) p.gA[k * din + j] += uk * x[xo + j];
  }
  mvT(dx, xo, p.a, u, 0, din, r);
}
