// Alternating least squares on the calibration activations (the HLQ experiment's "+als"
// methods, scripts/eval-hlq.ts): GPTQ codes for a fixed per-group grid (hlq-fit.ts
// gptqOnGrid), then, per row, the grid parameters that minimize the output error on the
// calibration inputs for those codes,
//   θ = argmin (w − Φθ)ᵀ H (w − Φθ),   H = Σ x xᵀ (damped as GPTQ damps it),
// where Φ maps each column's code to its group's parameters: the plane bits and 1 for HLQ
// (w = Σ a_k b_k + z), the code and 1 for today's uniform grid (w = α q + β, stored as
// gm, z2: α = 2 gm rs, β = −gm rs z2), one-hot for the free-level bound. θ is rounded to the stored precision, GPTQ recodes,
// and so on for a few rounds; each row keeps the (grid, codes) with the lowest output error,
// the GPTQ start included, so the result is never worse than plain GPTQ on that measure.
// The uniform grid's refit is the compiler's now (compiler/quantize/gptq-lowbit.ts, the
// default of --gptq); this generic form stays for the HLQ and free-level grids it compares.
import { scaleValue } from '../compiler/quantize/fixed-point.ts';
import { solveSpd, storeUniformRow } from '../compiler/quantize/gptq-lowbit.ts';
import { canonical, gptqOnGrid, hlqStorer, levelsOf, type ZMode } from './hlq-fit.ts';

/** free: 2^b float levels per group, unrounded (the kmeans bound of eval-hlq.ts). */
export type Grid = { kind: 'hlq'; z: ZMode } | { kind: 'uniform' } | { kind: 'free' };

/** Parameters per group and their basis values φ(q) for a code q. */
function basis(grid: Grid, bits: number): { np: number; phi: (q: number, out: Float64Array) => void } {
  if (grid.kind === 'uniform') return { np: 2, phi: (q, out) => { out[0] = q; out[1] = 1; } };
  if (grid.kind === 'free') return { np: 1 << bits, phi: (q, out) => { out.fill(0); out[q] = 1; } };
  return { np: bits + 1, phi: (q, out) => { for (let k = 0; k < bits; k++) out[k] = (q >> k) & 1; out[bits] = 1; } };
}

/** (w − ŵ)ᵀ H (w − ŵ) of one row. */
function rowError(w: Float32Array, dq: Float32Array, off: number, h: Float64Array, cols: number, e: Float64Array): number {
  for (let j = 0; j < cols; j++) e[j] = w[off + j] - dq[off + j];
  let s = 0;
  for (let i = 0; i < cols; i++) { let t = 0; for (let j = 0; j < cols; j++) t += h[i * cols + j] * e[j]; s += e[i] * t; }
  return s;
}

/** A row's grid levels (ng x 2^b) from its float θ (ng x np), rounded as the grid stores it. */
function storeRow(grid: Grid, bits: number, ng: number, theta: Float64Array, out: Float64Array): void {
  const nl = 1 << bits;
  if (grid.kind === 'free') { out.set(theta.subarray(0, ng * nl)); return; }
  if (grid.kind === 'hlq') {
    const np = bits + 1, q = new Float64Array(np);
    for (let g = 0; g < ng; g++) canonical(theta.subarray(g * np, g * np + np), bits);
    const store = hlqStorer(theta, 0, ng, bits, grid.z);
    for (let g = 0; g < ng; g++) { store(theta.subarray(g * np, g * np + np), q); levelsOf(q, bits, out, g * nl); }
    return;
  }
  // Uniform: stored as the compiler stores it (a row that is not storable keeps its levels).
  const gm = new Uint8Array(ng), z2 = new Uint8Array(ng), flip = new Uint8Array(ng);
  const sc = storeUniformRow(theta, ng, bits, gm, z2, flip);
  if (!sc) return;
  const rs = scaleValue(sc);
  for (let g = 0; g < ng; g++) for (let q = 0; q < nl; q++) out[g * nl + q] = gm[g] * rs * (2 * q - z2[g]);
}

