// Attention over the quantized KV cache with WebAssembly SIMD (docs/integer-spec.md §3.7,
// §3.7.1): the same result as runtime/kernels/scalar/attention_q.ts to the bit, with the same
// signature. The scalar kernel's steps, row choice (ring, anchor or packed row per position)
// and scalar parts (scores, softmax, anchor scores, weights) are unchanged; the two sums over
// the head, step 2's Σᵢ q12[i]·K[t,i] and step 5's Σₜ w[t]·V[t,i], run 16 bytes of a row at a
// time. Both are int32 sums of int32 products, wrapping like the scalar kernel's, so any
// order of the terms gives the same bits. Plain SIMD128 only (no relaxed SIMD).
//
// Unpacking without shuffles. A 16-byte chunk of a row at b bits (b = 8, 4, 2) holds
// per = 8/b values per byte, 16·per values; i8x16.shl then i8x16.shr_s by constant amounts
// sign-extends field u of every byte (values per·j + u, j = 0..15) into one i8x16 vector u.
// Rather than interleave those vectors back into row order, the query (step 2) is stored in
// the same order once per head, and step 5 accumulates in that order; the output is put
// back in row order at the end. "Chunk order" of a row at b bits: value per·j + u of chunk c
// at index 16·per·c + 16·u + j (the identity at 8 bits). Ring and anchor rows are int8 and
// packed rows b-bit, so each sum has two buffers: one in 8-bit order, one in the packed
// width's order, added at the end.
//
// Reads stay inside the row: the last chunk of a row of m bytes (m mod 16 ≠ 0, e.g. hs = 8
// at 2 bits is 2 bytes) is loaded by scalar loads of exactly its bytes, zero above; the
// zero values contribute nothing to either sum.
//
// K blocks (§3.7.3): a packed row holds unsigned codes and reads as lo_i + code_i·step_i.
// Once per (query head, block) blockPrep puts q12[i]·step_i (int32) in the packed width's
// chunk order and sums Σᵢ q12[i]·lo_i; each row of the block is then that sum plus
// Σᵢ code_i·(q12[i]·step_i), 16 codes of a field at a time (unpacked by mask and
// i8x16.shr_u, widened to int32, multiplied): the spec's regrouping of the scalar sum, int32
// with wrap-around, so the same bits for any arena contents.
import { divFloor } from "../scalar/arith";
// Everything but the dot products and the V sums is the scalar kernel's code.
import { addAnchorScores, ceilLog2, row8, valueBitBound, valueWeight } from "../scalar/attention_q";
import { ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, SCORE_FRAC } from "../scalar/constants";
import { mulShiftRound } from "../scalar/int64";
import { i16at, i32at, i8at, set32 } from "../scalar/mem";
import { quantizeAct } from "../scalar/quantize_act";
import { mulScale, recipScale } from "../scalar/scale";
import { softmaxExp2 } from "../scalar/softmax";
import { kvKScaleBase } from "../scalar/kv_kblock";

/** Largest head size (compiler/ops/kinds/kv_store_q.ts KVQ_MAX_HS): a row in chunk order at any width has at most this many entries. */
const MAX_HS: i32 = 256;
const sc: usize = memory.data(16, 16);
/** q12 in chunk order: for 8-bit (ring, anchor) rows, and for packed K rows. int16 [MAX_HS] each. */
const Q_RING: usize = memory.data(2 * MAX_HS, 16);
const Q_PACKED: usize = memory.data(2 * MAX_HS, 16);
/** K blocks (§3.7.3): q12[i]·step_i of the block being read, int32 in the packed width's chunk order. */
const QS_BLOCK: usize = memory.data(4 * MAX_HS, 16);
/** Step 5's sums in chunk order: over 8-bit rows, and over packed V rows. int32 [MAX_HS] each. */
const ACC_RING: usize = memory.data(4 * MAX_HS, 16);
const ACC_PACKED: usize = memory.data(4 * MAX_HS, 16);

