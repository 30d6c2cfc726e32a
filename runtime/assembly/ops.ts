// One check and one run function per op kind (OpKind in schemas/edgeq.fbs; operand and
// params layout in docs/integer-spec.md §9). check* runs once at load and proves that
// every address the kernel will touch lies inside the operands it names (slots of the
// arena, tensors of the artifact) for every admissible step input (token < vocab_size,
// position < seq_len); run* then calls the kernel with no check at all. The generated
// entry imports only the kinds its program uses, so unused kernels are not in the module.
import {
  cfgSeqLen, cfgVocab, counts, inPos, inToken, inp, isInput, isSlot, isTensor, isTensorBytes, outp, prm, sameSlot,
} from "./runtime";
import { DType, ProgramInput } from "./generated/schema";
import {
  ACT_QMAX, EXP2_TABLE_SIZE, INV_ACT_QMAX_E, INV_ACT_QMAX_M, INV_QMAX8_E, INV_QMAX8_M, QMAX8, SILU_TABLE_SIZE,
} from "../kernels/scalar/constants";
import { embeddingLookup } from "../kernels/scalar/embedding";
import { gemvQ8 } from "../kernels/scalar/gemv_q8";
import { rmsnormQuant } from "../kernels/scalar/rmsnorm";
import { ropeQ16 } from "../kernels/scalar/rope";
import { quantizeAct } from "../kernels/scalar/quantize_act";
import { attention } from "../kernels/scalar/attention";
import { swigluQ16 } from "../kernels/scalar/silu";
import { residualAdd } from "../kernels/scalar/residual";
import { gemvLut, lutTables } from "../kernels/scalar/gemv_lut";

const I8 = DType.int8, I16 = DType.int16, I32 = DType.int32;
// Every scale operand is an int32 [4] slot: (m, e) in its first two elements.
const SCALE_ELEMS: i64 = 4;

// @ts-ignore: decorator
@inline function pos(v: i32): bool { return v > 0; }

// ---- embed: in [E i8 [V, D], E.scale_m i16 [V], E.scale_e i8 [V], token], out [x i32 [D]]; params [D]

export function checkEmbed(r: usize): bool {
  if (!counts(r, 4, 1, 1)) return false;
  const d = prm(r, 0);
  return pos(d) && isTensor(r, 0, I8, <i64>cfgVocab * d) && isTensor(r, 1, I16, cfgVocab) &&
    isTensor(r, 2, I8, cfgVocab) && isInput(r, 3, ProgramInput.token) && isSlot(r, 0, true, I32, d);
}
export function runEmbed(r: usize): void {
  embeddingLookup(outp(r, 0), inp(r, 0), inp(r, 1), inp(r, 2), inToken, prm(r, 0));
}

// ---- rmsnorm: in [x i32 [n], gain i16 [n], u i32 [n] (scratch)], out [q i16 [n], scale];
//      params [n, gainFrac, epsQ32, sqShift, dimScaleM, dimScaleE]

export function checkRmsnorm(r: usize): bool {
  if (!counts(r, 3, 2, 6)) return false;
  const n = prm(r, 0);
  // sqShift must be ceil(log2 n) (<= 28) and eps * n < 2^31 (docs/integer-spec.md §3.3):
  // then the sum of squares is >= 1 and rsqrtScale never divides by zero (found by
  // scripts/fuzz.ts: sqShift 31 trapped). gainFrac is a shift of an int16 gain.
  const gainFrac = prm(r, 1), epsQ32 = prm(r, 2), sqShift = prm(r, 3);
  const params = pos(n) && sqShift == (n > 1 ? 32 - <i32>clz<u32>(<u32>(n - 1)) : 0) && sqShift <= 28 &&
    epsQ32 >= 0 && <i64>epsQ32 * n < 0x80000000 && gainFrac >= 0 && gainFrac <= 30;
  return params && isSlot(r, 0, false, I32, n) && isTensor(r, 1, I16, n) && isSlot(r, 2, false, I32, n) &&
    isSlot(r, 0, true, I16, n) && isSlot(r, 1, true, I32, SCALE_ELEMS);
}
export function runRmsnorm(r: usize): void {
  rmsnormQuant(outp(r, 0), inp(r, 0), prm(r, 0), inp(r, 1), prm(r, 1), prm(r, 2), prm(r, 3), prm(r, 4), prm(r, 5),
    inp(r, 2), outp(r, 1), 0);
}

