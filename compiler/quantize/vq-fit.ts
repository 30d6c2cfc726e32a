// Vector-quantized 2-bit weights in the spirit of PCDVQ (issue 15 item 5), fitted offline for
// scripts/eval-vq.ts and the vq2 weight format's quantizer (compiler/quantize/formats/vq2.ts,
// docs/integer-spec.md §9.7; the offline measurements: docs/quality.md "Vector-quantized 2-bit").
//
// A row is cut into vectors of d consecutive weights; each vector v ≈ R_r · L[m] · C[c]:
//   C  a direction codebook of 2^k vectors per matrix (int8 times one per-matrix scale),
//      from spherical k-means on the vectors (seeded k-means++, deterministic), then refit
//      by least squares for the final codes;
//   L  2^m magnitude levels per matrix (1-D k-means, then least squares), R_r a per-row
//      scale (fp16; optional);
// the codes (c, m) chosen jointly to minimize Σ_j D_j (v_j − ŵ_j)², D_j = H_jj the input
// Hessian's diagonal (or 1). Bits per weight: (k + m)/d + the codebook, levels and row scales
// amortized over the matrix. With GPTQ the codebook and levels stay fixed and the vectors are
// coded left to right, each column's error spread over the columns still to code (GPTVQ-style).
// Decode as a table: per d activations x_g, the 2^k dot products x_g·C[c] (2^k·d MACs shared
// by all rows), then per vector one lookup and one multiply by R_r L[m].
import { inverseHessianFactor } from './gptq.ts';
import { solveSpd } from './gptq-lowbit.ts';

export interface VqOptions {
  d: number; k: number; m: number; rowScale: boolean; rounds?: number; seed?: number;
  /** A codebook shared with other matrices (fitSharedCodebook): used as is, never refit. */
  codebook?: Float64Array;
}
export interface VqFit {
  /** 2^k × d codewords as stored (int8 × codebook scale). */
  codebook: Float64Array;
  /** 2^m magnitude levels. */
  levels: Float64Array;
  /** Per-row scale (1 without row scales). */
  scale: Float64Array;
  dir: Uint16Array;
  mag: Uint8Array;
  dq: Float32Array;
  /** Σ D_j (w − ŵ)² of the result. */
  err: number;
}

/** A small deterministic PRNG (mulberry32), [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface KmeansResult { centroids: Float64Array; assign: Uint32Array; errors: number[] }

/**
 * Spherical k-means of n vectors v [n, d] (weights ω ≥ 0, or 1) into K unit centroids,
 * minimizing E = Σ ω_i (|v_i| − v_i·c_{a(i)}): assignment to the largest dot product, centroid
 * = normalize(Σ ω v) of its members (an empty cluster keeps its centroid). Both steps can
 * only lower E, so `errors` (E after each assignment) does not increase. Seeded k-means++.
 */
