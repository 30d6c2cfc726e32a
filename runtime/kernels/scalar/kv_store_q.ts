// Quantized KV cache store (docs/integer-spec.md §3.7.1). Port of
// runtime/kernels/reference/kv_store_q.ts: the same layout, rounding and packing.
import {
  INV_QMAX2_E, INV_QMAX2_M, INV_QMAX4_E, INV_QMAX4_M, INV_QMAX8_E, INV_QMAX8_M, QMAX2, QMAX4, QMAX8,
} from "./constants";
import { i32at, i8at, set16, set32, set8 } from "./mem";
import { quantizeAct } from "./quantize_act";
import { kvKScaleBase, kvRequantKBlock } from "./kv_kblock";

/** The largest magnitude of a value at `bits` (8, 4, 2: 127, 7, 1; so 2 bits are ternary), and 1/qmax as a scale. */
// @ts-ignore: decorator
@inline export function kvQmax(bits: i32): i32 { return bits == 8 ? QMAX8 : bits == 4 ? QMAX4 : QMAX2; }
// @ts-ignore: decorator
@inline export function kvInvQmaxM(bits: i32): i32 { return bits == 8 ? INV_QMAX8_M : bits == 4 ? INV_QMAX4_M : INV_QMAX2_M; }
// @ts-ignore: decorator
@inline export function kvInvQmaxE(bits: i32): i32 { return bits == 8 ? INV_QMAX8_E : bits == 4 ? INV_QMAX4_E : INV_QMAX2_E; }

/** Head g of x (Q16) into one row at byte address c: packed at `bits`, or int8 (bits 8). */
function storeHead(c: usize, cM: usize, cE: usize, srow: i32, x: usize, xo: i32, hs: i32, bits: i32, row8: usize, sc: usize): void {
  quantizeAct<i8>(row8, 0, x, xo, hs, 16, kvQmax(bits), kvInvQmaxM(bits), kvInvQmaxE(bits), sc, 0);
  set16(cM, srow, load<i32>(sc));
  set8(cE, srow, load<i32>(sc, 4));
  if (bits == 8) { memory.copy(c, row8, <usize>hs); return; }
  const per = bits == 4 ? 2 : 4, mask = (1 << bits) - 1;
  for (let j = 0; j < hs; j += per) {
    let byte = 0;
    for (let u = 0; u < per; u++) byte |= (i8at(row8, j + u) & mask) << (u * bits);
    set8(c, (j * bits) >> 3, byte);
  }
}

/** Copies int8 row `from` (values at c + row·kvD, scale row S + row; S: the slot's ring scale base) to row `to`, head g. */
function copyRow8(c: usize, cM: usize, cE: usize, S: i32, nKv: i32, kvD: i32, gh: i32, hs: i32, g: i32, from: i32, to: i32): void {
  memory.copy(c + <usize>(to * kvD + gh), c + <usize>(from * kvD + gh), <usize>hs);
  set16(cM, (S + to) * nKv + g, load<i16>(cM + (<usize>((S + from) * nKv + g) << 1)));
  set8(cE, (S + to) * nKv + g, i8at(cE, (S + from) * nKv + g));
}

/** The slot position c takes in head g's anchor set as it leaves the window, or -1 (see the reference). */
function anchorSlot(st: usize, S: i32, nKv: i32, A: i32, g: i32, c: i32): i32 {
  const tab = 2 * S * nKv;
  let weak = -1, weakScore = 0, weakPos = 0;
  for (let s = 0; s < A; s++) {
    const p = i32at(st, tab + s * nKv + g);
    if (<u32>p >= <u32>S) return s; // free (or outside [0, S): an arena never stored from position 0)
    const score = i32at(st, p * nKv + g);
    if (weak < 0 || score < weakScore || (score == weakScore && p > weakPos)) { weak = s; weakScore = score; weakPos = p; }
  }
  return i32at(st, c * nKv + g) > weakScore ? weak : -1;
}

/** Position 0 with anchors: every score 0, every slot map entry and slot free (-1). */
// @ts-ignore: decorator
@inline export function resetAnchors(st: usize, S: i32, nKv: i32, A: i32): void {
  const map = S * nKv;
  memory.fill(st, 0, <usize>map << 2);
  memory.fill(st + (<usize>map << 2), 255, <usize>(map + A * nKv) << 2); // -1
}

/** Head g's anchor step as `position` arrives: the position leaving the window takes a slot (copied from its ring row) or not. */
// @ts-ignore: decorator
@inline export function promoteAnchor(
  kc: usize, kM: usize, kE: usize, vc: usize, vM: usize, vE: usize,
  position: i32, S: i32, nKv: i32, hs: i32, kBits: i32, vBits: i32, window: i32, A: i32, kS: i32, st: usize, g: i32,
): void {
  const c = position - window, slot = anchorSlot(st, S, nKv, A, g, c);
  if (slot < 0) return;
  const kvD = nKv * hs, gh = g * hs, ring = position % window;
  const map = S * nKv, tab = 2 * S * nKv;
  const old = i32at(st, tab + slot * nKv + g);
  if (<u32>old < <u32>S) set32(st, map + old * nKv + g, -1);
  set32(st, map + c * nKv + g, slot);
  set32(st, tab + slot * nKv + g, c);
  copyRow8(kc + <usize>((S * kvD * kBits) >> 3), kM, kE, kS, nKv, kvD, gh, hs, g, ring, window + slot);
  copyRow8(vc + <usize>((S * kvD * vBits) >> 3), vM, vE, S, nKv, kvD, gh, hs, g, ring, window + slot);
}

/**
 * With K blocks (kBlock = G > 0), the block whose first position leaves the window now is
 * requantized from the ring (kv_kblock.ts) instead of storing K's packed row.
 */
// @ts-ignore: decorator
@inline export function storeKBlock(kc: usize, kM: usize, kE: usize, position: i32, S: i32, nKv: i32, hs: i32, kBits: i32, window: i32, A: i32, G: i32, g: i32): void {
  if (position < window || (position - window) % G != 0) return;
  const kS = kvKScaleBase(S, G);
  kvRequantKBlock(kc, kM, kE, (S * nKv * hs * kBits) >> 3, kS, (kS + window + A) * nKv, nKv, hs, kBits, window, G, (position - window) / G, g);
}

/** k, v (Q16 [nKv*hs]) of `position` into one layer's quantized cache; A anchor slots, G K's blocks, st the anchor state. row8: i8 [hs]; sc: i32 [4]. */
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
    if (kBlock > 0) storeKBlock(kc, kM, kE, position, S, nKv, hs, kBits, window, A, kBlock, g);
    else storeHead(kc + <usize>(((position * kvD + gh) * kBits) >> 3), kM, kE, position * nKv + g, k, gh, hs, kBits, row8, sc);
    storeHead(vc + <usize>(((position * kvD + gh) * vBits) >> 3), vM, vE, position * nKv + g, v, gh, hs, vBits, row8, sc);
    if (window > 0) {
      storeHead(kc + <usize>(kRing + ring * kvD + gh), kM, kE, (kS + ring) * nKv + g, k, gh, hs, 8, row8, sc);
      storeHead(vc + <usize>(vRing + ring * kvD + gh), vM, vE, (S + ring) * nKv + g, v, gh, hs, 8, row8, sc);
    }
  }
}