/** Entries of a row of hs values at `bits` in chunk order: whole chunks of 16 bytes (≤ MAX_HS since hs ≤ 256). */
function chunkedLen(hs: i32, bits: i32): i32 {
  return ((((hs * bits) >> 3) + 15) >> 4) * (16 * (8 / bits));
}

/** The chunk-order index of value i of a row at `bits` (per = 8 / bits values a byte). */
function chunkIndex(i: i32, bits: i32): i32 {
  const per = 8 / bits, cw = per << 4, r = i % cw;
  return i - r + (r % per) * 16 + r / per;
}

/** dst (int16, chunkedLen entries) = q12 [hs] in chunk order at `bits`, zero where no value. */
function toChunkOrder(dst: usize, q12: usize, hs: i32, bits: i32): void {
  memory.fill(dst, 0, <usize>chunkedLen(hs, bits) << 1);
  for (let i = 0; i < hs; i++) store<i16>(dst + (<usize>chunkIndex(i, bits) << 1), load<i16>(q12 + (<usize>i << 1)));
}

/** Bytes p[0..k) (k < 8) little-endian in an i64, zero above: exactly those bytes are read. */
// @ts-ignore: decorator
@inline function loadBytes(p: usize, k: i32): i64 {
  let x: i64 = 0, o: i32 = 0;
  if (k & 4) { x = <i64>load<u32>(p); o = 4; }
  if (k & 2) { x |= <i64>load<u16>(p + <usize>o) << <i64>(o << 3); o += 2; }
  if (k & 1) x |= <i64>load<u8>(p + <usize>o) << <i64>(o << 3);
  return x;
}

/** The last chunk of a row, its m < 16 bytes at p, zero above. */
function loadTail(p: usize, m: i32): v128 {
  if (m >= 8) return i64x2.replace_lane(i64x2.splat(load<i64>(p)), 1, loadBytes(p + 8, m - 8));
  return i64x2.replace_lane(i64x2.splat(0), 0, loadBytes(p, m));
}

/** acc + Σ of one i8x16 of values f times 16 int16 at q (chunk order); `hi`: lanes 8..15 hold values. */
// @ts-ignore: decorator
@inline function dot16(acc: v128, f: v128, q: usize, hi: bool): v128 {
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(f), v128.load(q)));
  return hi ? i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(f), v128.load(q, 16))) : acc;
}

/** acc + Σ over one chunk v (values at `bits`, a constant where inlined) times q (int16, chunk order). */
// @ts-ignore: decorator
@inline function dotChunk(acc: v128, v: v128, q: usize, bits: i32, hi: bool): v128 {
  if (bits == 8) return dot16(acc, v, q, hi);
  if (bits == 4) return dot16(dot16(acc, i8x16.shr_s(i8x16.shl(v, 4), 4), q, hi), i8x16.shr_s(v, 4), q + 32, hi);
  acc = dot16(acc, i8x16.shr_s(i8x16.shl(v, 6), 6), q, hi);
  acc = dot16(acc, i8x16.shr_s(i8x16.shl(v, 4), 6), q + 32, hi);
  acc = dot16(acc, i8x16.shr_s(i8x16.shl(v, 2), 6), q + 64, hi);
  return dot16(acc, i8x16.shr_s(v, 6), q + 96, hi);
}

/** o (16 int32, chunk order) += wt · one i8x16 of values f; `hi`: lanes 8..15 hold values. */
// @ts-ignore: decorator
@inline function axpy16(o: usize, wt: v128, f: v128, hi: bool): void {
  const lo16 = i16x8.extend_low_i8x16_s(f);
  v128.store(o, i32x4.add(v128.load(o), i32x4.mul(wt, i32x4.extend_low_i16x8_s(lo16))));
  v128.store(o, i32x4.add(v128.load(o, 16), i32x4.mul(wt, i32x4.extend_high_i16x8_s(lo16))), 16);
  if (hi) {
    const hi16 = i16x8.extend_high_i8x16_s(f);
    v128.store(o, i32x4.add(v128.load(o, 32), i32x4.mul(wt, i32x4.extend_low_i16x8_s(hi16))), 32);
    v128.store(o, i32x4.add(v128.load(o, 48), i32x4.mul(wt, i32x4.extend_high_i16x8_s(hi16))), 48);
  }
}

