// The byte layout of llama2.c checkpoints, shared by the reader (llama2c.ts) and the
// writers (llama2c-write.ts) so that the two can never disagree about where a tensor is.
//
// v0 ("legacy_export" in llama2.c's export.py): 7 int32 header; vocab_size < 0 means the
//   classifier is NOT shared. Tensors: tok_embeddings, rms_att*, wq*, wk*, wv*, wo*,
//   rms_ffn*, w1*, w2*, w3*, rms_final, freq_cis_real, freq_cis_imag, [wcls].
// v1 ("version1_export"): uint32 magic 0x616b3432, int32 version 1, the same 7 int32,
//   uint8 shared_classifier, zero padding to 256 bytes. Tensors: rms_att*, rms_ffn*,
//   rms_final, tok_embeddings, wq*, wk*, wv*, wo*, w1*, w2*, w3*, [wcls]; no freq_cis.
// (* = one per layer, all layers of one kind contiguous.) Everything little-endian float32.
import type { ModelConfig } from './graph.ts';
import { blockTensor, headSize, kvDim } from './graph.ts';

export type Llama2cFormat = 'v0' | 'v1';

/** uint32 little-endian at byte 0 of a v1 file: the ASCII bytes "24ka". */
export const V1_MAGIC = 0x616b3432;
export const V0_HEADER_BYTES = 28;
export const V1_HEADER_BYTES = 256;
/** Byte offset of the first of the 7 int32 config fields. */
export const configFieldsOffset = (f: Llama2cFormat): number => (f === 'v0' ? 0 : 8);
/** v1 only: byte offset of the uint8 shared-classifier flag. */
export const V1_SHARED_FLAG_OFFSET = 36;

/** The 7 int32 header fields, in file order, with llama2.c's names (used in messages). */
export const CONFIG_FIELDS = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'max_seq_len'] as const;

/** One contiguous float32 array in the file. `weight: false` marks v0's unused freq_cis tables. */
export interface Region {
  name: string;
  shape: number[];
  byteOffset: number;
  bytes: number;
  weight: boolean;
}

export interface Layout {
  headerBytes: number;
  /** In file order. A shared classifier has no region of its own. */
  regions: Region[];
  /** Exact size a well-formed file of this config has. */
  totalBytes: number;
}

export function llama2cLayout(c: ModelConfig, format: Llama2cFormat): Layout {
  const { dim, hiddenDim: hd, nLayers: L, vocabSize: V, seqLen } = c;
  const kd = kvDim(c);
  const headerBytes = format === 'v0' ? V0_HEADER_BYTES : V1_HEADER_BYTES;
  const regions: Region[] = [];
  let off = headerBytes;
  const add = (name: string, shape: number[], weight = true) => {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    regions.push({ name, shape, byteOffset: off, bytes, weight });
    off += bytes;
  };
  const perLayer = (name: string, shape: number[]) => { for (let l = 0; l < L; l++) add(blockTensor(l, name), shape); };
  const norms = () => { perLayer('rms_att', [dim]); perLayer('rms_ffn', [dim]); add('rms_final', [dim]); };
  const mats = () => {
    perLayer('wq', [dim, dim]); perLayer('wk', [kd, dim]); perLayer('wv', [kd, dim]); perLayer('wo', [dim, dim]);
    perLayer('w1', [hd, dim]); perLayer('w2', [dim, hd]); perLayer('w3', [hd, dim]);
  };
  if (format === 'v0') {
    add('tok_embeddings', [V, dim]);
    perLayer('rms_att', [dim]);
    perLayer('wq', [dim, dim]); perLayer('wk', [kd, dim]); perLayer('wv', [kd, dim]); perLayer('wo', [dim, dim]);
    perLayer('rms_ffn', [dim]);
    perLayer('w1', [hd, dim]); perLayer('w2', [dim, hd]); perLayer('w3', [hd, dim]);
    add('rms_final', [dim]);
    add('freq_cis_real', [seqLen, headSize(c) / 2], false);
    add('freq_cis_imag', [seqLen, headSize(c) / 2], false);
  } else {
    norms();
    add('tok_embeddings', [V, dim]);
    mats();
  }
  if (!c.sharedClassifier) add('wcls', [V, dim]);
  return { headerBytes, regions, totalBytes: off };
}

// Upper bounds that no real llama2.c model comes near; they exist so that a garbage
// header fails with a clear message instead of an overflow or a huge allocation.
export const LIMITS = { dim: 1 << 16, hidden_dim: 1 << 20, n_layers: 1024, max_seq_len: 1 << 24, vocab_size: 10_000_000 } as const;

/** A config problem: which header field (index into CONFIG_FIELDS, or -1 for the v1 flag) and what is wrong. */
export interface ConfigProblem { field: number; message: string }

/** The first structural problem with a config (one that would make the layout meaningless), or null. */
export function configProblem(c: ModelConfig): ConfigProblem | null {
  const vals = [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.vocabSize, c.seqLen];
  for (let i = 0; i < vals.length; i++) {
    if (!Number.isInteger(vals[i]) || vals[i] <= 0) {
      return { field: i, message: `${CONFIG_FIELDS[i]} must be a positive integer, got ${vals[i]}` };
    }
    const limit = (LIMITS as Record<string, number>)[CONFIG_FIELDS[i]];
    if (limit !== undefined && vals[i] > limit) {
      return { field: i, message: `${CONFIG_FIELDS[i]} ${vals[i]} is implausibly large (limit ${limit}); is this really a llama2.c checkpoint?` };
    }
  }
  // Token ids 1 and 2 are BOS and EOS in llama2.c: a smaller vocabulary cannot even start a text.
  if (c.vocabSize < 3) return { field: 5, message: `vocab_size must be at least 3 (llama2.c reserves 0 <unk>, 1 <s>, 2 </s>), got ${c.vocabSize}` };
  if (c.nHeads > c.dim) return { field: 3, message: `n_heads ${c.nHeads} exceeds dim ${c.dim}` };
  if (c.dim % c.nHeads !== 0) return { field: 3, message: `n_heads ${c.nHeads} does not divide dim ${c.dim}` };
  if (c.nKvHeads > c.nHeads) return { field: 4, message: `n_kv_heads ${c.nKvHeads} exceeds n_heads ${c.nHeads}` };
  if (c.nHeads % c.nKvHeads !== 0) return { field: 4, message: `n_kv_heads ${c.nKvHeads} does not divide n_heads ${c.nHeads}` };
  if (headSize(c) % 2 !== 0) {
    return { field: 3, message: `head size dim/n_heads = ${c.dim}/${c.nHeads} = ${headSize(c)} is odd; RoPE rotates pairs of values, so it must be even` };
  }
  return null;
}

/** "dim 64, hidden 172, 5 layers, 8 heads, 4 kv heads, vocab 512, seq 512, shared classifier" */
export function describeConfig(c: ModelConfig): string {
  return `dim ${c.dim}, hidden ${c.hiddenDim}, ${c.nLayers} layers, ${c.nHeads} heads, ${c.nKvHeads} kv heads, ` +
    `vocab ${c.vocabSize}, seq ${c.seqLen}, ${c.sharedClassifier ? 'shared' : 'separate'} classifier`;
}
