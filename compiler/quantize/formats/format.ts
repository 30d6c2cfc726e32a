// What a weight format is: one entry of the registry (registry.ts), in the spirit of
// ggml's block structs + type_traits[]. Everything else that needs a fact about a format
// (the artifact size rule, a plan's spellings, the tensors a matrix is stored as, which
// kernel pair consumes it) asks the entry; nothing restates it.
//
// A format stores a [rows, cols] matrix W (output rows, input columns) as named tensors
// `<W>`, `<W>.scale_m`, `<W>.scale_e` and whatever else it declares (`<W>.groups`), the
// first one — the values tensor — of the artifact dtype named like the format.
import type { DTypeName } from '../../emit/dtype-name.ts';
import type { LowbitRowRunner } from '../lowbit.ts';

/** One tensor of a stored matrix: suffix on the matrix name, artifact dtype, shape, integer params. */
export interface FormatTensor {
  suffix: '' | '.scale_m' | '.scale_e' | '.groups' | '.codebook';
  dtype: DTypeName;
  shape: number[];
  params: Record<string, number>;
}

/** A matrix quantized by a format's reference quantizer: its tensors' data, in `tensors()` order. */
export interface QuantizedMatrix {
  data: Array<Int8Array | Int16Array | Int32Array | Uint8Array>;
  /** Sum over all weights of (w - dequantized)^2 (reports, planners). */
  sqError: number;
}

export interface WeightFormatDef<Name extends string = string, Bits extends number = number> {
  /** The format's name: the artifact dtype of its values tensor and the PrecisionPlan's format. */
  readonly name: Name;
  /** Bits per weight: how a plan spells it (`uniform:<bits>`, a plan file's "bits"). */
  readonly bits: Bits;
  /** Group sizes it takes; empty: no groups (per-row scales only). */
  readonly groupSizes: readonly number[];
  /** One line for --help and docs. */
  readonly summary: string;
  /**
   * The values tensor's block (ggml's block struct): `rows` x `cols` weights in `bytes`
   * bytes. A tensor of shape [..., cols] (rows = the product of the other dims) is
   * ceil(rows / block.rows) x ceil(cols / block.cols) blocks, the edges zero-padded: that is
   * the artifact's size rule (registry.ts valueBytes). The registry checks
   * bytes * 8 = rows * cols * bits; the device's rule is generated from it (npm run
   * gen:formats → runtime/assembly/dtype-sizes.ts) and test/verify-wasm.test.ts checks they agree.
   */
  readonly block: { rows: number; cols: number; bytes: number };
  /**
   * The values tensor's columns are first padded to a multiple of the group size (the
   * tensor's quant group_size; 0: no padding) and then cut into blocks: a LUT matrix whose
   * cols no group size divides is stored as whole groups (lowbit-format.ts paddedCols).
   * The device rule reads the same flag (dtype-sizes.ts padsToGroup) and admits only the
   * format's own group sizes there.
   */
  readonly padsToGroup?: boolean;
  /**
   * Longest input (cols) its GEMV kernel takes without overflowing its int32 accumulator:
   * a longer matrix is stored in the base format (plan.ts resolveStored), and the op's `n`
   * rule admits no more (compiler/ops/kinds).
   */
  readonly maxInput: number;
  /** The tensors one [rows, cols] matrix is stored as (in artifact order; values first). */
  tensors(rows: number, cols: number, groupSize: number): FormatTensor[];
  /**
   * The reference quantizer (round to nearest, or the format's own search); an EdgeqError
   * when the weights do not fit the format (the quantizer then falls back to int8).
   * `rowRunner`: where the LUT formats' clip search runs its rows (lowbit-pool.ts: on
   * several threads, same bytes); other formats ignore it.
   */
  quantize(w: Float32Array, rows: number, cols: number, groupSize: number, rowRunner?: LowbitRowRunner): QuantizedMatrix;
  /**
   * The quantizer with GPTQ error compensation (h: the Hessian Σ x xᵀ of the matrix's
   * inputs, [cols, cols]); absent: the format takes no GPTQ and `quantize` is used.
   */
  quantizeGptq?(w: Float32Array, rows: number, cols: number, groupSize: number, h: Float64Array, opts: { damp?: number; actOrder?: boolean; refit?: number }): QuantizedMatrix;
  /** How the reference quantizer chooses the values, for the plan's recorded rule ("clip search"). */
  readonly quantizerRule: string;
  /** The same for quantizeGptq, given the --gptq refit rounds (absent: no GPTQ). */
  gptqRule?(refit?: number): string;
  /** The real values the stored tensors represent (host side, for error measurement). */
  dequantize(data: QuantizedMatrix['data'], rows: number, cols: number, groupSize: number): Float32Array;
  /**
   * The kernels that consume it: the program op that runs a GEMV on it (and the op that
   * prepares its input, if any), the reference kernel and the AssemblyScript kernel pair.
   */
  readonly kernels: {
    op: 'gemv' | 'gemv_lut' | 'gemv_vq';
    prepare?: 'lut_tables';
    reference: string;
    scalar: string;
    simd: string;
  };
}

/**
 * A low-bit matrix's rule text as the artifact stores it: the plan's rule, the format's
 * quantizer and, when the compile runs GPTQ, GPTQ's own (edgeq compile writes it; edgeq plan
 * sizes it, so both call this).
 */
export function storedRule(planRule: string, f: Pick<WeightFormatDef, 'quantizerRule' | 'gptqRule'>, gptq: boolean, refit?: number): string {
  return `${planRule}, ${f.quantizerRule}${gptq && f.gptqRule ? `, ${f.gptqRule(refit)}` : ''}`;
}