export function sphericalKmeans(v: Float64Array, n: number, d: number, K: number, omega: Float64Array | null, iters = 30, seed = 1): KmeansResult {
  const rnd = prng(seed), c = new Float64Array(K * d), norm = new Float64Array(n), wt = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += v[i * d + j] ** 2;
    norm[i] = Math.sqrt(s);
    wt[i] = (omega ? omega[i] : 1) * norm[i];
  }
  // k-means++ on the cosine distance, weighted by ω|v|.
  const dist = new Float64Array(n).fill(Infinity);
  const setCentroid = (q: number, i: number): void => {
    for (let j = 0; j < d; j++) c[q * d + j] = norm[i] > 0 ? v[i * d + j] / norm[i] : (j === 0 ? 1 : 0);
  };
  for (let q = 0; q < K; q++) {
    let pick = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += q === 0 ? wt[i] : wt[i] * dist[i];
    if (sum > 0) {
      let r = rnd() * sum;
      for (let i = 0; i < n; i++) { r -= q === 0 ? wt[i] : wt[i] * dist[i]; if (r <= 0) { pick = i; break; } pick = i; }
    } else pick = Math.floor(rnd() * n);
    setCentroid(q, pick);
    for (let i = 0; i < n; i++) {
      if (norm[i] === 0) { dist[i] = 0; continue; }
      let dot = 0;
      for (let j = 0; j < d; j++) dot += v[i * d + j] * c[q * d + j];
      dist[i] = Math.min(dist[i], 1 - dot / norm[i]);
    }
  }
  const assign = new Uint32Array(n), errors: number[] = [], acc = new Float64Array(K * d);
  for (let it = 0; it < iters; it++) {
    let e = 0, changed = false;
    for (let i = 0; i < n; i++) {
      let best = -Infinity, bq = 0;
      for (let q = 0; q < K; q++) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += v[i * d + j] * c[q * d + j];
        if (dot > best) { best = dot; bq = q; }
      }
      if (it === 0 || assign[i] !== bq) {
        // Keep the old centroid on a tie so the error cannot rise by a rounding wobble.
        let old = 0;
        for (let j = 0; j < d; j++) old += v[i * d + j] * c[assign[i] * d + j];
        if (it === 0 || best > old) { changed ||= assign[i] !== bq; assign[i] = bq; } else best = old;
      }
      e += (omega ? omega[i] : 1) * (norm[i] - best);
    }
    errors.push(e);
    if (it > 0 && !changed) break;
    acc.fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) acc[assign[i] * d + j] += (omega ? omega[i] : 1) * v[i * d + j];
    for (let q = 0; q < K; q++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += acc[q * d + j] ** 2;
      if (s > 0) for (let j = 0; j < d; j++) c[q * d + j] = acc[q * d + j] / Math.sqrt(s);
    }
  }
  return { centroids: c, assign, errors };
}

/** Rounds a codebook to int8 times one scale (its largest |entry| / 127), in place. */
function storeCodebook(c: Float64Array): void {
  let mx = 0;
  for (const x of c) mx = Math.max(mx, Math.abs(x));
  if (mx === 0) return;
  const s = mx / 127;
  for (let i = 0; i < c.length; i++) c[i] = Math.round(c[i] / s) * s;
}

/**
 * The joint code (direction, magnitude) of one vector v (d values from `off` of `w`) with
 * column weights D (from `doff`): argmin over c, m of Σ_j D_j (v_j − s L_m C_cj)².
 */
export function codeVector(w: ArrayLike<number>, off: number, D: ArrayLike<number>, doff: number, d: number, C: Float64Array, L: Float64Array, s: number): { c: number; m: number; err: number } {
  const K = C.length / d, M = L.length;
  let best = Infinity, bc = 0, bm = 0, base = 0;
  for (let j = 0; j < d; j++) base += D[doff + j] * w[off + j] ** 2;
  for (let q = 0; q < K; q++) {
    let a = 0, b = 0;
    for (let j = 0; j < d; j++) { const cj = C[q * d + j]; a += D[doff + j] * w[off + j] * cj; b += D[doff + j] * cj * cj; }
    for (let l = 0; l < M; l++) {
      const t = s * L[l], e = t * (t * b - 2 * a);
      if (e < best) { best = e; bc = q; bm = l; }
    }
  }
  return { c: bc, m: bm, err: base + best };
}

