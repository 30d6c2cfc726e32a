// Residual connection (docs/integer-spec.md §3.9): x += y in Q16, saturating.
// Port of runtime/kernels/reference/residual.ts.
import { satAdd } from "./arith";
import { i32at, set32 } from "./mem";

export function residualAdd(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) set32(x, i, satAdd(i32at(x, i), i32at(y, i)));
}
