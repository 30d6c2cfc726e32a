// GPTQ (Frantar et al., 2022) for int8 per-row weights: the same format as plain rounding
// (one scale per row, values in [-127, 127]), but each column's rounding error is pushed
// onto the not-yet-quantized columns in proportion to the inverse Hessian H = sum x x^T of
// the matrix's inputs, so that the error of W x (not of W) is minimized. Only the choice
// of integer values changes; the integer semantics and the runtime do not.
import { roundHalfAway } from './fixed-point.ts';
import { quantizeRows, type QuantizedRows, type RowQuantOptions } from './weights.ts';

export interface GptqOptions extends RowQuantOptions {
  /** Added to the Hessian's diagonal, as a fraction of its mean (GPTQ's default 0.01). */
  damp?: number;
  /** Quantize columns in order of decreasing H[i][i] ("act-order"; default on). */
  actOrder?: boolean;
  /** LUT formats only: least-squares grid refits after GPTQ (gptq-lowbit.ts; default GPTQ_REFIT_ROUNDS, 0: codes only). */
  refit?: number;
}

/** In-place lower Cholesky factor of a symmetric positive-definite n x n matrix; false if not SPD. */
function cholesky(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / ljj;
    }
    for (let k = j + 1; k < n; k++) a[j * n + k] = 0;
  }
  return true;
}

/** H^-1 from its lower Cholesky factor L (H = L L^T): solve L Y = I, then H^-1 = Y^T Y. */
function inverseFromCholesky(l: Float64Array, n: number): Float64Array {
  const y = new Float64Array(n * n); // y = L^-1, lower triangular
  for (let c = 0; c < n; c++) {
    for (let i = c; i < n; i++) {
      let s = i === c ? 1 : 0;
      for (let k = c; k < i; k++) s -= l[i * n + k] * y[k * n + c];
      y[i * n + c] = s / l[i * n + i];
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += y[k * n + i] * y[k * n + j];
      inv[i * n + j] = s; inv[j * n + i] = s;
    }
  }
  return inv;
}

/**
 * GPTQ's column order and factor: `perm` (act-order: decreasing H[i][i], unless off), the
 * diagonal `diag` of h, and u, the lower Cholesky factor of the damped, permuted H^-1
 * (GPTQ's upper factor is its transpose: U[i][j] = u[j][i]); u null when H stays singular
 * after raising the damping 10^7-fold; `damp` the absolute damping u factors (the damped H
 * is h with each diagonal entry, a dead input's as 1, plus damp). Shared by the int8 and
 * the low-bit GPTQ.
 */
export function inverseHessianFactor(h: Float64Array, cols: number, opts: Pick<GptqOptions, 'damp' | 'actOrder'> = {}): { diag: number[]; perm: number[]; u: Float64Array | null; damp: number } {
  const diag = Array.from({ length: cols }, (_, i) => h[i * cols + i]);
  const perm = Array.from({ length: cols }, (_, i) => i);
  if (opts.actOrder ?? true) perm.sort((a, b) => diag[b] - diag[a] || a - b);
  const mean = diag.reduce((s, v) => s + v, 0) / cols || 1;
  let damp = (opts.damp ?? 0.01) * mean;
  // Permuted Hessian; a dead input (never nonzero) gets a unit diagonal and zero weights.
  let u: Float64Array | null = null;
  for (let attempt = 0; attempt < 8; attempt++, damp *= 10) {
    const hp = new Float64Array(cols * cols);
    for (let i = 0; i < cols; i++) {
      for (let j = 0; j < cols; j++) hp[i * cols + j] = h[perm[i] * cols + perm[j]];
      hp[i * cols + i] = (diag[perm[i]] === 0 ? 1 : hp[i * cols + i]) + damp;
    }
    if (!cholesky(hp, cols)) continue;
    const inv = inverseFromCholesky(hp, cols);
    if (!cholesky(inv, cols)) continue;
    u = inv; // lower factor L2 of H^-1; GPTQ's upper factor is its transpose: U[i][j] = L2[j][i]
    break;
  }
  return { diag, perm, u, damp };
}

/** int8 rows of w [rows, cols] by GPTQ with input Hessian h [cols, cols] (not modified). */
export function gptqRows(w: Float32Array, rows: number, cols: number, h: Float64Array, opts: GptqOptions = {}): QuantizedRows {
  // Row scales exactly as plain rounding chooses them (absmax, or the clip search).
  const base = quantizeRows(w, rows, cols, opts);
  const scale = new Float64Array(rows);
  for (let r = 0; r < rows; r++) scale[r] = base.m[r] * 2 ** -base.e[r];

  const { diag, perm, u } = inverseHessianFactor(h, cols, opts);
  if (!u) return base; // numerically hopeless: plain rounding

  const q = new Int8Array(rows * cols);
  const wr = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < cols; i++) wr[i] = diag[perm[i]] === 0 ? 0 : w[r * cols + perm[i]];
    const s = scale[r];
    for (let i = 0; i < cols; i++) {
      let v = s > 0 ? roundHalfAway(wr[i] / s) : 0;
      if (v > 127) v = 127; else if (v < -127) v = -127;
      q[r * cols + perm[i]] = v;
      const err = (wr[i] - v * s) / u[i * cols + i];
      for (let j = i + 1; j < cols; j++) wr[j] -= err * u[j * cols + i];
    }
  }
  let sqError = 0;
  for (let k = 0; k < rows * cols; k++) { const d = w[k] - q[k] * scale[Math.floor(k / cols)]; sqError += d * d; }
  return { q, m: base.m, e: base.e, sqError };
}
