// The weight-format registry: every format a plan can name, and every fact derived from the
// entries (compiler/quantize/formats/<name>.ts) — the names, the bits a plan spells, the
// artifact size rule of the values tensors, the tensors a matrix is stored as. Adding a
// format: its entry file, its kernels, one line in WEIGHT_FORMATS (docs/formats.md).
import { EdgeqError } from '../../util/errors.ts';
import type { WeightFormatDef } from './format.ts';
import { int8Format } from './int8.ts';
import { q1, q2Lut, q3, q4Lut, q5, q6 } from './lut.ts';
import { vq2Format } from './vq2.ts';

/** Every weight format, widest first (the order plans and --help list them in). */
export const WEIGHT_FORMATS = [int8Format, q6, q5, q4Lut, q3, vq2Format, q2Lut, q1] as const;

export type WeightFormatEntry = (typeof WEIGHT_FORMATS)[number];
/** A format's name: PrecisionPlan.format, and the artifact dtype of its values tensor. */
export type WeightFormat = WeightFormatEntry['name'];
/** Bits per weight as plans spell them (`uniform:4g64`, a plan file's "bits"). */
export type PlanBits = WeightFormatEntry['bits'];

export const WEIGHT_FORMAT_NAMES: readonly WeightFormat[] = WEIGHT_FORMATS.map((f) => f.name);
export const PLAN_BITS: readonly PlanBits[] = WEIGHT_FORMATS.map((f) => f.bits as PlanBits);
/** The format every matrix falls back to (per-row scales, no group-size constraint). */
export const BASE_FORMAT: WeightFormatDef<'int8', 8> = WEIGHT_FORMATS[0];

/**
 * Bytes of a values tensor of format `f` and `shape`: whole blocks (see WeightFormatDef.block)
 * of the columns padded to a multiple of `groupSize` when the format pads (padsToGroup;
 * groupSize 0: none).
 */
export function valueBytes(f: WeightFormatDef, shape: readonly number[], groupSize = 0): number {
  const logical = shape.length ? shape[shape.length - 1] : 1;
  const cols = f.padsToGroup && groupSize > 0 ? groupSize * Math.ceil(logical / groupSize) : logical;
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return Math.ceil(rows / f.block.rows) * Math.ceil(cols / f.block.cols) * f.block.bytes;
}

// The registry's own checks (ggml's static_asserts on its block structs): names and bits are
// unique, a block holds exactly `bits` bits per weight, and the values tensor comes first
// and is named like the format.
{
  const seen = new Set<string | number>();
  for (const f of WEIGHT_FORMATS as readonly WeightFormatDef[]) {
    if (seen.has(f.name) || seen.has(f.bits)) throw new Error(`weight-format registry: ${f.name} (${f.bits} bits) registered twice`);
    seen.add(f.name); seen.add(f.bits);
    if (f.block.bytes * 8 !== f.block.rows * f.block.cols * f.bits) throw new Error(`weight-format registry: ${f.name}: a block of ${f.block.rows}x${f.block.cols} weights at ${f.bits} bits is not ${f.block.bytes} bytes`);
    for (const g of f.groupSizes.length ? f.groupSizes : [0]) {
      const t = f.tensors(f.block.rows, g || f.block.cols, g)[0];
      if (t.suffix !== '' || t.dtype !== f.name) throw new Error(`weight-format registry: ${f.name}: the first tensor must be the values tensor of dtype ${f.name}`);
    }
  }
}

const BY_NAME = new Map<string, WeightFormatEntry>(WEIGHT_FORMATS.map((f) => [f.name, f]));
const BY_BITS = new Map<number, WeightFormatEntry>(WEIGHT_FORMATS.map((f) => [f.bits, f]));

/** The format of this name (or artifact dtype), undefined when it is none. */
export const formatNamed = (name: string): WeightFormatEntry | undefined => BY_NAME.get(name);
/** The format a plan's bit count spells. */
export function formatOfBits(bits: number): WeightFormatEntry {
  const f = BY_BITS.get(bits);
  if (!f) throw new EdgeqError(`no weight format has ${bits} bits per weight (formats: ${WEIGHT_FORMATS.map((x) => `${x.name} ${x.bits}`).join(', ')})`);
  return f;
}
/** The format name a plan's bit count spells. */
export const formatNameOfBits = (bits: number): WeightFormat => formatOfBits(bits).name;
/** Bits per weight of a format's values dtype; undefined for a dtype that is no weight format's values. */
export const bitsOfDtype = (dtype: string): number | undefined => BY_NAME.get(dtype)?.bits;
/** Is `dtype` the values tensor of a grouped (low-bit) format? */
export const isGroupedFormat = (dtype: string): boolean => (BY_NAME.get(dtype)?.groupSizes.length ?? 0) > 0;
/** The grouped formats (those a plan gives a group size). */
export const GROUPED_FORMATS = WEIGHT_FORMATS.filter((f) => f.groupSizes.length > 0);
/** Group sizes any grouped format takes (ascending). */
export const ALL_GROUP_SIZES: readonly number[] = [...new Set(GROUPED_FORMATS.flatMap((f) => f.groupSizes))].sort((a, b) => a - b);
