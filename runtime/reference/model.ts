// The integer reference forward pass: the exact semantics every engine must reproduce
// byte for byte (docs/integer-spec.md §3). It only sequences the kernels of
// runtime/kernels/reference; all arithmetic lives there. The structure mirrors the float
// reference (compiler/reference/float/forward.ts) step for step.

import type { QuantModel } from '../../compiler/quantize/quant-model.ts';
import { getTensor, matrixNames, tensorParam } from '../../compiler/quantize/quant-model.ts';
import { EdgeqError } from '../../compiler/util/errors.ts';
import { formatNamed } from '../../compiler/quantize/formats/registry.ts';
import { argmaxInt } from '../kernels/reference/argmax.ts';
import { divFloor } from '../kernels/reference/arith.ts';
import { AttentionScratch, attention } from '../kernels/reference/attention.ts';
import {
  ACT_FRAC, ACT_QMAX, EXP2_TABLE_SIZE, INV_ACT_QMAX_E, INV_ACT_QMAX_M, LOGIT_FRAC, SILU_TABLE_SIZE,
} from '../kernels/reference/constants.ts';
import { embeddingLookup } from '../kernels/reference/embedding.ts';
import { gemvQ8 } from '../kernels/reference/gemv_q8.ts';
import { gemvLut, lutTables } from '../kernels/reference/gemv_lut.ts';
import { gemvVq } from '../kernels/reference/gemv_vq.ts';
import { quantizeAct } from '../kernels/reference/quantize_act.ts';
import { kvStore } from '../kernels/reference/kv_store.ts';
import { QuantKvCache } from './kv-cache-q.ts';
import { isQuantizedKv, kvRotationLog2, kvScoreScale } from '../../compiler/quantize/kv-cache.ts';
import { hadamard } from '../kernels/reference/hadamard.ts';
import { residualAdd } from '../kernels/reference/residual.ts';
import { Xorshift64Star } from '../kernels/reference/rng.ts';
import { rmsnormQuant } from '../kernels/reference/rmsnorm.ts';
import { ropeQ16 } from '../kernels/reference/rope.ts';
import { SamplerScratch, sampleInt as sampleKernel } from '../kernels/reference/sampler.ts';
import { swigluQ16 } from '../kernels/reference/silu.ts';

export { argmaxInt } from '../kernels/reference/argmax.ts';
export { Xorshift64Star } from '../kernels/reference/rng.ts';

/**
 * An int8 matrix [rows, cols] with per-row scales, a low-bit LUT one (docs/integer-spec.md §9),
 * or a vq2 one (§9.7: m and e hold the one matrix scale).
 */
export interface QMatrix {
  q: Int8Array; m: Int16Array; e: Int8Array; rows: number; cols: number;
  /** nPad: the stored columns, whole groups (the kernels' n; activations past cols are 0 in the tables). */
  lut?: { planes: Uint8Array; groups: Uint8Array; bits: number; groupSize: number; nPad: number };
  vq?: { codes: Uint8Array; codebook: Int8Array };
}
export interface QGain { g: Int16Array; frac: number }
export interface QBlock {
  rmsAtt: QGain; wq: QMatrix; wk: QMatrix; wv: QMatrix; wo: QMatrix;
  rmsFfn: QGain; w1: QMatrix; w2: QMatrix; w3: QMatrix;
}

/**
 * Optional observer of one forward step, for fine-tuning (runtime/reference/train.ts):
 * it sees the values backward needs and may add to the projections (LoRA adapters).
 * Without a tap the forward pass is exactly §3.13.
 */
