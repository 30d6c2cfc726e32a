// Low-bit (1..4-bit) group quantization for the LUT formats (docs/integer-spec.md §9.1,
// layout in lowbit-format.ts). Per row: a row scale (m, e); per group of G columns: an
// integer mantissa gm in [0, 255] and a zero point z2 in [0, 2(2^b - 1)] (half steps), so
//   w ≈ m 2^-e · gm · (2q - z2),   q in [0, 2^b - 1].
// Levels are 2q - z2: odd z2 gives the symmetric odd levels (b = 1: ±1), even z2 an
// asymmetric grid with a representable zero. Each group's scale and zero point minimize
// the group's squared error over a grid of clip ratios c (range [c·lo, c·hi] with
// lo = min(0, min w), hi = max(0, max w)) and the neighbouring zero points, evaluated with
// the *stored* scale gm · rowScale: what the device multiplies by is what was searched.
// A last group cut short by the matrix's end (cols not a multiple of G: the layout pads it,
// lowbit-format.ts) is searched on its real columns only.
// clip: false gives plain min/max (c = 1), the baseline the tests compare against.
import { EdgeqError } from '../util/errors.ts';
import { roundHalfAway, scaleValue, toScale } from './fixed-point.ts';
import {
  LUT_GM_MAX, LUT_GROUP_SHIFT, checkShape, groupCols, groupsOf, packGroups, packPlanes, qmaxOf, unpackGroups, unpackPlanes, z2MaxOf,
  type LowBits,
} from './lowbit-format.ts';

export interface LowbitOptions {
  bits: LowBits;
  groupSize: number;
  /** Clip search (default true); false: min/max range. */
  clip?: boolean;
  /** Clip ratios tried (default 1, 0.98, ..., 0.20). */
  ratios?: number[];
}

export interface LowbitMatrix {
  bits: LowBits;
  groupSize: number;
  rows: number;
  cols: number;
  /** Tiled bit-planes (tensor X). */
  planes: Uint8Array;
  /** gm / z2 per (row, group), tiled (tensor X.groups). */
  groups: Uint8Array;
  /** Row scales (X.scale_m, X.scale_e). */
  scaleM: Int16Array;
  scaleE: Int8Array;
  /** Sum over all weights of (w - dequantized)^2. */
  sqError: number;
}

/** Exponent of an all-zero row (its groups have gm = 0, so any value works). */
export const LOWBIT_ZERO_ROW_E = 40;
/** Row scale exponents must be at least this (spec §9.5: the output shift stays >= 0). */
export const LOWBIT_MIN_ROW_E = LUT_GROUP_SHIFT + 6;

export const DEFAULT_RATIOS: readonly number[] = Array.from({ length: 41 }, (_, i) => 1 - 0.02 * i);

/** Codes of w[off..off+gs) for scale s and zero point z2, and the squared error. */
function quantGroup(w: Float32Array, off: number, gs: number, s: number, z2: number, qmax: number, codes: Uint8Array): number {
  let err = 0;
  const inv = 1 / (2 * s);
  for (let j = 0; j < gs; j++) {
    const x = w[off + j];
    let q = roundHalfAway(x * inv + z2 / 2);
    if (q < 0) q = 0; else if (q > qmax) q = qmax;
    codes[off + j] = q;
    const dlt = x - s * (2 * q - z2);
    err += dlt * dlt;
  }
  return err;
}

/** z when it is a zero point in [0, Z] not among the three already tried, else -1. */
const fresh = (z: number, Z: number, a: number, b: number, c: number): number => (z >= 0 && z <= Z && z !== a && z !== b && z !== c ? z : -1);

// The search's state and result, in module scratch: no allocation per group. best* is the
// winner so far, bestI its candidate index (3 r + t for ratio r and z2 = z0, z0 - 1, z0 + 1;
// -1 for all-zero codes); lastS / seen* the zero points already tried at scale lastS.
let bestS = 0, bestZ2 = 0, bestErr = 0, bestI = -1;
let lastS = -1, seen0 = -1, seen1 = -1, seen2 = -1;
/** The group's smallest and largest weight (lo / hi are these clamped to include 0). */
let minX = 0, maxX = 0;

/** The error term of weight x at scale s, zero point z (the same arithmetic as the loop in tryRatio). */
function term(x: number, inv: number, s: number, z: number, qmax: number): number {
  const q = Math.max(0, Math.min(x * inv + z / 2 + 0.5, qmax)) | 0, d = x - s * (2 * q - z);
  return d * d;
}