// ---- gemv, classifier: in [x i16 [n], scale, W i8 [d, n], W.scale_m i16 [d], W.scale_e i8 [d]],
//      out [y i32 [d]]; params [n, d, outFrac]

export function checkGemv(r: usize): bool {
  if (!counts(r, 5, 1, 3)) return false;
  const n = prm(r, 0), d = prm(r, 1);
  return pos(n) && pos(d) && isSlot(r, 0, false, I16, n) && isSlot(r, 1, false, I32, SCALE_ELEMS) &&
    isTensor(r, 2, I8, <i64>n * d) && isTensor(r, 3, I16, d) && isTensor(r, 4, I8, d) && isSlot(r, 0, true, I32, d);
}
export function runGemv(r: usize): void {
  const sc = inp(r, 1);
  gemvQ8(outp(r, 0), inp(r, 2), inp(r, 3), inp(r, 4), inp(r, 0), load<i32>(sc), load<i32>(sc, 4), prm(r, 0), prm(r, 1), prm(r, 2));
}

// ---- rope: in [v i32 [n], position, cos i16 [S, hs/2], sin i16 [S, hs/2]], out [v]; params [n, hs]

export function checkRope(r: usize): bool {
  if (!counts(r, 4, 1, 2)) return false;
  const n = prm(r, 0), hs = prm(r, 1);
  if (!pos(n) || !pos(hs) || (hs & 1) != 0 || n % hs != 0) return false;
  const half = <i64>cfgSeqLen * (hs >> 1);
  return isSlot(r, 0, false, I32, n) && isInput(r, 1, ProgramInput.position) && isTensor(r, 2, I16, half) &&
    isTensor(r, 3, I16, half) && sameSlot(r, 0, 0);
}
export function runRope(r: usize): void {
  ropeQ16(inp(r, 0), prm(r, 0), prm(r, 1), inp(r, 2), inp(r, 3), inPos);
}

// ---- kv_store: in [k i32 [kvD], v i32 [kvD], position],
//      out [kc i16 [S, kvD], kM i16 [S, nKv], kE i8 [S, nKv], vc i8 [S, kvD], vM i16 [S, nKv], vE i8 [S, nKv]];
//      params [nKv, hs]. K to 12 bits, V to int8, one scale per kv head (§3.7).

export function checkKvStore(r: usize): bool {
  if (!counts(r, 3, 6, 2)) return false;
  const nKv = prm(r, 0), hs = prm(r, 1);
  if (!pos(nKv) || !pos(hs)) return false;
  const kvD = <i64>nKv * hs, S = <i64>cfgSeqLen;
  return isSlot(r, 0, false, I32, kvD) && isSlot(r, 1, false, I32, kvD) && isInput(r, 2, ProgramInput.position) &&
    isSlot(r, 0, true, I16, S * kvD) && isSlot(r, 1, true, I16, S * nKv) && isSlot(r, 2, true, I8, S * nKv) &&
    isSlot(r, 3, true, I8, S * kvD) && isSlot(r, 4, true, I16, S * nKv) && isSlot(r, 5, true, I8, S * nKv);
}

const kvSc: usize = memory.data(16, 16);