/** o (int32, chunk order) += wt · one chunk v (values at `bits`, a constant where inlined). */
// @ts-ignore: decorator
@inline function axpyChunk(o: usize, wt: v128, v: v128, bits: i32, hi: bool): void {
  if (bits == 8) { axpy16(o, wt, v, hi); return; }
  if (bits == 4) {
    axpy16(o, wt, i8x16.shr_s(i8x16.shl(v, 4), 4), hi);
    axpy16(o + 64, wt, i8x16.shr_s(v, 4), hi);
    return;
  }
  axpy16(o, wt, i8x16.shr_s(i8x16.shl(v, 6), 6), hi);
  axpy16(o + 64, wt, i8x16.shr_s(i8x16.shl(v, 4), 6), hi);
  axpy16(o + 128, wt, i8x16.shr_s(i8x16.shl(v, 2), 6), hi);
  axpy16(o + 192, wt, i8x16.shr_s(v, 6), hi);
}

/** o (int32, chunk order) += wt · v over a row of m bytes at c, values `bits` wide (a constant where inlined). */
// @ts-ignore: decorator
@inline function axpyRowAt(o: usize, wt: v128, c: usize, m: i32, bits: i32): void {
  const full = m & ~15, rest = m - full;
  let oc = o;
  for (let k = 0; k < full; k += 16) {
    axpyChunk(oc, wt, v128.load(c + <usize>k), bits, true);
    oc += <usize>(512 / bits); // 16 · (8 / bits) int32
  }
  if (rest > 0) axpyChunk(oc, wt, loadTail(c + <usize>full, rest), bits, rest > 8);
}

/** o (int32, `bits`' chunk order) += wt · v over a row of hs values at byte address c. */
function axpyRow(o: usize, wt: i32, c: usize, hs: i32, bits: i32): void {
  const m = (hs * bits) >> 3, w4 = i32x4.splat(wt);
  if (bits == 8) axpyRowAt(o, w4, c, m, 8);
  else if (bits == 4) axpyRowAt(o, w4, c, m, 4);
  else axpyRowAt(o, w4, c, m, 2);
}

/**
 * K blocks (§3.7.3), once per (query head, block): qs (int32, chunkedLen(hs, bits) entries,
 * chunk order at `bits`) = q12[i]·step_i, zero where no value; returns Σᵢ q12[i]·lo_i. The
 * (lo, step) pairs of the block and kv head are the int16 elements meta + 2i, meta + 2i + 1 of kM.
 */
function blockPrep(qs: usize, q12: usize, kM: usize, meta: i32, hs: i32, bits: i32): i32 {
  const per = 8 / bits, cw = per << 4, len = chunkedLen(hs, bits);
  let C = 0;
  for (let c0 = 0; c0 < len; c0 += cw) {
    for (let u = 0; u < per; u++) {
      for (let j = 0; j < 16; j++) {
        const i = c0 + per * j + u, k = c0 + (u << 4) + j;
        let x = 0;
        if (i < hs) {
          const q = <i32>load<i16>(q12 + (<usize>i << 1)), p = kM + (<usize>(meta + 2 * i) << 1);
          C += q * <i32>load<i16>(p);
          x = q * <i32>load<i16>(p, 2);
        }
        store<i32>(qs + (<usize>k << 2), x);
      }
    }
  }
  return C;
}

/** acc + Σ of one i8x16 of unsigned codes f times 16 int32 at qs (chunk order); `hi`: lanes 8..15 hold values. */
// @ts-ignore: decorator
@inline function dotCodes16(acc: v128, f: v128, qs: usize, hi: bool): v128 {
  const lo16 = i16x8.extend_low_i8x16_u(f);
  acc = i32x4.add(acc, i32x4.mul(i32x4.extend_low_i16x8_u(lo16), v128.load(qs)));
  acc = i32x4.add(acc, i32x4.mul(i32x4.extend_high_i16x8_u(lo16), v128.load(qs, 16)));
  if (!hi) return acc;
  const hi16 = i16x8.extend_high_i8x16_u(f);
  acc = i32x4.add(acc, i32x4.mul(i32x4.extend_low_i16x8_u(hi16), v128.load(qs, 32)));
  return i32x4.add(acc, i32x4.mul(i32x4.extend_high_i16x8_u(hi16), v128.load(qs, 48)));
}

