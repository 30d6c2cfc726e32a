// The compiler's view of a model after import: its configuration and a set of named
// float32 tensors that are read from the source file only when asked for (a 110M
// checkpoint is 440 MB; nothing needs all of it in memory at once).
import type { ModelSpec } from './model-spec.ts';

export interface ModelConfig {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  /** True when the classifier reuses the token embedding (llama2.c: vocab_size > 0 in v0). */
  sharedClassifier: boolean;
}

export const headSize = (c: ModelConfig): number => c.dim / c.nHeads;
export const kvDim = (c: ModelConfig): number => (c.dim * c.nKvHeads) / c.nHeads;

export interface TensorRef {
  /** Canonical name, see TENSOR_NAMES below. */
  name: string;
  /** Row-major shape, [out, in] for matrices. */
  shape: number[];
  /** Byte offset of the first element in the source file (for error messages and streaming). */
  byteOffset: number;
  /**
   * Reads the tensor's float32 values (a fresh array each call). The llama2.c importer
   * checks what it returns: a NaN or infinity throws an EdgeqError naming the tensor,
   * element and byte offset, so every command that reads weights catches bad files.
   */
  read(): Float32Array;
  /**
   * Reads `count` elements starting at element `start` (row-major), without reading the
   * rest: lets whole-model passes (finiteness check, statistics, writers) stream a 440 MB
   * model in small chunks. Optional so that in-memory graphs need not provide it.
   */
  readRange?(start: number, count: number): Float32Array;
}

/** Source formats, as readers name them (open-model.ts detects which). */
export type SourceFormat = 'llama2c-v0' | 'llama2c-v1' | 'gguf' | 'hf-safetensors';

export interface Graph {
  config: ModelConfig;
  source: { path: string; format: SourceFormat; bytes: number };
  /** RoPE/norm constants and variant (model-spec.ts); absent means llama2.c's. */
  spec?: ModelSpec;
  /** Tensors in canonical order. For a shared classifier `wcls` is the embedding's ref. */
  tensors: Map<string, TensorRef>;
}

/**
 * Canonical tensor names, in llama2.c order:
 *   tok_embeddings [vocab, dim]
 *   blocks.{l}.rms_att [dim]
 *   blocks.{l}.wq [dim, dim]   blocks.{l}.wk [kvDim, dim]   blocks.{l}.wv [kvDim, dim]
 *   blocks.{l}.wo [dim, dim]
 *   blocks.{l}.rms_ffn [dim]
 *   blocks.{l}.w1 [hidden, dim]   blocks.{l}.w2 [dim, hidden]   blocks.{l}.w3 [hidden, dim]
 *   rms_final [dim]
 *   wcls [vocab, dim]
 */
export const BLOCK_MATRICES = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const;
export type BlockMatrix = (typeof BLOCK_MATRICES)[number];
export const blockTensor = (l: number, name: string): string => `blocks.${l}.${name}`;

/** All weights of a model in memory, for the float and integer references. */
export interface FloatWeights {
  config: ModelConfig;
  tokEmbeddings: Float32Array;
  blocks: Array<{
    rmsAtt: Float32Array; wq: Float32Array; wk: Float32Array; wv: Float32Array; wo: Float32Array;
    rmsFfn: Float32Array; w1: Float32Array; w2: Float32Array; w3: Float32Array;
  }>;
  rmsFinal: Float32Array;
  /** Same array object as tokEmbeddings when the classifier is shared. */
  wcls: Float32Array;
  /** θ, ε and RoPE frequency factors (model-spec.ts); absent means llama2.c's. */
  spec?: ModelSpec;
}

export function loadWeights(g: Graph): FloatWeights {
  const t = (name: string): Float32Array => {
    const ref = g.tensors.get(name);
    if (!ref) throw new Error(`internal: graph has no tensor ${name}`);
    return ref.read();
  };
  const tokEmbeddings = t('tok_embeddings');
  const blocks = [];
  for (let l = 0; l < g.config.nLayers; l++) {
    const b = (n: string) => t(blockTensor(l, n));
    blocks.push({
      rmsAtt: b('rms_att'), wq: b('wq'), wk: b('wk'), wv: b('wv'), wo: b('wo'),
      rmsFfn: b('rms_ffn'), w1: b('w1'), w2: b('w2'), w3: b('w3'),
    });
  }
  return {
    config: g.config,
    tokEmbeddings,
    blocks,
    rmsFinal: t('rms_final'),
    wcls: g.config.sharedClassifier ? tokEmbeddings : t('wcls'),
    ...(g.spec ? { spec: g.spec } : {}),
  };
}

/**
 * The weights of `g` as FloatWeights whose every field reads its tensor from the source
 * when accessed, and keeps nothing: a pass that touches each tensor once (quantizeInt8)
 * holds one matrix at a time, so compiling a 1.1B model needs one matrix of float32, not
 * 4.4 GB. Passes that revisit weights (the float reference, GPTQ calibration) use
 * loadWeights instead: here every access is a fresh read.
 */
export function streamWeights(g: Graph): FloatWeights {
  const t = (name: string): Float32Array => {
    const ref = g.tensors.get(name);
    if (!ref) throw new Error(`internal: graph has no tensor ${name}`);
    return ref.read();
  };
  const lazy = <T extends object>(o: T, fields: Record<string, string>): T => {
    for (const [k, name] of Object.entries(fields)) Object.defineProperty(o, k, { get: () => t(name), enumerable: true });
    return o;
  };
  const blocks = [];
  for (let l = 0; l < g.config.nLayers; l++) {
    const fields: Record<string, string> = {};
    for (const [k, n] of Object.entries({ rmsAtt: 'rms_att', wq: 'wq', wk: 'wk', wv: 'wv', wo: 'wo', rmsFfn: 'rms_ffn', w1: 'w1', w2: 'w2', w3: 'w3' })) fields[k] = blockTensor(l, n);
    blocks.push(lazy({} as FloatWeights['blocks'][number], fields));
  }
  const w = { config: g.config, blocks, ...(g.spec ? { spec: g.spec } : {}) } as FloatWeights;
  return lazy(w, { tokEmbeddings: 'tok_embeddings', rmsFinal: 'rms_final', wcls: g.config.sharedClassifier ? 'tok_embeddings' : 'wcls' });
}