/** Fits a direction codebook, magnitude levels and codes to w [rows, cols] (cols % d == 0). */
export function fitVq(w: Float32Array, rows: number, cols: number, D: Float64Array, o: VqOptions): VqFit {
  const { d } = o, K = 1 << o.k, M = 1 << o.m, ng = cols / d, n = rows * ng;
  if (cols % d !== 0) throw new Error(`vq-fit: ${cols} columns are not a multiple of d = ${d}`);
  const v = Float64Array.from(w), omega = new Float64Array(n);
  for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < d; j++) s += D[(i % ng) * d + j]; omega[i] = s / d; }
  const km = o.codebook ? { centroids: Float64Array.from(o.codebook), assign: nearestDirections(v, n, d, o.codebook) } : sphericalKmeans(v, n, d, K, omega, 30, o.seed ?? 1);
  const C = km.centroids;
  if (!o.codebook) storeCodebook(C);
  // Row scales: the RMS of the row's vector norms.
  const scale = new Float64Array(rows).fill(1);
  if (o.rowScale) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let k = r * cols; k < (r + 1) * cols; k++) s += w[k] ** 2;
      scale[r] = Math.sqrt(s / ng) || 1;
    }
  }
  // Magnitude levels: weighted 1-D k-means of the projections on the assigned direction.
  const proj = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let a = 0, b = 0;
    for (let j = 0; j < d; j++) { const cj = C[km.assign[i] * d + j]; a += v[i * d + j] * cj; b += cj * cj; }
    proj[i] = Math.max(0, b > 0 ? a / b : 0) / scale[Math.floor(i / ng)];
  }
  const sorted = Float64Array.from(proj).sort(), L = new Float64Array(M);
  for (let l = 0; l < M; l++) L[l] = sorted[Math.min(n - 1, Math.floor(((l + 0.5) / M) * n))];
  const lab = new Uint8Array(n), sw = new Float64Array(M), sx = new Float64Array(M);
  for (let it = 0; it < 30; it++) {
    sw.fill(0); sx.fill(0);
    for (let i = 0; i < n; i++) {
      let bl = 0;
      for (let l = 1; l < M; l++) if (Math.abs(proj[i] - L[l]) < Math.abs(proj[i] - L[bl])) bl = l;
      lab[i] = bl; sw[bl] += omega[i]; sx[bl] += omega[i] * proj[i];
    }
    for (let l = 0; l < M; l++) if (sw[l] > 0) L[l] = sx[l] / sw[l];
  }
  // Rounds: joint codes, then levels and codebook by weighted least squares for those codes;
  // the best (codebook, levels, codes) by Σ D (w − ŵ)² is kept.
  const dir = new Uint16Array(n), mag = new Uint8Array(n);
  let best: VqFit | null = null;
  for (let round = 0; round < (o.rounds ?? 4); round++) {
    let err = 0;
    for (let i = 0; i < n; i++) {
      const r = Math.floor(i / ng), g = i % ng, q = codeVector(v, i * d, D, g * d, d, C, L, scale[r]);
      dir[i] = q.c; mag[i] = q.m; err += q.err;
    }
    if (!best || err < best.err) best = { codebook: Float64Array.from(C), levels: Float64Array.from(L), scale, dir: dir.slice(), mag: mag.slice(), dq: new Float32Array(0), err };
    // Levels: L_m = Σ s a / Σ s² b over the vectors coded m.
    sw.fill(0); sx.fill(0);
    for (let i = 0; i < n; i++) {
      const s = scale[Math.floor(i / ng)], g = i % ng;
      let a = 0, b = 0;
      for (let j = 0; j < d; j++) { const cj = C[dir[i] * d + j], dj = D[g * d + j]; a += dj * v[i * d + j] * cj; b += dj * cj * cj; }
      sx[mag[i]] += s * a; sw[mag[i]] += s * s * b;
    }
    for (let l = 0; l < M; l++) if (sw[l] > 0) L[l] = sx[l] / sw[l];
    // Codebook: C_cj = Σ D t v_j / Σ D t² over the vectors coded c (t = s L_m), then int8.
    const num = new Float64Array(K * d), den = new Float64Array(K * d);
    for (let i = 0; i < n; i++) {
      const t = scale[Math.floor(i / ng)] * L[mag[i]], g = i % ng;
      for (let j = 0; j < d; j++) { const dj = D[g * d + j]; num[dir[i] * d + j] += dj * t * v[i * d + j]; den[dir[i] * d + j] += dj * t * t; }
    }
    if (o.codebook) continue;
    for (let k = 0; k < K * d; k++) if (den[k] > 0) C[k] = num[k] / den[k];
    storeCodebook(C);
  }
  best!.dq = decodeVq(best!, rows, cols, d);
  return best!;
}