/** acc + Σ over one chunk v of unsigned codes at `bits` (a constant where inlined) times qs (int32, chunk order). */
// @ts-ignore: decorator
@inline function dotCodesChunk(acc: v128, v: v128, qs: usize, bits: i32, hi: bool): v128 {
  if (bits == 8) return dotCodes16(acc, v, qs, hi);
  if (bits == 4) return dotCodes16(dotCodes16(acc, v128.and(v, i8x16.splat(15)), qs, hi), i8x16.shr_u(v, 4), qs + 64, hi);
  const m3 = i8x16.splat(3);
  acc = dotCodes16(acc, v128.and(v, m3), qs, hi);
  acc = dotCodes16(acc, v128.and(i8x16.shr_u(v, 2), m3), qs + 64, hi);
  acc = dotCodes16(acc, v128.and(i8x16.shr_u(v, 4), m3), qs + 128, hi);
  return dotCodes16(acc, i8x16.shr_u(v, 6), qs + 192, hi);
}

/**
 * Σᵢ q[i]·k[i] over a row of m bytes at c, values `bits` wide, q in that width's chunk order:
 * int16 q and signed values, or with `codes` (K blocks) int32 qs and unsigned codes. `bits`
 * and `codes` are constants where inlined.
 */
// @ts-ignore: decorator
@inline function dotRowAt(q: usize, c: usize, m: i32, bits: i32, codes: bool): i32 {
  const full = m & ~15, rest = m - full;
  let acc = i32x4.splat(0), qc = q;
  for (let o = 0; o < full; o += 16) {
    const v = v128.load(c + <usize>o);
    acc = codes ? dotCodesChunk(acc, v, qc, bits, true) : dotChunk(acc, v, qc, bits, true);
    qc += <usize>((codes ? 512 : 256) / bits); // 16 · (8 / bits) int32 or int16
  }
  if (rest > 0) {
    const v = loadTail(c + <usize>full, rest);
    acc = codes ? dotCodesChunk(acc, v, qc, bits, rest > 8) : dotChunk(acc, v, qc, bits, rest > 8);
  }
  return i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
}

/** Σᵢ q[i]·k[i] over a row of hs values at byte address c, `bits` wide; q in that width's chunk order. */
function dotRow(q: usize, c: usize, hs: i32, bits: i32): i32 {
  const m = (hs * bits) >> 3;
  if (bits == 8) return dotRowAt(q, c, m, 8, false);
  if (bits == 4) return dotRowAt(q, c, m, 4, false);
  return dotRowAt(q, c, m, 2, false);
}

/** Σᵢ code_i·qs[i] over a packed K block row of hs unsigned codes at byte address c, `bits` wide. */
function dotCodesRow(qs: usize, c: usize, hs: i32, bits: i32): i32 {
  const m = (hs * bits) >> 3;
  if (bits == 8) return dotRowAt(qs, c, m, 8, true);
  if (bits == 4) return dotRowAt(qs, c, m, 4, true);
  return dotRowAt(qs, c, m, 2, true);
}

