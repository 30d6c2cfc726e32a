// The LoRA gradient outer product (docs/integer-spec.md §13.7). Port of
// runtime/kernels/reference/gse_outer.ts.
import { bitLength, satAdd, shlSat } from "./arith";
import { i32at, i8at, set32 } from "./mem";

/** acc[rows, cols] (int32 Q accFrac) += a b^T for GSE vectors a [rows], b [cols]. */
export function gseOuterAcc(
  acc: usize, accFrac: i32, aM: usize, aE: usize, bM: usize, bE: usize, rows: i32, cols: i32, G: i32,
): void {
  const gs = bitLength(G) - 1;
  for (let i = 0; i < rows; i++) {
    const ai = i8at(aM, i);
    if (ai == 0) continue;
    const ea = i8at(aE, i >> gs) + accFrac, row = i * cols;
    for (let j = 0; j < cols; j++) {
      const p = ai * i8at(bM, j);
      const sh = ea + i8at(bE, j >> gs);
      let t: i32;
      if (sh >= 0) t = shlSat(p, sh);
      else if (sh < -15) t = 0;
      else t = (p + (1 << (-sh - 1))) >> -sh;
      set32(acc, row + j, satAdd(i32at(acc, row + j), t));
    }
  }
}
