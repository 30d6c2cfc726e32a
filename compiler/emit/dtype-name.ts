// The artifact's element-format names (schemas/edgeq.fbs, enum DType), on their own so that
// the weight-format registry can name dtypes while dtype.ts takes its size rule from that
// registry (no import cycle).
import { DType } from '../../schemas/generated/edgeq/fb/dtype.ts';

export { DType };
export type DTypeName = Exclude<keyof typeof DType, 'invalid'>;
export const DTYPE_NAMES = Object.keys(DType).filter((k) => Number.isNaN(Number(k)) && k !== 'invalid') as DTypeName[];
