// Per-bit-plane scales (ELUTQ's hierarchical linear quantization, issue 15 item 3), fitted
// offline for the experiment scripts/eval-hlq.ts: measured, not built (docs/quality.md,
// "Per-bit-plane scales (ELUTQ): measured").
//
// A group of G weights (one row, G consecutive columns) is coded as b bit-planes b_k and
//   w ≈ Σ_k a_k b_k + z        (a non-uniform grid of 2^b levels per group),
// where today's LUT formats (lowbit.ts) fix a_k = 2^(k+1) s, z = -s z2. Fit: from two starts
// (the clip search's uniform grid and codes; equal-count codes), alternate (ALS) a weighted least-squares solve
// of (a_0..a_{b-1}, z) for fixed codes with a nearest-level assignment of the codes for fixed
// (a, z); each step can only lower the weighted error Σ_j d_j (w_j - ŵ_j)^2, d_j = H_jj the
// diagonal of column j's input Hessian (calibrate.ts). Then the stored precision: a_k ≥ 0
// (a negative a_k is the same grid with plane k complemented) as u8 mantissas A_k times a
// row scale ra, and z one of three ways (ZMode):
//   z16  int16 Z, z = Z ra                         (b + 2 bytes per group)
//   z8r  int8 Z, z = Z ra 2^t, t >= 0 per row      (b + 1 bytes per group, 1 byte per row)
//   z8g  int8 Z, z = Z ra Amax_g / 64, Amax_g the group's largest A_k (b + 1 bytes per group):
//        z relative to the group's own scale, as today's z2 is
// All three keep one row scale and integer per-group terms for a kernel. Then the codes are
// re-assigned on the stored grid, and a few more rounds of solve / round / re-assign are
// kept while they lower the weighted error.
import { roundHalfAway, scaleValue, toScale } from '../compiler/quantize/fixed-point.ts';
import { inverseHessianFactor } from '../compiler/quantize/gptq.ts';
import { groupBytes, planeBytes, tilesOf, LUT_TILE_ROWS, unpackGroups, unpackPlanes, type LowBits } from '../compiler/quantize/lowbit-format.ts';
import { quantizeLowbit } from '../compiler/quantize/lowbit.ts';

export type ZMode = 'z16' | 'z8r' | 'z8g';
export const Z_MODES: readonly ZMode[] = ['z16', 'z8r', 'z8g'];
export interface HlqOptions { bits: LowBits; groupSize: number; z: ZMode; iters?: number }

export interface HlqFit {
  /** Codes, row-major [rows, cols]. */
  codes: Uint8Array;
  /** The 2^b stored level values of each (row, group), [rows, cols/G, 2^b]. */
  levels: Float64Array;
  /** Dequantized weights (levels[codes]). */
  dq: Float32Array;
}

/** The bytes the format would store: planes, b u8 mantissas + z per (row, group), row scales. */
export function hlqBytes(bits: number, rows: number, cols: number, groupSize: number, z: ZMode): number {
  return planeBytes(bits, rows, cols, groupSize) + tilesOf(rows) * LUT_TILE_ROWS * (cols / groupSize) * (bits + (z === 'z16' ? 2 : 1)) + rows * (z === 'z8r' ? 4 : 3);
}
/** The bytes of today's LUT format (lowbit-format.ts), the same count. */
export const lutBytes = (bits: number, rows: number, cols: number, groupSize: number): number =>
  planeBytes(bits, rows, cols, groupSize) + groupBytes(rows, cols, groupSize) + 3 * rows;

/** Solves the n x n system m x = v in place (partial pivoting); false when singular. */
function solve(m: Float64Array, v: Float64Array, n: number): boolean {
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[p * n + c])) p = r;
    if (!(Math.abs(m[p * n + c]) > 0)) return false;
    if (p !== c) {
      for (let k = 0; k < n; k++) { const t = m[c * n + k]; m[c * n + k] = m[p * n + k]; m[p * n + k] = t; }
      const t = v[c]; v[c] = v[p]; v[p] = t;
    }
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      if (f === 0) continue;
      for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
      v[r] -= f * v[c];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let s = v[c];
    for (let k = c + 1; k < n; k++) s -= m[c * n + k] * v[k];
    v[c] = s / m[c * n + c];
  }
  return true;
}

/**
 * The weighted least-squares (a, z) = theta (length b + 1, z last) of one group for fixed
 * codes, with a small ridge towards the current theta (a plane that is all zeros or equals
 * another leaves the system singular: its a_k then stays). Writes theta in place.
 */
