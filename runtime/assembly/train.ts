// The training runtime (docs/runtime-abi.md, "Training"): the AssemblyScript port of
// runtime/reference/train.ts (IntLoraTrainer), byte for byte. LoRA adapters on wq and wv
// of every block, trained through the frozen int8 base with integers only.
//
// The inference runtime runs the artifact's Program (ops.ts), which cannot be observed
// from inside; training needs the values between the ops, so the forward pass here is
// written out as runtime/reference/model.ts does it, with the adapters added and the
// activations saved at the points of the reference's ForwardTap. The per-bundle entry
// (compiler/codegen/train-runtime.ts) bakes the model config, the indices of the base
// tensors and of the ops holding the norm/attention constants; trainBind() checks each
// against the artifact (dtype, size, the names' hash) once at load.
//
// Memory: the runtime's bump allocator (runtime.ts). Forward buffers and the KV cache at
// load; everything that depends on (r_pad, seq_len) at train_init, which rewinds to the
// mark left by load, so it can be called again.
import { alloc, heapMark, heapRelease, prm, rec, recKind, useLogits } from "./runtime";
import {
  ATTENTION_ATT_SCALE_E, ATTENTION_ATT_SCALE_M, ATTENTION_HS, ATTENTION_N_HEADS, ATTENTION_N_KV, ATTENTION_PARAMS,
  RMSNORM_N, RMSNORM_PARAMS, RMSNORM_RMS_DIM_SCALE_E, RMSNORM_RMS_DIM_SCALE_M, RMSNORM_RMS_EPS_Q32, RMSNORM_RMS_SQ_SHIFT,
} from "./op-params";
import { fieldRef, tensorAt, tensorCount, tensorData, tensorDataLen, tensorDType, tensorQuant, quantParams, vecI32, vecLen } from "./flatbuffer";
import { DType, OpKind, TensorVT } from "./generated/schema";
import { ERR_BAD_PROGRAM, ERR_BAD_POSITION, ERR_BAD_TOKEN, ERR_CONFIG_MISMATCH, ERR_OUT_OF_MEMORY, ERR_TRAIN_NOT_READY, ERR_TRAIN_PARAMS, ERR_TRAIN_TOKENS } from "./errors";
import {
  ACT_FRAC, ACT_QMAX, EXP2_TABLE_SIZE, GACC_FRAC, GRAD_FRAC, INV_ACT_QMAX_E, INV_ACT_QMAX_M, INV_QMAX8_E, INV_QMAX8_M,
  LOGIT_FRAC, QMAX8, SILU_TABLE_SIZE, W_FRAC,
} from "../kernels/scalar/constants";
import { satAdd } from "../kernels/scalar/arith";
import { i32at, set32 } from "../kernels/scalar/mem";
import { embeddingLookup } from "../kernels/scalar/embedding";
import { gemvQ8 as gemvQ8Scalar } from "../kernels/scalar/gemv_q8";
import { gemvQ8 as gemvQ8Simd } from "../kernels/simd/gemv_q8";
import { rmsnormQuant } from "../kernels/scalar/rmsnorm";
import { ropeQ16 } from "../kernels/scalar/rope";
import { quantizeAct } from "../kernels/scalar/quantize_act";
import { attention } from "../kernels/scalar/attention";
import { swigluQ16 } from "../kernels/scalar/silu";
import { residualAdd } from "../kernels/scalar/residual";
import { gseMatVec, gseMatVecT, gseQuantize } from "../kernels/scalar/gse";
import { gseOuterAcc } from "../kernels/scalar/gse_outer";
import { rngSeed, rngStateHi, rngStateLo } from "../kernels/scalar/rng";
import { gemvQ8T } from "../kernels/scalar/gemv_q8_t";
import { rmsnormBackward } from "../kernels/scalar/rmsnorm_backward";
import { swigluBackward } from "../kernels/scalar/swiglu_backward";
import { ropeBackwardQ24 } from "../kernels/scalar/rope_backward";
import { attentionBackward } from "../kernels/scalar/attention_backward";
import { crossEntropy } from "../kernels/scalar/cross_entropy";
import { sgdMomentum } from "../kernels/scalar/sgd";
import { mulShiftAny } from "../kernels/scalar/train_arith";

/** GSE format of the adapter path (runtime/reference/train.ts): groups of 16, 8-bit mantissas. */
const TRAIN_G: i32 = 16;
const TRAIN_M: i32 = 8;
const G_SHIFT: i32 = 4;
const MOMENTUM_SHIFT: i32 = 3;
/** Largest padded rank train_init accepts (keeps every size product far from 2^31). */
const MAX_RPAD: i32 = 1024;

// ---- the model (trainBind) -----------------------------------------------------------

let bound = false;
let DIM = 0, HD = 0, NL = 0, NH = 0, NKV = 0, HS = 0, KVD = 0, VOC = 0, SEQ = 0;
let EPS = 0, SQS = 0, DSM = 0, DSE = 0, ATTM = 0, ATTE = 0;
let embQ: usize = 0, embM: usize = 0, embE: usize = 0;
let clsQ: usize = 0, clsM: usize = 0, clsE: usize = 0;
let rmsF: usize = 0, rmsFFrac = 0;
let ropeCos: usize = 0, ropeSin: usize = 0, exp2: usize = 0, siluT: usize = 0;

