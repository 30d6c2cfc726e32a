// ggml's tensor types as they appear in GGUF tensor infos: id, name, and the block layout
// (elements per block, bytes per block). One table, used by the GGUF reader to size tensor
// data and by the dequantizers (ggml-dequant.ts) to walk blocks. The byte sizes restate
// ggml-common.h's static_asserts; `blockBytes` is checked against the sum of each block's
// fields below so a typo in one number cannot pass silently (see test/gguf-file.test.ts).

/** Super-block size of the k-quants (ggml's QK_K). */
export const QK_K = 256;
/** Bytes of the packed 6-bit scales/mins of Q4_K and Q5_K, and of Q3_K's scales (K_SCALE_SIZE). */
export const K_SCALE_SIZE = 12;

export interface GgmlType {
  id: number;
  name: string;
  /** Elements per block (1 for plain element types). */
  blockElems: number;
  /** Bytes per block. */
  blockBytes: number;
  /** The block's fields and their byte sizes, in file order (blockBytes is their sum). */
  fields: ReadonlyArray<readonly [string, number]>;
}

const HALF = 2;
const t = (id: number, name: string, blockElems: number, fields: Array<[string, number]>): GgmlType =>
  ({ id, name, blockElems, blockBytes: fields.reduce((s, [, b]) => s + b, 0), fields });

/** Every type id a GGUF file may name today (ids 4, 5, 31..33, 36..38 were removed from ggml). */
export const GGML_TYPES: readonly GgmlType[] = [
  t(0, 'F32', 1, [['value', 4]]),
  t(1, 'F16', 1, [['value', HALF]]),
  t(2, 'Q4_0', 32, [['d', HALF], ['qs', 16]]),
  t(3, 'Q4_1', 32, [['d', HALF], ['m', HALF], ['qs', 16]]),
  t(6, 'Q5_0', 32, [['d', HALF], ['qh', 4], ['qs', 16]]),
  t(7, 'Q5_1', 32, [['d', HALF], ['m', HALF], ['qh', 4], ['qs', 16]]),
  t(8, 'Q8_0', 32, [['d', HALF], ['qs', 32]]),
  t(9, 'Q8_1', 32, [['d', HALF], ['s', HALF], ['qs', 32]]),
  t(10, 'Q2_K', QK_K, [['scales', QK_K / 16], ['qs', QK_K / 4], ['d', HALF], ['dmin', HALF]]),
  t(11, 'Q3_K', QK_K, [['hmask', QK_K / 8], ['qs', QK_K / 4], ['scales', K_SCALE_SIZE], ['d', HALF]]),
  t(12, 'Q4_K', QK_K, [['d', HALF], ['dmin', HALF], ['scales', K_SCALE_SIZE], ['qs', QK_K / 2]]),
  t(13, 'Q5_K', QK_K, [['d', HALF], ['dmin', HALF], ['scales', K_SCALE_SIZE], ['qh', QK_K / 8], ['qs', QK_K / 2]]),
  t(14, 'Q6_K', QK_K, [['ql', QK_K / 2], ['qh', QK_K / 4], ['scales', QK_K / 16], ['d', HALF]]),
  t(15, 'Q8_K', QK_K, [['d', 4], ['qs', QK_K], ['bsums', (QK_K / 16) * 2]]),
  t(16, 'IQ2_XXS', QK_K, [['d', HALF], ['qs', (QK_K / 8) * 2]]),
  t(17, 'IQ2_XS', QK_K, [['d', HALF], ['qs', (QK_K / 8) * 2], ['scales', QK_K / 32]]),
  t(18, 'IQ3_XXS', QK_K, [['d', HALF], ['qs', 3 * (QK_K / 8)]]),
  t(19, 'IQ1_S', QK_K, [['d', HALF], ['qs', QK_K / 8], ['qh', QK_K / 16]]),
  t(20, 'IQ4_NL', 32, [['d', HALF], ['qs', 16]]),
  t(21, 'IQ3_S', QK_K, [['d', HALF], ['qs', QK_K / 4], ['qh', QK_K / 32], ['signs', QK_K / 8], ['scales', QK_K / 64]]),
  t(22, 'IQ2_S', QK_K, [['d', HALF], ['qs', QK_K / 4], ['qh', QK_K / 32], ['scales', QK_K / 32]]),
  t(23, 'IQ4_XS', QK_K, [['d', HALF], ['scales_h', 2], ['scales_l', QK_K / 64], ['qs', QK_K / 2]]),
  t(24, 'I8', 1, [['value', 1]]),
  t(25, 'I16', 1, [['value', 2]]),
  t(26, 'I32', 1, [['value', 4]]),
  t(27, 'I64', 1, [['value', 8]]),
  t(28, 'F64', 1, [['value', 8]]),
  t(29, 'IQ1_M', QK_K, [['qs', QK_K / 8], ['qh', QK_K / 16], ['scales', QK_K / 32]]),
  t(30, 'BF16', 1, [['value', 2]]),
  t(34, 'TQ1_0', QK_K, [['qs', (QK_K - 4 * (QK_K / 64)) / 5], ['qh', QK_K / 64], ['d', HALF]]),
  t(35, 'TQ2_0', QK_K, [['qs', QK_K / 4], ['d', HALF]]),
];

const BY_ID = new Map(GGML_TYPES.map((x) => [x.id, x]));
const BY_NAME = new Map(GGML_TYPES.map((x) => [x.name, x]));

export const ggmlType = (id: number): GgmlType | undefined => BY_ID.get(id);
export const ggmlTypeByName = (name: string): GgmlType | undefined => BY_NAME.get(name);

/** Bytes of `nElements` values of type `type` (nElements a multiple of the block size). */
export function ggmlBytes(type: GgmlType, nElements: number): number {
  return (nElements / type.blockElems) * type.blockBytes;
}
