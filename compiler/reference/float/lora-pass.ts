// Forward and backward of the float64 LoRA reference (lora.ts) over one whole sequence:
// the model of forward.ts (llama2.c: RMSNorm, RoPE, grouped-query causal attention,
// SwiGLU, classifier) computed in float64, with a LoRA adapter added to wq and wv of every
// block: q = Wq·xn + B_q·(A_q·xn), v = Wv·xn + B_v·(A_v·xn) (scaling 1). The loss is the
// mean cross-entropy of the T = tokens.length - 1 predictions. The backward is written by
// hand (no autodiff) from the logits down to every adapter; gradients of the frozen
// weights are not formed, only the activation gradients that flow through them.
//
// RoPE uses forward.ts's rotation coefficients exactly: freq = 1/θ^(d/hs) (divided by the
// spec's frequency factor, if any) and the angle pos*freq in float32, cos/sin rounded to
// float32 (run.c's cosf/sinf up to glibc's last bit). These and ε are constants of the
// model (its spec); everything computed from data is float64.
import type { FloatWeights, ModelConfig } from '../../import/graph.ts';
import { headSize, kvDim } from '../../import/graph.ts';
import { ropeParams, type RopeParams } from './forward.ts';

const f = Math.fround;

/** One adapted matrix: A [rank, din], B [dout, rank] and their gradients (same shapes). */
export interface LoraPair {
  a: Float64Array; b: Float64Array; gA: Float64Array; gB: Float64Array; din: number; dout: number;
}
/** The adapters of one block (wq: dout = dim, wv: dout = kvDim). */
export interface LoraBlock { wq: LoraPair; wv: LoraPair }

/** out[i] (+)= Σ_j W[i, j] x[j] for i < d (W row-major [d, n]). */
function mv(out: Float64Array, oo: number, w: ArrayLike<number>, x: Float64Array, xo: number, n: number, d: number, acc = false): void {
  for (let i = 0; i < d; i++) {
    let s = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) s += w[row + j] * x[xo + j];
    out[oo + i] = acc ? out[oo + i] + s : s;
  }
}

/** dx[j] += Σ_i W[i, j] g[i] for j < n (the transpose of mv). */
function mvT(dx: Float64Array, dxo: number, w: ArrayLike<number>, g: Float64Array, go: number, n: number, d: number): void {
  for (let i = 0; i < d; i++) {
    const gi = g[go + i];
    if (gi === 0) continue;
    const row = i * n;
    for (let j = 0; j < n; j++) dx[dxo + j] += w[row + j] * gi;
  }
}

/** y = g ⊙ x · r, r = 1/sqrt(mean(x²) + eps); returns r. */
function rmsFwd(y: Float64Array, x: Float64Array, o: number, g: Float32Array, n: number, eps: number): number {
  let ss = 0;
  for (let j = 0; j < n; j++) ss += x[o + j] * x[o + j];
  const r = 1 / Math.sqrt(ss / n + eps);
  for (let j = 0; j < n; j++) y[o + j] = g[j] * x[o + j] * r;
  return r;
}

/** dx += dL/dx of rmsFwd: r g_i dy_i − (r³/n) x_i Σ_j g_j dy_j x_j. */
function rmsBack(dx: Float64Array, dy: Float64Array, x: Float64Array, o: number, r: number, g: Float32Array, n: number): void {
  let dot = 0;
  for (let j = 0; j < n; j++) dot += g[j] * dy[o + j] * x[o + j];
  const c = (r * r * r * dot) / n;
  for (let j = 0; j < n; j++) dx[o + j] += r * g[j] * dy[o + j] - c * x[o + j];
}

/** forward.ts's rotation coefficients for positions < T: [T][hs/2] cos and sin. */
export function ropeTables(T: number, hs: number, p: RopeParams = { theta: 10000 }): { cos: Float64Array; sin: Float64Array } {
  const half = hs / 2, cos = new Float64Array(T * half), sin = new Float64Array(T * half);
  for (let pos = 0; pos < T; pos++) {
    for (let i = 0; i < hs; i += 2) {
      let freq = f(1 / f(Math.pow(p.theta, f(i / hs))));
      if (p.factors) freq = f(freq / p.factors[i >> 1]);
      const val = f(pos * freq);
      cos[pos * half + i / 2] = f(Math.cos(val));
      sin[pos * half + i / 2] = f(Math.sin(val));
    }
  }
  return { cos, sin };
}

/** Rotates pairs of v[o .. o+n) (n a multiple of hs) for position pos; `inverse` applies the transpose. */
function rope(v: Float64Array, o: number, n: number, hs: number, pos: number, cos: Float64Array, sin: Float64Array, inverse: boolean): void {
  const half = hs / 2;
  for (let i = 0; i < n; i += 2) {
    const c = cos[pos * half + (i % hs) / 2], s = inverse ? -sin[pos * half + (i % hs) / 2] : sin[pos * half + (i % hs) / 2];
    const v0 = v[o + i], v1 = v[o + i + 1];
    v[o + i] = v0 * c - v1 * s;
    v[o + i + 1] = v0 * s + v1 * c;
  }
}

