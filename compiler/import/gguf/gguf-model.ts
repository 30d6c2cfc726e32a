// A llama-architecture GGUF file as the compiler's Graph (graph.ts): metadata keys to the
// model's shape and spec, llama.cpp tensor names to canonical names, every tensor
// dequantized (ggml-dequant.ts) when read.
//
// RoPE layout: llama.cpp's converter (convert_hf_to_gguf.py, LlamaModel) permutes HF's
// q/k rows back into Meta's interleaved-pair layout, and ggml's "normal" RoPE mode rotates
// adjacent pairs; that is llama2.c's layout too, so q/k pass through unchanged.
//
// Shapes: GGUF stores dimensions innermost first, so token_embd.weight [dim, vocab] is the
// row-major [vocab, dim] matrix llama2.c calls tok_embeddings; every tensor is checked
// against the shape the metadata implies before anything is read.
import { EdgeqError } from '../../util/errors.ts';
import { firstNonFinite, nonFiniteError } from '../finite.ts';
import { blockTensor, type Graph, type ModelConfig, type TensorRef } from '../graph.ts';
import { configProblem, CONFIG_FIELDS } from '../llama2c-format.ts';
import { linearFreqFactors, unsupportedSpec, type ModelSpec } from '../model-spec.ts';
import { canDequantize, dequantize, DEQUANTIZABLE } from './ggml-dequant.ts';
import { readGguf, type GgufFile, type GgufTensorInfo } from './gguf-file.ts';

/** Architectures whose tensors map onto edgeq's forward pass unchanged. */
export const GGUF_ARCHITECTURES = ['llama'] as const;

/** llama.cpp tensor name (per block: after `blk.N.`) → canonical name (graph.ts). */
const BLOCK_NAMES: Record<string, string> = {
  'attn_norm.weight': 'rms_att', 'attn_q.weight': 'wq', 'attn_k.weight': 'wk', 'attn_v.weight': 'wv',
  'attn_output.weight': 'wo', 'ffn_norm.weight': 'rms_ffn',
  'ffn_gate.weight': 'w1', 'ffn_down.weight': 'w2', 'ffn_up.weight': 'w3',
};
const GLOBAL_NAMES: Record<string, string> = {
  'token_embd.weight': 'tok_embeddings', 'output_norm.weight': 'rms_final', 'output.weight': 'wcls',
};

/** Metadata keys of the spec fields, for refusals that name the key. */
const SPEC_KEYS: Partial<Record<keyof ModelSpec, string>> = {
  ropeTheta: 'rope.freq_base', normEps: 'attention.layer_norm_rms_epsilon', ropeDims: 'rope.dimension_count',
  ropeFreqFactors: 'rope_freqs.weight (tensor)', biases: 'bias tensors',
};

function expectedShape(name: string, c: ModelConfig): number[] {
  const kv = (c.dim * c.nKvHeads) / c.nHeads;
  const m = /^blocks\.\d+\.(.*)$/.exec(name);
  switch (m ? m[1] : name) {
    case 'tok_embeddings': case 'wcls': return [c.vocabSize, c.dim];
    case 'rms_att': case 'rms_ffn': case 'rms_final': return [c.dim];
    case 'wq': case 'wo': return [c.dim, c.dim];
    case 'wk': case 'wv': return [kv, c.dim];
    case 'w1': case 'w3': return [c.hiddenDim, c.dim];
    case 'w2': return [c.dim, c.hiddenDim];
  }
  throw new Error(`internal: no shape for ${name}`);
}