export function runKvStore(r: usize): void {
  const nKv = prm(r, 0), hs = prm(r, 1), kvD = nKv * hs;
  const row = inPos * kvD, srow = inPos * nKv;
  const k = inp(r, 0), v = inp(r, 1);
  for (let g = 0; g < nKv; g++) {
    quantizeAct<i16>(outp(r, 0), row + g * hs, k, g * hs, hs, 16, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, kvSc, 0);
    store<i16>(outp(r, 1) + (<usize>(srow + g) << 1), <i16>load<i32>(kvSc));
    store<i8>(outp(r, 2) + <usize>(srow + g), <i8>load<i32>(kvSc, 4));
    quantizeAct<i8>(outp(r, 3), row + g * hs, v, g * hs, hs, 16, QMAX8, INV_QMAX8_M, INV_QMAX8_E, kvSc, 0);
    store<i16>(outp(r, 4) + (<usize>(srow + g) << 1), <i16>load<i32>(kvSc));
    store<i8>(outp(r, 5) + <usize>(srow + g), <i8>load<i32>(kvSc, 4));
  }
}

// ---- attention: in [q i32 [nH*hs], position, kc, kM, kE, vc, vM, vE (as kv_store's outputs),
//      exp2 i16 [1024], q12 i16 [hs], scores i32 [S], weights i32 [S]], out [o i32 [nH*hs]];
//      params [nHeads, nKv, hs, attScaleM, attScaleE]

export function checkAttention(r: usize): bool {
  if (!counts(r, 12, 1, 5)) return false;
  const nH = prm(r, 0), nKv = prm(r, 1), hs = prm(r, 2);
  if (!pos(nH) || !pos(nKv) || !pos(hs) || nH % nKv != 0) return false;
  const kvD = <i64>nKv * hs, S = <i64>cfgSeqLen, qd = <i64>nH * hs;
  return isSlot(r, 0, false, I32, qd) && isInput(r, 1, ProgramInput.position) &&
    isSlot(r, 2, false, I16, S * kvD) && isSlot(r, 3, false, I16, S * nKv) && isSlot(r, 4, false, I8, S * nKv) &&
    isSlot(r, 5, false, I8, S * kvD) && isSlot(r, 6, false, I16, S * nKv) && isSlot(r, 7, false, I8, S * nKv) &&
    isTensor(r, 8, I16, EXP2_TABLE_SIZE) && isSlot(r, 9, false, I16, hs) && isSlot(r, 10, false, I32, S) &&
    isSlot(r, 11, false, I32, S) && isSlot(r, 0, true, I32, qd);
}
export function runAttention(r: usize): void {
  attention(outp(r, 0), inp(r, 0), inPos, inp(r, 2), inp(r, 3), inp(r, 4), inp(r, 5), inp(r, 6), inp(r, 7),
    prm(r, 0), prm(r, 1), prm(r, 2), prm(r, 3), prm(r, 4), inp(r, 8), inp(r, 9), inp(r, 10), inp(r, 11));
}

// ---- requantize: in [v i32 [n]], out [q i16 [n] (qmax 2047) or i8 [n] (qmax 127), scale];
//      params [n, frac, qmax]

export function checkRequantize(r: usize): bool {
  if (!counts(r, 1, 2, 3)) return false;
  const n = prm(r, 0), qmax = prm(r, 2);
  if (!pos(n) || (qmax != ACT_QMAX && qmax != QMAX8)) return false;
  return isSlot(r, 0, false, I32, n) && isSlot(r, 0, true, qmax == QMAX8 ? I8 : I16, n) && isSlot(r, 1, true, I32, SCALE_ELEMS);
}
export function runRequantize(r: usize): void {
  if (prm(r, 2) == QMAX8) quantizeAct<i8>(outp(r, 0), 0, inp(r, 0), 0, prm(r, 0), prm(r, 1), QMAX8, INV_QMAX8_M, INV_QMAX8_E, outp(r, 1), 0);
  else quantizeAct<i16>(outp(r, 0), 0, inp(r, 0), 0, prm(r, 0), prm(r, 1), ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, outp(r, 1), 0);
}

