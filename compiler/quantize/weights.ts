// int8 per-output-channel (per-row) symmetric weight quantization (docs/integer-spec.md
// §5.2): q = clamp(round(w / s), -127, 127) with one scale s per row, stored as (m, e).
// The scale is absmax/127, or with `clip` the clipped c * absmax / 127 that minimizes the
// row's squared error over a grid of c (measured in the spec: it barely matters for int8).
import { roundHalfAway, scaleValue, toScale } from './fixed-point.ts';

export interface QuantizedRows {
  q: Int8Array;
  m: Int16Array;
  e: Int8Array;
  /** Sum over all weights of (w - q * s)^2, for reporting. */
  sqError: number;
}

export interface RowQuantOptions {
  /** Search the clip ratio c in {1, 1 - step, ..., minRatio} per row (default: off, c = 1). */
  clip?: boolean;
  clipMinRatio?: number;
  clipStep?: number;
  /** Put the int8 values on a SharedArrayBuffer, for worker threads to read without a copy (compiler/emit/conformance-pool.ts). */
  shared?: boolean;
}

/** Exponent stored for an all-zero row (any value with 0 <= e <= 127 gives 0 outputs). */
export const ZERO_ROW_E = 40;

function quantizeRow(w: Float32Array, off: number, n: number, s: number, q: Int8Array | null): number {
  let err = 0;
  for (let j = 0; j < n; j++) {
    const x = w[off + j];
    let v = roundHalfAway(x / s);
    if (v > 127) v = 127; else if (v < -127) v = -127;
    if (q) q[off + j] = v;
    const d = x - v * s;
    err += d * d;
  }
  return err;
}

export function quantizeRows(w: Float32Array, rows: number, cols: number, opts: RowQuantOptions = {}): QuantizedRows {
  const q = new Int8Array(opts.shared ? new SharedArrayBuffer(rows * cols) : new ArrayBuffer(rows * cols)), m = new Int16Array(rows), e = new Int8Array(rows);
  const minRatio = opts.clipMinRatio ?? 0.7, step = opts.clipStep ?? 0.01;
  let sqError = 0;
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let amax = 0;
    for (let j = 0; j < cols; j++) amax = Math.max(amax, Math.abs(w[off + j]));
    if (amax === 0 || toScale(amax / 127).e > 127) { m[r] = 16384; e[r] = ZERO_ROW_E; continue; }
    // The quantization uses the stored scale m * 2^-e (not amax/127 itself), so that the
    // integer values and the scale the runtime multiplies by agree exactly.
    let best = toScale(amax / 127);
    if (opts.clip) {
      // Without the clip search the error of c = 1 is not needed before the final pass.
      let bestErr = quantizeRow(w, off, cols, scaleValue(best), null);
      for (let k = 1; 1 - k * step >= minRatio - 1e-9; k++) {
        const s = toScale(((1 - k * step) * amax) / 127);
        const err = quantizeRow(w, off, cols, scaleValue(s), null);
        if (err < bestErr) { best = s; bestErr = err; }
      }
    }
    sqError += quantizeRow(w, off, cols, scaleValue(best), q);
    m[r] = best.m; e[r] = best.e;
  }
  return { q, m, e, sqError };
}

/** A norm gain as int16 with `frac` fractional bits chosen so that max |q| is in [2^14, 2^15). */
export function quantizeGain(g: Float32Array): { q: Int16Array; frac: number } {
  let amax = 0;
  for (const x of g) amax = Math.max(amax, Math.abs(x));
  const q = new Int16Array(g.length);
  if (amax === 0) return { q, frac: 0 };
  let frac = toScale(amax).e; // amax * 2^frac in [2^14, 2^15] after rounding
  if (roundHalfAway(amax * 2 ** frac) > 32767) frac--;
  for (let i = 0; i < g.length; i++) q[i] = roundHalfAway(g[i] * 2 ** frac);
  return { q, frac };
}