/** Saved activations of one layer, [T][...] row-major. */
interface LayerCache {
  xIn: Float64Array; rAtt: Float64Array; xn: Float64Array; hq: Float64Array; hv: Float64Array;
  q: Float64Array; k: Float64Array; v: Float64Array; p: Float64Array; o: Float64Array;
  xMid: Float64Array; rFfn: Float64Array; xn2: Float64Array; a: Float64Array; b: Float64Array;
}

/** Buffers for sequences of up to T positions; reused across steps. */
export class LoraPass {
  readonly T: number;
  private readonly c: ModelConfig;
  private readonly w: FloatWeights;
  private readonly rank: number;
  private readonly layers: LayerCache[] = [];
  private readonly xFin: Float64Array; private readonly rFin: Float64Array; private readonly xf: Float64Array;
  private readonly probs: Float64Array;
  private readonly rt: { cos: Float64Array; sin: Float64Array };
  private readonly eps: number;
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
    const { dim, hiddenDim: hd, nHeads } = c, kd = kvDim(c);
    let bytes = 0;
    const F = (n: number) => { bytes += 8 * n; return new Float64Array(n); };
    for (let l = 0; l < c.nLayers; l++) {
      this.layers.push({
        xIn: F(T * dim), rAtt: F(T), xn: F(T * dim), hq: F(T * rank), hv: F(T * rank),
        q: F(T * dim), k: F(T * kd), v: F(T * kd), p: F(nHeads * T * T), o: F(T * dim),
        xMid: F(T * dim), rFfn: F(T), xn2: F(T * dim), a: F(T * hd), b: F(T * hd),
      });
    }
    this.xFin = F(T * dim); this.rFin = F(T); this.xf = F(T * dim); this.probs = F(T * c.vocabSize);
    this.rt = ropeTables(T, headSize(c), ropeParams(w.spec));
    this.eps = f(w.spec?.normEps ?? 1e-5);
    this.dx = F(T * dim); this.dy = F(T * dim); this.dh = F(hd);
    this.dq = F(T * dim); this.dk = F(T * kd); this.dv = F(T * kd); this.u = F(rank); this.dp = F(T);
    this.da = F(hd); this.db = F(hd);
    this.bytes = bytes + 8 * T * headSize(c); // + the two RoPE tables
  }

  /**
   * Forward over inputs tokens[0..n-1) with targets tokens[1..n); returns the mean loss and
   * leaves the softmax of every position's logits in `probs` for backward().
   */
  forward(tokens: Int32Array, adapters: LoraBlock[]): number {
    const c = this.c, w = this.w, r = this.rank;
    const T = tokens.length - 1;
    if (T < 1 || T > this.T) throw new RangeError(`internal: sequence of ${T} predictions, pass sized for 1..${this.T}`);
    const { dim, hiddenDim: hd, nHeads, vocabSize: V } = c;
    const kd = kvDim(c), hs = headSize(c), kvMul = nHeads / c.nKvHeads, scale = Math.sqrt(hs);
    let x = this.layers.length > 0 ? this.layers[0].xIn : this.xFin;
    for (let t = 0; t < T; t++) {
      const tok = tokens[t];
      if (!Number.isInteger(tok) || tok < 0 || tok >= V) throw new RangeError(`token ${tok} at position ${t} outside vocabulary [0, ${V})`);
      for (let j = 0; j < dim; j++) x[t * dim + j] = w.tokEmbeddings[tok * dim + j];
    }
    for (let l = 0; l < c.nLayers; l++) {
      const L = this.layers[l], b = w.blocks[l], ad = adapters[l];
      if (L.xIn !== x) L.xIn.set(x.subarray(0, T * dim));
      for (let t = 0; t < T; t++) {
        const o = t * dim;
        L.rAtt[t] = rmsFwd(L.xn, L.xIn, o, b.rmsAtt, dim, this.eps);
        mv(L.q, o, b.wq, L.xn, o, dim, dim);
        mv(L.k, t * kd, b.wk, L.xn, o, dim, kd);
        mv(L.v, t * kd, b.wv, L.xn, o, dim, kd);
        mv(L.hq, t * r, ad.wq.a, L.xn, o, dim, r);
        mv(L.q, o, ad.wq.b, L.hq, t * r, r, dim, true);
        mv(L.hv, t * r, ad.wv.a, L.xn, o, dim, r);
        mv(L.v, t * kd, ad.wv.b, L.hv, t * r, r, kd, true);
        rope(L.q, o, dim, hs, t, this.rt.cos, this.rt.sin, false);
        rope(L.k, t * kd, kd, hs, t, this.rt.cos, this.rt.sin, false);
      }
      // Causal attention; p[h][t][j] for j <= t.
      for (let h = 0; h < nHeads; h++) {
        const qo = h * hs, kvo = Math.floor(h / kvMul) * hs;
        for (let t = 0; t < T; t++) {
          const p = L.p.subarray((h * this.T + t) * this.T);
          let max = -Infinity;
          for (let j = 0; j <= t; j++) {
            let s = 0;
            for (let i = 0; i < hs; i++) s += L.q[t * dim + qo + i] * L.k[j * kd + kvo + i];
            p[j] = s / scale;
            if (p[j] > max) max = p[j];
          }
          let sum = 0;
          for (let j = 0; j <= t; j++) { p[j] = Math.exp(p[j] - max); sum += p[j]; }
          for (let j = 0; j <= t; j++) p[j] /= sum;
          for (let i = 0; i < hs; i++) {
            let s = 0;
            for (let j = 0; j <= t; j++) s += p[j] * L.v[j * kd + kvo + i];
            L.o[t * dim + qo + i] = s;
          }
        }
      }
      for (let t = 0; t < T; t++) {
        const o = t * dim;
        L.xMid.set(L.xIn.subarray(o, o + dim), o);
        mv(L.xMid, o, b.wo, L.o, o, dim, dim, true);
        L.rFfn[t] = rmsFwd(L.xn2, L.xMid, o, b.rmsFfn, dim, this.eps);
        mv(L.a, t * hd, b.w1, L.xn2, o, dim, hd);
        mv(L.b, t * hd, b.w3, L.xn2, o, dim, hd);
      }
      const next = l + 1 < c.nLayers ? this.layers[l + 1].xIn : this.xFin;
      for (let t = 0; t < T; t++) {
        const o = t * dim, h = this.dh;
        for (let i = 0; i < hd; i++) {
          const a = L.a[t * hd + i];
          h[i] = (a / (1 + Math.exp(-a))) * L.b[t * hd + i];
        }
        next.set(L.xMid.subarray(o, o + dim), o);
        mv(next, o, b.w2, h, 0, hd, dim, true);
      }
      x = next;
    }
    let loss = 0;
    for (let t = 0; t < T; t++) {
      const o = t * dim, lo = t * V;
      this.rFin[t] = rmsFwd(this.xf, this.xFin, o, w.rmsFinal, dim, this.eps);
      mv(this.probs, lo, w.wcls, this.xf, o, dim, V);
      let max = -Infinity;
      for (let i = 0; i < V; i++) if (this.probs[lo + i] > max) max = this.probs[lo + i];
      let sum = 0;
      for (let i = 0; i < V; i++) sum += Math.exp(this.probs[lo + i] - max);
      const target = tokens[t + 1];
      if (!Number.isInteger(target) || target < 0 || target >= V) throw new RangeError(`token ${target} at position ${t + 1} outside vocabulary [0, ${V})`);
      loss += Math.log(sum) + max - this.probs[lo + target];
      for (let i = 0; i < V; i++) this.probs[lo + i] = Math.exp(this.probs[lo + i] - max) / sum;
    }
    return loss / T;
  }

  /** Gradients of the mean loss of the last forward(tokens) into every adapter's gA/gB (overwritten). */
  backward(tokens: Int32Array, adapters: LoraBlock[]): void {
    const c = this.c, w = this.w, r = this.rank, T = tokens.length - 1;
    const { dim, hiddenDim: hd, nHeads, vocabSize: V } = c;
    const kd = kvDim(c), hs = headSize(c), kvMul = nHeads / c.nKvHeads, scale = Math.sqrt(hs);
    const { dx, dy, dh, dq, dk, dv, u, dp, da, db } = this;
    for (const ad of adapters) for (const p of [ad.wq, ad.wv]) { p.gA.fill(0); p.gB.fill(0); }
    // Classifier and final norm: dlogits = (softmax − onehot) / T, in place in probs.
    dx.fill(0, 0, T * dim); dy.fill(0, 0, T * dim);
    for (let t = 0; t < T; t++) {
      const lo = t * V;
      this.probs[lo + tokens[t + 1]] -= 1;
      for (let i = 0; i < V; i++) this.probs[lo + i] /= T;
      mvT(dy, t * dim, w.wcls, this.probs, lo, dim, V);
      rmsBack(dx, dy, this.xFin, t * dim, this.rFin[t], w.rmsFinal, dim);
    }
    for (let l = c.nLayers - 1; l >= 0; l--) {
      const L = this.layers[l], b = w.blocks[l], ad = adapters[l];
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
        rope(dq, o, dim, hs, t, this.rt.cos, this.rt.sin, true);
        rope(dk, t * kd, kd, hs, t, this.rt.cos, this.rt.sin, true);
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
