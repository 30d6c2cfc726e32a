// Element formats of artifact tensors and arena slots (schemas/edgeq.fbs, enum DType; the
// compiler's integer model uses the same names), and the one rule for their byte size. The
// device verifier (runtime/assembly/verify.ts, dtypeBytes) applies the same rule, generated
// from here and the format registry (npm run gen:formats → runtime/assembly/dtype-sizes.ts);
// test/verify-wasm.test.ts checks they agree.
import { DType, DTYPE_NAMES, type DTypeName } from './dtype-name.ts';
import { formatNamed, isGroupedFormat, valueBytes } from '../quantize/formats/registry.ts';

export { DType, DTYPE_NAMES, type DTypeName };

/** Bytes per element of the dense dtypes (the weight formats' values: their registry entry). */
export const DENSE_BYTES = { int8: 1, int16: 2, int32: 4, uint8: 1, gse: 1 } as const satisfies Partial<Record<DTypeName, number>>;
/** Is `d` the values tensor of a grouped (low-bit, bit-plane) weight format? */
export const isBitPlane = (d: DTypeName): boolean => isGroupedFormat(d);

/** Limits the device verifier enforces on shapes, mirrored here so the writer refuses first. */
export const MAX_RANK = 8;

/**
 * Byte size of a `dtype` tensor of `shape`. Dense dtypes: elements × bytes per element. A
 * weight format's values (q4_lut, ...): the format's size rule (compiler/quantize/formats/),
 * which for a LUT format depends on the tensor's group size (its quant group_size: the
 * columns are padded to whole groups; 0: none).
 */
export function tensorBytes(dtype: DTypeName, shape: readonly number[], groupSize = 0): number {
  const f = formatNamed(dtype);
  if (f) return valueBytes(f, shape, groupSize);
  return shape.reduce((a, b) => a * b, 1) * DENSE_BYTES[dtype as keyof typeof DENSE_BYTES];
}

export function dtypeName(v: number): DTypeName | undefined {
  const n = DType[v] as DTypeName | 'invalid' | undefined;
  return n === undefined || n === 'invalid' ? undefined : n;
}