function tensorRef(g: GgufFile, t: GgufTensorInfo, name: string, shape: number[]): TensorRef {
  const where = { file: g.path, tensor: t.name, offset: t.fileOffset };
  const finite = (a: Float32Array, elemStart: number) => {
    const bad = firstNonFinite(a);
    if (bad >= 0) {
      const e = elemStart + bad;
      throw nonFiniteError(g.path, t.name, e, t.fileOffset + Math.floor(e / t.type.blockElems) * t.type.blockBytes, a[bad]);
    }
    return a;
  };
  return {
    name, shape, byteOffset: t.fileOffset,
    read: () => finite(dequantize(t.type, g.readTensorBytes(t), where), 0),
    readRange: (start, count) => {
      if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0 && start + count <= t.nElements)) {
        throw new RangeError(`internal: readRange(${start}, ${count}) outside ${name} (${t.nElements} elements)`);
      }
      // Whole blocks covering [start, start + count), then the slice asked for.
      const be = t.type.blockElems, bb = t.type.blockBytes;
      const b0 = Math.floor(start / be), b1 = Math.ceil((start + count) / be);
      const all = dequantize(t.type, g.readTensorBytes(t, b0 * bb, (b1 - b0) * bb), where);
      return finite(all.subarray(start - b0 * be, start - b0 * be + count), start);
    },
  };
}

/** Opens a llama-architecture GGUF file; tensors are read (and dequantized) lazily. */
export function importGguf(path: string): Graph {
  return ggufGraph(readGguf(path));
}

