// Residual connection (docs/integer-spec.md §3.9): x += y in Q16, saturating.

import { satAdd } from './arith.ts';

export function residualAdd(x: Int32Array, y: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) x[i] = satAdd(x[i], y[i]);
}
