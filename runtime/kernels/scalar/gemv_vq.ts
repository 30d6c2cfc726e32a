// vq2 GEMV without SIMD (docs/integer-spec.md §9.7.3), for engines without it (wasm2c builds,
// Cortex-M, RISC-V): byte-identical to runtime/kernels/reference/gemv_vq.ts;
// runtime/kernels/simd/gemv_vq.ts exports the same function with the same signature.
//
// Per pair of activations (x0, x1) a 32-entry int32 table P[c] = x0 E[c][0] + x1 E[c][1]
// (|P| <= 519,938), 256 columns at a time (128 pairs x 128 bytes = 16 KB, in L1); then per
// row and block of 16 columns one byte of magnitude bits and four bytes of direction nibbles
// (§9.7.1): 8 lookups and adds per 16 weights. The row sums are kept in `out` between chunks
// (int32 addition modulo 2^32: the order does not change the sum); the scale comes last.
import { mulShiftRound } from "./int64";
import { THREAD_SLOTS, threadSlot } from "./thread-slot";

const BLOCK_BYTES: usize = 80;
/** Columns per chunk of tables (a multiple of 16). */
const CHUNK_COLS: i32 = 256;
/** Tables of one chunk: [pair < CHUNK_COLS/2][code < 32] int32. */
const TABLE_BYTES: usize = (<usize>CHUNK_COLS >> 1) << 7;
const TABLES_ALL: usize = memory.data(<i32>TABLE_BYTES * THREAD_SLOTS, 16);

/**
 * out i32[d] = codes (tiled, §9.7.1) x x i16[n] with the codebook i8[32 x 2] and the matrix
 * scale (wM, wE); n % 16 == 0, d rows from the first tile of `codes`.
 */
export function gemvVq(out: usize, codes: usize, codebook: usize, wM: i32, wE: i32,
  x: usize, xM: i32, xE: i32, n: i32, d: i32, outFrac: i32): void {
  const tables = TABLES_ALL + threadSlot() * TABLE_BYTES;
  const blocks = n >> 4;
  for (let c0 = 0; c0 < n; c0 += CHUNK_COLS) {
    const cn = min(CHUNK_COLS, n - c0);
    for (let q = 0; q < (cn >> 1); q++) {
      const xp = x + (<usize>(c0 + 2 * q) << 1);
      const x0 = <i32>load<i16>(xp), x1 = <i32>load<i16>(xp, 2);
      const t = tables + (<usize>q << 7);
      for (let c = 0; c < 32; c++) {
        const e = codebook + (<usize>c << 1);
        store<i32>(t + (<usize>c << 2), x0 * <i32>load<i8>(e) + x1 * <i32>load<i8>(e, 1));
      }
    }
    const b0 = c0 >> 4, nb = cn >> 4;
    for (let o = 0; o < d; o++) {
      let acc = c0 == 0 ? 0 : load<i32>(out + (<usize>o << 2));
      const r = <usize>(o & 15), tile = <usize>(o >> 4) * <usize>blocks;
      for (let b = 0; b < nb; b++) {
        const base = codes + (tile + <usize>(b0 + b)) * BLOCK_BYTES + r;
        const mb = <i32>load<u8>(base, 64);
        const t = tables + (<usize>b << 10);
        for (let l = 0; l < 4; l++) {
          const v = <i32>load<u8>(base + (<usize>l << 4));
          const ia = (v & 15) | (((mb >> (2 * l)) & 1) << 4);
          const ib = (v >> 4) | (((mb >> (2 * l + 1)) & 1) << 4);
          const tl = t + (<usize>l << 8);
          acc += load<i32>(tl + (<usize>ia << 2)) + load<i32>(tl + 128 + (<usize>ib << 2));
        }
      }
      store<i32>(out + (<usize>o << 2), acc);
    }
  }
  const m = wM * xM, shift = wE + xE - outFrac;
  for (let o = 0; o < d; o++) {
    const p = out + (<usize>o << 2);
    store<i32>(p, mulShiftRound(load<i32>(p), m, shift));
  }
}