// Per block, LREC words: the addresses of its tensors (a matrix is q, m, e: 3 words) and the gains' fracs.
const LREC: i32 = 25; // L_W3 + 3
const L_RMSATT = 0, L_RMSATT_FRAC = 1, L_WQ = 2, L_WK = 5, L_WV = 8, L_WO = 11, L_RMSFFN = 14, L_RMSFFN_FRAC = 15, L_W1 = 16, L_W2 = 19, L_W3 = 22;
let layers: usize = 0;
// @ts-ignore: decorator
@inline function lw(l: i32, k: i32): usize { return <usize>load<u32>(layers + (<usize>(l * LREC + k) << 2)); }
// @ts-ignore: decorator
@inline function setLw(l: i32, k: i32, v: usize): void { store<u32>(layers + (<usize>(l * LREC + k) << 2), <u32>v); }

// Forward buffers (int32 Q16 unless said; xq/hq are 12-bit GEMV inputs) and the KV cache.
let x: usize = 0, xb: usize = 0, xq: usize = 0, qv: usize = 0, kv: usize = 0, vv: usize = 0;
let hb: usize = 0, hb2: usize = 0, hq: usize = 0, logitsBuf: usize = 0, rmsU: usize = 0;
let q12: usize = 0, scores: usize = 0, attW: usize = 0;
let kc: usize = 0, vc: usize = 0, kM: usize = 0, kE: usize = 0, vM: usize = 0, vE: usize = 0;
let tokBuf: usize = 0;
/** The current activation scale (m, e), and two more words for the K/V rows. */
const sc: usize = memory.data(16, 16);
let trainMark: usize = 0;

/** FNV-1a 64 continued over `n` bytes at p. */
function fnvOver(h: u64, p: usize, n: u32): u64 {
  for (let i: u32 = 0; i < n; i++) h = (h ^ <u64>load<u8>(p + <usize>i)) * 0x100000001b3;
  return h;
}

let nameHash: u64 = 0;
let tensorsOk = true;

/** The data of tensor `idx` if it has dtype `dt` and exactly `bytes` bytes; records a failure otherwise. */
function bindT(idx: i32, dt: u32, bytes: i64): usize {
  if (idx < 0 || <u32>idx >= tensorCount(base0) || bytes <= 0) { tensorsOk = false; return 0; }
  const t = tensorAt(base0, <u32>idx);
  const name = fieldRef(t, TensorVT.name);
  if (name != 0) nameHash = fnvOver(nameHash, name + 4, vecLen(name));
  nameHash = (nameHash ^ 0) * 0x100000001b3;
  if (tensorDType(t) != dt || <i64>tensorDataLen(t) != bytes) { tensorsOk = false; return 0; }
  return tensorData(t);
}

/** The gain's fractional bits: the tensor's Quantization.params[0], in [0, 30]. */
function gainFrac(idx: i32): i32 {
  if (!tensorsOk) return 0;
  const p = quantParams(tensorQuant(tensorAt(base0, <u32>idx)));
  if (p == 0 || vecLen(p) < 1) { tensorsOk = false; return 0; }
  const f = vecI32(p, 0);
  if (f < 0 || f > 30) { tensorsOk = false; return 0; }
  return f;
}

let base0: usize = 0;

/** A matrix [rows, cols] int8 with int16/int8 row scales, into block record words k..k+2. */
function bindMatrix(l: i32, k: i32, idx: usize, j: i32, rows: i32, cols: i32): void {
  setLw(l, k, bindT(load<i32>(idx + (<usize>j << 2)), DType.int8, <i64>rows * cols));
  setLw(l, k + 1, bindT(load<i32>(idx + (<usize>(j + 1) << 2)), DType.int16, <i64>rows << 1));
  setLw(l, k + 2, bindT(load<i32>(idx + (<usize>(j + 2) << 2)), DType.int8, rows));
}

// @ts-ignore: decorator
@inline function ix(idx: usize, j: i32): i32 { return load<i32>(idx + (<usize>j << 2)); }

/**
 * Called by the generated entry's load once the artifact is verified (runtime.ts prepare):
 * `cfg` = [dim, hidden, layers, heads, kv heads, vocab, seq_len, rmsnorm op, attention op,
 * names hash lo, hi]; `idx` = the base tensors' indices: tok_embeddings (q, scale_m,
 * scale_e), the classifier (same, or the embedding's when shared), rms_final, rope.cos,
 * rope.sin, exp2, silu, then per block rms_att, wq, wk, wv, wo (3 each), rms_ffn, w1, w2,
 * w3 (3 each). Returns 0 or an error code.
 */
