// The SIMD variants of ops.ts's run functions (targets with "simd": true). Checks are the
// scalar ones: the kernels read exactly the same ranges.
import { inp, outp, prm } from "./runtime";
import { gemvQ8 } from "../kernels/simd/gemv_q8";

export function runGemvSimd(r: usize): void {
  const sc = inp(r, 1);
  gemvQ8(outp(r, 0), inp(r, 2), inp(r, 3), inp(r, 4), inp(r, 0), load<i32>(sc), load<i32>(sc, 4), prm(r, 0), prm(r, 1), prm(r, 2));
}
