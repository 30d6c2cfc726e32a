// The low-bit (LUT) weight formats, b bits per weight: the one place
// their layout is stated in code (docs/integer-spec.md §9.1 states it in prose). Their
// registry entries (formats/lut.ts) take the size rule and tensor list from here; the device
// verifier's rule is generated from the entries (runtime/assembly/dtype-sizes.ts), and
// test/lut-quantize.test.ts checks the two agree.
//
// A matrix W of `rows` x `cols` with group size G (one of LOWBIT_GROUP_SIZES that the
// kernels' int32 / u16 bounds admit at b bits: lutGroupSizes) is stored as the matrix of
// cols' = G * ceil(cols / G) columns (paddedCols) whose columns cols..cols'-1 have code 0:
// the last group may be partial, its gm / z2 fitted on its real columns. Three artifact tensors:
//
//   X          dtype q<b>, shape [rows, cols]   the codes q in [0, 2^b - 1] as b bit-planes (cols' columns)
//   X.groups   uint8 [ceil(rows/16), cols'/G, 2, 16]  per (row, group): gm (u8 mantissa) and
//                                                 z2 (u8 zero point in half steps, 0..2(2^b-1))
//   X.scale_m  int16 [rows], X.scale_e int8 [rows] the row scale (m, e), value m * 2^-e
//
// Value of weight (o, j) in group g = j / G:   w = m_o 2^-e_o * gm_{o,g} * (2 q_{o,j} - z2_{o,g})
//
// Bit-planes, tiled for the LUT kernels. Rows are taken 16 at a time (a "tile"; the last
// tile is padded with zero rows). Within a tile the bytes are ordered
//   [group g][plane k][pair p < G/8][row r < 16]
// and byte (g, k, p, r) holds bit k of the codes of row r, columns g*G + 8p .. g*G + 8p + 7,
// column g*G + 8p + i in bit i. So a byte's low nibble is the table index of activations
// 8p..8p+3 of the group and its high nibble that of 8p+4..8p+7 (T-MAC's two 4-bit indices
// per byte), and one 16-byte load gives the indices of 16 rows for two tables: exactly the
// operand of two i8x16.swizzle lookups. The scalar kernel reads the same bytes at stride 16.
//
// Size: ceil(rows/16) * 16 * b * cols'/8 bytes (each group of a tile is b * G/8 * 16 bytes):
// it depends on G only through the padding (none when G divides cols). The kernels run on
// n = cols' columns with tables whose activations cols..cols'-1 are 0 (lut_tables, §9.2):
// a pad column adds 0 to S and to X whatever its code, and its code is 0.

/** Bits per weight code: one of LOWBIT_BITS. */
export type LowBits = number;
/** Group sizes the layout can express (each b admits those lutGroupSizes(b) lists). */
export const LOWBIT_GROUP_SIZES = [32, 64, 128] as const;
export type LowGroupSize = (typeof LOWBIT_GROUP_SIZES)[number];

/** Largest |x| of the 12-bit activations the kernels take (spec §3.2). */
const X_MAX = 2047;
/** Largest SIMD table byte sum l = swz(lo_a) + swz(lo_b) (spec §9.4). */
const SIMD_BYTE_SUM = 254;
/**
 * Does group size G fit b-bit codes? The two bounds of docs/integer-spec.md §9.3 / §9.4 that
 * depend on (b, G): the per-group term gm * dot + 2^(R-1) <= 255 * G * 2047 * Z + 128 must
 * be < 2^31 (Z = 2(2^b - 1)), and the SIMD kernel's per-group u16 sum
 * (2^b - 1) * (G/8) * 254 must be < 2^16. b <= 4 admits 32..128; b = 5: 32, 64; b = 6: 32.
 */
export function lutGroupFits(bits: number, gs: number): boolean {
  const qmax = (1 << bits) - 1;
  return LUT_GM_MAX * gs * X_MAX * 2 * qmax + (1 << (LUT_GROUP_SHIFT - 1)) < 2 ** 31 && qmax * (gs / 8) * SIMD_BYTE_SUM < 2 ** 16;
}
/** The group sizes b-bit codes admit (ascending). */
export const lutGroupSizes = (bits: number): readonly LowGroupSize[] => LOWBIT_GROUP_SIZES.filter((g) => lutGroupFits(bits, g));

