// The clip search as it was before issue 14 made it faster (compiler/quantize/lowbit.ts at
// a8a3448): one candidate at a time, no early stop, no skipped duplicates. Kept only so
// test/lowbit-identical.test.ts can check that the fast search makes the same choices, bit
// for bit. Do not use elsewhere.
import { EdgeqError } from '../../compiler/util/errors.ts';
import { roundHalfAway, scaleValue, toScale } from '../../compiler/quantize/fixed-point.ts';
import { LUT_GM_MAX, LUT_GROUP_SHIFT, checkShape, packGroups, packPlanes, qmaxOf, z2MaxOf, type LowBits } from '../../compiler/quantize/lowbit-format.ts';
import type { LowbitMatrix, LowbitOptions } from '../../compiler/quantize/lowbit.ts';

/** Exponent of an all-zero row (its groups have gm = 0, so any value works). */
const LOWBIT_ZERO_ROW_E = 40;
/** Row scale exponents must be at least this (spec §9.5: the output shift stays >= 0). */
const LOWBIT_MIN_ROW_E = LUT_GROUP_SHIFT + 6;

const DEFAULT_RATIOS: readonly number[] = Array.from({ length: 41 }, (_, i) => 1 - 0.02 * i);

/** Codes of w[off..off+gs) for scale s and zero point z2, and the squared error. */
function quantGroup(w: Float32Array, off: number, gs: number, s: number, z2: number, qmax: number, codes: Uint8Array | null): number {
  if (!codes) return groupError(w, off, gs, s, z2, qmax);
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

/**
 * quantGroup's error without the codes: the search's hot loop (monomorphic, the rounding
 * inlined; the same arithmetic, so the same numbers).
 */
function groupError(w: Float32Array, off: number, gs: number, s: number, z2: number, qmax: number): number {
  let err = 0;
  const inv = 1 / (2 * s), h = z2 / 2;
  for (let j = off, end = off + gs; j < end; j++) {
    const x = w[j];
    const v = x * inv + h;
    let q = v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
    if (q < 0) q = 0; else if (q > qmax) q = qmax;
    const dlt = x - s * (2 * q - z2);
    err += dlt * dlt;
  }
  return err;
}

interface GroupChoice { s: number; z2: number; err: number }

/**
 * Best (scale, z2) of one group. `sOf(target)` maps a wanted real scale to the stored one
 * (identity in the first pass, gm·rowScale in the second).
 */
function searchGroup(w: Float32Array, off: number, gs: number, bits: LowBits, ratios: readonly number[], sOf: (s: number) => number): GroupChoice {
  let lo = 0, hi = 0;
  for (let j = 0; j < gs; j++) { const x = w[off + j]; if (x < lo) lo = x; if (x > hi) hi = x; }
  const qmax = qmaxOf(bits), Z = z2MaxOf(bits);
  const best: GroupChoice = { s: 0, z2: 0, err: quantGroup(w, off, gs, 1, 0, 0, null) }; // all zero
  if (hi === lo) return best;
  for (const c of ratios) {
    const s = sOf((c * (hi - lo)) / Z);
    if (!(s > 0)) continue;
    const z0 = Math.min(Z, Math.max(0, roundHalfAway((-c * lo) / s)));
    for (let t = 0; t < 3; t++) {
      const z2 = t === 0 ? z0 : t === 1 ? z0 - 1 : z0 + 1;
      if (z2 < 0 || z2 > Z) continue;
      const err = groupError(w, off, gs, s, z2, qmax);
      if (err < best.err) { best.s = s; best.z2 = z2; best.err = err; }
    }
  }
  return best;
}

/** Quantizes a float matrix [rows, cols] (row-major) to the `bits`-bit LUT format. */
export function quantizeLowbitReference(w: Float32Array, rows: number, cols: number, opts: LowbitOptions): LowbitMatrix {
  const { bits, groupSize: gs } = opts;
  checkShape(bits, rows, cols, gs);
  const ratios = opts.clip === false ? [1] : (opts.ratios ?? DEFAULT_RATIOS);
  const ng = cols / gs, qmax = qmaxOf(bits);
  const codes = new Uint8Array(rows * cols), gm = new Uint8Array(rows * ng), z2 = new Uint8Array(rows * ng);
  const scaleM = new Int16Array(rows), scaleE = new Int8Array(rows);
  let sqError = 0;
  for (let o = 0; o < rows; o++) {
    // Pass 1: each group's best real scale; the row scale puts the largest at gm = 255.
    let smax = 0;
    for (let g = 0; g < ng; g++) smax = Math.max(smax, searchGroup(w, o * cols + g * gs, gs, bits, ratios, (s) => s).s);
    if (smax === 0) { scaleM[o] = 16384; scaleE[o] = LOWBIT_ZERO_ROW_E; for (let j = 0; j < cols; j++) sqError += w[o * cols + j] ** 2; continue; }
    const rs = toScale(smax / LUT_GM_MAX);
    if (rs.e < LOWBIT_MIN_ROW_E) throw new EdgeqError(`low-bit quantization: row ${o} has a group scale ${smax.toExponential(3)}, too large (row scale exponent ${rs.e} < ${LOWBIT_MIN_ROW_E})`);
    if (rs.e > 127) { scaleM[o] = 16384; scaleE[o] = LOWBIT_ZERO_ROW_E; for (let j = 0; j < cols; j++) sqError += w[o * cols + j] ** 2; continue; }
    const rowScale = scaleValue(rs);
    scaleM[o] = rs.m; scaleE[o] = rs.e;
    const toGm = (s: number) => Math.min(LUT_GM_MAX, Math.max(1, roundHalfAway(s / rowScale)));
    // Pass 2: the search again, against stored scales gm · rowScale.
    for (let g = 0; g < ng; g++) {
      const off = o * cols + g * gs;
      const b = searchGroup(w, off, gs, bits, ratios, (s) => toGm(s) * rowScale);
      const gi = o * ng + g;
      if (b.s === 0) { gm[gi] = 0; z2[gi] = 0; sqError += b.err; continue; }
      gm[gi] = roundHalfAway(b.s / rowScale);
      z2[gi] = b.z2;
      sqError += quantGroup(w, off, gs, gm[gi] * rowScale, b.z2, qmax, codes);
    }
  }
  return {
    bits, groupSize: gs, rows, cols,
    planes: packPlanes(codes, bits, rows, cols, gs), groups: packGroups(gm, z2, rows, cols, gs),
    scaleM, scaleE, sqError,
  };
}

