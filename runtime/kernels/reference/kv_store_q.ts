// Quantized KV cache store (docs/integer-spec.md §3.7.1, docs/kv-cache.md). One layer's
// cache is, for K and for V, a byte slot
//   [S rows of `bits`-bit values, packed] then [W ring rows of int8]
// and scale slots m (int16) / e (int8) [S + W, nKv]: rows 0..S-1 for the packed rows,
// S + (t mod W) for the ring. Each position is quantized per (position, kv head), symmetric
// (quantize_act.ts) with qmax 127 / 7 / 1 for 8 / 4 / 2 bits, and stored packed at row
// `position`; with a window (W > 0) it is also stored at 8 bits in ring row position mod W,
// which attention_q reads while the position is among the last W.
// Anchors (A > 0 slots per kv head, needs W > 0): A more int8 rows follow the ring rows
// (scales at S + W + slot), and an int32 state [S·nKv scores | S·nKv slot map | A·nKv slot
// table] (kvAnchorSlot below). attention_q adds each position's attention mass to its score;
// when position c = position - W leaves the window here, it takes the lowest free slot, or
// the slot of the weakest anchor (lowest score, ties: the higher position is weaker) if
// its score is strictly higher, by copying its ring row; the evicted anchor falls back to
// its packed row, which was written when it was stored (no re-quantization). Position 0
// starts a sequence: it clears the state.
// Packing: value j of a row lies in bits [(j*b) mod 8, +b) of byte (j*b) >> 3, two's
// complement (little end first), so 4-bit values pair up in a byte, low nibble first.

import {
  ACT_FRAC, INV_QMAX2_E, INV_QMAX2_M, INV_QMAX4_E, INV_QMAX4_M, INV_QMAX8_E, INV_QMAX8_M, QMAX2, QMAX4, QMAX8,
} from './constants.ts';
import { quantizeAct } from './quantize_act.ts';
import { divFloor } from './arith.ts';
import { kvKScaleBase, kvRequantKBlock } from './kv_kblock.ts';

/** qmax, 1/qmax (m, e) of a cache value width (8, 4 or 2 bits). */
export function kvQmax(bits: number, out: Int32Array): void {
  if (bits === 8) { out[0] = QMAX8; out[1] = INV_QMAX8_M; out[2] = INV_QMAX8_E; }
  else if (bits === 4) { out[0] = QMAX4; out[1] = INV_QMAX4_M; out[2] = INV_QMAX4_E; }
  else { out[0] = QMAX2; out[1] = INV_QMAX2_M; out[2] = INV_QMAX2_E; }
}

/** Bytes of one layer's K or V value slot: S packed rows of `bits` bits, then W int8 rows. */
export function kvSlotBytes(S: number, kvD: number, bits: number, window: number): number {
  return ((S * kvD * bits) >> 3) + window * kvD;
}

/** Value i of a packed row starting at byte `o` (two's complement, `bits` wide). */
export function kvUnpack(c: Int8Array, o: number, i: number, bits: number): number {
  if (bits === 8) return c[o + i];
  const bit = i * bits, byte = c[o + (bit >> 3)] & 255, sh = 32 - bits;
  return ((byte >> (bit & 7)) << sh) >> sh;
}

/** Quantizes head g of x (Q16) into one row: packed at `bits`, or int8 (bits 8). */
function storeHead(
  c: Int8Array, o: number, cM: Int16Array, cE: Int8Array, srow: number,
  x: Int32Array, xo: number, hs: number, bits: number, row8: Int8Array, sc: Int32Array,
): void {
  kvQmax(bits, sc);
  const qmax = sc[0], im = sc[1], ie = sc[2];
  quantizeAct(row8, 0, x, xo, hs, ACT_FRAC, qmax, im, ie, sc, 0);
  cM[srow] = sc[0]; cE[srow] = sc[1];
  if (bits === 8) { for (let i = 0; i < hs; i++) c[o + i] = row8[i]; return; }
  const per = bits === 4 ? 2 : 4, mask = (1 << bits) - 1; // values per byte
  for (let j = 0; j < hs; j += per) {
    let byte = 0;
    for (let u = 0; u < per; u++) byte |= (row8[j + u] & mask) << (u * bits);
    c[o + ((j * bits) >> 3)] = byte << 24 >> 24;
  }
}