/** Rows per tile: the SIMD kernel's 16 lanes. */
export const LUT_TILE_ROWS = 16;
/** Activations per table (g): 2^4 = 16 entries, one i8x16.swizzle. */
export const LUT_G = 4;
/** Right shift R applied to gm * dot per group (docs/integer-spec.md §9.2). */
export const LUT_GROUP_SHIFT = 8;
/** Largest group mantissa gm. */
export const LUT_GM_MAX = 255;

/** Longest GEMV input: the int8 GEMV's accumulator n · 127 · 2047 < 2^31 (docs/integer-spec.md §5.4): 8260. */
/**
 * Least scale exponent of a GEMV weight scale (a row's, or a vq2 matrix's): keeps the output
 * shift e_w + e_x − 16 ≥ 0 (docs/integer-spec.md §5.4).
 */
export const MIN_GEMV_E = 10;
export const MAX_GEMV_INPUT = Math.floor((2 ** 31 - 1) / (127 * X_MAX));
/**
 * Longest input of a b-bit LUT GEMV: MAX_GEMV_INPUT, or less where the row accumulator
 * acc = Σ_g c, |c| <= (G · 2047 · Z · gm_max + 2^(R-1)) >> R per group (Z = 2(2^b - 1);
 * docs/integer-spec.md §9.6) would reach 2^31 first: 8260 for b <= 6.
 */
export function lutMaxInput(bits: number): number {
  const perColumn = (X_MAX * 2 * ((1 << bits) - 1) * LUT_GM_MAX) / 2 ** LUT_GROUP_SHIFT + 1; // + 1: each group's rounding, G >= 1
  return Math.min(MAX_GEMV_INPUT, Math.floor((2 ** 31 - 1) / perColumn));
}

/**
 * The bit counts the layout admits: those with a group size that fits (lutGroupFits; here,
 * after the constants it reads). 1..6 today; a LUT format's entry (formats/lut.ts) takes
 * one of them. Codes are at most 8 bits (u8).
 */
export const LOWBIT_BITS: readonly LowBits[] = [1, 2, 3, 4, 5, 6, 7, 8].filter((b) => lutGroupSizes(b).length > 0);
/** Scratch bytes of the kernels' activation tables: 32 per 4 activations. */
export const lutTableBytes = (n: number): number => 8 * n;

export const qmaxOf = (b: LowBits): number => (1 << b) - 1;
/** Largest zero point z2 (half steps): 2(2^b - 1). Levels 2q - z2 are in [-Z, Z]. */
export const z2MaxOf = (b: LowBits): number => 2 * ((1 << b) - 1);

export const tilesOf = (rows: number): number => Math.ceil(rows / LUT_TILE_ROWS);

/** Columns a matrix of `cols` columns is stored with at group size G: whole groups. */
export const paddedCols = (cols: number, groupSize: number): number => groupSize * Math.ceil(cols / groupSize);
/** Groups per row: the last one partial when G does not divide cols. */
export const groupsOf = (cols: number, groupSize: number): number => Math.ceil(cols / groupSize);
/** Real columns of group g (G, or fewer for a partial last group). */
export const groupCols = (cols: number, groupSize: number, g: number): number => Math.min(groupSize, cols - g * groupSize);

/** Bytes of the bit-plane tensor (the artifact size rule of the LUT formats): the padded matrix's. */
export function planeBytes(bits: number, rows: number, cols: number, groupSize: number): number {
  return tilesOf(rows) * LUT_TILE_ROWS * bits * (paddedCols(cols, groupSize) / 8);
}

/** Bytes of the `.groups` tensor (uint8 [tiles, ceil(cols/G), 2, 16]). */
export function groupBytes(rows: number, cols: number, groupSize: number): number {
  return tilesOf(rows) * groupsOf(cols, groupSize) * 2 * LUT_TILE_ROWS;
}

/** Byte offset, in the planes tensor, of (row, plane k, the byte holding column col). */
export function planeOffset(bits: number, cols: number, groupSize: number, row: number, k: number, col: number): number {
  const tile = Math.floor(row / LUT_TILE_ROWS), r = row % LUT_TILE_ROWS;
  const g = Math.floor(col / groupSize), p = Math.floor((col % groupSize) / 8);
  const pairs = groupSize / 8, groups = groupsOf(cols, groupSize);
  return (((tile * groups + g) * bits + k) * pairs + p) * LUT_TILE_ROWS + r;
}

