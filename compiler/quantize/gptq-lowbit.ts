// GPTQ for the LUT formats q1..q6 (issue 15): the same stored format as the clip-search
// quantizer (lowbit.ts), with the codes chosen so that the error of W x, not of W, is small,
// and then the grid refitted to those codes.
//
// GPTQ: per row, columns are quantized in GPTQ's order (act-order: decreasing H[i][i])
// against a fixed grid (gm·rowScale, z2 per group), and each column's rounding error is
// spread over the not-yet-quantized columns by the inverse Hessian factor (gptq.ts
// inverseHessianFactor), H = Σ x xᵀ of the matrix's calibration inputs. A fixed grid makes
// the act-order safe (a column's group is known before it is coded). The first grid is the
// clip search's, fitted to the weights alone.
//
// Grid refit (alternating least squares; measured in docs/quality.md "Per-bit-plane scales
// (ELUTQ): measured", where it was scripts/hlq-refit.ts): for a row's codes q, the grid
// w ≈ α_g q + β_g (α = 2 gm rs, β = −gm rs z2) that minimizes the output error
//   (w − Φθ)ᵀ H (w − Φθ)   (H damped as GPTQ damps it; Φ maps column j to (q_j, 1) of its group)
// is a small least-squares problem (2 parameters per group). It is rounded to the stored
// precision (a new row scale, gm, z2), GPTQ recodes on it, and so on for `refit` rounds.
// Each row keeps the candidate (grid, codes) with the smallest output error, the first GPTQ
// pass included, so by that measure the result is never worse than GPTQ on the clip grid.
// The format, the integer semantics and the kernels do not change: only the stored groups,
// row scales and codes.
import { EdgeqError } from '../util/errors.ts';
import { roundHalfAway, scaleValue, toScale } from './fixed-point.ts';
import { inverseHessianFactor, type GptqOptions } from './gptq.ts';
import { LOWBIT_MIN_ROW_E, dequantizeLowbit, quantizeLowbit, type LowbitMatrix, type LowbitOptions } from './lowbit.ts';
import { LUT_GM_MAX, groupsOf, packGroups, packPlanes, qmaxOf, unpackGroups, z2MaxOf } from './lowbit-format.ts';

/** Grid refits after the first GPTQ pass when GptqOptions.refit is not given. */
export const GPTQ_REFIT_ROUNDS = 3;
/** The largest refit count accepted (each round costs about three GPTQ passes). */
export const GPTQ_REFIT_MAX = 16;

/** A LUT matrix's quantizer as its plan rule records it (`refit`: GptqOptions.refit). */
export const gptqRule = (refit = GPTQ_REFIT_ROUNDS): string => (refit === 0 ? 'GPTQ' : `GPTQ, grid refit ${refit}x`);


/**
 * Solves the symmetric positive (semi)definite n x n system m x = v by Cholesky with a tiny
 * ridge (a group with one distinct code makes the system singular); the solution into v, m
 * overwritten.
 */
export function solveSpd(m: Float64Array, v: Float64Array, n: number): void {
  let tr = 0;
  for (let i = 0; i < n; i++) tr += m[i * n + i];
  for (let i = 0; i < n; i++) m[i * n + i] += 1e-10 * tr + 1e-300;
  for (let j = 0; j < n; j++) {
    let d = m[j * n + j];
    for (let k = 0; k < j; k++) d -= m[j * n + k] ** 2;
    const l = Math.sqrt(Math.max(d, 1e-300));
    m[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = m[i * n + j];
      for (let k = 0; k < j; k++) s -= m[i * n + k] * m[j * n + k];
      m[i * n + j] = s / l;
    }
  }
  for (let i = 0; i < n; i++) { let s = v[i]; for (let k = 0; k < i; k++) s -= m[i * n + k] * v[k]; v[i] = s / m[i * n + i]; }
  for (let i = n - 1; i >= 0; i--) { let s = v[i]; for (let k = i + 1; k < n; k++) s -= m[k * n + i] * v[k]; v[i] = s / m[i * n + i]; }
}

/**
 * The uniform grid of one row stored from its least-squares θ = (α_g, β_g) per group: a
 * group with α < 0 is mirrored (q → qmax − q, flip[g] = 1; θ rewritten), the row scale puts
 * the largest step α/2 at gm = 255, gm and z2 are rounded and clamped to their stored ranges.
 * Returns the row scale, or null when it is not storable (all steps 0, or an exponent outside
 * [LOWBIT_MIN_ROW_E, 127]): then gm / z2 / flip are not meaningful.
 */