export interface ForwardTap {
  /** Residual stream entering block l (before the attention norm). */
  blockInput?(l: number, x: Int32Array): void;
  /** After the frozen GEMV of wq, wk or wv (before RoPE): xq/scale is its 12-bit input; may add to out. */
  projected?(l: number, which: 'wq' | 'wk' | 'wv', out: Int32Array, xq: Int16Array, scale: Int32Array): void;
  /** The query of block l after RoPE (what attention() reads). */
  query?(l: number, q: Int32Array): void;
  /** Residual stream entering the feed-forward half of block l. */
  ffnInput?(l: number, x: Int32Array): void;
  /** w1 and w3 outputs of block l before SwiGLU. */
  gate?(l: number, h1: Int32Array, h3: Int32Array): void;
  /** Residual stream entering the final norm. */
  final?(x: Int32Array): void;
}

function matrix(m: QuantModel, base: string, rows: number, cols: number): QMatrix {
  const n = matrixNames(base);
  const t = m.tensors.find((x) => x.name === n.q);
  const format = t && formatNamed(t.dtype);
  if (t && format && format.kernels.op === 'gemv_lut') {
    const bits = format.bits;
    const gs = tensorParam(t, 'groupSize');
    if (tensorParam(t, 'bits') !== bits || !format.groupSizes.includes(gs)) throw new EdgeqError(`tensor ${n.q}: bad low-bit parameters (bits ${t.params.bits}, group size ${gs}, ${cols} columns)`);
    const planes = getTensor(m, n.q, t.dtype, [rows, cols]).data as Uint8Array;
    // Whole groups: the last one padded when gs does not divide cols (lowbit-format.ts).
    const groupsPerRow = divFloor(cols + gs - 1, gs);
    const groups = getTensor(m, n.groups, 'uint8', [(rows + 15) >> 4, groupsPerRow, 2, 16]).data as Uint8Array;
    return {
      q: new Int8Array(0), m: getTensor(m, n.m, 'int16', [rows]).data, e: getTensor(m, n.e, 'int8', [rows]).data,
      rows, cols, lut: { planes, groups, bits, groupSize: gs, nPad: groupsPerRow * gs },
    };
  }
  if (t && format && format.kernels.op === 'gemv_vq') {
    const [, cb, sm, se] = format.tensors(rows, cols, 0);
    return {
      q: new Int8Array(0), m: getTensor(m, n.m, 'int16', sm.shape).data, e: getTensor(m, n.e, 'int8', se.shape).data, rows, cols,
      vq: { codes: getTensor(m, n.q, t.dtype, [rows, cols]).data as Uint8Array, codebook: getTensor(m, n.codebook, 'int8', cb.shape).data },
    };
  }
  return {
    q: getTensor(m, n.q, 'int8', [rows, cols]).data,
    m: getTensor(m, n.m, 'int16', [rows]).data,
    e: getTensor(m, n.e, 'int8', [rows]).data,
    rows, cols,
  };
}

function gain(m: QuantModel, name: string, dim: number): QGain {
  const t = getTensor(m, name, 'int16', [dim]);
  return { g: t.data, frac: tensorParam(t, 'frac') };
}

export class IntTransformer {
  readonly model: QuantModel;
  // The frozen weights and tables: read by the fine-tuning backward pass (train.ts) too.
  readonly emb: QMatrix;
  readonly cls: QMatrix;
  readonly blocks: QBlock[];
  readonly rmsFinal: QGain;
  readonly ropeCos: Int16Array;
  readonly ropeSin: Int16Array;
  readonly exp2: Int16Array;
  readonly silu: Int32Array;
  private readonly headSize: number;
  private readonly kvDim: number;
  // Activations (int32 Q16; xq/hq: 12-bit GEMV inputs), reused across calls.
  private readonly x: Int32Array; private readonly xb: Int32Array; private readonly xq: Int16Array;
  private readonly q: Int32Array; private readonly k: Int32Array; private readonly v: Int32Array;
  private readonly hb: Int32Array; private readonly hb2: Int32Array; private readonly hq: Int16Array;
  private readonly logits: Int32Array;
  /** LUT tables of the current GEMV input (docs/integer-spec.md §9.2), and which input they are of. */
  private readonly tables: Int16Array;
  private tablesOf: Int16Array | null = null;
  /** Activations the current tables cover (padded: see QMatrix.lut.nPad). */
  private tablesPad = 0;
  private readonly scratch: Int32Array; // rmsnorm's u
  private readonly sc = new Int32Array(2); // the current activation scale (m, e)
  private readonly att: AttentionScratch;
  /** K (12-bit) / V (int8) cache [layer][pos][kvDim] and its scales [layer][pos][kvHead]. */
  readonly kc: Int16Array; readonly vc: Int8Array;
  readonly kM: Int16Array; readonly kE: Int8Array;
  readonly vM: Int16Array; readonly vE: Int8Array;
  /** The quantized cache (m.kvCache not k12v8), used instead of kc..vE. */
  readonly kvq: QuantKvCache | null;
  /** The quantized cache's score scale: attScale, over hs when q and k are rotated (§3.7.2). */
  private readonly kvqScale: { m: number; e: number };
  private sampler: SamplerScratch | null = null;
  /** The int8 GEMV: gemvQ8, or one with the same results computed elsewhere (compiler/emit/conformance-pool.ts: rows on two threads). */
  private readonly q8: typeof gemvQ8;

