// Quantized KV cache store with WebAssembly SIMD (docs/integer-spec.md §3.7.1): the same
// bytes as runtime/kernels/scalar/kv_store_q.ts, with the same signature. The anchor step
// (slot choice, copy of the ring row) is the scalar kernel's code; what runs 16 values at a
// time is each row's quantization (§3.2: absmax, the normalizing shift, the rounding by the
// reciprocal, all int32 and exact in any lane order) and its packing.
//
// Packing without shuffles: 16 int8 values of a row in one i8x16, masked to `bits`. At 4
// bits each i16 lane holds two neighbours b0 | b1<<8, and lane | lane>>4 puts b0 | b1<<4 in
// its low byte; at 2 bits each i32 lane holds four, and t = x | x>>6, t | t>>12 puts
// b0 | b1<<2 | b2<<4 | b3<<6 in its low byte. A narrowing to unsigned bytes then gathers the
// low bytes (8 or 4 of them), stored as one lane.
//
// A row's last values (hs mod 16 of them: head sizes are any multiple of 8 / bits) go
// through the same code from a zero-padded copy; the zeros change neither the absmax nor
// the bytes kept, and only the row's own bytes are written.
import { ACT_FRAC, ZERO_SCALE_E, ZERO_SCALE_M } from "../scalar/constants";
import {
  kvInvQmaxE, kvInvQmaxM, kvQmax, promoteAnchor, resetAnchors, storeKBlock,
} from "../scalar/kv_store_q";
import { kvKScaleBase } from "../scalar/kv_kblock";
import { divRound } from "../scalar/arith";
import { set16, set8 } from "../scalar/mem";
import { actRecipBits, actShift } from "../scalar/quantize_act";
import { mulScale } from "../scalar/scale";

/** The last (hs mod 16) values of a row, zero-padded to 16 int32; and their packed bytes. */
const PAD: usize = memory.data(64, 16);
const PACKED: usize = memory.data(16, 16);

/** max |x| over 16 int32 at p, folded into m. */
// @ts-ignore: decorator
@inline function absMax16(m: v128, p: usize): v128 {
  m = i32x4.max_s(m, i32x4.abs(v128.load(p)));
  m = i32x4.max_s(m, i32x4.abs(v128.load(p, 16)));
  m = i32x4.max_s(m, i32x4.abs(v128.load(p, 32)));
  return i32x4.max_s(m, i32x4.abs(v128.load(p, 48)));
}

/** Four int32 at p quantized (§3.2 step 3): ((x >> k)·r + half) >> K, clamped to ±qmax. */
// @ts-ignore: decorator
@inline function quant4(p: usize, k: i32, r: v128, half: v128, K: i32, qmax: v128, nqmax: v128): v128 {
  const x = v128.load(p);
  const xn = k >= 0 ? i32x4.shr_s(x, k) : i32x4.shl(x, -k);
  return i32x4.min_s(i32x4.max_s(i32x4.shr_s(i32x4.add(i32x4.mul(xn, r), half), K), nqmax), qmax);
}

/** 16 values at `bits` (a constant where inlined) from 16 int8 lanes q, stored as 16·bits/8 bytes at c. */
// @ts-ignore: decorator
@inline function pack16(c: usize, q: v128, bits: i32): void {
  if (bits == 8) { v128.store(c, q); return; }
  if (bits == 4) {
    const x = v128.and(q, i8x16.splat(15));
    const t = v128.and(v128.or(x, i16x8.shr_u(x, 4)), i16x8.splat(255));
    v128.store64_lane(c, i8x16.narrow_i16x8_u(t, t), 0);
    return;
  }
  const x = v128.and(q, i8x16.splat(3));
  let t = v128.or(x, i32x4.shr_u(x, 6));
  t = v128.and(v128.or(t, i32x4.shr_u(t, 12)), i32x4.splat(255));
  const b = i16x8.narrow_i32x4_u(t, t);
  v128.store32_lane(c, i8x16.narrow_i16x8_u(b, b), 0);
}

/** Quantizes 16 int32 at p and packs them at c. */
// @ts-ignore: decorator
@inline function quantPack16(c: usize, p: usize, k: i32, r: v128, half: v128, K: i32, qmax: v128, nqmax: v128, bits: i32): void {
  const a = i16x8.narrow_i32x4_s(quant4(p, k, r, half, K, qmax, nqmax), quant4(p + 16, k, r, half, K, qmax, nqmax));
  const b = i16x8.narrow_i32x4_s(quant4(p + 32, k, r, half, K, qmax, nqmax), quant4(p + 48, k, r, half, K, qmax, nqmax));
  pack16(c, i8x16.narrow_i16x8_s(a, b), bits);
}