export function storeUniformRow(theta: Float64Array, ng: number, bits: number, gm: Uint8Array, z2: Uint8Array, flip: Uint8Array): { m: number; e: number } | null {
  const qmax = qmaxOf(bits), Z = z2MaxOf(bits);
  let smax = 0;
  for (let g = 0; g < ng; g++) {
    flip[g] = theta[2 * g] < 0 ? 1 : 0;
    if (flip[g]) { theta[2 * g + 1] += theta[2 * g] * qmax; theta[2 * g] = -theta[2 * g]; }
    smax = Math.max(smax, theta[2 * g] / 2);
  }
  if (!(smax > 0) || !Number.isFinite(smax)) return null;
  const sc = toScale(smax / LUT_GM_MAX);
  if (sc.e < LOWBIT_MIN_ROW_E || sc.e > 127) return null;
  const rs = scaleValue(sc);
  for (let g = 0; g < ng; g++) {
    gm[g] = Math.min(LUT_GM_MAX, Math.max(0, roundHalfAway(theta[2 * g] / 2 / rs)));
    const s = gm[g] * rs;
    z2[g] = s > 0 ? Math.min(Z, Math.max(0, roundHalfAway(-theta[2 * g + 1] / s))) : 0;
  }
  return sc;
}

/**
 * GPTQ codes of one row (target t, dead inputs already 0) on the grid gm[g0 + g]·rs, z2[g0 + g]
 * into codes[c0..c0+cols); returns the row's output error (t − ŵ)ᵀ H_d (t − ŵ) for the damped H
 * that u factors, which GPTQ's sequential form gives exactly as the sum of its squared scaled
 * errors (OBS: each step's cost with the rest compensated optimally).
 */
function gptqRow(t: Float64Array, wr: Float64Array, gm: Uint8Array, z2: Uint8Array, g0: number, rs: number, gs: number, qmax: number, perm: number[], u: Float64Array, codes: Uint8Array, c0: number): number {
  const cols = t.length;
  for (let i = 0; i < cols; i++) wr[i] = t[perm[i]];
  let total = 0;
  for (let i = 0; i < cols; i++) {
    const j = perm[i], gi = g0 + Math.floor(j / gs);
    const s = gm[gi] * rs, z = z2[gi];
    let q = s > 0 ? roundHalfAway(wr[i] / (2 * s) + z / 2) : 0;
    if (q < 0) q = 0; else if (q > qmax) q = qmax;
    codes[c0 + j] = q;
    const err = (wr[i] - s * (2 * q - z)) / u[i * cols + i];
    total += err * err;
    for (let k = i + 1; k < cols; k++) wr[k] -= err * u[k * cols + i];
  }
  return total;
}

