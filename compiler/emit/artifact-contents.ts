// The artifact as plain TypeScript values: what writeArtifact takes and readArtifact
// returns. Deliberately generic (named integer tensors, integer op params) so the
// quantizer and the lowering map their own structures onto it; the meaning of params and
// quantization fields is specified in docs/integer-spec.md, not here.
// Field-by-field documentation lives in schemas/edgeq.fbs.
import type { DTypeName } from './dtype.ts';
import type { ModelConfig } from '../import/graph.ts';
import type { OpKind } from '../../schemas/generated/edgeq/fb/op-kind.ts';

export type OpKindName = Exclude<keyof typeof OpKind, 'invalid'>;

/** The model's hyper-parameters (llama2.c's Config) plus the derived head size. */
export interface ArtifactConfig extends ModelConfig {
  headSize: number;
  /** (host) RoPE θ, RMSNorm ε, RoPE frequency divisors; each absent when llama2.c's. */
  ropeTheta?: number;
  rmsNormEps?: number;
  ropeFreqFactors?: number[];
}

/** Integer requantization parameters; floats only in `hostScales`, never read on device. */
export interface ArtifactQuant {
  multipliers?: number[];
  shifts?: number[];
  zeroPoint?: number;
  groupSize?: number;
  params?: number[];
  /** Index into `tensors` of per-group scales/exponents; -1 or absent: none. */
  scalesTensor?: number;
  hostScales?: number[];
}

export interface ArtifactTensor {
  name: string;
  dtype: DTypeName;
  shape: number[];
  /** Exactly tensorBytes(dtype, shape) bytes. */
  data: Uint8Array;
  quant?: ArtifactQuant;
}

/** An op operand: a constant tensor, an arena slot, or a per-step scalar input. */
export interface ArtifactRef {
  kind: 'tensor' | 'slot' | 'input';
  index: number;
}

export interface ArtifactSlot {
  name?: string;
  dtype: DTypeName;
  shape: number[];
  /** Byte offset in the arena, a multiple of 16. */
  offset: number;
  /** tensorBytes(dtype, shape). */
  size: number;
}

export interface ArtifactOp {
  kind: OpKindName;
  inputs: ArtifactRef[];
  outputs: ArtifactRef[];
  params: number[];
  name?: string;
}

export interface ArtifactProgram {
  arenaSize: number;
  slots: ArtifactSlot[];
  ops: ArtifactOp[];
  /** Logits slot first. */
  outputs: ArtifactRef[];
}

export interface ArtifactMatrixPlan {
  name: string;
  bits: number;
  groupSize: number;
  format: DTypeName;
  entropy?: number;
  rule?: string;
}

export interface ArtifactBlockPlan {
  block: number;
  bits: number;
  groupSize: number;
  format: DTypeName;
  entropy?: number;
  rule?: string;
  matrices: ArtifactMatrixPlan[];
}

export interface ArtifactPlan {
  method: string;
  blocks: ArtifactBlockPlan[];
  /** The KV cache format's name (compiler/quantize/kv-cache.ts); absent: k12v8 (and not written). */
  kvCache?: string;
}

export interface ArtifactTarget {
  name: string;
  simd: boolean;
}

export interface ArtifactTokenizer {
  /** Raw piece bytes (llama2.c pieces are C strings, but the artifact stores lengths). */
  pieces: Uint8Array[];
  /** Fixed-point scores, round(score * 2^scoreFracBits); empty or one per piece. */
  scores: number[];
  scoreFracBits: number;
  /** Original float scores for host tools; empty or one per piece. */
  hostScores: number[];
  maxTokenLength: number;
  bosId: number;
  eosId: number;
  /** Absent: llama2c (and none of the fields below is written). */
  general?: ArtifactTokenizerGeneral;
}

/** What spm and bpe tokenizers carry beyond llama2.c's pieces (docs/tokenizers.md). */
export interface ArtifactTokenizerGeneral {
  kind: 'spm' | 'bpe';
  /** Token texts as the source wrote them. */
  texts: string[];
  /** GGUF token type per id. */
  tokenTypes: number[];
  /** bpe: "left right" in rank order. */
  merges: string[];
  /** bpe: pre-tokenizer expressions. */
  prePatterns: string[];
  preName: string;
  /** TokenizerOption bits. */
  options: number;
}

export interface ArtifactMetadata {
  /** SHA-256 of the source checkpoint, 32 bytes. */
  sourceSha256: Uint8Array;
  /** File name only, no directories. */
  sourceName: string;
  compiler: string;
  compilerVersion: string;
  /** Free-form provenance, written in the given order. */
  extra: Array<[string, string]>;
}

export interface ArtifactConformanceCase {
  name: string;
  tokens: number[];
  positions: number;
  /** fnv1a64 of the step output (Program.outputs[0]) at each position. */
  outputHashes: bigint[];
  /** Argmax of the logits at each position; empty when not recorded. */
  argmax: number[];
}

export interface ArtifactContents {
  config: ArtifactConfig;
  tensors: ArtifactTensor[];
  program: ArtifactProgram;
  plan: ArtifactPlan;
  target: ArtifactTarget;
  tokenizer?: ArtifactTokenizer;
  metadata: ArtifactMetadata;
  conformance: ArtifactConformanceCase[];
}
