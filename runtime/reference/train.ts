// The integer reference of fine-tuning (docs/integer-spec.md §13): LoRA adapters on wq and
// wv of every block, trained through the frozen int8 base with integers only. It defines
// the bytes every engine's training step must reproduce; the AssemblyScript port is
// runtime/assembly/train.ts. Like model.ts it only sequences kernels: the arithmetic is in
// runtime/kernels/reference (gse.ts for the adapters, the *_backward.ts kernels, sgd.ts).
//
// One step over tokens[0..T]: the forward pass of IntTransformer for positions 0..T-1 with
// the adapters added to wq/wv (a ForwardTap), saving what backward needs; cross-entropy and
// the classifier's backward at each position; then backward for positions T-1..0 and, at
// each, blocks L-1..0 — the attention backward of query t adds to dK/dV of positions <= t,
// so position t's are complete when it is reached; then SGD with momentum on every adapter.

import type { QuantModel } from '../../compiler/quantize/quant-model.ts';
import { EdgeqError } from '../../compiler/util/errors.ts';
import { IntTransformer, type ForwardTap, type QGain, type QMatrix } from './model.ts';
import { divFloor, satAdd, shlSat } from '../kernels/reference/arith.ts';
import { ACT_FRAC, GACC_FRAC, GRAD_FRAC, W_FRAC } from '../kernels/reference/constants.ts';
import { mulShiftRound } from '../kernels/reference/int64.ts';
import { gseMatVec, gseMatVecT, gseQuantizeInto } from '../kernels/reference/gse.ts';
import { gseOuterAcc } from '../kernels/reference/gse_outer.ts';
import { Xorshift64Star } from '../kernels/reference/rng.ts';
import { GemvTScratch, gemvQ8T } from '../kernels/reference/gemv_q8_t.ts';
import { RmsnormBackwardScratch, rmsnormBackward } from '../kernels/reference/rmsnorm_backward.ts';
import { swigluBackward } from '../kernels/reference/swiglu_backward.ts';
import { ropeBackwardQ24 } from '../kernels/reference/rope_backward.ts';
import { AttentionBackwardScratch, attentionBackward } from '../kernels/reference/attention_backward.ts';
import { CrossEntropyScratch, crossEntropy } from '../kernels/reference/cross_entropy.ts';
import { sgdMomentum } from '../kernels/reference/sgd.ts';