export function trainBind(artifact: usize, cfg: usize, idx: usize): i32 {
  bound = false;
  base0 = artifact;
  DIM = ix(cfg, 0); HD = ix(cfg, 1); NL = ix(cfg, 2); NH = ix(cfg, 3); NKV = ix(cfg, 4); VOC = ix(cfg, 5); SEQ = ix(cfg, 6);
  HS = DIM / NH; KVD = HS * NKV;
  // The norm and attention constants, from the params of the ops the entry names.
  const rn = rec(ix(cfg, 7)), ra = rec(ix(cfg, 8));
  // Params by name (op-params.ts, generated from the op registry compiler/ops).
  if (recKind(rn) != OpKind.rmsnorm || load<u32>(rn, 8) < <u32>RMSNORM_PARAMS || recKind(ra) != OpKind.attention || load<u32>(ra, 8) < <u32>ATTENTION_PARAMS) return ERR_BAD_PROGRAM;
  EPS = prm(rn, RMSNORM_RMS_EPS_Q32); SQS = prm(rn, RMSNORM_RMS_SQ_SHIFT); DSM = prm(rn, RMSNORM_RMS_DIM_SCALE_M); DSE = prm(rn, RMSNORM_RMS_DIM_SCALE_E);
  ATTM = prm(ra, ATTENTION_ATT_SCALE_M); ATTE = prm(ra, ATTENTION_ATT_SCALE_E);
  // As ops.ts checkRmsnorm: sqShift = ceil(log2 dim) <= 28, eps * dim < 2^31.
  if (prm(rn, RMSNORM_N) != DIM || SQS != (DIM > 1 ? 32 - <i32>clz<u32>(<u32>(DIM - 1)) : 0) || SQS > 28 || EPS < 0 || <i64>EPS * DIM >= 0x80000000) return ERR_BAD_PROGRAM;
  if (prm(ra, ATTENTION_N_HEADS) != NH || prm(ra, ATTENTION_N_KV) != NKV || prm(ra, ATTENTION_HS) != HS) return ERR_BAD_PROGRAM;

  layers = alloc(<u64>NL * LREC * 4);
  if (layers == 0) return ERR_OUT_OF_MEMORY;
  nameHash = 0xcbf29ce484222325;
  tensorsOk = true;
  const I8 = DType.int8, I16 = DType.int16, I32 = DType.int32;
  embQ = bindT(ix(idx, 0), I8, <i64>VOC * DIM); embM = bindT(ix(idx, 1), I16, <i64>VOC << 1); embE = bindT(ix(idx, 2), I8, VOC);
  clsQ = bindT(ix(idx, 3), I8, <i64>VOC * DIM); clsM = bindT(ix(idx, 4), I16, <i64>VOC << 1); clsE = bindT(ix(idx, 5), I8, VOC);
  rmsF = bindT(ix(idx, 6), I16, <i64>DIM << 1); rmsFFrac = gainFrac(ix(idx, 6));
  ropeCos = bindT(ix(idx, 7), I16, <i64>SEQ * (HS >> 1) * 2); ropeSin = bindT(ix(idx, 8), I16, <i64>SEQ * (HS >> 1) * 2);
  exp2 = bindT(ix(idx, 9), I16, <i64>EXP2_TABLE_SIZE << 1); siluT = bindT(ix(idx, 10), I32, <i64>SILU_TABLE_SIZE << 2);
  for (let l = 0; l < NL; l++) {
    const j = 11 + l * 23;
    setLw(l, L_RMSATT, bindT(ix(idx, j), I16, <i64>DIM << 1)); setLw(l, L_RMSATT_FRAC, gainFrac(ix(idx, j)));
    bindMatrix(l, L_WQ, idx, j + 1, DIM, DIM);
    bindMatrix(l, L_WK, idx, j + 4, KVD, DIM);
    bindMatrix(l, L_WV, idx, j + 7, KVD, DIM);
    bindMatrix(l, L_WO, idx, j + 10, DIM, DIM);
    setLw(l, L_RMSFFN, bindT(ix(idx, j + 13), I16, <i64>DIM << 1)); setLw(l, L_RMSFFN_FRAC, gainFrac(ix(idx, j + 13)));
    bindMatrix(l, L_W1, idx, j + 14, HD, DIM);
    bindMatrix(l, L_W2, idx, j + 17, DIM, HD);
    bindMatrix(l, L_W3, idx, j + 20, HD, DIM);
  }
  if (!tensorsOk) return ERR_BAD_PROGRAM;
  // Same tensor names, in the same order, as the artifact the entry was generated for. (Read
  // as u32 loads: asc -O3 turns <u64><u32> of an inlined i32 load into a sign-extending load.)
  if (nameHash != ((<u64>load<u32>(cfg, 40) << 32) | <u64>load<u32>(cfg, 36))) return ERR_CONFIG_MISMATCH;

  const big = HD > DIM ? HD : DIM;
  x = alloc(<u64>DIM << 2); xb = alloc(<u64>DIM << 2); xq = alloc(<u64>DIM << 1);
  qv = alloc(<u64>DIM << 2); kv = alloc(<u64>KVD << 2); vv = alloc(<u64>KVD << 2);
  hb = alloc(<u64>HD << 2); hb2 = alloc(<u64>HD << 2); hq = alloc(<u64>HD << 1);
  logitsBuf = alloc(<u64>VOC << 2); rmsU = alloc(<u64>big << 2);
  q12 = alloc(<u64>HS << 1); scores = alloc(<u64>SEQ << 2); attW = alloc(<u64>SEQ << 2);
  const cache = <u64>NL * SEQ * KVD, scales = <u64>NL * SEQ * NKV;
  kc = alloc(cache << 1); vc = alloc(cache); kM = alloc(scales << 1); kE = alloc(scales); vM = alloc(scales << 1); vE = alloc(scales);
  tokBuf = alloc(<u64>(SEQ + 1) << 2);
  if (x == 0 || xb == 0 || xq == 0 || qv == 0 || kv == 0 || vv == 0 || hb == 0 || hb2 == 0 || hq == 0 || logitsBuf == 0 ||
    rmsU == 0 || q12 == 0 || scores == 0 || attW == 0 || kc == 0 || vc == 0 || kM == 0 || kE == 0 || vM == 0 || vE == 0 || tokBuf == 0) return ERR_OUT_OF_MEMORY;
  useLogits(logitsBuf);
  trainMark = heapMark();
  inited = false;
  bound = true;
  return 0;
}

// ---- the trainer (train_init) ----------------------------------------------------------