export function solveGroup(w: ArrayLike<number>, off: number, d: ArrayLike<number>, doff: number, gs: number, codes: Uint8Array, coff: number, bits: number, theta: Float64Array): void {
  const n = bits + 1, m = new Float64Array(n * n), v = new Float64Array(n), phi = new Float64Array(n);
  let tr = 0;
  for (let j = 0; j < gs; j++) {
    const q = codes[coff + j], dj = d[doff + j], x = w[off + j];
    for (let k = 0; k < bits; k++) phi[k] = (q >> k) & 1;
    phi[bits] = 1;
    for (let r = 0; r < n; r++) {
      if (phi[r] === 0) continue;
      v[r] += dj * x;
      for (let c = 0; c < n; c++) m[r * n + c] += dj * phi[c];
    }
  }
  for (let r = 0; r < n; r++) tr += m[r * n + r];
  const lam = 1e-9 * tr + 1e-300;
  for (let r = 0; r < n; r++) { m[r * n + r] += lam; v[r] += lam * theta[r]; }
  if (solve(m, v, n)) theta.set(v);
}

/** The 2^b levels of theta = (a_0..a_{b-1}, z). */
export function levelsOf(theta: ArrayLike<number>, bits: number, out: Float64Array, at = 0): void {
  for (let q = 0; q < 1 << bits; q++) {
    let s = theta[bits];
    for (let k = 0; k < bits; k++) if ((q >> k) & 1) s += theta[k];
    out[at + q] = s;
  }
}

/** Index of the level nearest x (lowest index on ties). */
export function nearest(x: number, levels: Float64Array, at: number, n: number): number {
  let best = 0, bd = Infinity;
  for (let q = 0; q < n; q++) { const e = Math.abs(x - levels[at + q]); if (e < bd) { bd = e; best = q; } }
  return best;
}

/** Assigns the group's codes to the nearest levels; returns the weighted error and whether a code changed. */
function assign(w: ArrayLike<number>, off: number, d: ArrayLike<number>, doff: number, gs: number, levels: Float64Array, at: number, n: number, codes: Uint8Array, coff: number): { err: number; changed: boolean } {
  let err = 0, changed = false;
  for (let j = 0; j < gs; j++) {
    const q = nearest(w[off + j], levels, at, n);
    if (codes[coff + j] !== q) { codes[coff + j] = q; changed = true; }
    const e = w[off + j] - levels[at + q];
    err += d[doff + j] * e * e;
  }
  return { err, changed };
}

/**
 * The stored-precision rounding of a group's theta (a_k >= 0 first), for the groups of one
 * row (theta's groups at .. at + ng, b + 1 values each): u8 A_k times the row scale ra (the
 * largest a_k at 255), z by zMode (see the header).
 */
export function hlqStorer(theta: Float64Array, at: number, ng: number, bits: number, zMode: ZMode): (t: ArrayLike<number>, out: Float64Array) => void {
  const np = bits + 1;
  let amax = 0, zmax = 0;
  for (let gi = at; gi < at + ng; gi++) {
    for (let k = 0; k < bits; k++) amax = Math.max(amax, theta[gi * np + k]);
    zmax = Math.max(zmax, Math.abs(theta[gi * np + bits]));
  }
  const ra = amax > 0 ? scaleValue(toScale(amax / 255)) : 0;
  // z8r's per-row shift t: the smallest t >= 0 with zmax <= 127 ra 2^t.
  let t8 = 0;
  while (ra > 0 && zmax > 127 * ra * 2 ** t8) t8++;
  return (t, out) => {
    let amaxG = 0;
    for (let k = 0; k < bits; k++) { const a = ra > 0 ? Math.min(255, Math.max(0, roundHalfAway(t[k] / ra))) : 0; out[k] = a * ra; amaxG = Math.max(amaxG, a); }
    const step = zMode === 'z16' ? ra : zMode === 'z8r' ? ra * 2 ** t8 : (ra * amaxG) / 64;
    const lim = zMode === 'z16' ? 32767 : 127;
    out[bits] = step > 0 ? Math.min(lim, Math.max(-lim, roundHalfAway(t[bits] / step))) * step : 0;
  };
}

/**
 * theta with every a_k >= 0: a negative a_k is plane k complemented (z += a_k, a_k = -a_k);
 * the level set is the same. Returns the mask of the complemented planes (codes ^= mask).
 */
