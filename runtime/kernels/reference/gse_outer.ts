// The LoRA gradient outer product (docs/integer-spec.md §13.7): acc[i, j] += a_i b_j for
// GSE vectors a [rows] and b [cols] (each grouped by G along its length). The product of
// two mantissas (|p| <= 127^2 < 2^14) has exponent Ea + Eb; it is brought to Q accFrac
// exactly when that needs a left shift (saturating) and rounded half up otherwise, then
// added with saturation.

import { satAdd, shlSat } from './arith.ts';
import { log2G } from './gse.ts';

/** acc[rows, cols] (int32 Q accFrac, row-major) += a b^T, rows % G == 0, cols % G == 0. */
export function gseOuterAcc(
  acc: Int32Array, accFrac: number, aM: Int8Array, aE: Int8Array, bM: Int8Array, bE: Int8Array,
  rows: number, cols: number, G: number,
): void {
  const gs = log2G(G);
  for (let i = 0; i < rows; i++) {
    const ai = aM[i];
    if (ai === 0) continue;
    const ea = aE[i >> gs] + accFrac, row = i * cols;
    for (let j = 0; j < cols; j++) {
      const p = Math.imul(ai, bM[j]);
      const sh = ea + bE[j >> gs];
      let t: number;
      if (sh >= 0) t = shlSat(p, sh);
      else if (sh < -15) t = 0; // |p| < 2^14: |p| / 2^15 < 1/2 rounds to 0 (half up: -1/2 -> 0)
      else t = (p + (1 << (-sh - 1))) >> -sh;
      acc[row + j] = satAdd(acc[row + j], t);
    }
  }
}