  constructor(m: QuantModel, opts: { gemvQ8?: typeof gemvQ8 } = {}) {
    const p = m.params;
    this.model = m;
    this.q8 = opts.gemvQ8 ?? gemvQ8;
    const { dim, hiddenDim: hd, nLayers: L, vocabSize: V, seqLen } = p;
    if (p.nHeads <= 0 || p.nKvHeads <= 0 || Math.imul(divFloor(p.nHeads, p.nKvHeads), p.nKvHeads) !== p.nHeads || Math.imul(divFloor(dim, p.nHeads), p.nHeads) !== dim) {
      throw new EdgeqError(`integer model: bad head counts (dim ${dim}, ${p.nHeads} heads, ${p.nKvHeads} kv heads)`);
    }
    if (p.logitFrac !== LOGIT_FRAC) throw new EdgeqError(`integer model: logitFrac ${p.logitFrac}, this reference implements ${LOGIT_FRAC}`);
    const hs = divFloor(dim, p.nHeads), kd = hs * p.nKvHeads;
    this.headSize = hs; this.kvDim = kd;
    this.emb = matrix(m, 'tok_embeddings', V, dim);
    this.cls = p.sharedClassifier ? this.emb : matrix(m, 'wcls', V, dim);
    this.blocks = [];
    for (let l = 0; l < L; l++) {
      const b = (n: string) => `blocks.${l}.${n}`;
      this.blocks.push({
        rmsAtt: gain(m, b('rms_att'), dim),
        wq: matrix(m, b('wq'), dim, dim), wk: matrix(m, b('wk'), kd, dim), wv: matrix(m, b('wv'), kd, dim),
        wo: matrix(m, b('wo'), dim, dim),
        rmsFfn: gain(m, b('rms_ffn'), dim),
        w1: matrix(m, b('w1'), hd, dim), w2: matrix(m, b('w2'), dim, hd), w3: matrix(m, b('w3'), hd, dim),
      });
    }
    this.rmsFinal = gain(m, 'rms_final', dim);
    this.ropeCos = getTensor(m, 'rope.cos', 'int16', [seqLen, hs >> 1]).data;
    this.ropeSin = getTensor(m, 'rope.sin', 'int16', [seqLen, hs >> 1]).data;
    this.exp2 = getTensor(m, 'exp2', 'int16', [EXP2_TABLE_SIZE]).data;
    this.silu = getTensor(m, 'silu', 'int32', [SILU_TABLE_SIZE]).data;

    this.x = new Int32Array(dim); this.xb = new Int32Array(dim); this.xq = new Int16Array(dim);
    this.q = new Int32Array(dim); this.k = new Int32Array(kd); this.v = new Int32Array(kd);
    this.hb = new Int32Array(hd); this.hb2 = new Int32Array(hd); this.hq = new Int16Array(hd);
    this.logits = new Int32Array(V);
    // 4 int16 entries per activation, for the longest input padded to whole groups of the
    // largest group size (every smaller one divides it: 32 | 64 | 128).
    this.tables = new Int16Array(((((dim > hd ? dim : hd) + 127) >> 7) << 7) << 2);
    this.scratch = new Int32Array(dim);
    this.att = new AttentionScratch(hs, seqLen);
    this.kc = new Int16Array(L * seqLen * kd); this.vc = new Int8Array(L * seqLen * kd);
    const ns = L * seqLen * p.nKvHeads;
    this.kM = new Int16Array(ns); this.kE = new Int8Array(ns);
    this.vM = new Int16Array(ns); this.vE = new Int8Array(ns);
    this.kvq = m.kvCache && isQuantizedKv(m.kvCache) ? new QuantKvCache(m.kvCache, L, seqLen, p.nKvHeads, hs) : null;
    if (this.kvq) kvRotationLog2(this.kvq.f, hs); // refuses a rotation of a head size that is not a power of two
    this.kvqScale = kvScoreScale(this.kvq?.f, hs, p.attScaleM, p.attScaleE);
  }