/** Each of n vectors' codeword of largest dot product. */
function nearestDirections(v: Float64Array, n: number, d: number, C: Float64Array): Uint32Array {
  const K = C.length / d, a = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let q = 0; q < K; q++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += v[i * d + j] * C[q * d + j];
      if (dot > best) { best = dot; a[i] = q; }
    }
  }
  return a;
}

/**
 * One direction codebook for several matrices (a layer's or a model's): spherical k-means of
 * all their d-vectors (ω: the mean H_jj of each vector's columns), rounded to int8 like a
 * per-matrix codebook.
 */
export function fitSharedCodebook(mats: ReadonlyArray<{ w: Float32Array; cols: number; D: Float64Array }>, d: number, k: number, seed = 1): Float64Array {
  let n = 0;
  for (const m of mats) n += m.w.length / d;
  const v = new Float64Array(n * d), omega = new Float64Array(n);
  let at = 0;
  for (const m of mats) {
    const ng = m.cols / d;
    for (let i = 0; i < m.w.length / d; i++, at++) {
      let s = 0;
      for (let j = 0; j < d; j++) { v[at * d + j] = m.w[i * d + j]; s += m.D[(i % ng) * d + j]; }
      omega[at] = s / d;
    }
  }
  const C = sphericalKmeans(v, n, d, 1 << k, omega, 30, seed).centroids;
  storeCodebook(C);
  return C;
}

/** ŵ = R_r L[mag] C[dir], [rows, cols]. */
export function decodeVq(f: Pick<VqFit, 'codebook' | 'levels' | 'scale' | 'dir' | 'mag'>, rows: number, cols: number, d: number): Float32Array {
  const ng = cols / d, dq = new Float32Array(rows * cols);
  for (let i = 0; i < rows * ng; i++) {
    const t = f.scale[Math.floor(i / ng)] * f.levels[f.mag[i]];
    for (let j = 0; j < d; j++) dq[i * d + j] = t * f.codebook[f.dir[i] * d + j];
  }
  return dq;
}

/**
 * GPTQ with the fitted codebook and levels fixed: per row, vectors left to right (no
 * act-order: a vector's columns must stay together), each coded jointly with column weights
 * 1/U_jj² (U: the upper Cholesky factor of H^-1), then its columns' errors spread over the
 * columns after them. Codes in `f` are replaced; returns the dequantized weights (f.dq when
 * the Hessian cannot be factored).
 */
export function gptqVq(w: Float32Array, rows: number, cols: number, h: Float64Array, f: VqFit, d: number): Float32Array {
  const { u } = inverseHessianFactor(h, cols, { actOrder: false });
  if (!u) return f.dq;
  const ng = cols / d, wr = new Float64Array(cols), dw = new Float64Array(cols);
  for (let j = 0; j < cols; j++) dw[j] = 1 / u[j * cols + j] ** 2;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) wr[j] = h[j * cols + j] === 0 ? 0 : w[r * cols + j];
    for (let g = 0; g < ng; g++) {
      const i = r * ng + g, q = codeVector(wr, g * d, dw, g * d, d, f.codebook, f.levels, f.scale[r]);
      f.dir[i] = q.c; f.mag[i] = q.m;
      const t = f.scale[r] * f.levels[q.m];
      for (let jj = 0; jj < d; jj++) {
        const j = g * d + jj, err = (wr[j] - t * f.codebook[q.c * d + jj]) / u[j * cols + j];
        for (let k = j + 1; k < cols; k++) wr[k] -= err * u[k * cols + j];
      }
    }
  }
  return decodeVq(f, rows, cols, d);
}

/** Bytes stored: packed (k + m)-bit codes, int8 codebook + fp16 scale (its share when sharedBy matrices use it), fp16 levels, fp16 row scales. */
export function vqBytes(rows: number, cols: number, o: Pick<VqOptions, 'd' | 'k' | 'm' | 'rowScale'>, sharedBy = 1): number {
  return Math.ceil(((rows * cols) / o.d) * (o.k + o.m) / 8) + ((1 << o.k) * o.d + 2) / sharedBy + 2 * (1 << o.m) + (o.rowScale ? 2 * rows : 0);
}