export function canonical(t: Float64Array, bits: number): number {
  let mask = 0;
  for (let k = 0; k < bits; k++) if (t[k] < 0) { t[bits] += t[k]; t[k] = -t[k]; mask |= 1 << k; }
  return mask;
}

/** ALS from theta and codes (solve, assign, until no code changes); returns the weighted error. */
function als(w: ArrayLike<number>, off: number, d: ArrayLike<number>, doff: number, gs: number, bits: number, theta: Float64Array, codes: Uint8Array, coff: number, levels: Float64Array, at: number, iters: number): number {
  const nl = 1 << bits;
  let err = Infinity;
  levelsOf(theta, bits, levels, at);
  for (let it = 0; it < iters; it++) {
    solveGroup(w, off, d, doff, gs, codes, coff, bits, theta);
    levelsOf(theta, bits, levels, at);
    const r = assign(w, off, d, doff, gs, levels, at, nl, codes, coff);
    err = r.err;
    if (!r.changed) break;
  }
  if (err === Infinity) err = assign(w, off, d, doff, gs, levels, at, nl, codes, coff).err;
  return err;
}

/** The clip search's uniform grid as levels (rows x ng x 2^b): gm rs (2q − z2). */
export function uniformLevels(w: Float32Array, rows: number, cols: number, bits: LowBits, gs: number): Float64Array {
  const u = quantizeLowbit(w, rows, cols, { bits, groupSize: gs }), { gm, z2 } = unpackGroups(u.groups, rows, cols, gs);
  const ng = cols / gs, nl = 1 << bits, lv = new Float64Array(rows * ng * nl);
  for (let gi = 0; gi < rows * ng; gi++) {
    const o = Math.floor(gi / ng), s = gm[gi] * u.scaleM[o] * 2 ** -u.scaleE[o];
    for (let q = 0; q < nl; q++) lv[gi * nl + q] = s * (2 * q - z2[gi]);
  }
  return lv;
}

/**
 * HLQ fit of w [rows, cols] with column weights d [cols] (each > 0). Returns the stored
 * grid's codes, levels and dequantized weights.
 */
export function fitHlq(w: Float32Array, rows: number, cols: number, d: Float64Array, opts: HlqOptions): HlqFit {
  const { bits, groupSize: gs, z: zMode } = opts, iters = opts.iters ?? 30;
  const ng = cols / gs, nl = 1 << bits, np = bits + 1;
  // Start: the clip search's uniform grid (a_k = 2^(k+1) gm rs, z = -gm rs z2) and codes.
  const u = quantizeLowbit(w, rows, cols, { bits, groupSize: gs });
  const codes = unpackPlanes(u.planes, bits, rows, cols, gs);
  const { gm, z2 } = unpackGroups(u.groups, rows, cols, gs);
  const theta = new Float64Array(rows * ng * np), levels = new Float64Array(rows * ng * nl);
  const alt = new Float64Array(np), altCodes = new Uint8Array(gs), altLevels = new Float64Array(nl);
  for (let o = 0; o < rows; o++) {
    const rs = u.scaleM[o] * 2 ** -u.scaleE[o];
    for (let g = 0; g < ng; g++) {
      const gi = o * ng + g, t = theta.subarray(gi * np, gi * np + np), off = o * cols + g * gs;
      // ALS in float from two starts, the better kept: the clip search's uniform grid, and
      // equal-count codes (by rank), which finds grids whose levels are far from uniform
      // (from the uniform start, two clusters under one level can stay merged).
      const s = gm[gi] * rs;
      for (let k = 0; k < bits; k++) t[k] = 2 ** (k + 1) * s;
      t[bits] = -s * z2[gi];
      const e1 = als(w, off, d, g * gs, gs, bits, t, codes, off, levels, gi * nl, iters);
      const order = Array.from({ length: gs }, (_, j) => j).sort((x, y) => w[off + x] - w[off + y] || x - y);
      order.forEach((j, r) => { altCodes[j] = Math.floor((r * nl) / gs); });
      alt.set(t);
      const e2 = als(w, off, d, g * gs, gs, bits, alt, altCodes, 0, altLevels, 0, iters);
      if (e2 < e1) { t.set(alt); codes.set(altCodes, off); levels.set(altLevels, gi * nl); }
      const flip = canonical(t, bits); // the same levels, so the codes' complemented planes
      if (flip) for (let j = 0; j < gs; j++) codes[off + j] ^= flip;
    }
    const stored = hlqStorer(theta, o * ng, ng, bits, zMode);
    const q = new Float64Array(np), cand = new Float64Array(np), candLevels = new Float64Array(nl), candCodes = new Uint8Array(gs);
    for (let g = 0; g < ng; g++) {
      const gi = o * ng + g, t = theta.subarray(gi * np, gi * np + np), off = o * cols + g * gs;
      stored(t, q);
      levelsOf(q, bits, levels, gi * nl);
      let best = assign(w, off, d, g * gs, gs, levels, gi * nl, nl, codes, off).err;
      for (let r = 0; r < 4; r++) {
        cand.set(t); candCodes.set(codes.subarray(off, off + gs));
        solveGroup(w, off, d, g * gs, gs, candCodes, 0, bits, cand);
        // (a negative a_k from the re-solve rounds to 0: that plane then goes unused)
        stored(cand, q);
        levelsOf(q, bits, candLevels, 0);
        const e = assign(w, off, d, g * gs, gs, candLevels, 0, nl, candCodes, 0).err;
        if (!(e < best)) break;
        best = e; t.set(cand); levels.set(candLevels, gi * nl); codes.set(candCodes, off);
      }
    }
  }
  const dq = new Float32Array(rows * cols);
  for (let o = 0; o < rows; o++) for (let j = 0; j < cols; j++) dq[o * cols + j] = levels[(o * ng + Math.floor(j / gs)) * nl + codes[o * cols + j]];
  return { codes, levels, dq };
}