/** Byte offsets of gm and z2 of (row, group g) in the `.groups` tensor. */
export function groupOffset(cols: number, groupSize: number, row: number, g: number): { gm: number; z2: number } {
  const tile = Math.floor(row / LUT_TILE_ROWS), r = row % LUT_TILE_ROWS;
  const base = (tile * groupsOf(cols, groupSize) + g) * 2 * LUT_TILE_ROWS;
  return { gm: base + r, z2: base + LUT_TILE_ROWS + r };
}

export function checkShape(bits: number, rows: number, cols: number, groupSize: number): void {
  if (!LOWBIT_BITS.includes(bits)) throw new RangeError(`low-bit format: bits must be one of ${LOWBIT_BITS.join(', ')}, got ${bits}`);
  const sizes = lutGroupSizes(bits);
  if (!(sizes as readonly number[]).includes(groupSize)) throw new RangeError(`low-bit format: ${bits}-bit group size must be ${sizes.join(', ')}, got ${groupSize}`);
  // Any cols >= 1: the last group is padded (paddedCols).
  if (!(rows >= 1) || !(cols >= 1)) throw new RangeError(`low-bit format: bad shape ${rows}x${cols}`);
}

/** Packs codes (row-major [rows, cols], each in [0, 2^bits)) into the tiled bit-planes; pad columns get code 0. */
export function packPlanes(codes: Uint8Array, bits: number, rows: number, cols: number, groupSize: number): Uint8Array {
  checkShape(bits, rows, cols, groupSize);
  const out = new Uint8Array(planeBytes(bits, rows, cols, groupSize));
  for (let o = 0; o < rows; o++) {
    for (let j0 = 0; j0 < cols; j0 += 8) {
      const n = Math.min(8, cols - j0); // a byte past cols keeps its zero bits
      for (let k = 0; k < bits; k++) {
        let byte = 0;
        for (let i = 0; i < n; i++) byte |= ((codes[o * cols + j0 + i] >> k) & 1) << i;
        out[planeOffset(bits, cols, groupSize, o, k, j0)] = byte;
      }
    }
  }
  return out;
}

/** The inverse of packPlanes. */
export function unpackPlanes(planes: Uint8Array, bits: number, rows: number, cols: number, groupSize: number): Uint8Array {
  const codes = new Uint8Array(rows * cols);
  for (let o = 0; o < rows; o++) {
    for (let j = 0; j < cols; j++) {
      let q = 0;
      for (let k = 0; k < bits; k++) q |= ((planes[planeOffset(bits, cols, groupSize, o, k, j)] >> (j % 8)) & 1) << k;
      codes[o * cols + j] = q;
    }
  }
  return codes;
}

/** Packs per-(row, group) gm and z2 (row-major [rows, ceil(cols/G)]) into the `.groups` layout. */
export function packGroups(gm: Uint8Array, z2: Uint8Array, rows: number, cols: number, groupSize: number): Uint8Array {
  const ng = groupsOf(cols, groupSize);
  const out = new Uint8Array(groupBytes(rows, cols, groupSize));
  for (let o = 0; o < rows; o++) {
    for (let g = 0; g < ng; g++) {
      const at = groupOffset(cols, groupSize, o, g);
      out[at.gm] = gm[o * ng + g];
      out[at.z2] = z2[o * ng + g];
    }
  }
  return out;
}

export function unpackGroups(groups: Uint8Array, rows: number, cols: number, groupSize: number): { gm: Uint8Array; z2: Uint8Array } {
  const ng = groupsOf(cols, groupSize);
  const gm = new Uint8Array(rows * ng), z2 = new Uint8Array(rows * ng);
  for (let o = 0; o < rows; o++) {
    for (let g = 0; g < ng; g++) {
      const at = groupOffset(cols, groupSize, o, g);
      gm[o * ng + g] = groups[at.gm];
      z2[o * ng + g] = groups[at.z2];
    }
  }
  return { gm, z2 };
}