// ---- swiglu: in [h1 i32 [n], h3 i32 [n], silu i32 [2049]], out [h1]; params [n]

export function checkSwiglu(r: usize): bool {
  if (!counts(r, 3, 1, 1)) return false;
  const n = prm(r, 0);
  return pos(n) && isSlot(r, 0, false, I32, n) && isSlot(r, 1, false, I32, n) && isTensor(r, 2, I32, SILU_TABLE_SIZE) && sameSlot(r, 0, 0);
}
export function runSwiglu(r: usize): void {
  swigluQ16(inp(r, 0), inp(r, 1), prm(r, 0), inp(r, 2));
}

// ---- residual_add: in [x i32 [n], y i32 [n]], out [x]; params [n]

export function checkResidualAdd(r: usize): bool {
  if (!counts(r, 2, 1, 1)) return false;
  const n = prm(r, 0);
  return pos(n) && isSlot(r, 0, false, I32, n) && isSlot(r, 1, false, I32, n) && sameSlot(r, 0, 0);
}
export function runResidualAdd(r: usize): void {
  residualAdd(inp(r, 0), inp(r, 1), prm(r, 0));
}

// ---- lut_tables: in [x i16 [n]], out [T i16 [4n]] (8n bytes of tables, private format of
//      the kernel pair that reads them); params [n]. docs/integer-spec.md §9.2.

export function checkLutTables(r: usize): bool {
  if (!counts(r, 1, 1, 1)) return false;
  const n = prm(r, 0);
  return pos(n) && (n & 31) == 0 && isSlot(r, 0, false, I16, n) && isSlot(r, 0, true, I16, <i64>n << 2);
}
export function runLutTables(r: usize): void {
  lutTables(outp(r, 0), inp(r, 0), prm(r, 0));
}

// ---- gemv_lut: in [T i16 [4n] (lut_tables of x), scale, X q<b> [d, n], X.groups u8 [⌈d/16⌉, n/G, 2, 16],
//      X.scale_m i16 [d], X.scale_e i8 [d]], out [y i32 [d]]; params [n, d, outFrac, bits, G]

function lutDType(bits: i32): u32 {
  return bits == 1 ? DType.q1 : bits == 2 ? DType.q2_lut : bits == 3 ? DType.q3 : DType.q4_lut;
}

export function checkGemvLut(r: usize): bool {
  if (!counts(r, 6, 1, 5)) return false;
  const n = prm(r, 0), d = prm(r, 1), bits = prm(r, 3), gs = prm(r, 4);
  if (!pos(n) || !pos(d) || bits < 1 || bits > 4 || (gs != 32 && gs != 64 && gs != 128)) return false;
  if (n % gs != 0 || n / gs > 1024 || n > 8260) return false;
  const tiles = <i64>((d + 15) >> 4);
  return isSlot(r, 0, false, I16, <i64>n << 2) && isSlot(r, 1, false, I32, SCALE_ELEMS) &&
    isTensorBytes(r, 2, lutDType(bits), tiles * 16 * bits * (n >> 3)) &&
    isTensorBytes(r, 3, DType.uint8, tiles * (n / gs) * 32) &&
    isTensor(r, 4, I16, d) && isTensor(r, 5, I8, d) && isSlot(r, 0, true, I32, d);
}
export function runGemvLut(r: usize): void {
  const sc = inp(r, 1);
  gemvLut(outp(r, 0), inp(r, 2), inp(r, 3), inp(r, 4), inp(r, 5), inp(r, 0), load<i32>(sc), load<i32>(sc, 4),
    prm(r, 0), prm(r, 1), prm(r, 3), prm(r, 4), prm(r, 2));
}

// ---- kv_store_q, attention_q: the quantized KV cache (ops-kvq.ts).
export { checkAttentionQ, checkKvStoreQ, runAttentionQ, runKvStoreQ } from "./ops-kvq";
