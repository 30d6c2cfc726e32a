// Per-channel asymmetric K blocks (docs/integer-spec.md §3.7.3). Port of
// runtime/kernels/reference/kv_kblock.ts: the same requantization, layout and packing.
import { bitLength, divFloor, roundShift } from "./arith";
import { ZERO_SCALE_E, ZERO_SCALE_M } from "./constants";
import { i16at, i8at, set16, set8 } from "./mem";

/** First scale row of K's ring rows: floor(S / G) with blocks, else S. */
// @ts-ignore: decorator
@inline export function kvKScaleBase(S: i32, G: i32): i32 { return G > 0 ? S / G : S; }

/** Ring value (row rr, channel i of the head at c) in the block's 12-bit domain of exponent F. */
// @ts-ignore: decorator
@inline function block12(c: usize, kvD: i32, kM: usize, kE: usize, sr: i32, rr: i32, i: i32, F: i32): i32 {
  const v = i8at(c, rr * kvD + i) * i16at(kM, sr), d = i8at(kE, sr) - F;
  const x = d <= 0 ? v << -d : roundShift(v, d > 30 ? 30 : d);
  return x > 2047 ? 2047 : x < -2047 ? -2047 : x;
}

/** K block b of head g from its ring rows into packed codes, (lo, step) pairs and the block's scale (see the reference). */
export function kvRequantKBlock(
  kc: usize, kM: usize, kE: usize, kRing: i32, kS: i32, mBase: i32,
  nKv: i32, hs: i32, bits: i32, window: i32, G: i32, b: i32, g: i32,
): void {
  const kvD = nKv * hs, gh = g * hs, r0 = (b * G) % window, L = (1 << bits) - 1;
  const meta = mBase + 2 * (b * kvD + gh), ring = kc + <usize>(kRing + gh);
  let F = 0, any = false;
  for (let j = 0; j < G; j++) {
    const sr = (kS + r0 + j) * nKv + g;
    let a = 0;
    for (let i = 0; i < hs; i++) { const r = i8at(ring, (r0 + j) * kvD + i); const u = r < 0 ? -r : r; if (u > a) a = u; }
    if (a == 0) continue;
    const f = 11 + i8at(kE, sr) - bitLength(a * i16at(kM, sr));
    if (!any || f < F) F = f;
    any = true;
  }
  set16(kM, b * nKv + g, any ? 1 << 14 : ZERO_SCALE_M);
  set8(kE, b * nKv + g, any ? F + 14 : ZERO_SCALE_E);
  for (let i = 0; i < hs; i++) {
    let lo = 2047, hi = -2047;
    for (let j = 0; j < G; j++) {
      const x = any ? block12(ring, kvD, kM, kE, (kS + r0 + j) * nKv + g, r0 + j, i, F) : 0;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    set16(kM, meta + 2 * i, lo);
    set16(kM, meta + 2 * i + 1, divFloor(hi - lo + L - 1, L));
  }
  const per = 8 / bits;
  for (let j = 0; j < G; j++) {
    const o = kc + <usize>((((b * G + j) * kvD + gh) * bits) >> 3);
    for (let i0 = 0; i0 < hs; i0 += per) {
      let byte = 0;
      for (let u = 0; u < per; u++) {
        const i = i0 + u, lo = i16at(kM, meta + 2 * i), step = i16at(kM, meta + 2 * i + 1);
        const x = any ? block12(ring, kvD, kM, kE, (kS + r0 + j) * nKv + g, r0 + j, i, F) : 0;
        const code = step == 0 ? 0 : divFloor(2 * (x - lo) + step, 2 * step);
        byte |= code << (u * bits);
      }
      set8(o, (i0 * bits) >> 3, byte);
    }
  }
}

/** Σᵢ q12[i]·(lo_i + code_i·step_i) over the packed K row of unsigned codes at c, its (lo, step) pairs at kM[meta]. */
export function kBlockDot(q12: usize, c: usize, kM: usize, meta: i32, hs: i32, bits: i32): i32 {
  let acc = 0;
  const mask = (1 << bits) - 1;
  for (let i = 0; i < hs; i++) {
    const bit = i * bits, code = (<i32>load<u8>(c + <usize>(bit >> 3)) >> (bit & 7)) & mask;
    acc += <i32>load<i16>(q12 + (<usize>i << 1)) * (i16at(kM, meta + 2 * i) + code * i16at(kM, meta + 2 * i + 1));
  }
  return acc;
}
