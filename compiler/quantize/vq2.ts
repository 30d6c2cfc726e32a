// The vq2 weight format (docs/integer-spec.md §9.7): pairs of weights as 5-bit codes into a
// per-matrix codebook of 32 two-dimensional int8 codewords times one matrix scale; its layout
// (16 x 16 weights in 80 bytes) and its quantizer (compile time, float64): the PCDVQ-style fit
// of ./vq-fit.ts at d = 2, 2^4 directions x 2 magnitude levels, folded into 32 codewords,
// with GPTQ and least-squares codebook refits when a calibration Hessian is given.
import { EdgeqError } from '../util/errors.ts';
import { scaleValue, toScale } from './fixed-point.ts';
import { MIN_GEMV_E } from './lowbit-format.ts';
import { codeVector, decodeVq, fitVq, gptqVq, gptqVqRefit, type VqFit } from './vq-fit.ts';
import { VQ2_BLOCK_BYTES, vq2CodeAt } from '../../runtime/kernels/reference/gemv_vq.ts';

/** Rows per tile, columns per block, bytes per (tile, block): 16 x 16 weights at 2.5 bits. */
export const VQ2_TILE_ROWS = 16;
export const VQ2_BLOCK_COLS = 16;
export { VQ2_BLOCK_BYTES };
/** Codewords (5-bit codes: magnitude bit << 4 | direction nibble) and their dimension. */
export const VQ2_CODES = 32;
export const VQ2_DIM = 2;
/** The fit: 2^4 directions x 2^1 magnitude levels, seeded (deterministic). */
const FIT = { d: VQ2_DIM, k: 4, m: 1, rowScale: false, seed: 1 } as const;
/** Rounds of GPTQ + least-squares codebook refit (the LUT formats' --gptq refit count). */
const REFIT_ROUNDS = 3;

export interface Vq2Matrix {
  /** Codes, tiled (vq2Offset): ⌈rows/16⌉ · cols/16 · 80 bytes. */
  codes: Uint8Array;
  /** E: int8 [32, 2]. */
  codebook: Int8Array;
  /** The matrix scale (m, e): [1] each. */
  scaleM: Int16Array;
  scaleE: Int8Array;
  /** Σ (w − ŵ)² over the matrix. */
  sqError: number;
}

/** Bytes of the codes of a rows x cols matrix (cols a multiple of 16). */
export const vq2CodeBytes = (rows: number, cols: number): number =>
  Math.ceil(rows / VQ2_TILE_ROWS) * Math.ceil(cols / VQ2_BLOCK_COLS) * VQ2_BLOCK_BYTES;

/**
 * Where the code of pair p of row o lives: the byte of its direction nibble (low nibble for
 * an even p, high for odd), the byte of its magnitude bit and that bit (§9.7.1).
 */
export function vq2Offset(o: number, p: number, cols: number): { nib: number; high: boolean; mag: number; bit: number } {
  const base = ((o >> 4) * (cols / VQ2_BLOCK_COLS) + (p >> 3)) * VQ2_BLOCK_BYTES, r = o & 15, i = p & 7;
  return { nib: base + 16 * (i >> 1) + r, high: (i & 1) === 1, mag: base + 64 + r, bit: i };
}

/** Packs per-pair codes c[o · cols/2 + p] ∈ [0, 32) into the tiled layout. */
export function packVq2(c: ArrayLike<number>, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(vq2CodeBytes(rows, cols)), np = cols / 2;
  for (let o = 0; o < rows; o++) {
    for (let p = 0; p < np; p++) {
      const code = c[o * np + p], at = vq2Offset(o, p, cols);
      out[at.nib] |= at.high ? (code & 15) << 4 : code & 15;
      out[at.mag] |= (code >> 4) << at.bit;
    }
  }
  return out;
}

/** The code of pair p of row o (the reference kernel's reader). */
export const vq2Code = (codes: Uint8Array, o: number, p: number, cols: number): number => vq2CodeAt(codes, o, p, cols / VQ2_BLOCK_COLS);