let inited = false;
let RP = 0, T = 0, LRM = 0, LRE = 0;
let state: usize = 0;
let stateWords = 0;
// Per adapter (block * 2 + target), AREC words: A, its momentum, B, its momentum, their
// gradient accumulators, the GSE copies (mantissas, exponents) of A and B, dout.
const AREC: i32 = 12;
const A_A = 0, A_VA = 1, A_B = 2, A_VB = 3, A_GA = 4, A_GB = 5, A_AM = 6, A_AE = 7, A_BM = 8, A_BE = 9, A_DOUT = 10;
let adRecs: usize = 0;
// @ts-ignore: decorator
@inline function aw(a: i32, k: i32): usize { return <usize>load<u32>(adRecs + (<usize>(a * AREC + k) << 2)); }
// @ts-ignore: decorator
@inline function setAw(a: i32, k: i32, v: usize): void { store<u32>(adRecs + (<usize>(a * AREC + k) << 2), <u32>v); }

// Saved per (block, position) i = l * T + pos: residual entering each half, the query after
// RoPE, the gate inputs, the adapters' input x and hidden A x as GSE (mantissas, exponents).
let xAtt: usize = 0, xFfn: usize = 0, qRope: usize = 0, h1: usize = 0, h3: usize = 0;
let xGm: usize = 0, xGe: usize = 0, hGm: usize = 0, hGe: usize = 0;
let xFinal: usize = 0, dxCls: usize = 0;
// Not saved (lora_forward, train_loss): one x and one hidden.
let xTm: usize = 0, xTe: usize = 0, hTm: usize = 0, hTe: usize = 0;
// Backward.
let dK: usize = 0, dV: usize = 0, dres: usize = 0, dxn: usize = 0, tmpD: usize = 0;
let dh: usize = 0, da: usize = 0, db: usize = 0, dq: usize = 0, dk: usize = 0, dlogits: usize = 0;
let xf: usize = 0, hv: usize = 0, yv: usize = 0, uv: usize = 0;
let gGm: usize = 0, gGe: usize = 0, uGm: usize = 0, uGe: usize = 0;
let gtP: usize = 0, gtQ: usize = 0, gtA: usize = 0, abQ12: usize = 0, abS: usize = 0, abE: usize = 0, abD: usize = 0, ceE: usize = 0;

let saving = false;
let curPos = 0;

/**
 * ABI train_init(r_pad, seq_len, lr_m, lr_e, rng_lo, rng_hi): sets up a trainer for adapters
 * of padded rank r_pad (a multiple of 16) and steps of seq_len positions, learning rate
 * lr_m * 2^-lr_e per position, stochastic rounding stream (rng_lo, rng_hi). The adapter
 * state (adapter_state()) is zero afterwards except its rng words: the host writes the
 * adapters there. 0 or an error code.
 */
export function train_init(rPad: i32, seqLen: i32, lrM: i32, lrE: i32, rngLo: i32, rngHi: i32): i32 {
  inited = false;
  if (!bound) return ERR_TRAIN_NOT_READY;
  if (rPad <= 0 || rPad > MAX_RPAD || (rPad & (TRAIN_G - 1)) != 0 || seqLen < 1 || seqLen > SEQ) return ERR_TRAIN_PARAMS;
  if ((DIM & (TRAIN_G - 1)) != 0 || (KVD & (TRAIN_G - 1)) != 0) return ERR_TRAIN_PARAMS;
  if (rngLo == 0 && rngHi == 0) return ERR_TRAIN_PARAMS; // xorshift would stay at 0
  heapRelease(trainMark);
  RP = rPad; T = seqLen; LRM = lrM; LRE = lrE;
  let ok = true;
  // The state block, in adapterLayout order, then the rng words.
  stateWords = 2;
  for (let l = 0; l < NL; l++) stateWords += 2 * (RP * DIM + DIM * RP) + 2 * (RP * DIM + KVD * RP);
  state = alloc(<u64>stateWords << 2); ok = ok && state != 0;
  adRecs = alloc(<u64>NL * 2 * AREC * 4); ok = ok && adRecs != 0;
  if (!ok) return ERR_OUT_OF_MEMORY;
  let p = state;
  for (let a = 0; a < 2 * NL; a++) {
    const dout = (a & 1) == 0 ? DIM : KVD;
    const na = RP * DIM, nb = dout * RP;
    setAw(a, A_A, p); p += <usize>na << 2;
    setAw(a, A_VA, p); p += <usize>na << 2;
    setAw(a, A_B, p); p += <usize>nb << 2;
    setAw(a, A_VB, p); p += <usize>nb << 2;
    const ga = alloc(<u64>na << 2), gb = alloc(<u64>nb << 2);
    const am = alloc(<u64>na), ae = alloc(<u64>(na >> G_SHIFT)), bm = alloc(<u64>nb), be = alloc(<u64>(nb >> G_SHIFT));
    ok = ok && ga != 0 && gb != 0 && am != 0 && ae != 0 && bm != 0 && be != 0;
    setAw(a, A_GA, ga); setAw(a, A_GB, gb); setAw(a, A_AM, am); setAw(a, A_AE, ae); setAw(a, A_BM, bm); setAw(a, A_BE, be);
    setAw(a, A_DOUT, dout);
  }
  set32(state, stateWords - 2, rngLo); set32(state, stateWords - 1, rngHi);
  const LT = <u64>NL * T;
  xAtt = alloc(LT * DIM * 4); xFfn = alloc(LT * DIM * 4); qRope = alloc(LT * DIM * 4);
  h1 = alloc(LT * HD * 4); h3 = alloc(LT * HD * 4);
  xGm = alloc(LT * DIM); xGe = alloc(LT * (DIM >> G_SHIFT));
  hGm = alloc(LT * 2 * RP); hGe = alloc(LT * 2 * (RP >> G_SHIFT));
  xFinal = alloc(<u64>T * DIM * 4); dxCls = alloc(<u64>T * DIM * 4);
  xTm = alloc(<u64>DIM); xTe = alloc(<u64>(DIM >> G_SHIFT)); hTm = alloc(<u64>RP); hTe = alloc(<u64>(RP >> G_SHIFT));
  dK = alloc(LT * KVD * 4); dV = alloc(LT * KVD * 4);
  dres = alloc(<u64>DIM << 2); dxn = alloc(<u64>DIM << 2); tmpD = alloc(<u64>DIM << 2);
  dh = alloc(<u64>HD << 2); da = alloc(<u64>HD << 2); db = alloc(<u64>HD << 2);
  dq = alloc(<u64>DIM << 2); dk = alloc(<u64>KVD << 2); dlogits = alloc(<u64>VOC << 2);
  xf = alloc(<u64>DIM << 2); hv = alloc(<u64>RP << 2); yv = alloc(<u64>DIM << 2); uv = alloc(<u64>RP << 2);
  gGm = alloc(<u64>DIM); gGe = alloc(<u64>(DIM >> G_SHIFT)); uGm = alloc(<u64>RP); uGe = alloc(<u64>(RP >> G_SHIFT));
  let big = VOC > HD ? VOC : HD;
  if (DIM > big) big = DIM;
  gtP = alloc(<u64>big << 2); gtQ = alloc(<u64>big << 1); gtA = alloc(<u64>big << 2);
  abQ12 = alloc(<u64>HS << 1); abS = alloc(<u64>T << 2); abE = alloc(<u64>T << 2); abD = alloc(<u64>T << 2);
  ceE = alloc(<u64>VOC << 2);
  ok = ok && xAtt != 0 && xFfn != 0 && qRope != 0 && h1 != 0 && h3 != 0 && xGm != 0 && xGe != 0 && hGm != 0 && hGe != 0 &&
    xFinal != 0 && dxCls != 0 && xTm != 0 && xTe != 0 && hTm != 0 && hTe != 0 && dK != 0 && dV != 0 && dres != 0 &&
    dxn != 0 && tmpD != 0 && dh != 0 && da != 0 && db != 0 && dq != 0 && dk != 0 && dlogits != 0 && xf != 0 && hv != 0 &&
    yv != 0 && uv != 0 && gGm != 0 && gGe != 0 && uGm != 0 && uGe != 0 && gtP != 0 && gtQ != 0 && gtA != 0 && abQ12 != 0 &&
    abS != 0 && abE != 0 && abD != 0 && ceE != 0;
  if (!ok) { heapRelease(trainMark); return ERR_OUT_OF_MEMORY; }
  inited = true;
  return 0;
}

