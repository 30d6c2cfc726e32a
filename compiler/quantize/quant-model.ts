// The integer model: everything the device needs to run a model, as named integer tensors
// and integer scalars (no floats, no closures). It maps one-to-one onto the artifact's
// generic tensors {name, dtype, shape, params, data}. Formats: docs/integer-spec.md §5.
import { EdgeqError } from '../util/errors.ts';
import { tensorBytes, type DTypeName } from '../emit/dtype.ts';
import type { WeightFormat } from './formats/registry.ts';
import type { ModelSpec } from '../import/model-spec.ts';
import type { ModelConfig } from '../import/graph.ts';
import type { KvFormat } from './kv-cache.ts';

/**
 * A tensor's element format: the artifact's dtype names (compiler/emit/dtype.ts), one
 * vocabulary from quantizer to device. int8/int16/int32: dense integers; uint8: bytes (a
 * low-bit matrix's `.groups`); a weight format's name: its values (compiler/quantize/formats/).
 */
export type QDType = Exclude<DTypeName, 'gse'>;
export type QData = Int8Array | Int16Array | Int32Array | Uint8Array;

export interface QTensor {
  name: string;
  dtype: QDType;
  /** Row-major shape; data.length is the product. */
  shape: number[];
  /** Integer per-tensor parameters (e.g. `frac` of a norm gain). */
  params: Record<string, number>;
  data: QData;
}

/** Integer scalars of the model. All are int32. */
export interface QuantParams extends Omit<ModelConfig, 'sharedClassifier'> {
  /** Bumped whenever the integer semantics change (docs/integer-spec.md). */
  formatVersion: number;
  /** 1: the classifier is `tok_embeddings` (same int8 rows and row scales); 0: `wcls`. */
  sharedClassifier: number;
  /** Fractional bits of the int32 logits (the logit scale: logit = value / 2^logitFrac). */
  logitFrac: number;
  /** round(eps * 2^32) of RMSNorm. */
  rmsEpsQ32: number;
  /** ceil(log2(dim)). */
  rmsSqShift: number;
  /** sqrt(dim / 2^rmsSqShift) as a scale (m, e): value m * 2^-e. */
  rmsDimScaleM: number;
  rmsDimScaleE: number;
  /** log2(e) / sqrt(headSize) as a scale. */
  attScaleM: number;
  attScaleE: number;
}

/** The format a matrix was actually quantized to (the plan after fallbacks), and why. */
export interface MatrixFormat { bits: number; groupSize: number; format: WeightFormat; rule: string }

export interface QuantModel {
  params: QuantParams;
  tensors: QTensor[];
  /** Per block matrix (`blocks.<l>.<name>`): its format; absent means int8 everywhere. */
  formats?: Record<string, MatrixFormat>;
  /** The plan's description (PrecisionPlan.method); absent: uniform int8. */
  planMethod?: string;
  /** The KV cache format (compiler/quantize/kv-cache.ts); absent: k12v8. */
  kvCache?: KvFormat;
  /**
   * (host) The model's RoPE θ, ε and frequency factors the tables and rmsEpsQ32 were
   * computed from, when they differ from llama2.c's; recorded in the artifact's config.
   * Nothing integer reads it (the device has the tables).
   */
  rope?: HostRopeSpec;
}

/** The spec fields a bundle records (model-spec.ts); each absent when llama2.c's. */
export interface HostRopeSpec { ropeTheta?: number; normEps?: number; ropeFreqFactors?: number[] }

/** What of `spec` differs from llama2.c's (θ 10000, ε 1e-5 as float32, no factors), or undefined. */
export function hostRopeSpec(spec: ModelSpec | undefined): HostRopeSpec | undefined {
  if (!spec) return undefined;
  const r: HostRopeSpec = {
    ...(spec.ropeTheta !== 10000 ? { ropeTheta: spec.ropeTheta } : {}),
    ...(Math.fround(spec.normEps) !== Math.fround(1e-5) ? { normEps: spec.normEps } : {}),
    ...(spec.ropeFreqFactors ? { ropeFreqFactors: Array.from(spec.ropeFreqFactors) } : {}),
  };
  return Object.keys(r).length ? r : undefined;
}

export const FORMAT_VERSION = 1;

/** The typed array holding a dtype's data: the dense ones', else bytes (uint8, every low-bit format's values). */
const DENSE_ARRAY = { int8: Int8Array, int16: Int16Array, int32: Int32Array } as const;
type ArrayOf<D extends QDType> = D extends keyof typeof DENSE_ARRAY ? (typeof DENSE_ARRAY)[D] : typeof Uint8Array;
const arrayOf = <D extends QDType>(d: D): ArrayOf<D> => ((DENSE_ARRAY as Record<string, unknown>)[d] ?? Uint8Array) as ArrayOf<D>;

/** A zero-filled data array for a tensor of this dtype and shape (groupSize: tensorBytes'). */
export const zeroData = (dtype: QDType, shape: number[], groupSize = 0): QData => new (arrayOf(dtype))(dataLength(dtype, shape, groupSize));

/** Elements of data a tensor of this dtype and shape holds (bytes for the bit-plane formats; groupSize: tensorBytes'). */
export function dataLength(dtype: QDType, shape: number[], groupSize = 0): number {
  return tensorBytes(dtype, shape, groupSize) / arrayOf(dtype).BYTES_PER_ELEMENT;
}

/** The tensor `name`, checked for dtype and (if given) shape; EdgeqError otherwise. */
export function getTensor<D extends QDType>(m: QuantModel, name: string, dtype: D, shape?: number[]): QTensor & { data: InstanceType<ArrayOf<D>> } {
  const t = m.tensors.find((x) => x.name === name);
  if (!t) throw new EdgeqError(`integer model has no tensor ${name}`);
  if (t.dtype !== dtype || !(t.data instanceof arrayOf(dtype))) throw new EdgeqError(`tensor ${name} is ${t.dtype}, expected ${dtype}`);
  if (shape && (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))) {
    throw new EdgeqError(`tensor ${name} has shape [${t.shape}], expected [${shape}]`);
  }
  const n = dataLength(t.dtype, t.shape, t.params.groupSize ?? 0);
  if (t.data.length !== n) throw new EdgeqError(`tensor ${name}: ${t.data.length} elements for shape [${t.shape}]`);
  return t as QTensor & { data: InstanceType<ArrayOf<D>> };
}

/** An integer parameter of a tensor, EdgeqError if missing. */
export function tensorParam(t: QTensor, key: string): number {
  const v = t.params[key];
  if (!Number.isInteger(v)) throw new EdgeqError(`tensor ${t.name} has no integer parameter ${key}`);
  return v;
}

/** Names of a quantized matrix's tensors: values (int8 or bit-planes), scale mantissas, scale exponents; low-bit matrices also `.groups`. */
export const matrixNames = (base: string) => ({ q: base, m: `${base}.scale_m`, e: `${base}.scale_e`, groups: `${base}.groups`, codebook: `${base}.codebook` });

/** Total bytes of tensor data (what the artifact will carry, before alignment). */
export function quantModelBytes(m: QuantModel): number {
  return m.tensors.reduce((s, t) => s + t.data.byteLength, 0);
}