/**
 * Best (scale, z2) of one group into bestS / bestZ2 / bestErr / bestI. rowScale 0: the first
 * pass (the real scale c (hi - lo) / Z itself); else stored scales gm · rowScale. `hint`:
 * the ratio index to try first (a likely winner: a tight bound early), or -1.
 *
 * The choice is that of the one-candidate-at-a-time search (test/helpers/lowbit-reference.ts:
 * ratios in order, z2 = z0, z0 - 1, z0 + 1, a strictly smaller error wins, so the winner is
 * the smallest error, the earliest candidate among equals), made faster without changing a bit:
 * - the winner is taken by (error, candidate index), so any evaluation order gives it;
 * - the three z2 of a ratio are evaluated in one pass over the group, each error still
 *   summed in column order (three independent add chains instead of one);
 * - a running sum only grows (non-negative terms, rounding is monotone): once all three
 *   exceed the best error, none can win, and the pass stops (checked every 8 columns);
 * - a (scale, z2) pair met again later in order cannot win (same error, later index): the
 *   second pass maps many ratios to one gm, so these are skipped;
 * - the rounding: for v = x / 2s + z2/2, roundHalfAway(v) clamped to [0, qmax] equals
 *   trunc(max(0, min(v + 0.5, qmax))) (v < 0 gives 0 both ways; v + 0.5 is the same sum).
 */
function searchGroup(w: Float32Array, off: number, gs: number, bits: LowBits, ratios: readonly number[], rowScale: number, hint: number): void {
  let lo = 0, hi = 0, all = 0, mn = w[off], mx = w[off];
  const end = off + gs;
  for (let j = off; j < end; j++) {
    const x = w[j];
    if (x < lo) lo = x; if (x > hi) hi = x; if (x < mn) mn = x; if (x > mx) mx = x;
    all += x * x;
  }
  minX = mn; maxX = mx;
  // All-zero codes (s = 0): the error is the sum of x^2, in column order.
  bestS = 0; bestZ2 = 0; bestErr = all; bestI = -1;
  if (hi === lo) return;
  const Z = z2MaxOf(bits), qmax = qmaxOf(bits);
  if (hint >= 0 && hint < ratios.length) tryRatio(w, off, end, lo, hi, ratios, hint, Z, qmax, rowScale, false);
  lastS = -1;
  for (let r = 0; r < ratios.length; r++) if (r !== hint) tryRatio(w, off, end, lo, hi, ratios, r, Z, qmax, rowScale, true);
}

/** The candidates of ratio index r (see searchGroup); `dedupe`: skip pairs tried at lastS. */
function tryRatio(w: Float32Array, off: number, end: number, lo: number, hi: number, ratios: readonly number[], r: number, Z: number, qmax: number, rowScale: number, dedupe: boolean): void {
  const c = ratios[r];
  const t = (c * (hi - lo)) / Z;
  const s = rowScale === 0 ? t : Math.min(LUT_GM_MAX, Math.max(1, roundHalfAway(t / rowScale))) * rowScale;
  if (!(s > 0)) return;
  const z0 = Math.min(Z, Math.max(0, roundHalfAway((-c * lo) / s)));
  if (!dedupe || s !== lastS) { lastS = s; seen0 = seen1 = seen2 = -1; }
  const za = fresh(z0, Z, seen0, seen1, seen2), zb = fresh(z0 - 1, Z, seen0, seen1, seen2), zc = fresh(z0 + 1, Z, seen0, seen1, seen2);
  seen0 = z0; seen1 = z0 - 1; seen2 = z0 + 1;
  if (za < 0 && zb < 0 && zc < 0) return;
  const inv = 1 / (2 * s);
  const stop = bestErr;
  // A lower bound first: a candidate's error is at least its terms of the smallest and the
  // largest weight (a float sum of non-negative terms is at least the sum of any two of
  // them); clipping those costs most at small ratios, so many candidates end here.
  if ((za < 0 || term(minX, inv, s, za, qmax) + term(maxX, inv, s, za, qmax) > stop) &&
      (zb < 0 || term(minX, inv, s, zb, qmax) + term(maxX, inv, s, zb, qmax) > stop) &&
      (zc < 0 || term(minX, inv, s, zc, qmax) + term(maxX, inv, s, zc, qmax) > stop)) return;
  const ha = za / 2, hb = zb / 2, hc = zc / 2;
  let ea = 0, eb = 0, ec = 0;
  let j = off;
  while (j < end) {
    const blockEnd = Math.min(end, j + 8);
    for (; j < blockEnd; j++) {
      const x = w[j], u = x * inv;
      const qa = Math.max(0, Math.min(u + ha + 0.5, qmax)) | 0;
      const qb = Math.max(0, Math.min(u + hb + 0.5, qmax)) | 0;
      const qc = Math.max(0, Math.min(u + hc + 0.5, qmax)) | 0;
      const da = x - s * (2 * qa - za), db = x - s * (2 * qb - zb), dc = x - s * (2 * qc - zc);
      ea += da * da; eb += db * db; ec += dc * dc;
    }
    if ((za < 0 || ea > stop) && (zb < 0 || eb > stop) && (zc < 0 || ec > stop)) return; // none can win
  }
  const i = 3 * r;
  if (za >= 0 && (ea < bestErr || (ea === bestErr && i < bestI))) { bestS = s; bestZ2 = za; bestErr = ea; bestI = i; }
  if (zb >= 0 && (eb < bestErr || (eb === bestErr && i + 1 < bestI))) { bestS = s; bestZ2 = zb; bestErr = eb; bestI = i + 1; }
  if (zc >= 0 && (ec < bestErr || (ec === bestErr && i + 2 < bestI))) { bestS = s; bestZ2 = zc; bestErr = ec; bestI = i + 2; }
}