/** ABI adapter_state(): address of the int32 state block (adapterLayout order, then rng lo, hi). */
export function adapter_state(): usize { return inited ? state : 0; }
/** ABI adapter_state_words(): its length in int32 words. */
export function adapter_state_words(): i32 { return inited ? stateWords : 0; }
/** ABI tokens(): room for seq_len(model) + 1 int32 tokens, read by train_step and train_loss. */
export function tokens(): usize { return bound ? tokBuf : 0; }
/** ABI peak_bytes(): bytes of linear memory (it only grows, so this is the peak). */
export function peak_bytes(): i32 { return memory.size() << 16; }

// ---- forward -------------------------------------------------------------------------

/** out = W . xin (W [rows, cols] int8 at record words k..k+2), xin 12-bit with scale sc. */
// @ts-ignore: decorator
@inline function gemvW(out: usize, wq: usize, wm: usize, we: usize, xin: usize, cols: i32, rows: i32, outFrac: i32): void {
  if (ASC_FEATURE_SIMD) gemvQ8Simd(out, wq, wm, we, xin, load<i32>(sc), load<i32>(sc, 4), cols, rows, outFrac);
  else gemvQ8Scalar(out, wq, wm, we, xin, load<i32>(sc), load<i32>(sc, 4), cols, rows, outFrac);
}
function gemvL(out: usize, l: i32, k: i32, xin: usize, cols: i32, rows: i32): void {
  gemvW(out, lw(l, k), lw(l, k + 1), lw(l, k + 2), xin, cols, rows, ACT_FRAC);
}

function norm(gain: usize, frac: i32): void {
  rmsnormQuant(xq, x, DIM, gain, frac, EPS, SQS, DSM, DSE, rmsU, sc, 0);
}

/** Index of (block l, current position) in the per-position saves. */
// @ts-ignore: decorator
@inline function at(l: i32): i32 { return l * T + curPos; }

/** The adapter of block l, target t (0 wq, 1 wv) added to out: the reference tap's projected(). */
function loraAdd(l: i32, t: i32, out: usize): void {
  const a = l * 2 + t, dout = <i32>aw(a, A_DOUT);
  const xm = saving ? xGm + <usize>(at(l) * DIM) : xTm, xe = saving ? xGe + <usize>(at(l) * (DIM >> G_SHIFT)) : xTe;
  if (t == 0) {
    // The adapters' input: the attention norm's 12-bit output as Q16, then GSE.
    const m = load<i32>(sc), e = load<i32>(sc, 4);
    for (let i = 0; i < DIM; i++) set32(xf, i, mulShiftAny(<i32>load<i16>(xq + (<usize>i << 1)), m, e - ACT_FRAC));
    gseQuantize(xm, xe, xf, DIM, ACT_FRAC, TRAIN_G, TRAIN_M, 0);
  }
  const j = at(l) * 2 + t;
  const hm = saving ? hGm + <usize>(j * RP) : hTm, he = saving ? hGe + <usize>(j * (RP >> G_SHIFT)) : hTe;
  gseMatVec(hv, aw(a, A_AM), aw(a, A_AE), xm, xe, RP, DIM, TRAIN_G, ACT_FRAC);
  gseQuantize(hm, he, hv, RP, ACT_FRAC, TRAIN_G, TRAIN_M, 0);
  gseMatVec(yv, aw(a, A_BM), aw(a, A_BE), hm, he, dout, RP, TRAIN_G, ACT_FRAC);
  for (let i = 0; i < dout; i++) set32(out, i, satAdd(i32at(out, i), i32at(yv, i)));
}

