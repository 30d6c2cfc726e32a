// The GSE (group-shared-exponent) tensor format of integer fine-tuning: the one place its
// layout is stated in code (docs/integer-spec.md §12.2 states it in prose; the kernels in
// runtime/kernels/{reference,scalar}/gse.ts read it; test/gse.test.ts checks they agree).
//
// A GSE tensor of shape [rows, cols] (a vector is rows = 1), cols a multiple of the group
// size G, is two int8 arrays, mantissas first:
//
//   mantissas  int8 [rows, cols]       row-major; |m| <= 2^(M-1) - 1
//   exponents  int8 [rows, cols / G]   row-major; group g of row o covers columns
//                                      g*G .. g*G + G - 1 of that row
//
// Value of (o, j):  m[o * cols + j] * 2^E[o * (cols/G) + floor(j / G)]
//
// Size: rows * cols + rows * cols / G bytes (= n (1 + 1/G) for n values: 1.03125 bytes per
// value at G = 32). M does not change the size: every mantissa is stored in a full byte.

export const GSE_GROUP_SIZES = [16, 32, 64, 128] as const;
export type GseGroupSize = (typeof GSE_GROUP_SIZES)[number];
export const GSE_MANTISSA_BITS = [5, 6, 7, 8] as const;
export type GseMantissaBits = (typeof GSE_MANTISSA_BITS)[number];
export const GSE_DEFAULT_G: GseGroupSize = 32;
export const GSE_DEFAULT_M: GseMantissaBits = 8;
/** Guard bits of the product accumulators (§12.4). */
export const GSE_GUARD_BITS = 16;
/** Largest stored exponent range produced by quantizing an int32 Q frac tensor: [-30, 27]. */
export const GSE_EXP_MIN = -30;
export const GSE_EXP_MAX = 27;
/** Largest cols (matvec) or rows (transposed matvec) for which §12.4's int64 bound holds. */
export const GSE_MAX_DIM = 1 << 24;

export const gseQmax = (M: number): number => (1 << (M - 1)) - 1;

export function checkGseShape(rows: number, cols: number, G: number, M: number = GSE_DEFAULT_M): void {
  if (!(GSE_GROUP_SIZES as readonly number[]).includes(G)) throw new RangeError(`GSE format: group size must be 16, 32, 64 or 128, got ${G}`);
  if (!(GSE_MANTISSA_BITS as readonly number[]).includes(M)) throw new RangeError(`GSE format: mantissa bits must be 5..8, got ${M}`);
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1 || cols % G !== 0 || cols > GSE_MAX_DIM || rows > GSE_MAX_DIM) {
    throw new RangeError(`GSE format: ${rows}x${cols} needs cols a multiple of the group size ${G} (and both dims <= 2^24)`);
  }
}

export const gseMantissaBytes = (rows: number, cols: number): number => rows * cols;
export const gseExponentBytes = (rows: number, cols: number, G: number): number => rows * (cols / G);
/** Total bytes of one GSE tensor (mantissas + exponents). */
export function gseTensorBytes(rows: number, cols: number, G: number): number {
  checkGseShape(rows, cols, G);
  return gseMantissaBytes(rows, cols) + gseExponentBytes(rows, cols, G);
}

/** Byte offsets of value (o, j)'s mantissa and of its group's exponent, in one buffer. */
export function gseOffsets(rows: number, cols: number, G: number, o: number, j: number): { m: number; e: number } {
  return { m: o * cols + j, e: gseMantissaBytes(rows, cols) + o * (cols / G) + Math.floor(j / G) };
}

/** Packs a tensor into its one-buffer layout (mantissas then exponents). */
export function packGse(m: Int8Array, e: Int8Array, rows: number, cols: number, G: number): Uint8Array {
  const size = gseTensorBytes(rows, cols, G);
  if (m.length !== gseMantissaBytes(rows, cols) || e.length !== gseExponentBytes(rows, cols, G)) {
    throw new RangeError(`GSE format: ${rows}x${cols} G=${G} needs ${rows * cols} mantissas and ${rows * cols / G} exponents, got ${m.length} and ${e.length}`);
  }
  const out = new Uint8Array(size);
  out.set(new Uint8Array(m.buffer, m.byteOffset, m.length), 0);
  out.set(new Uint8Array(e.buffer, e.byteOffset, e.length), m.length);
  return out;
}

export function unpackGse(bytes: Uint8Array, rows: number, cols: number, G: number): { m: Int8Array; e: Int8Array } {
  if (bytes.length !== gseTensorBytes(rows, cols, G)) throw new RangeError(`GSE format: ${rows}x${cols} G=${G} is ${gseTensorBytes(rows, cols, G)} bytes, got ${bytes.length}`);
  const nm = gseMantissaBytes(rows, cols);
  return { m: new Int8Array(bytes.slice(0, nm).buffer), e: new Int8Array(bytes.slice(nm).buffer) };
}
