// KV cache store (docs/integer-spec.md §3.7, first paragraph). Port of
// runtime/kernels/reference/kv_store.ts: per kv head, K to 12 bits (int16) and V to int8
// at row `position`, each head's scale (m int16, e int8) beside it.
// The kernel corpus (test/kernels) checks it against the reference; the runtime's runKvStore
// (generated into runtime/assembly/ops.ts from compiler/ops/kinds/kv_store.ts) calls it.
import {
  ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, INV_QMAX8_E, INV_QMAX8_M, QMAX8,
} from "./constants";
import { quantizeAct } from "./quantize_act";

/** kc/vc [S, nKv*hs], kM/vM (i16) and kE/vE (i8) [S, nKv]; k, v i32 [nKv*hs]; sc: i32 scratch of 2. */
export function kvStore(
  kc: usize, kM: usize, kE: usize, vc: usize, vM: usize, vE: usize,
  k: usize, v: usize, position: i32, nKv: i32, hs: i32, sc: usize,
): void {
  const kvD = nKv * hs;
  const row = position * kvD, srow = position * nKv;
  for (let g = 0; g < nKv; g++) {
    quantizeAct<i16>(kc, row + g * hs, k, g * hs, hs, 16, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
    store<i16>(kM + (<usize>(srow + g) << 1), <i16>load<i32>(sc));
    store<i8>(kE + <usize>(srow + g), <i8>load<i32>(sc, 4));
    quantizeAct<i8>(vc, row + g * hs, v, g * hs, hs, 16, QMAX8, INV_QMAX8_M, INV_QMAX8_E, sc, 0);
    store<i16>(vM + (<usize>(srow + g) << 1), <i16>load<i32>(sc));
    store<i8>(vE + <usize>(srow + g), <i8>load<i32>(sc, 4));
  }
}