/** The forward pass of runtime/reference/model.ts for token at pos, with the adapters; logits to logitsBuf. */
function fwd(token: i32, pos: i32): void {
  embeddingLookup(x, embQ, embM, embE, token, DIM);
  for (let l = 0; l < NL; l++) {
    if (saving) memory.copy(xAtt + (<usize>(at(l) * DIM) << 2), x, <usize>DIM << 2);
    norm(lw(l, L_RMSATT), <i32>lw(l, L_RMSATT_FRAC));
    gemvL(qv, l, L_WQ, xq, DIM, DIM);
    gemvL(kv, l, L_WK, xq, DIM, KVD);
    gemvL(vv, l, L_WV, xq, DIM, KVD);
    loraAdd(l, 0, qv);
    loraAdd(l, 1, vv);
    ropeQ16(qv, DIM, HS, ropeCos, ropeSin, pos);
    ropeQ16(kv, KVD, HS, ropeCos, ropeSin, pos);
    if (saving) memory.copy(qRope + (<usize>(at(l) * DIM) << 2), qv, <usize>DIM << 2);
    // This position's K/V row: K 12-bit, V int8, one scale per kv head.
    const row = (l * SEQ + pos) * KVD, srow = (l * SEQ + pos) * NKV;
    for (let g = 0; g < NKV; g++) {
      quantizeAct<i16>(kc, row + g * HS, kv, g * HS, HS, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
      store<i16>(kM + (<usize>(srow + g) << 1), <i16>load<i32>(sc)); store<i8>(kE + <usize>(srow + g), <i8>load<i32>(sc, 4));
      quantizeAct<i8>(vc, row + g * HS, vv, g * HS, HS, ACT_FRAC, QMAX8, INV_QMAX8_M, INV_QMAX8_E, sc, 0);
      store<i16>(vM + (<usize>(srow + g) << 1), <i16>load<i32>(sc)); store<i8>(vE + <usize>(srow + g), <i8>load<i32>(sc, 4));
    }
    const lc = <usize>(l * SEQ * KVD), ls = <usize>(l * SEQ * NKV);
    attention(xb, qv, pos, kc + (lc << 1), kM + (ls << 1), kE + ls, vc + lc, vM + (ls << 1), vE + ls,
      NH, NKV, HS, ATTM, ATTE, exp2, q12, scores, attW);
    quantizeAct<i16>(xq, 0, xb, 0, DIM, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
    gemvL(xb, l, L_WO, xq, DIM, DIM);
    residualAdd(x, xb, DIM);
    // Feed-forward block.
    if (saving) memory.copy(xFfn + (<usize>(at(l) * DIM) << 2), x, <usize>DIM << 2);
    norm(lw(l, L_RMSFFN), <i32>lw(l, L_RMSFFN_FRAC));
    gemvL(hb, l, L_W1, xq, DIM, HD);
    gemvL(hb2, l, L_W3, xq, DIM, HD);
    if (saving) {
      memory.copy(h1 + (<usize>(at(l) * HD) << 2), hb, <usize>HD << 2);
      memory.copy(h3 + (<usize>(at(l) * HD) << 2), hb2, <usize>HD << 2);
    }
    swigluQ16(hb, hb2, HD, siluT);
    quantizeAct<i16>(hq, 0, hb, 0, HD, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
    gemvL(xb, l, L_W2, hq, HD, DIM);
    residualAdd(x, xb, DIM);
  }
  if (saving) memory.copy(xFinal + (<usize>(curPos * DIM) << 2), x, <usize>DIM << 2);
  norm(rmsF, rmsFFrac);
  gemvW(logitsBuf, clsQ, clsM, clsE, xq, DIM, VOC, LOGIT_FRAC);
}

/** GSE copies (round to nearest) of every adapter's master weights, for the coming forward passes. */
function prepareAdapters(): void {
  for (let a = 0; a < 2 * NL; a++) {
    const na = RP * DIM, nb = <i32>aw(a, A_DOUT) * RP;
    gseQuantize(aw(a, A_AM), aw(a, A_AE), aw(a, A_A), na, W_FRAC, TRAIN_G, TRAIN_M, 0);
    gseQuantize(aw(a, A_BM), aw(a, A_BE), aw(a, A_B), nb, W_FRAC, TRAIN_G, TRAIN_M, 0);
  }
}

/**
 * ABI lora_forward(token, pos): logits of token at pos with the adapters of adapter_state()
 * (positions in order from 0, as forward; pos 0 re-reads the adapters). logits() reads them.
 */
export function lora_forward(token: i32, pos: i32): i32 {
  if (!inited) return ERR_TRAIN_NOT_READY;
  if (<u32>token >= <u32>VOC) return ERR_BAD_TOKEN;
  if (<u32>pos >= <u32>SEQ) return ERR_BAD_POSITION;
  if (pos == 0) prepareAdapters();
  saving = false; curPos = pos;
  fwd(token, pos);
  return 0;
}

/** The first n tokens of tokens() are all inside the vocabulary. */
function tokensValid(n: i32): bool {
  for (let i = 0; i < n; i++) if (<u32>i32at(tokBuf, i) >= <u32>VOC) return false;
  return true;
}

/**
 * ABI train_loss(n): the summed loss (Q16 nats, saturating) of the n - 1 predictions of
 * tokens()[0..n), no update; n in [2, seq_len(model) + 1]. Negative: -(error code).
 */
export function train_loss(n: i32): i32 {
  if (!inited) return -ERR_TRAIN_NOT_READY;
  if (n < 2 || n > SEQ + 1) return -ERR_TRAIN_TOKENS;
  if (!tokensValid(n)) return -ERR_BAD_TOKEN;
  prepareAdapters();
  saving = false;
  let sum = 0;
  for (let t = 0; t + 1 < n; t++) {
    curPos = t;
    fwd(i32at(tokBuf, t), t);
    sum = satAdd(sum, crossEntropy(dlogits, logitsBuf, VOC, i32at(tokBuf, t + 1), exp2, ceE));
  }
  return sum;
}

// ---- backward ------------------------------------------------------------------------

/** dx (Q24) += W^T g for the frozen int8 matrix W [rows, cols]. */
function addGemvT(dx: usize, wq: usize, wm: usize, we: usize, g: usize, cols: i32, rows: i32): void {
  gemvQ8T(tmpD, wq, wm, we, g, GRAD_FRAC, cols, rows, GRAD_FRAC, gtP, gtQ, gtA);
  for (let i = 0; i < cols; i++) set32(dx, i, satAdd(i32at(dx, i), i32at(tmpD, i)));
}
function addGemvTL(dx: usize, l: i32, k: i32, g: usize, cols: i32, rows: i32): void {
  addGemvT(dx, lw(l, k), lw(l, k + 1), lw(l, k + 2), g, cols, rows);
}

function normBackward(dx: usize, dy: usize, xs: usize, gain: usize, frac: i32): void {
  rmsnormBackward(dx, dy, xs, DIM, gain, frac, EPS, SQS, DSM, DSE);
}

/** The adapter's backward for output gradient g (Q24): dx += A^T B^T g, gradients of A and B. */
function loraBackward(dx: usize, l: i32, t: i32, i: i32, g: usize): void {
  const a = l * 2 + t, dout = <i32>aw(a, A_DOUT);
  const xm = xGm + <usize>(i * DIM), xe = xGe + <usize>(i * (DIM >> G_SHIFT));
  const j = i * 2 + t;
  const hm = hGm + <usize>(j * RP), he = hGe + <usize>(j * (RP >> G_SHIFT));
  gseQuantize(gGm, gGe, g, dout, GRAD_FRAC, TRAIN_G, TRAIN_M, 1);
  gseMatVecT(uv, aw(a, A_BM), aw(a, A_BE), gGm, gGe, dout, RP, TRAIN_G, GRAD_FRAC);
  gseQuantize(uGm, uGe, uv, RP, GRAD_FRAC, TRAIN_G, TRAIN_M, 1);
  gseMatVecT(tmpD, aw(a, A_AM), aw(a, A_AE), uGm, uGe, RP, DIM, TRAIN_G, GRAD_FRAC);
  for (let k = 0; k < DIM; k++) set32(dx, k, satAdd(i32at(dx, k), i32at(tmpD, k)));
  gseOuterAcc(aw(a, A_GB), GACC_FRAC, gGm, gGe, hm, he, dout, RP, TRAIN_G);
  gseOuterAcc(aw(a, A_GA), GACC_FRAC, uGm, uGe, xm, xe, RP, DIM, TRAIN_G);
}

function backwardPosition(t: i32): void {
  const d4 = <usize>DIM << 2;
  normBackward(dres, dxCls + <usize>t * d4, xFinal + <usize>t * d4, rmsF, rmsFFrac);
  for (let l = NL - 1; l >= 0; l--) {
    const i = l * T + t;
    // Feed-forward half: x += W2 swiglu(W1 n, W3 n), n = rmsnorm(x).
    gemvQ8T(dh, lw(l, L_W2), lw(l, L_W2 + 1), lw(l, L_W2 + 2), dres, GRAD_FRAC, HD, DIM, GRAD_FRAC, gtP, gtQ, gtA);
    swigluBackward(da, db, dh, h1 + (<usize>(i * HD) << 2), h3 + (<usize>(i * HD) << 2), HD, siluT);
    memory.fill(dxn, 0, d4);
    addGemvTL(dxn, l, L_W1, da, DIM, HD);
    addGemvTL(dxn, l, L_W3, db, DIM, HD);
    normBackward(tmpD, dxn, xFfn + <usize>i * d4, lw(l, L_RMSFFN), <i32>lw(l, L_RMSFFN_FRAC));
    for (let j = 0; j < DIM; j++) set32(dres, j, satAdd(i32at(dres, j), i32at(tmpD, j)));
    // Attention half: x += Wo attention(rope(Wq n + lora), rope(Wk n), Wv n + lora).
    gemvQ8T(yv, lw(l, L_WO), lw(l, L_WO + 1), lw(l, L_WO + 2), dres, GRAD_FRAC, DIM, DIM, GRAD_FRAC, gtP, gtQ, gtA);
    const lc = <usize>(l * SEQ * KVD), ls = <usize>(l * SEQ * NKV), lg = <usize>(l * T * KVD);
    attentionBackward(dq, dK + (lg << 2), dV + (lg << 2), yv, qRope + <usize>i * d4, t,
      kc + (lc << 1), kM + (ls << 1), kE + ls, vc + lc, vM + (ls << 1), vE + ls,
      NH, NKV, HS, ATTM, ATTE, exp2, abQ12, abS, abE, abD);
    ropeBackwardQ24(dq, DIM, HS, ropeCos, ropeSin, t);
    const rowT = (lg + <usize>(t * KVD)) << 2;
    memory.copy(dk, dK + rowT, <usize>KVD << 2);
    ropeBackwardQ24(dk, KVD, HS, ropeCos, ropeSin, t);
    const dvt = dV + rowT;
    memory.fill(dxn, 0, d4);
    addGemvTL(dxn, l, L_WQ, dq, DIM, DIM);
    addGemvTL(dxn, l, L_WK, dk, DIM, KVD);
    addGemvTL(dxn, l, L_WV, dvt, DIM, KVD);
    loraBackward(dxn, l, 0, i, dq);
    loraBackward(dxn, l, 1, i, dvt);
    normBackward(tmpD, dxn, xAtt + <usize>i * d4, lw(l, L_RMSATT), <i32>lw(l, L_RMSATT_FRAC));
    for (let j = 0; j < DIM; j++) set32(dres, j, satAdd(i32at(dres, j), i32at(tmpD, j)));
  }
}

/**
 * ABI train_step(n): one optimizer step on tokens()[0..n), n = seq_len + 1 (train_init's);
 * returns the summed loss of its seq_len predictions (Q16 nats, saturating, >= 0), or
 * -(error code). Updates adapter_state() (weights, momentum, rng words).
 */
export function train_step(n: i32): i32 {
  if (!inited) return -ERR_TRAIN_NOT_READY;
  if (n != T + 1) return -ERR_TRAIN_TOKENS;
  if (!tokensValid(n)) return -ERR_BAD_TOKEN;
  // The stochastic-rounding stream lives in the state block; the sampler's is set aside.
  const sLo = rngStateLo(), sHi = rngStateHi();
  rngSeed(i32at(state, stateWords - 2), i32at(state, stateWords - 1));
  prepareAdapters();
  saving = true;
  let loss = 0;
  const d4 = <usize>DIM << 2;
  for (let t = 0; t < T; t++) {
    curPos = t;
    fwd(i32at(tokBuf, t), t);
    loss = satAdd(loss, crossEntropy(dlogits, logitsBuf, VOC, i32at(tokBuf, t + 1), exp2, ceE));
    gemvQ8T(dxCls + <usize>t * d4, clsQ, clsM, clsE, dlogits, GRAD_FRAC, DIM, VOC, GRAD_FRAC, gtP, gtQ, gtA);
  }
  saving = false;
  memory.fill(dK, 0, <usize>(NL * T * KVD) << 2);
  memory.fill(dV, 0, <usize>(NL * T * KVD) << 2);
  memory.fill(dres, 0, d4);
  for (let t = T - 1; t >= 0; t--) backwardPosition(t);
  for (let a = 0; a < 2 * NL; a++) {
    sgdMomentum(aw(a, A_A), aw(a, A_VA), aw(a, A_GA), RP * DIM, LRM, LRE, MOMENTUM_SHIFT);
    sgdMomentum(aw(a, A_B), aw(a, A_VB), aw(a, A_GB), <i32>aw(a, A_DOUT) * RP, LRM, LRE, MOMENTUM_SHIFT);
  }
  set32(state, stateWords - 2, rngStateLo()); set32(state, stateWords - 1, rngStateHi());
  rngSeed(sLo, sHi);
  return loss;
}

// ---- the embedded training selftest (entries generated with one) ------------------------

// @ts-ignore: decorator
@external("host", "print")
declare function hostPrint(position: i32, hash: i64): void;

const lossWord: usize = memory.data(8, 8);

function fnvMore(h: u64, p: usize, n: usize): u64 {
  for (let i: usize = 0; i < n; i++) h = (h ^ <u64>load<u8>(p + i)) * 0x100000001b3;
  return h;
}

/**
 * train_init(rPad, seqLen, lrM, lrE, rng words of `st`), the state block := st (`words`
 * int32), then one train_step per window of `n` tokens at `toks`; after each,
 * host.print(step, FNV-1a 64 of the state block's bytes then the step's loss as int32 LE).
 * Returns the steps whose hash differs from `want` (u32 lo, hi per step), or -(error code).
 */
export function trainSelftest(rPad: i32, seqLen: i32, lrM: i32, lrE: i32, st: usize, words: i32, toks: usize, steps: i32, want: usize): i32 {
  if (!bound) return -ERR_TRAIN_NOT_READY;
  const e = train_init(rPad, seqLen, lrM, lrE, load<i32>(st + (<usize>(words - 2) << 2)), load<i32>(st + (<usize>(words - 1) << 2)));
  if (e != 0) return -e;
  if (stateWords != words) return -ERR_TRAIN_PARAMS;
  const bytes = <usize>words << 2, n = seqLen + 1;
  memory.copy(state, st, bytes);
  let bad = 0;
  for (let s = 0; s < steps; s++) {
    memory.copy(tokBuf, toks + (<usize>(s * n) << 2), <usize>n << 2);
    const loss = train_step(n);
    store<i32>(lossWord, loss);
    const h = fnvMore(fnvMore(0xcbf29ce484222325, state, bytes), lossWord, 4);
    hostPrint(s, <i64>h);
    const w = (<u64>load<u32>(want + (<usize>(2 * s + 1) << 2)) << 32) | <u64>load<u32>(want + (<usize>(2 * s) << 2));
    if (loss < 0 || h != w) bad++;
  }
  return bad;
}