/**
 * GPTQ with a fixed per-group grid (gptq-lowbit.ts's column loop, any level set): columns in
 * act-order, each coded to its group's nearest level, its error spread over the remaining
 * columns by the inverse Hessian factor. Returns the dequantized weights.
 */
export function gptqOnGrid(w: Float32Array, rows: number, cols: number, gs: number, levels: Float64Array, nl: number, h: Float64Array, fallback: Float32Array, codesOut?: Uint8Array): Float32Array {
  const { diag, perm, u } = inverseHessianFactor(h, cols);
  if (!u) return fallback;
  const ng = cols / gs, dq = new Float32Array(rows * cols), wr = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < cols; i++) wr[i] = diag[perm[i]] === 0 ? 0 : w[r * cols + perm[i]];
    for (let i = 0; i < cols; i++) {
      const j = perm[i], at = (r * ng + Math.floor(j / gs)) * nl;
      const q = nearest(wr[i], levels, at, nl), v = levels[at + q];
      dq[r * cols + j] = v;
      if (codesOut) codesOut[r * cols + j] = q;
      const err = (wr[i] - v) / u[i * cols + i];
      for (let k = i + 1; k < cols; k++) wr[k] -= err * u[k * cols + i];
    }
  }
  return dq;
}

/**
 * A bound, not a format: per group, 2^b free float levels (weighted 1-D k-means, Lloyd's
 * iterations from `levels`, the HLQ fit's), so no per-group grid of b-bit codes at this group
 * size does better on the weighted error. Updates levels and codes in place; returns the
 * dequantized weights.
 */
export function kmeansGroups(w: Float32Array, rows: number, cols: number, d: Float64Array, bits: number, gs: number, levels: Float64Array, codes: Uint8Array, iters = 50): Float32Array {
  const ng = cols / gs, nl = 1 << bits, sw = new Float64Array(nl), swx = new Float64Array(nl);
  for (let o = 0; o < rows; o++) {
    for (let g = 0; g < ng; g++) {
      const at = (o * ng + g) * nl, off = o * cols + g * gs;
      for (let it = 0; it < iters; it++) {
        sw.fill(0); swx.fill(0);
        for (let j = 0; j < gs; j++) { const q = codes[off + j]; sw[q] += d[g * gs + j]; swx[q] += d[g * gs + j] * w[off + j]; }
        for (let q = 0; q < nl; q++) if (sw[q] > 0) levels[at + q] = swx[q] / sw[q];
        if (!assign(w, off, d, g * gs, gs, levels, at, nl, codes, off).changed) break;
      }
    }
  }
  const dq = new Float32Array(rows * cols);
  for (let k = 0; k < dq.length; k++) dq[k] = levels[(Math.floor(k / cols) * ng + Math.floor((k % cols) / gs)) * nl + codes[k]];
  return dq;
}
