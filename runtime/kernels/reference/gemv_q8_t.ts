// Transposed int8 GEMV for the backward pass (docs/integer-spec.md §13.1): the gradient
// with respect to a frozen matrix's input, out[c] = sum_{r<d} W[r, c] sW[r] g[r] for c < n
// (W int8 [d rows, n cols] with per-row scales sW = wM * 2^-wE, g int32 Q gFrac).
//   1. g'[r] = g[r] * sW[r] on a common exponent chosen from the data (|g'| < 2^30), so
//      tiny and huge gradients keep their 15 significant bits;
//   2. g' -> 12-bit q with one scale S (quantizeAct, as for the forward GEMV's input);
//   3. acc[c] = sum_r W[r, c] q[r] in int32, streaming W row by row, in chunks of rows with
//      sum |q| <= 2^24 - 1 so that |acc| < 2^31 even for W = -128 (any d);
//   4. out[c] += acc[c] * S in Q outFrac per chunk (one int64 product; left shifts saturate).

import { satAdd } from './arith.ts';
import { ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M } from './constants.ts';
import { quantizeAct } from './quantize_act.ts';
import { maxBits, mulShiftAny } from './train_arith.ts';

/** Scratch for gemvQ8T (AssemblyScript: caller-provided addresses gp [d] i32, q [d] i16, acc [n] i32). */
export class GemvTScratch {
  readonly gp: Int32Array;
  readonly q: Int16Array;
  readonly acc: Int32Array;
  readonly sc = new Int32Array(2);
  constructor(d: number, n: number) {
    this.gp = new Int32Array(d);
    this.q = new Int16Array(d);
    this.acc = new Int32Array(n);
  }
}

/** Chunk limit on sum |q|: 128 * (2^24 - 1) < 2^31. */
const ACC_Q_LIMIT = (1 << 24) - 1;

export function gemvQ8T(
  out: Int32Array, w: Int8Array, wM: Int16Array, wE: Int8Array,
  g: Int32Array, gFrac: number, n: number, d: number, outFrac: number, s: GemvTScratch,
): void {
  const gp = s.gp, sc = s.sc;
  // B = max_r (bitLength|g[r]| + 15 - wE[r]) bounds log2 |g[r] sW[r]| * 2^gFrac from above.
  let B = -2147483647;
  for (let r = 0; r < d; r++) {
    const gb = maxBits(g, r, 1);
    if (gb === 0) continue;
    const b = gb + 15 - wE[r];
    if (b > B) B = b;
  }
  for (let c = 0; c < n; c++) out[c] = 0;
  if (B === -2147483647) return; // g = 0
  // g'[r] = g[r] wM[r] 2^-(wE[r] + B - 30): |g'| < 2^30, value g' * 2^-(gFrac + 30 - B).
  // A negative shift means the exact product (< 2^30) shifted left: mulShiftAny.
  for (let r = 0; r < d; r++) gp[r] = mulShiftAny(g[r], wM[r], wE[r] + B - 30);
  quantizeAct(s.q, 0, gp, 0, d, gFrac + 30 - B, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
  // acc[c] = sum_r W[r, c] q[r] in int32. |acc| <= 128 * sum_r |q[r]|, so rows are taken in
  // chunks with sum |q| <= ACC_Q_LIMIT (one chunk for d <= 8196 at full scale): each chunk's acc
  // is scaled to Q outFrac and added (saturating) to out; chunking only happens for large d
  // (the classifier of a big vocabulary) and only changes the rounding.
  const acc = s.acc, m = sc[0], sh = sc[1] - outFrac;
  for (let c = 0; c < n; c++) acc[c] = 0;
  let used = 0;
  for (let r = 0; r < d; r++) {
    const qr = s.q[r];
    if (qr === 0) continue;
    const aq = qr < 0 ? -qr : qr;
    if (used + aq > ACC_Q_LIMIT) { flush(out, acc, n, m, sh); used = 0; }
    used = used + aq;
    const row = r * n;
    for (let c = 0; c < n; c++) acc[c] = (acc[c] + Math.imul(w[row + c], qr)) | 0;
  }
  flush(out, acc, n, m, sh);
}

/** out[c] += acc[c] * m * 2^-sh (saturating), acc[c] = 0. */
function flush(out: Int32Array, acc: Int32Array, n: number, m: number, sh: number): void {
  for (let c = 0; c < n; c++) { out[c] = satAdd(out[c], mulShiftAny(acc[c], m, sh)); acc[c] = 0; }
}
