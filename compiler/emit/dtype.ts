// Element formats of artifact tensors and arena slots, and the one rule for their byte
// size (schemas/edgeq.fbs, enum DType). The device verifier (runtime/assembly/verify.ts,
// dtypeBytes) applies the same rule; test/verify-wasm.test.ts checks they agree.
import { DType } from '../../schemas/generated/edgeq/fb/dtype.ts';

export { DType };
export type DTypeName = Exclude<keyof typeof DType, 'invalid'>;
export const DTYPE_NAMES = Object.keys(DType).filter((k) => Number.isNaN(Number(k)) && k !== 'invalid') as DTypeName[];

/** Bits per element; bit-plane formats are stored as that many planes per row. */
export const DTYPE_BITS: Record<DTypeName, number> = {
  int8: 8, int16: 16, int32: 32, uint8: 8, gse: 8,
  q4_lut: 4, q3: 3, q2_lut: 2, q1: 1,
};
const BITPLANE: ReadonlySet<DTypeName> = new Set(['q4_lut', 'q3', 'q2_lut', 'q1']);
export const isBitPlane = (d: DTypeName): boolean => BITPLANE.has(d);

/** Limits the device verifier enforces on shapes, mirrored here so the writer refuses first. */
export const MAX_RANK = 8;

/**
 * Byte size of a `dtype` tensor of `shape`. Dense formats: elements × bytes per element.
 * Bit-plane formats: ceil(rows / 16) × 16 × bits × ceil(cols / 8), cols = last dim, rows =
 * the rest: rows are tiled 16 at a time for the LUT kernels, the last tile zero-padded
 * (layout: compiler/quantize/lowbit-format.ts, docs/integer-spec.md §9.1).
 */
export function tensorBytes(dtype: DTypeName, shape: readonly number[]): number {
  const bits = DTYPE_BITS[dtype];
  if (!isBitPlane(dtype)) return shape.reduce((a, b) => a * b, 1) * (bits / 8);
  const cols = shape[shape.length - 1];
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return Math.ceil(rows / 16) * 16 * bits * Math.ceil(cols / 8);
}

export function dtypeName(v: number): DTypeName | undefined {
  const n = DType[v] as DTypeName | 'invalid' | undefined;
  return n === undefined || n === 'invalid' ? undefined : n;
}