// Fractional bits (constants.ts): adapter weights W_FRAC = 24, gradient vectors GRAD_FRAC =
// 24, gradient accumulators and momentum GACC_FRAC = 20.
export { GACC_FRAC, GRAD_FRAC, W_FRAC };
/** GSE format of everything on the adapter path: groups of 16, 8-bit mantissas. */
export const TRAIN_G = 16;
export const TRAIN_M = 8;
const G_SHIFT = 4; // log2(TRAIN_G)
/** Momentum 1 - 2^-3 = 0.875. */
export const MOMENTUM_SHIFT = 3;
/** Adapted projections, in the order of their tensors. */
export const LORA_TARGETS = ['wq', 'wv'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** Integer hyper-parameters of the trainer (the host derives lrM/lrE from its float lr). */
export interface IntTrainParams {
  /** rank padded to a multiple of 16. */
  rPad: number;
  /** Positions per step (T); a step reads T + 1 tokens. */
  seqLen: number;
  /** Learning rate per position (lr / T) as a scale lrM * 2^-lrE. */
  lrM: number;
  lrE: number;
  /** Stochastic rounding stream state. */
  rngLo: number;
  rngHi: number;
}

/** One adapter (A [rPad, din], B [dout, rPad]) with its optimizer state and this step's GSE copies. */
class Adapter {
  readonly a: Int32Array; readonly b: Int32Array; // master weights, Q24
  readonly va: Int32Array; readonly vb: Int32Array; // momentum, Q20
  readonly ga: Int32Array; readonly gb: Int32Array; // gradient accumulators, Q20
  readonly aM: Int8Array; readonly aE: Int8Array; readonly bM: Int8Array; readonly bE: Int8Array;
  constructor(readonly rPad: number, readonly din: number, readonly dout: number) {
    const na = rPad * din, nb = dout * rPad;
    this.a = new Int32Array(na); this.b = new Int32Array(nb);
    this.va = new Int32Array(na); this.vb = new Int32Array(nb);
    this.ga = new Int32Array(na); this.gb = new Int32Array(nb);
    this.aM = new Int8Array(na); this.aE = new Int8Array(na >> G_SHIFT);
    this.bM = new Int8Array(nb); this.bE = new Int8Array(nb >> G_SHIFT);
  }
  /** GSE copies of the master weights for this step (round to nearest). */
  quantize(): void {
    gseQuantizeInto(this.aM, this.aE, this.a, this.a.length, W_FRAC, TRAIN_G, TRAIN_M, 0);
    gseQuantizeInto(this.bM, this.bE, this.b, this.b.length, W_FRAC, TRAIN_G, TRAIN_M, 0);
  }
  /** Bytes of its arrays: three int32 copies (weights, momentum, gradients) plus the GSE copy. */
  bytes(): number { const n = this.a.length + this.b.length; return 12 * n + n + (n >> G_SHIFT); }
}

/** A GSE vector: mantissas and exponents. */
class GseVec {
  readonly m: Int8Array; readonly e: Int8Array;
  constructor(n: number) { this.m = new Int8Array(n); this.e = new Int8Array(n >> G_SHIFT); }
}

/** value * scale (m, e) as int32 Q frac: a left shift when e < frac (saturating). */
function scaleToFixed(v: number, m: number, e: number, frac: number): number {
  const s = e - frac;
  return s >= 0 ? mulShiftRound(v, m, s) : shlSat(mulShiftRound(v, m, 0), -s);
}

export class IntLoraTrainer {
  readonly model: IntTransformer;
  readonly adapters: Adapter[]; // [block * 2 + target]
  readonly rng: Xorshift64Star;
  private readonly T: number;
  // Saved forward values per (block, position): residual entering each half, the query
  // after RoPE, the gate inputs, the adapter inputs/hidden values as GSE.
  private readonly xAtt: Int32Array; private readonly xFfn: Int32Array; private readonly qRope: Int32Array;
  private readonly h1: Int32Array; private readonly h3: Int32Array;
  private readonly xG: GseVec[]; // per (block, position): the adapters' input x
  private readonly hG: GseVec[]; // per (block, position, target): A x
  private readonly xFinal: Int32Array; private readonly dxCls: Int32Array;
  // Backward buffers.
  private readonly dK: Int32Array; private readonly dV: Int32Array;
  private readonly dres: Int32Array; private readonly dxn: Int32Array; private readonly tmpD: Int32Array;
  private readonly dh: Int32Array; private readonly da: Int32Array; private readonly db: Int32Array;
  private readonly dq: Int32Array; private readonly dk: Int32Array; private readonly dlogits: Int32Array;
  private readonly xf: Int32Array; private readonly h: Int32Array; private readonly y: Int32Array; private readonly u: Int32Array;
  private readonly gG: GseVec; private readonly uG: GseVec; private readonly hTmp: GseVec;
  private readonly gtS: GemvTScratch; private readonly rnS: RmsnormBackwardScratch;
  private readonly abS: AttentionBackwardScratch; private readonly ceS: CrossEntropyScratch;
  private readonly lrM: number; private readonly lrE: number;
  private readonly bytes: number;
  /** Position being run by the forward pass and whether to save for backward. */
  private pos = 0;
  private saving = false;

  constructor(m: QuantModel, p: IntTrainParams) {
    const q = m.params, L = q.nLayers, dim = q.dim, hd = q.hiddenDim, V = q.vocabSize;
    const hs = divFloor(dim, q.nHeads), kd = hs * q.nKvHeads;
    if (p.rPad <= 0 || p.rPad % TRAIN_G !== 0) throw new EdgeqError(`fine-tuning: padded rank ${p.rPad} is not a positive multiple of ${TRAIN_G}`);
    if (dim % TRAIN_G !== 0 || kd % TRAIN_G !== 0) throw new EdgeqError(`fine-tuning needs dim and kv dim divisible by ${TRAIN_G} (dim ${dim}, kv dim ${kd})`);
    if (!(p.seqLen >= 1 && p.seqLen <= q.seqLen)) throw new EdgeqError(`fine-tuning: ${p.seqLen} positions per step, the model has ${q.seqLen}`);
    this.model = new IntTransformer(m);
    for (const blk of this.model.blocks) {
      for (const w of [blk.wq, blk.wk, blk.wv, blk.wo, blk.w1, blk.w2, blk.w3]) if (w.lut || w.vq) throw new EdgeqError('fine-tuning needs an int8 base: this bundle has low-bit (LUT or vq2) matrices');
    }
    if (this.model.cls.lut || this.model.cls.vq) throw new EdgeqError('fine-tuning needs an int8 base: the classifier is low-bit');
    const T = p.seqLen, rp = p.rPad;
    this.T = T;
    this.lrM = p.lrM; this.lrE = p.lrE;
    this.rng = new Xorshift64Star(p.rngLo, p.rngHi);
    this.adapters = [];
    for (let l = 0; l < L; l++) { this.adapters.push(new Adapter(rp, dim, dim)); this.adapters.push(new Adapter(rp, dim, kd)); }
    this.xAtt = new Int32Array(L * T * dim); this.xFfn = new Int32Array(L * T * dim); this.qRope = new Int32Array(L * T * dim);
    this.h1 = new Int32Array(L * T * hd); this.h3 = new Int32Array(L * T * hd);
    this.xG = []; this.hG = [];
    for (let i = 0; i < L * T; i++) { this.xG.push(new GseVec(dim)); this.hG.push(new GseVec(rp)); this.hG.push(new GseVec(rp)); }
    this.xFinal = new Int32Array(T * dim); this.dxCls = new Int32Array(T * dim);
    this.dK = new Int32Array(L * T * kd); this.dV = new Int32Array(L * T * kd);
    this.dres = new Int32Array(dim); this.dxn = new Int32Array(dim); this.tmpD = new Int32Array(dim);
    this.dh = new Int32Array(hd); this.da = new Int32Array(hd); this.db = new Int32Array(hd);
    this.dq = new Int32Array(dim); this.dk = new Int32Array(kd); this.dlogits = new Int32Array(V);
    this.xf = new Int32Array(dim); this.h = new Int32Array(rp); this.y = new Int32Array(dim); this.u = new Int32Array(rp);
    this.gG = new GseVec(dim); this.uG = new GseVec(rp); this.hTmp = new GseVec(rp);
    const big = V > hd ? V : hd;
    this.gtS = new GemvTScratch(big, big > dim ? big : dim);
    this.rnS = new RmsnormBackwardScratch(dim);
    this.abS = new AttentionBackwardScratch(hs, q.seqLen);
    this.ceS = new CrossEntropyScratch(V);
    let bytes = 0;
    for (const a of this.adapters) bytes += a.bytes();
    bytes += 4 * (3 * L * T * dim + 2 * L * T * hd + 2 * T * dim + 2 * L * T * kd) + L * T * (dim + 2 * rp + ((dim + 2 * rp) >> G_SHIFT));
    this.bytes = bytes;
  }

  /** Bytes of the trainer's own buffers (saved activations, adapters, optimizer state). */
  peakBytes(): number { return this.bytes; }

  /** The tap adding the adapters (and, while training, saving what backward needs). */
  private readonly tap: ForwardTap = {
    blockInput: (l, x) => { if (this.saving) this.xAtt.set(x, Math.imul(this.at(l), this.model.model.params.dim)); },
    projected: (l, which, out, xq, sc) => {
      if (which === 'wk') return;
      const t = which === 'wq' ? 0 : 1;
      const ad = this.adapters[l * 2 + t];
      const xG = this.xG[this.at(l)];
      if (t === 0) {
        // The adapters' input: the attention norm's 12-bit output as Q16, then GSE.
        for (let i = 0; i < ad.din; i++) this.xf[i] = scaleToFixed(xq[i], sc[0], sc[1], ACT_FRAC);
        gseQuantizeInto(xG.m, xG.e, this.xf, ad.din, ACT_FRAC, TRAIN_G, TRAIN_M, 0);
      }
      const hG = this.saving ? this.hG[(this.at(l) << 1) + t] : this.hTmp;
      gseMatVec(this.h, ad.aM, ad.aE, xG.m, xG.e, ad.rPad, ad.din, TRAIN_G, ACT_FRAC);
      gseQuantizeInto(hG.m, hG.e, this.h, ad.rPad, ACT_FRAC, TRAIN_G, TRAIN_M, 0);
      gseMatVec(this.y, ad.bM, ad.bE, hG.m, hG.e, ad.dout, ad.rPad, TRAIN_G, ACT_FRAC);
      for (let i = 0; i < ad.dout; i++) out[i] = satAdd(out[i], this.y[i]);
    },
    query: (l, q) => { if (this.saving) this.qRope.set(q, Math.imul(this.at(l), this.model.model.params.dim)); },
    ffnInput: (l, x) => { if (this.saving) this.xFfn.set(x, Math.imul(this.at(l), this.model.model.params.dim)); },
    gate: (l, a, b) => {
      if (!this.saving) return;
      const hd = this.model.model.params.hiddenDim;
      this.h1.set(a, Math.imul(this.at(l), hd)); this.h3.set(b, Math.imul(this.at(l), hd));
    },
    final: (x) => { if (this.saving) this.xFinal.set(x, this.pos * this.model.model.params.dim); },
  };

  /**
   * Index of (block l, current position) in the per-position saves. Outside a training step
   * (forward, lossQ16) it is 0 for every block: slot 0 is then scratch, which is harmless
   * because saves are only read by the backward of the step that wrote them.
   */
  private at(l: number): number { return this.saving ? l * this.T + this.pos : 0; }

  /** Quantizes every adapter's master weights for the coming forward passes. */
  private prepare(): void { for (const a of this.adapters) a.quantize(); }

  /** Logits (Q16) of token at pos with the adapters; positions in order, as IntTransformer. */
  forward(token: number, pos: number): Int32Array {
    if (pos === 0) this.prepare();
    this.saving = false; this.pos = pos;
    return this.model.forward(token, pos, this.tap);
  }

  /**
   * Sum over the n - 1 predictions of tokens[0..n) of the loss (Q16 nats), no update.
   * Used for held-out evaluation.
   */
  lossQ16(tokens: Int32Array): number {
    this.prepare();
    this.saving = false;
    let sum = 0;
    for (let t = 0; t + 1 < tokens.length; t++) {
      this.pos = t;
      const logits = this.model.forward(tokens[t], t, this.tap);
      sum = satAdd(sum, crossEntropy(this.dlogits, logits, logits.length, tokens[t + 1], this.model.exp2, this.ceS));
    }
    return sum;
  }

  /** One training step on tokens[0..T] (T + 1 tokens); returns the summed loss (Q16 nats). */
  stepQ16(tokens: Int32Array): number {
    const p = this.model.model.params, T = this.T;
    if (tokens.length !== T + 1) throw new EdgeqError(`fine-tuning step: ${tokens.length} tokens, expected ${T + 1}`);
    const { dim, vocabSize: V } = p;
    const it = this.model;
    this.prepare();
    this.saving = true;
    let loss = 0;
    for (let t = 0; t < T; t++) {
      this.pos = t;
      const logits = it.forward(tokens[t], t, this.tap);
      loss = satAdd(loss, crossEntropy(this.dlogits, logits, V, tokens[t + 1], it.exp2, this.ceS));
      gemvQ8T(this.tmpD, it.cls.q, it.cls.m, it.cls.e, this.dlogits, GRAD_FRAC, dim, V, GRAD_FRAC, this.gtS);
      this.dxCls.set(this.tmpD, t * dim);
    }
    this.saving = false;
    this.dK.fill(0); this.dV.fill(0);
    for (let t = T - 1; t >= 0; t--) this.backwardPosition(t);
    for (const a of this.adapters) {
      sgdMomentum(a.a, a.va, a.ga, a.a.length, this.lrM, this.lrE, MOMENTUM_SHIFT);
      sgdMomentum(a.b, a.vb, a.gb, a.b.length, this.lrM, this.lrE, MOMENTUM_SHIFT);
    }
    return loss;
  }

  /** dx (Q24) += W^T g for a frozen int8 matrix. */
  private addGemvT(dx: Int32Array, w: QMatrix, g: Int32Array): void {
    gemvQ8T(this.tmpD, w.q, w.m, w.e, g, GRAD_FRAC, w.cols, w.rows, GRAD_FRAC, this.gtS);
    for (let i = 0; i < w.cols; i++) dx[i] = satAdd(dx[i], this.tmpD[i]);
  }

  /** dx (Q24) = rmsnorm backward of dy at x (the saved residual), with gain g. */
  private normBackward(dx: Int32Array, dy: Int32Array, x: Int32Array, g: QGain): void {
    const p = this.model.model.params;
    rmsnormBackward(dx, dy, x, p.dim, g.g, g.frac, p.rmsEpsQ32, p.rmsSqShift, p.rmsDimScaleM, p.rmsDimScaleE, this.rnS);
  }

  private backwardPosition(t: number): void {
    const it = this.model, p = it.model.params, T = this.T;
    const { dim, hiddenDim: hd, nHeads, nKvHeads, seqLen } = p;
    const hs = divFloor(dim, nHeads), kd = hs * nKvHeads;
    const { dres, dxn, dh, da, db, dq, dk } = this;
    this.normBackward(dres, this.dxCls.subarray(t * dim, (t + 1) * dim), this.xFinal.subarray(t * dim, (t + 1) * dim), it.rmsFinal);
    for (let l = p.nLayers - 1; l >= 0; l--) {
      const b = it.blocks[l], i = l * T + t;
      // Feed-forward half: x += W2 swiglu(W1 n, W3 n), n = rmsnorm(x).
      gemvQ8T(dh, b.w2.q, b.w2.m, b.w2.e, dres, GRAD_FRAC, hd, dim, GRAD_FRAC, this.gtS);
      swigluBackward(da, db, dh, this.h1.subarray(i * hd, (i + 1) * hd), this.h3.subarray(i * hd, (i + 1) * hd), hd, it.silu);
      dxn.fill(0);
      this.addGemvT(dxn, b.w1, da);
      this.addGemvT(dxn, b.w3, db);
      this.normBackward(this.tmpD, dxn, this.xFfn.subarray(i * dim, (i + 1) * dim), b.rmsFfn);
      for (let j = 0; j < dim; j++) dres[j] = satAdd(dres[j], this.tmpD[j]);
      // Attention half: x += Wo attention(rope(Wq n + lora), rope(Wk n), Wv n + lora).
      const dAtt = this.y;
      gemvQ8T(dAtt, b.wo.q, b.wo.m, b.wo.e, dres, GRAD_FRAC, dim, dim, GRAD_FRAC, this.gtS);
      const lc = l * seqLen * kd, ls = l * seqLen * nKvHeads, lg = l * T * kd;
      attentionBackward(dq, this.dK.subarray(lg, lg + T * kd), this.dV.subarray(lg, lg + T * kd), dAtt,
        this.qRope.subarray(i * dim, (i + 1) * dim), t,
        it.kc.subarray(lc, lc + seqLen * kd), it.kM.subarray(ls, ls + seqLen * nKvHeads), it.kE.subarray(ls, ls + seqLen * nKvHeads),
        it.vc.subarray(lc, lc + seqLen * kd), it.vM.subarray(ls, ls + seqLen * nKvHeads), it.vE.subarray(ls, ls + seqLen * nKvHeads),
        nHeads, nKvHeads, hs, p.attScaleM, p.attScaleE, it.exp2, this.abS);
      ropeBackwardQ24(dq, dim, hs, it.ropeCos, it.ropeSin, t);
      dk.set(this.dK.subarray(lg + t * kd, lg + (t + 1) * kd));
      ropeBackwardQ24(dk, kd, hs, it.ropeCos, it.ropeSin, t);
      const dv = this.dV.subarray(lg + t * kd, lg + (t + 1) * kd);
      dxn.fill(0);
      this.addGemvT(dxn, b.wq, dq);
      this.addGemvT(dxn, b.wk, dk);
      this.addGemvT(dxn, b.wv, dv);
      this.loraBackward(dxn, l, 0, i, dq);
      this.loraBackward(dxn, l, 1, i, dv);
      this.normBackward(this.tmpD, dxn, this.xAtt.subarray(i * dim, (i + 1) * dim), b.rmsAtt);
      for (let j = 0; j < dim; j++) dres[j] = satAdd(dres[j], this.tmpD[j]);
    }
  }

  /** The adapter's backward for output gradient g (Q24): dx += A^T B^T g, gradients of A and B. */
  private loraBackward(dx: Int32Array, l: number, target: number, i: number, g: Int32Array): void {
    const ad = this.adapters[l * 2 + target], xG = this.xG[i], hG = this.hG[i * 2 + target];
    const { gG, uG, u } = this;
    gseQuantizeInto(gG.m, gG.e, g, ad.dout, GRAD_FRAC, TRAIN_G, TRAIN_M, 1, this.rng);
    gseMatVecT(u, ad.bM, ad.bE, gG.m, gG.e, ad.dout, ad.rPad, TRAIN_G, GRAD_FRAC);
    gseQuantizeInto(uG.m, uG.e, u, ad.rPad, GRAD_FRAC, TRAIN_G, TRAIN_M, 1, this.rng);
    gseMatVecT(this.tmpD, ad.aM, ad.aE, uG.m, uG.e, ad.rPad, ad.din, TRAIN_G, GRAD_FRAC);
    for (let j = 0; j < ad.din; j++) dx[j] = satAdd(dx[j], this.tmpD[j]);
    gseOuterAcc(ad.gb, GACC_FRAC, gG.m, gG.e, hG.m, hG.e, ad.dout, ad.rPad, TRAIN_G);
    gseOuterAcc(ad.ga, GACC_FRAC, uG.m, uG.e, xG.m, xG.e, ad.rPad, ad.din, TRAIN_G);
  }
}