export function ggufGraph(g: GgufFile): Graph {
  const arch = g.getString('general.architecture');
  if (!(GGUF_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw g.keyError('general.architecture', `general.architecture is '${arch}'; edgeq reads: ${GGUF_ARCHITECTURES.join(', ')} (other architectures have tensors or a forward pass edgeq does not compute)`);
  }
  const k = (s: string) => `${arch}.${s}`;
  const emb = g.tensor('token_embd.weight');
  if (!emb) throw new EdgeqError(`GGUF file has no tensor token_embd.weight (is it a vocabulary-only file?); a ${arch} model needs one`, { file: g.path });
  const dim = g.getU32(k('embedding_length'));
  const nHeads = g.getU32(k('attention.head_count'));
  const config: ModelConfig = {
    dim,
    hiddenDim: g.getU32(k('feed_forward_length')),
    nLayers: g.getU32(k('block_count')),
    nHeads,
    nKvHeads: g.getU32(k('attention.head_count_kv'), nHeads),
    vocabSize: emb.shape[0],
    seqLen: g.getU32(k('context_length')),
    sharedClassifier: !g.tensor('output.weight'),
  };
  const problem = configProblem(config);
  if (problem) {
    const keys = ['embedding_length', 'feed_forward_length', 'block_count', 'attention.head_count', 'attention.head_count_kv', 'token_embd.weight rows', 'context_length'];
    const key = k(keys[problem.field]);
    throw g.keyError(key, `${key}: ${problem.message.replace(CONFIG_FIELDS[problem.field], keys[problem.field])}`);
  }
  if (g.has(k('vocab_size')) && g.getU32(k('vocab_size')) !== config.vocabSize) {
    throw g.keyError(k('vocab_size'), `${k('vocab_size')} is ${g.getU32(k('vocab_size'))} but token_embd.weight has ${config.vocabSize} rows`);
  }

  const spec: ModelSpec = {
    architecture: arch,
    ropeTheta: g.getFloat(k('rope.freq_base'), 10000),
    normEps: g.getFloat(k('attention.layer_norm_rms_epsilon')),
    ropeLayout: 'interleaved',
    ropeDims: g.getU32(k('rope.dimension_count'), dim / nHeads),
    biases: g.tensors.filter((t) => t.name.endsWith('.bias')).map((t) => t.name),
  };
  const rf = g.tensor('rope_freqs.weight');
  if (rf) spec.ropeFreqFactors = dequantize(rf.type, g.readTensorBytes(rf), { file: g.path, tensor: rf.name });
  const scaling = g.has(k('rope.scaling.type')) ? g.getString(k('rope.scaling.type')) : 'none';
  if (scaling === 'linear') {
    if (rf) throw g.keyError(k('rope.scaling.type'), `${k('rope.scaling.type')} is 'linear' and the file also has rope_freqs.weight; edgeq applies one of them`);
    const factor = g.getFloat(k('rope.scaling.factor'));
    if (!(factor > 0) || !Number.isFinite(factor)) throw g.keyError(k('rope.scaling.factor'), `${k('rope.scaling.factor')} is ${factor}; expected a number > 0`);
    spec.ropeFreqFactors = linearFreqFactors(spec.ropeDims, factor);
  } else if (scaling !== 'none') {
    throw g.keyError(k('rope.scaling.type'), `${k('rope.scaling.type')} is '${scaling}'; edgeq reads none, linear, or Llama-3's rope_freqs tensor`);
  }
  const bad = unsupportedSpec(config, spec);
  if (bad) {
    const key = SPEC_KEYS[bad.field] ?? bad.field;
    const full = key.includes(' ') ? key : k(key);
    throw new EdgeqError(`${full} is ${bad.value}; edgeq's forward pass supports ${bad.supported}`, { file: g.path, offset: g.metadataOffsets.get(full) });
  }

  // Map every tensor; anything unmapped is a part of the model edgeq would silently drop.
  const byCanonical = new Map<string, GgufTensorInfo>();
  for (const t of g.tensors) {
    let name = GLOBAL_NAMES[t.name];
    const m = /^blk\.(\d+)\.(.+)$/.exec(t.name);
    if (m && Number(m[1]) < config.nLayers && BLOCK_NAMES[m[2]]) name = blockTensor(Number(m[1]), BLOCK_NAMES[m[2]]);
    if (t.name === 'rope_freqs.weight') continue;
    if (!name) {
      throw new EdgeqError(`tensor '${t.name}' is not part of a ${arch} model edgeq computes (expected token_embd, blk.0..${config.nLayers - 1}.{${Object.keys(BLOCK_NAMES).join(',')}}, output_norm, output)`,
        { file: g.path, offset: t.infoOffset });
    }
    if (!canDequantize(t.type)) {
      throw new EdgeqError(`tensor '${t.name}' has ggml type ${t.type.name}, which edgeq does not read; supported: ${DEQUANTIZABLE.join(', ')}`,
        { file: g.path, offset: t.infoOffset });
    }
    const want = expectedShape(name, config);
    if (want.join() !== t.shape.join()) {
      throw new EdgeqError(`tensor '${t.name}' has shape [${t.shape.join(', ')}] (row-major) but the metadata (${describeShape(config)}) implies [${want.join(', ')}]`,
        { file: g.path, offset: t.infoOffset });
    }
    byCanonical.set(name, t);
  }
  const tensors = new Map<string, TensorRef>();
  const names = ['tok_embeddings'];
  for (let l = 0; l < config.nLayers; l++) for (const n of Object.values(BLOCK_NAMES)) names.push(blockTensor(l, n));
  names.push('rms_final');
  if (!config.sharedClassifier) names.push('wcls');
  for (const name of names) {
    const t = byCanonical.get(name);
    if (!t) {
      const ggufName = name.startsWith('blocks.')
        ? `blk.${name.split('.')[1]}.${Object.keys(BLOCK_NAMES).find((x) => BLOCK_NAMES[x] === name.split('.')[2])}`
        : Object.keys(GLOBAL_NAMES).find((x) => GLOBAL_NAMES[x] === name);
      throw new EdgeqError(`GGUF file has no tensor ${ggufName}, which a ${config.nLayers}-block ${arch} model needs`, { file: g.path });
    }
    tensors.set(name, tensorRef(g, t, name, expectedShape(name, config)));
  }
  if (config.sharedClassifier) tensors.set('wcls', { ...tensors.get('tok_embeddings')!, name: 'wcls' });
  return { config, source: { path: g.path, format: 'gguf', bytes: g.fileBytes }, tensors, spec };
}

function describeShape(c: ModelConfig): string {
  return `dim ${c.dim}, hidden ${c.hiddenDim}, ${c.nHeads} heads, ${c.nKvHeads} kv heads, vocab ${c.vocabSize}`;
}