/** See the reference: out = attention of q over positions 0..pos of one layer's quantized cache. */
export function attentionQ(
  out: usize, q: usize, pos: i32,
  kc: usize, kM: usize, kE: usize, vc: usize, vM: usize, vE: usize,
  S: i32, nHeads: i32, nKv: i32, hs: i32, attM: i32, attE: i32,
  kBits: i32, vBits: i32, window: i32, A: i32, kBlock: i32, st: usize, exp2: usize,
  q12: usize, scores: usize, w: usize,
): void {
  const kvD = nKv * hs, group = divFloor(nHeads, nKv), n = pos + 1;
  // K blocks (§3.7.3): ring and anchor scales at rows kS + r, block b's (lo, step) pairs from mBase.
  const kS = kvKScaleBase(S, kBlock), mBase = (kS + window + A) * nKv;
  const kRing = (S * kvD * kBits) >> 3, vRing = (S * kvD * vBits) >> 3;
  const first8 = window > 0 ? n - window : n;
  const ringOff = first8 > 0 && window > 0 ? first8 % window - first8 : 0;
  const map = S * nKv;
  const accRingBytes = <usize>chunkedLen(hs, 8) << 2, accPackedBytes = <usize>chunkedLen(hs, vBits) << 2;
  for (let g = 0; g < nKv; g++) {
    const gh = g * hs;
    for (let r = 0; r < group; r++) {
      const h = g * group + r, qo = h * hs;
      quantizeAct<i16>(q12, 0, q, qo, hs, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
      mulScale(i32at(sc, 0), i32at(sc, 1), attM, attE, sc, 0);
      const qm = i32at(sc, 0), qe = i32at(sc, 1) - SCORE_FRAC;
      toChunkOrder(Q_RING, q12, hs, 8);
      if (kBlock == 0) toChunkOrder(Q_PACKED, q12, hs, kBits);
      // The block whose QS_BLOCK and Σ q12·lo (blockC) are ready: positions [bStart, bEnd).
      let bStart = 0, bEnd = 0, blockC = 0, b = 0;
      for (let t = 0; t < n; t++) {
        let acc: i32, ks: i32;
        const r8 = row8(t, g, first8, ringOff, window, A, st, map, nKv);
        if (r8 >= 0) {
          acc = dotRow(Q_RING, kc + <usize>(kRing + r8 * kvD + gh), hs, 8);
          ks = (kS + r8) * nKv + g;
        } else if (kBlock > 0) {
          if (t >= bEnd || t < bStart) {
            b = t / kBlock; bStart = b * kBlock; bEnd = bStart + kBlock;
            blockC = blockPrep(QS_BLOCK, q12, kM, mBase + 2 * (b * kvD + gh), hs, kBits);
          }
          acc = blockC + dotCodesRow(QS_BLOCK, kc + <usize>(((t * kvD + gh) * kBits) >> 3), hs, kBits);
          ks = b * nKv + g;
        } else {
          acc = dotRow(Q_PACKED, kc + <usize>(((t * kvD + gh) * kBits) >> 3), hs, kBits);
          ks = t * nKv + g;
        }
        set32(scores, t, mulShiftRound(acc, qm * i16at(kM, ks), qe + i8at(kE, ks)));
      }
      const sum = softmaxExp2(w, scores, n, exp2);
      if (A > 0) addAnchorScores(st, w, sum, n, nKv, g);
      const L = 24 - ceilLog2(n);
      const B = valueBitBound(w, vM, vE, n, g, first8, ringOff, window, A, st, map, nKv, S);
      if (B == -2147483647) {
        for (let i = 0; i < hs; i++) set32(out, qo + i, 0);
        continue;
      }
      memory.fill(ACC_RING, 0, accRingBytes);
      memory.fill(ACC_PACKED, 0, accPackedBytes);
      for (let t = 0; t < n; t++) {
        const r8 = row8(t, g, first8, ringOff, window, A, st, map, nKv), ks = r8 >= 0 ? (S + r8) * nKv + g : t * nKv + g;
        const wt = valueWeight(w, vM, vE, t, ks, B, L);
        if (wt == 0) continue;
        if (r8 >= 0) axpyRow(ACC_RING, wt, vc + <usize>(vRing + r8 * kvD + gh), hs, 8);
        else axpyRow(ACC_PACKED, wt, vc + <usize>(((t * kvD + gh) * vBits) >> 3), hs, vBits);
      }
      recipScale(sum, sc, 2);
      const shift = i32at(sc, 3) - ACT_FRAC - B + L;
      const rm = i32at(sc, 2);
      for (let i = 0; i < hs; i++) {
        const a = i32at(ACC_RING, i) + i32at(ACC_PACKED, chunkIndex(i, vBits));
        set32(out, qo + i, mulShiftRound(a, rm, shift));
      }
    }
  }
}
