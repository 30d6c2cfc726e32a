// Quantized KV cache store (docs/integer-spec.md §3.7.1, docs/kv-cache.md). One layer's
// cache is, for K and for V, a byte slot
//   [S rows of `bits`-bit values, packed] then [W ring rows of int8]
// and scale slots m (int16) / e (int8) [S + W, nKv]: rows 0..S-1 for the packed rows,
// S + (t mod W) for the ring. Each position is quantized per (position, kv head), symmetric
// (quantize_act.ts) with qmax 127 / 7 / 1 for 8 / 4 / 2 bits, and stored packed at row
// `position`; with a window (W > 0) it is also stored at 8 bits in ring row position mod W,
// which attention_q reads while the position is among the last W.
// Packing: value j of a row lies in bits [(j*b) mod 8, +b) of byte (j*b) >> 3, two's
// complement (little end first), so 4-bit values pair up in a byte, low nibble first.

import {
  ACT_FRAC, INV_QMAX2_E, INV_QMAX2_M, INV_QMAX4_E, INV_QMAX4_M, INV_QMAX8_E, INV_QMAX8_M, QMAX2, QMAX4, QMAX8,
} from './constants.ts';
import { quantizeAct } from './quantize_act.ts';

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

/**
 * Stores k, v (Q16, [nKv * hs]) of `position` into one layer's quantized cache (layout
 * above). row8: int8 scratch [hs]; sc: int32 scratch [4].
 */
export function kvStoreQ(
  kc: Int8Array, kM: Int16Array, kE: Int8Array, vc: Int8Array, vM: Int16Array, vE: Int8Array,
  k: Int32Array, v: Int32Array, position: number, S: number, nKv: number, hs: number,
  kBits: number, vBits: number, window: number, row8: Int8Array, sc: Int32Array,
): void {
  const kvD = nKv * hs;
  const ring = window > 0 ? position % window : 0;
  const kRing = (S * kvD * kBits) >> 3, vRing = (S * kvD * vBits) >> 3;
  for (let g = 0; g < nKv; g++) {
    const gh = g * hs;
    storeHead(kc, ((position * kvD + gh) * kBits) >> 3, kM, kE, position * nKv + g, k, gh, hs, kBits, row8, sc);
    storeHead(vc, ((position * kvD + gh) * vBits) >> 3, vM, vE, position * nKv + g, v, gh, hs, vBits, row8, sc);
    if (window > 0) {
      storeHead(kc, kRing + ring * kvD + gh, kM, kE, (S + ring) * nKv + g, k, gh, hs, 8, row8, sc);
      storeHead(vc, vRing + ring * kvD + gh, vM, vE, (S + ring) * nKv + g, v, gh, hs, 8, row8, sc);
    }
  }
}