/** The `bits`-bit LUT matrix of w [rows, cols] by GPTQ with input Hessian h [cols, cols], its grid refit `opts.refit` times. */
export function gptqLowbit(w: Float32Array, rows: number, cols: number, h: Float64Array, opts: LowbitOptions & GptqOptions): LowbitMatrix {
  const rounds = opts.refit ?? GPTQ_REFIT_ROUNDS;
  if (!Number.isInteger(rounds) || rounds < 0 || rounds > GPTQ_REFIT_MAX) {
    throw new EdgeqError(`GPTQ grid refit: rounds must be an integer in [0, ${GPTQ_REFIT_MAX}], got ${rounds}`);
  }
  const base = quantizeLowbit(w, rows, cols, opts);
  const { diag, perm, u, damp } = inverseHessianFactor(h, cols, opts);
  if (!u) return base; // numerically hopeless: the clip search's codes
  const { bits, groupSize: gs } = opts;
  const ng = groupsOf(cols, gs), qmax = qmaxOf(bits), P = 2 * ng; // a partial last group: its real columns
  const { gm, z2 } = unpackGroups(base.groups, rows, cols, gs);
  const scaleM = Int16Array.from(base.scaleM), scaleE = Int8Array.from(base.scaleE);
  const codes = new Uint8Array(rows * cols);
  // The damped H (what u factors) is h plus add[j] on the diagonal; never materialized.
  const add = Float64Array.from(diag, (d) => (d === 0 ? 1 : 0) + damp);
  const gOf = (j: number) => Math.floor(j / gs);
  // H_d·1_g (the constant basis column of group g), the same for every row: [cols, ng].
  const hone = new Float64Array(rounds > 0 ? cols * ng : 0);
  for (let i = 0; rounds > 0 && i < cols; i++) {
    for (let j = 0; j < cols; j++) hone[i * ng + gOf(j)] += h[i * cols + j];
    hone[i * ng + gOf(i)] += add[i];
  }
  const t = new Float64Array(cols), wr = new Float64Array(cols);
  const cur = new Uint8Array(cols), next = new Uint8Array(cols);
  const hq = new Float64Array(cols * ng), m = new Float64Array(P * P), m0 = new Float64Array(P * P);
  const v = new Float64Array(P), v0 = new Float64Array(P), th = new Float64Array(P);
  const gmC = new Uint8Array(ng), z2C = new Uint8Array(ng), flip = new Uint8Array(ng);
  for (let r = 0; r < rows; r++) {
    const off = r * cols, g0 = r * ng;
    for (let j = 0; j < cols; j++) t[j] = diag[j] === 0 ? 0 : w[off + j];
    let best = gptqRow(t, wr, gm, z2, g0, scaleM[r] * 2 ** -scaleE[r], gs, qmax, perm, u, codes, off);
    if (rounds === 0) continue;
    // tᵀ H_d t, for the error of a grid with unchanged codes: tᵀHt − 2θᵀΦᵀHt + θᵀΦᵀHΦθ.
    let tht = 0;
    for (let i = 0; i < cols; i++) {
      let s = 0;
      for (let j = 0; j < i; j++) s += h[i * cols + j] * t[j];
      tht += t[i] * (2 * s + (h[i * cols + i] + add[i]) * t[i]);
    }
    cur.set(codes.subarray(off, off + cols));
    for (let round = 0; round < rounds; round++) {
      // H_d Φ's code columns: hq[i][g] = Σ_{j in g} H_d[i][j] q_j.
      hq.fill(0);
      for (let i = 0; i < cols; i++) {
        const hi = i * cols, o = i * ng;
        for (let g = 0; g < ng; g++) {
          let s = 0;
          for (let j = g * gs, e = Math.min(cols, j + gs); j < e; j++) s += h[hi + j] * cur[j];
          hq[o + g] = s;
        }
        hq[o + gOf(i)] += add[i] * cur[i];
      }
      // Normal equations ΦᵀH_dΦ θ = ΦᵀH_d t; parameter 2g is α_g (basis q), 2g + 1 is β_g (basis 1).
      m.fill(0); v.fill(0);
      for (let i = 0; i < cols; i++) {
        const q = cur[i], a = 2 * gOf(i), ra = a * P, rb = ra + P, o = i * ng;
        for (let g = 0; g < ng; g++) {
          const x = hq[o + g], y = hone[o + g];
          m[ra + 2 * g] += q * x; m[ra + 2 * g + 1] += q * y;
          m[rb + 2 * g] += x; m[rb + 2 * g + 1] += y;
          v[2 * g] += t[i] * x; v[2 * g + 1] += t[i] * y;
        }
      }
      m0.set(m); v0.set(v);
      solveSpd(m, v, P);
      th.set(v);
      const sc = storeUniformRow(th, ng, bits, gmC, z2C, flip);
      if (!sc) break;
      const rs = sc.m * 2 ** -sc.e;
      // Candidate 1: the stored grid with the codes it was fitted to (mirrored groups read
      // q as qmax − q), its error from the normal equations; θ as those codes see it.
      for (let g = 0; g < ng; g++) {
        const s = gmC[g] * rs;
        th[2 * g] = flip[g] ? -2 * s : 2 * s;
        th[2 * g + 1] = flip[g] ? s * (2 * qmax - z2C[g]) : -s * z2C[g];
      }
      let e1 = tht;
      for (let a = 0; a < P; a++) {
        let s = 0;
        for (let b = 0; b < P; b++) s += m0[a * P + b] * th[b];
        e1 += th[a] * (s - 2 * v0[a]);
      }
      // Candidate 2: GPTQ's codes on the stored grid (also the next round's codes).
      const e2 = gptqRow(t, wr, gmC, z2C, 0, rs, gs, qmax, perm, u, next, 0);
      if (Math.min(e1, e2) < best) {
        best = Math.min(e1, e2);
        scaleM[r] = sc.m; scaleE[r] = sc.e;
        gm.set(gmC, g0); z2.set(z2C, g0);
        if (e2 <= e1) codes.set(next, off);
        else for (let j = 0; j < cols; j++) codes[off + j] = flip[gOf(j)] ? qmax - cur[j] : cur[j];
      }
      cur.set(next);
    }
  }
  const mat: LowbitMatrix = {
    ...base, planes: packPlanes(codes, bits, rows, cols, gs), groups: packGroups(gm, z2, rows, cols, gs), scaleM, scaleE, sqError: 0,
  };
  const dq = dequantizeLowbit(mat);
  for (let k = 0; k < rows * cols; k++) mat.sqError += (w[k] - dq[k]) ** 2;
  return mat;
}
