// The initial LoRA A matrices (docs/integer-spec.md §13), made with integers only so that
// the integer trainer, its AssemblyScript port and the float reference start from the
// same adapter: the float trainer uses exactly initLoraA(...) / 2^24.
//
// Rule for one tensor (rows x cols, row-major), seed s in [0, 2^32), stream k >= 0:
//   bound  = round-half-up(2^24 / sqrt(cols)) = the largest b >= 1 with (2b - 1)^2 * cols <= 2^50
//            (exact integer test; 2^21 for cols = 64, 2^20 for cols = 256);
//   rng    = Xorshift64Star(lo = s, hi = k + 1)   (hi != 0, so the state is never 0),
//            then 16 outputs discarded (a sparse seed state needs a few rounds to mix);
//   a[i]   = mulHiU32(u_i, 2 * bound + 1) - bound  for i = 0 .. rows*cols - 1, in order,
//            u_i the next output read as uint32: floor(u * (2b+1) / 2^32) is uniform on
//            [0, 2b] up to a bias below (2b+1) / 2^32 < 2^-6 per value.
// So A ~ uniform(±1/sqrt(din)) in Q24. The stream index separates the tensors of one
// adapter: loraStream(layer, targetIndex, nTargets) = layer * nTargets + targetIndex.
// (The bound is computed with BigInt here; a device port does the same test in u64.)
import { Xorshift64Star } from '../../runtime/kernels/reference/rng.ts';
import { mulHiU32 } from '../../runtime/kernels/reference/int64.ts';

import { W_FRAC } from '../../runtime/kernels/reference/constants.ts';

/** Fraction bits of the master LoRA weights (docs/integer-spec.md §13.9). */
export { W_FRAC };
const WARMUP = 16;

/** round-half-up(2^24 / sqrt(cols)), exactly, for an integer cols >= 1. */
export function loraInitBound(cols: number): number {
  if (!Number.isInteger(cols) || cols < 1) throw new RangeError(`cols must be a positive integer, got ${cols}`);
  const limit = 1n << 50n, c = BigInt(cols);
  // (2b-1)^2 * cols <= 2^50 holds for b = 1 and fails for b = 2^24 + 1: binary search.
  let lo = 1n, hi = (1n << 24n) + 1n;
  while (hi - lo > 1n) {
    const mid = (lo + hi) >> 1n;
    const t = 2n * mid - 1n;
    if (t * t * c <= limit) lo = mid; else hi = mid;
  }
  return Number(lo);
}

/** The stream index of one adapted matrix: tensors are numbered layer-major. */
export const loraStream = (layer: number, targetIndex: number, nTargets: number): number =>
  layer * nTargets + targetIndex;

/** Initial A (rows x cols, Q24), by the rule in the header. */
export function initLoraA(rows: number, cols: number, seed: number, stream = 0): Int32Array {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  if (!Number.isInteger(stream) || stream < 0 || stream >= 0x7fffffff) throw new RangeError(`stream must be a non-negative int32, got ${stream}`);
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`rows must be a non-negative integer, got ${rows}`);
  const bound = loraInitBound(cols);
  const span = 2 * bound + 1;
  const rng = new Xorshift64Star(seed | 0, stream + 1);
  for (let i = 0; i < WARMUP; i++) rng.next();
  const out = new Int32Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = mulHiU32(rng.next(), span) - bound;
  return out;
}