  /**
   * Runs `token` at `pos` (positions fed in order, as the KV cache fills) and returns the
   * logits, int32 with LOGIT_FRAC = 16 fractional bits. The array is reused by the next call.
   */
  forward(token: number, pos: number, tap?: ForwardTap): Int32Array {
    const p = this.model.params;
    if (!Number.isInteger(token) || token < 0 || token >= p.vocabSize) throw new RangeError(`token ${token} outside vocabulary [0, ${p.vocabSize})`);
    if (!Number.isInteger(pos) || pos < 0 || pos >= p.seqLen) throw new RangeError(`position ${pos} outside [0, ${p.seqLen})`);
    const { dim, hiddenDim: hd, nHeads, nKvHeads, seqLen } = p;
    const hs = this.headSize, kd = this.kvDim;
    const { x, xb, xq, q, k, v, hb, hb2, hq, sc } = this;

    embeddingLookup(x, this.emb.q, this.emb.m, this.emb.e, token, dim);
    for (let l = 0; l < p.nLayers; l++) {
      const b = this.blocks[l];
      // Attention block.
      if (tap?.blockInput) tap.blockInput(l, x);
      this.norm(b.rmsAtt);
      this.gemv(q, b.wq, xq, ACT_FRAC);
      this.gemv(k, b.wk, xq, ACT_FRAC);
      this.gemv(v, b.wv, xq, ACT_FRAC);
      if (tap?.projected) { tap.projected(l, 'wq', q, xq, sc); tap.projected(l, 'wk', k, xq, sc); tap.projected(l, 'wv', v, xq, sc); }
      ropeQ16(q, dim, hs, this.ropeCos, this.ropeSin, pos);
      ropeQ16(k, kd, hs, this.ropeCos, this.ropeSin, pos);
      // A rotated quantized cache (§3.7.2): q and k per head through the Walsh–Hadamard transform.
      if (this.kvq?.f.rot) { hadamard(q, dim, hs); hadamard(k, kd, hs); }
      if (tap?.query) tap.query(l, q);
      // This position's K/V row: K 12-bit, V int8, one scale per kv head.
      // (The cache holds every layer: layer l's row pos is row l * seqLen + pos.)
      if (this.kvq) {
        this.kvq.store(l, k, v, pos);
        this.kvq.attend(l, xb, q, pos, nHeads, this.kvqScale.m, this.kvqScale.e, this.exp2, this.att);
      } else {
      kvStore(this.kc, this.kM, this.kE, this.vc, this.vM, this.vE, k, v, l * seqLen + pos, nKvHeads, hs, sc);
      const lc = l * seqLen * kd, ls = l * seqLen * nKvHeads;
      attention(xb, q, pos,
        this.kc.subarray(lc, lc + seqLen * kd), this.kM.subarray(ls, ls + seqLen * nKvHeads), this.kE.subarray(ls, ls + seqLen * nKvHeads),
        this.vc.subarray(lc, lc + seqLen * kd), this.vM.subarray(ls, ls + seqLen * nKvHeads), this.vE.subarray(ls, ls + seqLen * nKvHeads),
        nHeads, nKvHeads, hs, p.attScaleM, p.attScaleE, this.exp2, this.att);
      }
      this.tablesOf = null;
      quantizeAct(xq, 0, xb, 0, dim, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
      this.gemv(xb, b.wo, xq, ACT_FRAC);
      residualAdd(x, xb, dim);
      // Feed-forward block.
      if (tap?.ffnInput) tap.ffnInput(l, x);
      this.norm(b.rmsFfn);
      this.gemv(hb, b.w1, xq, ACT_FRAC);
      this.gemv(hb2, b.w3, xq, ACT_FRAC);
      if (tap?.gate) tap.gate(l, hb, hb2);
      swigluQ16(hb, hb2, hd, this.silu);
      this.tablesOf = null;
      quantizeAct(hq, 0, hb, 0, hd, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
      this.gemv(xb, b.w2, hq, ACT_FRAC);
      residualAdd(x, xb, dim);
    }
    if (tap?.final) tap.final(x);
    this.norm(this.rmsFinal);
    this.gemv(this.logits, this.cls, xq, LOGIT_FRAC);
    return this.logits;
  }

  /** xq, sc = 12-bit quantized rmsnorm(x) * g and its scale. */
  private norm(g: QGain): void {
    const p = this.model.params;
    this.tablesOf = null;
    rmsnormQuant(this.xq, this.x, p.dim, g.g, g.frac, p.rmsEpsQ32, p.rmsSqShift,
      p.rmsDimScaleM, p.rmsDimScaleE, this.scratch, this.sc, 0);
  }

  /** out = W . xin, xin 12-bit with the scale in sc, out with outFrac fractional bits. */
  private gemv(out: Int32Array, w: QMatrix, xin: Int16Array, outFrac: number): void {
    if (w.lut) {
      // Tables once per input vector: wq/wk/wv share the attention norm's, w1/w3 the FFN norm's.
      // A matrix with more padded columns than the tables cover rebuilds them (same prefix).
      if (this.tablesOf !== xin || this.tablesPad < w.lut.nPad) { lutTables(this.tables, xin, w.cols, w.lut.nPad); this.tablesOf = xin; this.tablesPad = w.lut.nPad; }
      gemvLut(out, w.lut.planes, w.lut.groups, w.m, w.e, this.tables, this.sc[0], this.sc[1], w.lut.nPad, w.rows, w.lut.bits, w.lut.groupSize, outFrac);
      return;
    }
    if (w.vq) return gemvVq(out, w.vq.codes, w.vq.codebook, w.m[0], w.e[0], xin, this.sc[0], this.sc[1], w.cols, w.rows, outFrac);
    this.q8(out, w.q, w.m, w.e, xin, this.sc[0], this.sc[1], w.cols, w.rows, outFrac);
  }

  /** Greedy choice over logits (lowest index on ties). */
  argmax(logits: Int32Array = this.logits): number {
    return argmaxInt(logits, this.model.params.vocabSize);
  }

  /** Integer sampling (docs/integer-spec.md §3.12); temperature and top-p in Q16. */
  sample(logits: Int32Array, temperatureQ16: number, toppQ16: number, rng: Xorshift64Star): number {
    const V = this.model.params.vocabSize;
    if (!this.sampler) this.sampler = new SamplerScratch(V);
    return sampleKernel(logits, V, temperatureQ16, toppQ16, rng, this.exp2, this.sampler);
  }
}

/** Samples from Q16 logits with the model's exp2 table and a fresh scratch (see IntTransformer.sample). */
export function sampleInt(logits: Int32Array, exp2: Int16Array, temperatureQ16: number, toppQ16: number, rng: Xorshift64Star): number {
  return sampleKernel(logits, logits.length, temperatureQ16, toppQ16, rng, exp2, new SamplerScratch(logits.length));
}
