// Touch-ahead for the SIMD GEMVs that stream matrices larger than the caches. wasm has no
// prefetch instruction, and the hardware prefetcher does not run far enough ahead of a
// compute-dense loop (or of several row streams at once), so a kernel loads one byte of
// every cache line of the block it will read next: gemv_lut in a short burst per block
// (touchLines), gemv_q8 one line per step spread through its pass. The bytes are folded
// into a value the kernel finally stores (keepTouches), so the loads are kept. Callers
// touch only bytes of the tensors their op's checks cover.

/** Cache line size assumed (64 on every target in scope). */
export const LINE: usize = 64;

/** Where the touched bytes' xor goes: never read, so threads may share it. */
const SINK: usize = memory.data(16, 16);

/** The xor of one byte of every LINE-byte line in [p, end), two lines per step (half the loop overhead). */
// @ts-ignore: decorator
@inline export function touchLines(p: usize, end: usize): i32 {
  let sink = 0;
  for (; p + 2 * LINE <= end; p += 2 * LINE) sink ^= load<u8>(p) ^ load<u8>(p + LINE);
  if (p < end) sink ^= load<u8>(p);
  return sink;
}

/** Stores the touches' xor where nothing reads it, which keeps the loads. */
// @ts-ignore: decorator
@inline export function keepTouches(sink: i32): void {
  store<i32>(SINK, sink);
}
