// Check and run functions of the quantized KV cache ops (kv_store_q, attention_q;
// docs/integer-spec.md §3.7.1), re-exported by ops.ts, which the generated entry imports.
// Layout of one layer's cache, for K and for V: a byte slot [S packed rows of `bits`-bit
// values][W int8 ring rows], scales m i16 / e i8 [S + W, nKv].
import { cfgSeqLen, counts, inPos, inp, isInput, isSlot, isTensor, outp, prm } from "./runtime";
import { DType, ProgramInput } from "./generated/schema";
import { EXP2_TABLE_SIZE } from "../kernels/scalar/constants";
import { kvStoreQ } from "../kernels/scalar/kv_store_q";
import { attentionQ } from "../kernels/scalar/attention_q";

const I8 = DType.int8, I16 = DType.int16, I32 = DType.int32;
/** Largest head size: row8's bytes (and attention's int32 bound, hs * 2047 * 127 < 2^31). */
const MAX_HS: i32 = 256;

function bitsOk(b: i32, hs: i32): bool { return (b == 8 || b == 4 || b == 2) && ((hs * b) & 7) == 0; }

/** The six cache operands from `first` (inputs, or outputs when `output`) have the layout above. */
function cacheOk(r: usize, first: u32, output: bool, nKv: i32, hs: i32, kBits: i32, vBits: i32, w: i32): bool {
  const S = <i64>cfgSeqLen, kvD = <i64>nKv * hs, rows = (S + w) * nKv;
  return isSlot(r, first, output, I8, ((S * kvD * kBits) >> 3) + w * kvD) && isSlot(r, first + 1, output, I16, rows) &&
    isSlot(r, first + 2, output, I8, rows) && isSlot(r, first + 3, output, I8, ((S * kvD * vBits) >> 3) + w * kvD) &&
    isSlot(r, first + 4, output, I16, rows) && isSlot(r, first + 5, output, I8, rows);
}

function paramsOk(nKv: i32, hs: i32, kBits: i32, vBits: i32, w: i32): bool {
  return nKv > 0 && hs > 0 && hs <= MAX_HS && bitsOk(kBits, hs) && bitsOk(vBits, hs) && w >= 0 && w <= <i32>cfgSeqLen;
}

// ---- kv_store_q: in [k i32 [kvD], v i32 [kvD], position], out [K, K.m, K.e, V, V.m, V.e];
//      params [nKv, hs, kBits, vBits, window]

export function checkKvStoreQ(r: usize): bool {
  if (!counts(r, 3, 6, 5)) return false;
  const nKv = prm(r, 0), hs = prm(r, 1), kBits = prm(r, 2), vBits = prm(r, 3), w = prm(r, 4);
  if (!paramsOk(nKv, hs, kBits, vBits, w)) return false;
  const kvD = <i64>nKv * hs;
  return isSlot(r, 0, false, I32, kvD) && isSlot(r, 1, false, I32, kvD) && isInput(r, 2, ProgramInput.position) &&
    cacheOk(r, 0, true, nKv, hs, kBits, vBits, w);
}

const row8: usize = memory.data(MAX_HS, 16);
const kvqSc: usize = memory.data(16, 16);

export function runKvStoreQ(r: usize): void {
  kvStoreQ(outp(r, 0), outp(r, 1), outp(r, 2), outp(r, 3), outp(r, 4), outp(r, 5), inp(r, 0), inp(r, 1),
    inPos, <i32>cfgSeqLen, prm(r, 0), prm(r, 1), prm(r, 2), prm(r, 3), prm(r, 4), row8, kvqSc);
}

// ---- attention_q: in [q i32 [nH*hs], position, K, K.m, K.e, V, V.m, V.e (kv_store_q's outputs),
//      exp2 i16 [1024], q12 i16 [hs], scores i32 [S], weights i32 [S]], out [o i32 [nH*hs]];
//      params [nHeads, nKv, hs, attScaleM, attScaleE, kBits, vBits, window]

export function checkAttentionQ(r: usize): bool {
  if (!counts(r, 12, 1, 8)) return false;
  const nH = prm(r, 0), nKv = prm(r, 1), hs = prm(r, 2), kBits = prm(r, 5), vBits = prm(r, 6), w = prm(r, 7);
  if (nH <= 0 || !paramsOk(nKv, hs, kBits, vBits, w) || nH % nKv != 0) return false;
  const S = <i64>cfgSeqLen, qd = <i64>nH * hs;
  return isSlot(r, 0, false, I32, qd) && isInput(r, 1, ProgramInput.position) && cacheOk(r, 2, false, nKv, hs, kBits, vBits, w) &&
    isTensor(r, 8, I16, EXP2_TABLE_SIZE) && isSlot(r, 9, false, I16, hs) && isSlot(r, 10, false, I32, S) &&
    isSlot(r, 11, false, I32, S) && isSlot(r, 0, true, I32, qd);
}
export function runAttentionQ(r: usize): void {
  attentionQ(outp(r, 0), inp(r, 0), inPos, inp(r, 2), inp(r, 3), inp(r, 4), inp(r, 5), inp(r, 6), inp(r, 7),
    <i32>cfgSeqLen, prm(r, 0), prm(r, 1), prm(r, 2), prm(r, 3), prm(r, 4), prm(r, 5), prm(r, 6), prm(r, 7),
    inp(r, 8), inp(r, 9), inp(r, 10), inp(r, 11));
}