/** Copies int8 row `from` (values at byte o + from·kvD, scale row S + from; S: the slot's ring scale base) to row `to`, for K or V. */
function copyRow8(c: Int8Array, cM: Int16Array, cE: Int8Array, o: number, S: number, nKv: number, kvD: number, gh: number, hs: number, g: number, from: number, to: number): void {
  for (let i = 0; i < hs; i++) c[o + to * kvD + gh + i] = c[o + from * kvD + gh + i];
  cM[(S + to) * nKv + g] = cM[(S + from) * nKv + g];
  cE[(S + to) * nKv + g] = cE[(S + from) * nKv + g];
}

/**
 * The anchor set of kv head g as position c leaves the window: the slot c takes (the
 * lowest free one, else the weakest anchor's if c's score beats it), or -1. st: the anchor
 * state (layout in the header).
 */
export function kvAnchorSlot(st: Int32Array, S: number, nKv: number, A: number, g: number, c: number): number {
  const tab = 2 * S * nKv;
  let weak = -1, weakScore = 0, weakPos = 0;
  for (let s = 0; s < A; s++) {
    const p = st[tab + s * nKv + g];
    if (p < 0 || p >= S) return s; // free (outside [0, S): only in an arena never stored from position 0)
    const score = st[p * nKv + g];
    // The weakest: lowest score; among equal scores, the higher position.
    if (weak < 0 || score < weakScore || (score === weakScore && p > weakPos)) { weak = s; weakScore = score; weakPos = p; }
  }
  // c's position is above every anchor's, so on equal scores the anchor stays.
  return st[c * nKv + g] > weakScore ? weak : -1;
}

/**
 * Stores k, v (Q16, [nKv * hs]) of `position` into one layer's quantized cache (layout
 * above). A: anchor slots per kv head; kBlock: G > 0 for per-channel K blocks of G
 * positions (kv_kblock.ts; needs window a multiple of G), 0 for per-token K; st: the anchor
 * state (int32 [(2S + A)·nKv]; unused without anchors). row8: int8 scratch [hs]; sc: int32 scratch [4].
 */
export function kvStoreQ(
  kc: Int8Array, kM: Int16Array, kE: Int8Array, vc: Int8Array, vM: Int16Array, vE: Int8Array,
  k: Int32Array, v: Int32Array, position: number, S: number, nKv: number, hs: number,
  kBits: number, vBits: number, window: number, A: number, kBlock: number, st: Int32Array, row8: Int8Array, sc: Int32Array,
): void {
  const kvD = nKv * hs, kS = kvKScaleBase(S, kBlock);
  const ring = window > 0 ? position % window : 0;
  const kRing = (S * kvD * kBits) >> 3, vRing = (S * kvD * vBits) >> 3;
  const map = S * nKv, tab = 2 * S * nKv;
  if (A > 0 && position === 0) {
    for (let i = 0; i < map; i++) { st[i] = 0; st[map + i] = -1; }
    for (let i = 0; i < A * nKv; i++) st[tab + i] = -1;
  }
  for (let g = 0; g < nKv; g++) {
    const gh = g * hs;
    if (A > 0 && position >= window) {
      // Position c leaves the window now (its ring row is about to be overwritten).
      const c = position - window, slot = kvAnchorSlot(st, S, nKv, A, g, c);
      if (slot >= 0) {
        const old = st[tab + slot * nKv + g];
        if (old >= 0 && old < S) st[map + old * nKv + g] = -1;
        st[map + c * nKv + g] = slot;
        st[tab + slot * nKv + g] = c;
        copyRow8(kc, kM, kE, kRing, kS, nKv, kvD, gh, hs, g, ring, window + slot);
        copyRow8(vc, vM, vE, vRing, S, nKv, kvD, gh, hs, g, ring, window + slot);
      }
    }
    // Blocks: the block whose first position c = position - window leaves the window now is
    // complete in the ring; its packed K rows are written from there, not K's row here.
    if (kBlock > 0) {
      if (position >= window && (position - window) % kBlock === 0) {
        kvRequantKBlock(kc, kM, kE, kRing, kS, (kS + window + A) * nKv, nKv, hs, kBits, window, kBlock, divFloor(position - window, kBlock), g);
      }
    } else storeHead(kc, ((position * kvD + gh) * kBits) >> 3, kM, kE, position * nKv + g, k, gh, hs, kBits, row8, sc);
    storeHead(vc, ((position * kvD + gh) * vBits) >> 3, vM, vE, position * nKv + g, v, gh, hs, vBits, row8, sc);
    if (window > 0) {
      storeHead(kc, kRing + ring * kvD + gh, kM, kE, (kS + ring) * nKv + g, k, gh, hs, 8, row8, sc);
      storeHead(vc, vRing + ring * kvD + gh, vM, vE, (S + ring) * nKv + g, v, gh, hs, 8, row8, sc);
    }
  }
}