/** Σ_r (w_r − ŵ_r)ᵀ H (w_r − ŵ_r), the output error on the calibration inputs. */
export function hError(w: Float32Array, dq: Float32Array, rows: number, cols: number, h: Float64Array): number {
  const e = new Float64Array(cols);
  let s = 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) e[j] = w[r * cols + j] - dq[r * cols + j];
    for (let i = 0; i < cols; i++) { let t = 0; for (let j = 0; j < cols; j++) t += h[i * cols + j] * e[j]; s += e[i] * t; }
  }
  return s;
}

/**
 * Least squares on the full Hessian for np parameters θ that each weight depends on linearly
 * through one of them, ŵ[r, j] = coef(r, j) θ[idx(r, j)]: θ = argmin Σ_r (w_r − ŵ_r)ᵀ H (w_r − ŵ_r)
 * + λ |θ − θ0|² (λ tiny: a parameter no weight uses keeps its value).
 */
function refitLinear(w: Float32Array, rows: number, cols: number, h: Float64Array, theta0: Float64Array, idx: (r: number, j: number) => number, coef: (r: number, j: number) => number): Float64Array {
  const np = theta0.length, A = new Float64Array(np * np), b = new Float64Array(np);
  const ix = new Int32Array(cols), cf = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) { ix[j] = idx(r, j); cf[j] = coef(r, j); }
    for (let i = 0; i < cols; i++) {
      let hw = 0;
      for (let j = 0; j < cols; j++) { const hij = h[i * cols + j]; hw += hij * w[r * cols + j]; A[ix[i] * np + ix[j]] += cf[i] * cf[j] * hij; }
      b[ix[i]] += cf[i] * hw;
    }
  }
  let tr = 0;
  for (let p = 0; p < np; p++) tr += A[p * np + p];
  const lambda = 1e-6 * (tr / np || 1);
  for (let p = 0; p < np; p++) { A[p * np + p] += lambda; b[p] += lambda * theta0[p]; }
  solveSpd(A, b, np);
  return b;
}

/**
 * GPTQ codes alternated with a least-squares refit of the codebook, then of the levels, on
 * the full calibration Hessian (the uniform grid's +als / --gptq refit, for a codebook shared
 * by all rows): `rounds` rounds, the (codebook, levels, codes) of least output error kept,
 * the first GPTQ pass included. Returns that fit with its dq.
 */
export function gptqVqRefit(w: Float32Array, rows: number, cols: number, h: Float64Array, f0: VqFit, d: number, rounds = 3, sharedCodebook = false): VqFit {
  const ng = cols / d;
  let f: VqFit = { ...f0, codebook: Float64Array.from(f0.codebook), levels: Float64Array.from(f0.levels), dir: f0.dir.slice(), mag: f0.mag.slice() };
  f.dq = gptqVq(w, rows, cols, h, f, d);
  let best = f, bestErr = hError(w, f.dq, rows, cols, h);
  for (let round = 0; round < rounds; round++) {
    const cur = f, vi = (r: number, j: number): number => r * ng + Math.floor(j / d);
    const C = sharedCodebook ? cur.codebook : refitLinear(w, rows, cols, h, cur.codebook, (r, j) => cur.dir[vi(r, j)] * d + (j % d), (r, j) => cur.scale[r] * cur.levels[cur.mag[vi(r, j)]]);
    if (!sharedCodebook) storeCodebook(C);
    const L = refitLinear(w, rows, cols, h, cur.levels, (r, j) => cur.mag[vi(r, j)], (r, j) => cur.scale[r] * C[cur.dir[vi(r, j)] * d + (j % d)]);
    f = { ...cur, codebook: C, levels: L, dir: cur.dir.slice(), mag: cur.mag.slice() };
    f.dq = gptqVq(w, rows, cols, h, f, d);
    const e = hError(w, f.dq, rows, cols, h);
    if (e < bestErr) { best = f; bestErr = e; }
  }
  return best;
}