/**
 * GPTQ + ALS on H from `levels` (rows x ng x 2^b, the start grid); `rounds` refits. Returns
 * the dequantized weights (each row: its best round by output error).
 */
export function gptqAls(w: Float32Array, rows: number, cols: number, gs: number, bits: number, h: Float64Array, levels: Float64Array, grid: Grid, fallback: Float32Array, rounds = 3): Float32Array {
  const ng = cols / gs, nl = 1 << bits, { np, phi } = basis(grid, bits), P = ng * np;
  // The damped H GPTQ factors (1% of the mean diagonal; a dead input gets a unit diagonal).
  const hd = Float64Array.from(h);
  let mean = 0;
  for (let j = 0; j < cols; j++) mean += h[j * cols + j] / cols;
  for (let j = 0; j < cols; j++) hd[j * cols + j] = (h[j * cols + j] === 0 ? 1 : h[j * cols + j]) + 0.01 * (mean || 1);
  const codes = new Uint8Array(rows * cols);
  let dq = gptqOnGrid(w, rows, cols, gs, levels, nl, h, fallback, codes);
  if (dq === fallback) return fallback;
  const best = Float32Array.from(dq), e = new Float64Array(cols), bestErr = new Float64Array(rows);
  for (let o = 0; o < rows; o++) bestErr[o] = rowError(w, best, o * cols, hd, cols, e);
  const lv = Float64Array.from(levels), f = new Float64Array(np), hphi = new Float64Array(cols * P);
  const m = new Float64Array(P * P), v = new Float64Array(P);
  for (let r = 0; r < rounds; r++) {
    for (let o = 0; o < rows; o++) {
      const off = o * cols;
      // HΦ: column (g, p) of Φ is φ_p(code) on group g's columns.
      hphi.fill(0);
      for (let j = 0; j < cols; j++) {
        phi(codes[off + j], f);
        const c0 = Math.floor(j / gs) * np;
        for (let i = 0; i < cols; i++) { const hij = hd[i * cols + j]; if (hij !== 0) for (let p = 0; p < np; p++) hphi[i * P + c0 + p] += hij * f[p]; }
      }
      m.fill(0); v.fill(0);
      for (let i = 0; i < cols; i++) {
        phi(codes[off + i], f);
        const r0 = Math.floor(i / gs) * np;
        for (let p = 0; p < np; p++) { if (f[p] === 0) continue; for (let c = 0; c < P; c++) m[(r0 + p) * P + c] += f[p] * hphi[i * P + c]; }
        for (let c = 0; c < P; c++) v[c] += w[off + i] * hphi[i * P + c];
      }
      solveSpd(m, v, P);
      storeRow(grid, bits, ng, v, lv.subarray(o * ng * nl, (o + 1) * ng * nl));
    }
    // Candidates per row: the new grid with the old codes (nearest-level recoding would lose
    // the GPTQ correlation), and GPTQ's recoding on the new grid.
    const old = new Float32Array(rows * cols);
    for (let k = 0; k < old.length; k++) old[k] = lv[(Math.floor(k / cols) * ng + Math.floor((k % cols) / gs)) * nl + codes[k]];
    const next = new Uint8Array(rows * cols);
    dq = gptqOnGrid(w, rows, cols, gs, lv, nl, h, fallback, next);
    for (let o = 0; o < rows; o++) {
      const off = o * cols;
      const eOld = rowError(w, old, off, hd, cols, e), eNew = rowError(w, dq, off, hd, cols, e);
      const [src, err] = eNew <= eOld ? [dq, eNew] : [old, eOld];
      if (err < bestErr[o]) { bestErr[o] = err; best.set(src.subarray(off, off + cols), off); }
    }
    codes.set(next);
  }
  return best;
}
