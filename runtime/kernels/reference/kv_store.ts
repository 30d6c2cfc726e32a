// KV cache store (docs/integer-spec.md §3.7, first paragraph): the key and value vectors
// of one position, per kv head, into row `position` of the cache: K to 12 bits (int16,
// qmax 2047), V to int8 (qmax 127), each head with its own scale (m int16, e int8).

import {
  ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, INV_QMAX8_E, INV_QMAX8_M, QMAX8,
} from './constants.ts';
import { quantizeAct } from './quantize_act.ts';

/**
 * Stores k, v (Q16, [nKv * hs]) at row `position` of kc [S, kvD], vc [S, kvD] and their
 * per-head scales kM/kE, vM/vE [S, nKv]. `sc` is int32 scratch of at least 2 elements.
 */
export function kvStore(
  kc: Int16Array, kM: Int16Array, kE: Int8Array, vc: Int8Array, vM: Int16Array, vE: Int8Array,
  k: Int32Array, v: Int32Array, position: number, nKv: number, hs: number, sc: Int32Array,
): void {
  const kvD = nKv * hs, row = position * kvD, srow = position * nKv;
  for (let g = 0; g < nKv; g++) {
    quantizeAct(kc, row + g * hs, k, g * hs, hs, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
    kM[srow + g] = sc[0]; kE[srow + g] = sc[1];
    quantizeAct(vc, row + g * hs, v, g * hs, hs, ACT_FRAC, QMAX8, INV_QMAX8_M, INV_QMAX8_E, sc, 0);
    vM[srow + g] = sc[0]; vE[srow + g] = sc[1];
  }
}
