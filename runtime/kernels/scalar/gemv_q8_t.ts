// Transposed int8 GEMV for the backward pass (docs/integer-spec.md §13.1). Port of
// runtime/kernels/reference/gemv_q8_t.ts. Scratch: gp [d] i32, q [d] i16, acc [n] i32 (caller).
import { satAdd } from "./arith";
import { ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M } from "./constants";
import { i16at, i32at, i8at, set32 } from "./mem";
import { quantizeAct } from "./quantize_act";
import { maxBits, mulShiftAny } from "./train_arith";

const sc: usize = memory.data(8, 8);
const ACC_Q_LIMIT: i32 = (1 << 24) - 1;

/** out[c] = sum_{r<d} W[r, c] sW[r] g[r] for c < n, Q outFrac (W int8 [d, n], g Q gFrac). */
export function gemvQ8T(
  out: usize, w: usize, wM: usize, wE: usize, g: usize, gFrac: i32, n: i32, d: i32, outFrac: i32,
  gp: usize, q: usize, acc: usize,
): void {
  let B = -2147483647;
  for (let r = 0; r < d; r++) {
    const gb = maxBits(g, r, 1);
    if (gb == 0) continue;
    const b = gb + 15 - i8at(wE, r);
    if (b > B) B = b;
  }
  for (let c = 0; c < n; c++) set32(out, c, 0);
  if (B == -2147483647) return;
  for (let r = 0; r < d; r++) set32(gp, r, mulShiftAny(i32at(g, r), i16at(wM, r), i8at(wE, r) + B - 30));
  quantizeAct<i16>(q, 0, gp, 0, d, gFrac + 30 - B, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
  // acc in chunks of rows with sum |q| <= 2^24 - 1 (|acc| < 2^31), each added to out.
  const m = i32at(sc, 0), sh = i32at(sc, 1) - outFrac;
  for (let c = 0; c < n; c++) set32(acc, c, 0);
  let used = 0;
  for (let r = 0; r < d; r++) {
    const qr = i16at(q, r);
    if (qr == 0) continue;
    const aq = qr < 0 ? -qr : qr;
    if (used + aq > ACC_Q_LIMIT) { flush(out, acc, n, m, sh); used = 0; }
    used = used + aq;
    const row = w + <usize>(r * n);
    for (let c = 0; c < n; c++) {
      const p = acc + (<usize>c << 2);
      store<i32>(p, load<i32>(p) + <i32>load<i8>(row + <usize>c) * qr);
    }
  }
  flush(out, acc, n, m, sh);
}

/** out[c] += acc[c] * m * 2^-sh (saturating), acc[c] = 0. */
function flush(out: usize, acc: usize, n: i32, m: i32, sh: i32): void {
  for (let c = 0; c < n; c++) { set32(out, c, satAdd(i32at(out, c), mulShiftAny(i32at(acc, c), m, sh))); set32(acc, c, 0); }
}