/** x[0..hs) (Q16 int32 at xp) into one row at byte address c, `bits` wide (a constant where inlined), its scale at row srow of cM, cE. */
// @ts-ignore: decorator
@inline function storeRow(c: usize, cM: usize, cE: usize, srow: i32, xp: usize, hs: i32, bits: i32, sc: usize): void {
  const full = hs & ~15, rest = hs - full, tail = xp + (<usize>full << 2);
  let m = i32x4.splat(0);
  for (let i = 0; i < full; i += 16) m = absMax16(m, xp + (<usize>i << 2));
  if (rest > 0) {
    memory.fill(PAD, 0, 64);
    memory.copy(PAD, tail, <usize>rest << 2);
    m = absMax16(m, PAD);
  }
  m = i32x4.max_s(m, i8x16.shuffle(m, m, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  m = i32x4.max_s(m, i8x16.shuffle(m, m, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
  const amax = i32x4.extract_lane(m, 0);
  if (amax == 0) {
    memory.fill(c, 0, <usize>((hs * bits) >> 3));
    set16(cM, srow, ZERO_SCALE_M); set8(cE, srow, ZERO_SCALE_E);
    return;
  }
  const qm = kvQmax(bits), k = actShift(amax), K = actRecipBits(qm);
  const an = k >= 0 ? amax >> k : amax << -k;
  const r = i32x4.splat(divRound(qm << K, an)), half = i32x4.splat(1 << (K - 1));
  const qmax = i32x4.splat(qm), nqmax = i32x4.splat(-qm);
  for (let i = 0; i < full; i += 16) quantPack16(c + <usize>((i * bits) >> 3), xp + (<usize>i << 2), k, r, half, K, qmax, nqmax, bits);
  if (rest > 0) {
    quantPack16(PACKED, PAD, k, r, half, K, qmax, nqmax, bits);
    memory.copy(c + <usize>((full * bits) >> 3), PACKED, <usize>((rest * bits) >> 3));
  }
  mulScale(an, ACT_FRAC - k, kvInvQmaxM(bits), kvInvQmaxE(bits), sc, 0); // amax / qmax
  set16(cM, srow, load<i32>(sc));
  set8(cE, srow, load<i32>(sc, 4));
}

/** Head g of x (Q16, from element xo) into one row at c, `bits` wide (8, 4 or 2). */
function storeHead(c: usize, cM: usize, cE: usize, srow: i32, x: usize, xo: i32, hs: i32, bits: i32, sc: usize): void {
  const xp = x + (<usize>xo << 2);
  if (bits == 8) storeRow(c, cM, cE, srow, xp, hs, 8, sc);
  else if (bits == 4) storeRow(c, cM, cE, srow, xp, hs, 4, sc);
  else storeRow(c, cM, cE, srow, xp, hs, 2, sc);
}

/** See the scalar kernel. row8 is unused here (the rows are quantized in registers). */
export function kvStoreQ(
  kc: usize, kM: usize, kE: usize, vc: usize, vM: usize, vE: usize,
  k: usize, v: usize, position: i32, S: i32, nKv: i32, hs: i32,
  kBits: i32, vBits: i32, window: i32, A: i32, kBlock: i32, st: usize, row8: usize, sc: usize,
): void {
  const kvD = nKv * hs, kS = kvKScaleBase(S, kBlock);
  const ring = window > 0 ? position % window : 0;
  const kRing = (S * kvD * kBits) >> 3, vRing = (S * kvD * vBits) >> 3;
  if (A > 0 && position == 0) resetAnchors(st, S, nKv, A);
  for (let g = 0; g < nKv; g++) {
    const gh = g * hs;
    if (A > 0 && position >= window) promoteAnchor(kc, kM, kE, vc, vM, vE, position, S, nKv, hs, kBits, vBits, window, A, kS, st, g);
    // K blocks: the scalar kernel's requantization (no SIMD kernel for it yet).
    if (kBlock > 0) storeKBlock(kc, kM, kE, position, S, nKv, hs, kBits, window, A, kBlock, g);
    else storeHead(kc + <usize>(((position * kvD + gh) * kBits) >> 3), kM, kE, position * nKv + g, k, gh, hs, kBits, sc);
    storeHead(vc + <usize>(((position * kvD + gh) * vBits) >> 3), vM, vE, position * nKv + g, v, gh, hs, vBits, sc);
    if (window > 0) {
      storeHead(kc + <usize>(kRing + ring * kvD + gh), kM, kE, (kS + ring) * nKv + g, k, gh, hs, 8, sc);
      storeHead(vc + <usize>(vRing + ring * kvD + gh), vM, vE, (S + ring) * nKv + g, v, gh, hs, 8, sc);
    }
  }
}