/** The real weights the stored tensors represent: ŵ[o, 2p + t] = E[c][t] · s. */
export function dequantizeVq2(codes: Uint8Array, codebook: Int8Array, scaleM: number, scaleE: number, rows: number, cols: number): Float32Array {
  const s = scaleValue({ m: scaleM, e: scaleE }), out = new Float32Array(rows * cols);
  for (let o = 0; o < rows; o++) {
    for (let p = 0; p < cols / 2; p++) {
      const c = vq2Code(codes, o, p, cols);
      out[o * cols + 2 * p] = codebook[2 * c] * s;
      out[o * cols + 2 * p + 1] = codebook[2 * c + 1] * s;
    }
  }
  return out;
}

/**
 * Quantizes w [rows, cols] (cols a multiple of 16) to vq2; with `h` (the Hessian Σ x xᵀ of
 * the matrix's inputs, [cols, cols]) H-weighted, by GPTQ with least-squares codebook refits.
 * An EdgeqError when the matrix scale's exponent would be < MIN_GEMV_E (§5.4).
 */
export function quantizeVq2(w: Float32Array, rows: number, cols: number, h?: Float64Array): Vq2Matrix {
  if (cols % VQ2_BLOCK_COLS !== 0) throw new EdgeqError(`vq2: ${cols} columns are not a multiple of ${VQ2_BLOCK_COLS}`);
  const D = new Float64Array(cols).fill(1);
  if (h) for (let j = 0; j < cols; j++) D[j] = h[j * cols + j];
  const fit = fitVq(w, rows, cols, D, FIT);
  // Fold the magnitude levels into the codewords: code (m << 4) | c is L_m · C_c.
  const folded = new Float64Array(VQ2_CODES * VQ2_DIM);
  for (let m = 0; m < 2; m++) for (let c = 0; c < 16; c++) for (let t = 0; t < VQ2_DIM; t++) folded[(m * 16 + c) * VQ2_DIM + t] = fit.levels[m] * fit.codebook[c * VQ2_DIM + t];
  const n = (rows * cols) / VQ2_DIM, dir = new Uint16Array(n);
  for (let i = 0; i < n; i++) dir[i] = fit.mag[i] * 16 + fit.dir[i];
  let f: VqFit = { codebook: folded, levels: Float64Array.of(1), scale: fit.scale, dir, mag: new Uint8Array(n), dq: new Float32Array(0), err: 0 };
  if (h) f = gptqVqRefit(w, rows, cols, h, f, VQ2_DIM, REFIT_ROUNDS);
  // The stored integers: E = round(L · C / s), s = max |L · C| / 127 snapped to (m, e).
  const eff = f.codebook.map((x) => x * f.levels[0]);
  let mx = 0;
  for (const x of eff) mx = Math.max(mx, Math.abs(x));
  const sc = mx > 0 ? toScale(mx / 127) : { m: 1 << 14, e: 30 };
  if (sc.e < MIN_GEMV_E) throw new EdgeqError(`vq2: weights too large (matrix scale exponent ${sc.e} < ${MIN_GEMV_E})`);
  const sv = scaleValue(sc), codebook = new Int8Array(VQ2_CODES * VQ2_DIM);
  for (let k = 0; k < codebook.length; k++) codebook[k] = Math.max(-127, Math.min(127, Math.round(eff[k] / sv)));
  // Codes chosen against exactly what the device multiplies by.
  const stored: VqFit = { ...f, codebook: Float64Array.from(codebook, (q) => q * sv), levels: Float64Array.of(1), scale: new Float64Array(rows).fill(1), dir: f.dir.slice(), mag: new Uint8Array(n) };
  let dq: Float32Array;
  if (h) dq = gptqVq(w, rows, cols, h, { ...stored, dq: decodeVq(stored, rows, cols, VQ2_DIM) }, VQ2_DIM);
  else {
    for (let i = 0; i < n; i++) stored.dir[i] = codeVector(w, i * VQ2_DIM, D, (i * VQ2_DIM) % cols, VQ2_DIM, stored.codebook, stored.levels, 1).c;
    dq = decodeVq(stored, rows, cols, VQ2_DIM);
  }
  let sqError = 0;
  for (let k = 0; k < w.length; k++) sqError += (w[k] - dq[k]) ** 2;
  return { codes: packVq2(stored.dir, rows, cols), codebook, scaleM: Int16Array.of(sc.m), scaleE: Int8Array.of(sc.e), sqError };
}
