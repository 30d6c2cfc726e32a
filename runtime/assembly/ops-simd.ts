// The SIMD variants of ops.ts's run functions (targets with "simd": true). Checks are the
// scalar ones: the kernels read exactly the same ranges.
import { inp, outp, prm } from "./runtime";
import { gemvQ8 } from "../kernels/simd/gemv_q8";
import { gemvLut, lutTables } from "../kernels/simd/gemv_lut";

export function runGemvSimd(r: usize): void {
  const sc = inp(r, 1);
  gemvQ8(outp(r, 0), inp(r, 2), inp(r, 3), inp(r, 4), inp(r, 0), load<i32>(sc), load<i32>(sc, 4), prm(r, 0), prm(r, 1), prm(r, 2));
}

// The SIMD LUT pair: its tables (same size as the scalar kernel's, its own content) are
// built and read only by this pair, so a program's lut_tables and gemv_lut always match.
export function runLutTablesSimd(r: usize): void {
  lutTables(outp(r, 0), inp(r, 0), prm(r, 0));
}
export function runGemvLutSimd(r: usize): void {
  const sc = inp(r, 1);
  gemvLut(outp(r, 0), inp(r, 2), inp(r, 3), inp(r, 4), inp(r, 5), inp(r, 0), load<i32>(sc), load<i32>(sc, 4),
    prm(r, 0), prm(r, 1), prm(r, 3), prm(r, 4), prm(r, 2));
}