/**
 * Per-row results of the search (row-major like the codes), written by quantizeRowsInto for
 * any range of rows: rows are independent, so threads can share a matrix (lowbit-pool.ts)
 * and the bytes do not depend on who computed which row. groupErr holds each group's error
 * (for a row with status 2: the offending group scale); the total is summed afterwards in
 * the one-thread order.
 */
export interface LowbitRows {
  codes: Uint8Array; gm: Uint8Array; z2: Uint8Array;
  scaleM: Int16Array; scaleE: Int8Array;
  groupErr: Float64Array;
  /** 0: groups; 1: stored as a zero row (error: the sum of its w^2); 2: a group scale too large. */
  status: Int8Array;
}

/** Buffers for LowbitRows (plain, or SharedArrayBuffers for worker threads; `alloc` may return a larger buffer, its start is used). */
export function lowbitRows(rows: number, cols: number, groupSize: number, alloc: (bytes: number) => ArrayBufferLike = (n) => new ArrayBuffer(n)): LowbitRows {
  const ng = groupsOf(cols, groupSize);
  return {
    codes: new Uint8Array(alloc(rows * cols), 0, rows * cols),
    gm: new Uint8Array(alloc(rows * ng), 0, rows * ng), z2: new Uint8Array(alloc(rows * ng), 0, rows * ng),
    scaleM: new Int16Array(alloc(2 * rows), 0, rows), scaleE: new Int8Array(alloc(rows), 0, rows),
    groupErr: new Float64Array(alloc(8 * rows * ng), 0, rows * ng), status: new Int8Array(alloc(rows), 0, rows),
  };
}

/** The clip search of rows [r0, r1) of w [rows, cols] into out. */
export function quantizeRowsInto(w: Float32Array, cols: number, bits: LowBits, gs: number, ratios: readonly number[], r0: number, r1: number, out: LowbitRows): void {
  const ng = groupsOf(cols, gs), qmax = qmaxOf(bits);
  const { codes, gm, z2, scaleM, scaleE, groupErr, status } = out;
  const hints = new Int32Array(ng), span = new Float64Array(ng), order: number[] = new Array(ng).fill(0);
  const Z = z2MaxOf(bits), cmax = Math.max(...ratios);
  for (let o = r0; o < r1; o++) {
    // Pass 1: each group's best real scale; the row scale puts the largest at gm = 255.
    // Only the largest matters: groups go widest range first, and a group whose largest
    // candidate scale (cmax · range / Z, the float expression being monotone in c) is at
    // most the largest so far cannot change it and is not searched. The winning ratio of a
    // group is tried first in pass 2 (hints; a skipped group takes the last winner); pass 1
    // starts each group with the previous winner. Hints change the speed, not the choice.
    for (let g = 0; g < ng; g++) {
      let lo = 0, hi = 0;
      for (let j = o * cols + g * gs, end = j + groupCols(cols, gs, g); j < end; j++) { const x = w[j]; if (x < lo) lo = x; if (x > hi) hi = x; }
      span[g] = hi - lo; order[g] = g;
    }
    order.sort((a, b) => span[b] - span[a] || a - b);
    let smax = 0, hint = -1;
    for (const g of order) {
      if ((cmax * span[g]) / Z <= smax) { hints[g] = hint; continue; }
      searchGroup(w, o * cols + g * gs, groupCols(cols, gs, g), bits, ratios, 0, hint);
      smax = Math.max(smax, bestS);
      hint = hints[g] = bestI < 0 ? -1 : Math.floor(bestI / 3);
    }
    const rs = smax === 0 ? null : toScale(smax / LUT_GM_MAX);
    if (rs && rs.e < LOWBIT_MIN_ROW_E) { status[o] = 2; groupErr[o * ng] = smax; continue; }
    if (!rs || rs.e > 127) { scaleM[o] = 16384; scaleE[o] = LOWBIT_ZERO_ROW_E; status[o] = 1; continue; }
    const rowScale = scaleValue(rs);
    scaleM[o] = rs.m; scaleE[o] = rs.e; status[o] = 0;
    // Pass 2: the search again, against stored scales gm · rowScale.
    for (let g = 0; g < ng; g++) {
      const off = o * cols + g * gs, len = groupCols(cols, gs, g);
      searchGroup(w, off, len, bits, ratios, rowScale, hints[g]);
      const gi = o * ng + g;
      if (bestS === 0) { gm[gi] = 0; z2[gi] = 0; groupErr[gi] = bestErr; continue; }
      gm[gi] = roundHalfAway(bestS / rowScale);
      z2[gi] = bestZ2;
      groupErr[gi] = quantGroup(w, off, len, gm[gi] * rowScale, bestZ2, qmax, codes);
    }
  }
}

/**
 * Runs quantizeRowsInto over every row of a matrix, here or on several threads
 * (lowbit-pool.ts), and returns the filled rows.
 */
export type LowbitRowRunner = (w: Float32Array, rows: number, cols: number, bits: LowBits, groupSize: number, ratios: readonly number[]) => LowbitRows;

export const runRowsHere: LowbitRowRunner = (w, rows, cols, bits, gs, ratios) => {
  const out = lowbitRows(rows, cols, gs);
  quantizeRowsInto(w, cols, bits, gs, ratios, 0, rows, out);
  return out;
};

/** Quantizes a float matrix [rows, cols] (row-major) to the `bits`-bit LUT format. */
export function quantizeLowbit(w: Float32Array, rows: number, cols: number, opts: LowbitOptions, run: LowbitRowRunner = runRowsHere): LowbitMatrix {
  const { bits, groupSize: gs } = opts;
  checkShape(bits, rows, cols, gs);
  const ratios = opts.clip === false ? [1] : (opts.ratios ?? DEFAULT_RATIOS);
  const ng = groupsOf(cols, gs);
  const out = run(w, rows, cols, bits, gs, ratios);
  // The error summed in the order the one-thread search added it: row by row, group by
  // group (a zero row: weight by weight). The first row whose scale is too large throws.
  let sqError = 0;
  for (let o = 0; o < rows; o++) {
    if (out.status[o] === 2) {
      const smax = out.groupErr[o * ng];
      throw new EdgeqError(`low-bit quantization: row ${o} has a group scale ${smax.toExponential(3)}, too large (row scale exponent ${toScale(smax / LUT_GM_MAX).e} < ${LOWBIT_MIN_ROW_E})`);
    }
    if (out.status[o] === 1) { for (let j = 0; j < cols; j++) sqError += w[o * cols + j] ** 2; continue; }
    for (let g = 0; g < ng; g++) sqError += out.groupErr[o * ng + g];
  }
  return {
    bits, groupSize: gs, rows, cols,
    planes: packPlanes(out.codes, bits, rows, cols, gs), groups: packGroups(out.gm, out.z2, rows, cols, gs),
    scaleM: out.scaleM, scaleE: out.scaleE, sqError,
  };
}

/** The real values the format represents (host-side, for error measurement). */
export function dequantizeLowbit(m: LowbitMatrix): Float32Array {
  const { rows, cols, groupSize: gs, bits } = m;
  const codes = unpackPlanes(m.planes, bits, rows, cols, gs);
  const { gm, z2 } = unpackGroups(m.groups, rows, cols, gs);
  const out = new Float32Array(rows * cols), ng = groupsOf(cols, gs);
  for (let o = 0; o < rows; o++) {
    const rs = m.scaleM[o] * 2 ** -m.scaleE[o];
    for (let j = 0; j < cols; j++) {
      const gi = o * ng + Math.floor(j / gs);
      out[o * cols + j] = rs * gm[gi] * (2 * codes[o * cols + j] - z2[gi]);
    }
  }
  return out;
}
