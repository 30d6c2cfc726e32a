// A Hugging Face transformers model (LlamaForCausalLM / MistralForCausalLM) as the
// compiler's Graph: config.json for the shape and spec, model.safetensors (or shards named
// by model.safetensors.index.json) for the weights, read lazily and widened to float32.
//
// RoPE layout: HF's q_proj/k_proj rows are permuted (convert_llama_weights_to_hf.py's
// permute) so that rotate_half pairs x[i] with x[i + head/2]; this reader undoes it, row
// by row, into the interleaved layout (x[2i], x[2i+1]) of llama2.c and the runtime:
//   interleaved row h*hs + 2i + j  =  HF row h*hs + j*hs/2 + i   (j in {0,1}, i < hs/2).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EdgeqError } from '../../util/errors.ts';
import { firstNonFinite, nonFiniteError } from '../finite.ts';
import { blockTensor, type Graph, type ModelConfig, type TensorRef } from '../graph.ts';
import { CONFIG_FIELDS, configProblem } from '../llama2c-format.ts';
import { linearFreqFactors, llama3FreqFactors, unsupportedSpec, type ModelSpec } from '../model-spec.ts';
import { readSafetensors, readSafetensorsRange, type SafetensorsFile, type SafetensorsTensor } from './safetensors.ts';

export const HF_ARCHITECTURES = ['LlamaForCausalLM', 'MistralForCausalLM'] as const;

/** HF per-layer names (after `model.layers.N.`) → canonical names (graph.ts). */
const LAYER_NAMES: Record<string, string> = {
  'input_layernorm.weight': 'rms_att', 'self_attn.q_proj.weight': 'wq', 'self_attn.k_proj.weight': 'wk',
  'self_attn.v_proj.weight': 'wv', 'self_attn.o_proj.weight': 'wo', 'post_attention_layernorm.weight': 'rms_ffn',
  'mlp.gate_proj.weight': 'w1', 'mlp.down_proj.weight': 'w2', 'mlp.up_proj.weight': 'w3',
};
const GLOBAL_NAMES: Record<string, string> = { 'model.embed_tokens.weight': 'tok_embeddings', 'model.norm.weight': 'rms_final', 'lm_head.weight': 'wcls' };
export const hfName = (canonical: string): string => {
  const m = /^blocks\.(\d+)\.(.+)$/.exec(canonical);
  if (m) return `model.layers.${m[1]}.${Object.keys(LAYER_NAMES).find((k) => LAYER_NAMES[k] === m[2])}`;
  return Object.keys(GLOBAL_NAMES).find((k) => GLOBAL_NAMES[k] === canonical)!;
};

/** The model directory and weight files for a directory, a .safetensors file, or an index. */
export function hfFiles(path: string): { dir: string; config: string; shards: string[]; index?: string } {
  const isDir = statSync(path).isDirectory();
  const dir = isDir ? path : dirname(path);
  const config = join(dir, 'config.json');
  if (!existsSync(config)) throw new EdgeqError(`no config.json next to the weights; a Hugging Face model needs ${config}`, { file: path });
  if (!isDir) return { dir, config, shards: [path] };
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return { dir, config, shards: [single] };
  const index = join(dir, 'model.safetensors.index.json');
  if (!existsSync(index)) throw new EdgeqError('directory has config.json but neither model.safetensors nor model.safetensors.index.json', { file: path });
  let map: Record<string, string>;
  try {
    map = JSON.parse(readFileSync(index, 'utf8')).weight_map;
  } catch (e) {
    throw new EdgeqError(`not valid JSON: ${(e as Error).message}`, { file: index });
  }
  if (typeof map !== 'object' || map === null) throw new EdgeqError('has no weight_map object', { file: index });
  const shards = [...new Set(Object.values(map))].sort();
  for (const s of shards) {
    if (typeof s !== 'string' || s.includes('/') || s.includes('\\')) throw new EdgeqError(`weight_map names shard ${JSON.stringify(s)}; expected a file name in the same directory`, { file: index });
    if (!existsSync(join(dir, s))) throw new EdgeqError(`weight_map names shard ${s}, which does not exist in ${dir}`, { file: index });
  }
  return { dir, config, shards: shards.map((s) => join(dir, s)), index };
}

type Json = Record<string, unknown>;

function readConfig(path: string): Json {
  try {
    const j = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new Error('not an object');
    return j;
  } catch (e) {
    throw new EdgeqError(`not a valid config.json: ${(e as Error).message}`, { file: path });
  }
}

export function importHf(path: string): Graph {
  const files = hfFiles(path);
  const cfg = readConfig(files.config);
  const fail = (msg: string) => new EdgeqError(msg, { file: files.config });
  const int = (key: string, fallback?: number): number => {
    const v = cfg[key] ?? fallback;
    if (v === undefined) throw fail(`config.json has no key "${key}" (expected a positive integer)`);
    if (!Number.isSafeInteger(v) || (v as number) <= 0) throw fail(`config.json "${key}" is ${JSON.stringify(v)}; expected a positive integer`);
    return v as number;
  };
  const num = (key: string, fallback?: number): number => {
    const v = cfg[key] ?? fallback;
    if (v === undefined) throw fail(`config.json has no key "${key}" (expected a number)`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(`config.json "${key}" is ${JSON.stringify(v)}; expected a number`);
    return v;
  };
  const archs = cfg.architectures;
  const arch = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  if (!arch || !(HF_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw fail(`config.json "architectures" is ${JSON.stringify(archs)}; edgeq reads ${HF_ARCHITECTURES.join(', ')}`);
  }
  const nHeads = int('num_attention_heads');
  const config: ModelConfig = {
    dim: int('hidden_size'), hiddenDim: int('intermediate_size'), nLayers: int('num_hidden_layers'), nHeads,
    nKvHeads: int('num_key_value_heads', nHeads), vocabSize: int('vocab_size'), seqLen: int('max_position_embeddings'),
    sharedClassifier: cfg.tie_word_embeddings === true,
  };
  const problem = configProblem(config);
  if (problem) {
    const keys = ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'vocab_size', 'max_position_embeddings'];
    throw fail(`config.json "${keys[problem.field]}": ${problem.message.replace(CONFIG_FIELDS[problem.field], keys[problem.field])}`);
  }
  const hs = config.dim / nHeads;
  if (cfg.head_dim !== undefined && cfg.head_dim !== null && cfg.head_dim !== hs) throw fail(`config.json "head_dim" is ${JSON.stringify(cfg.head_dim)}; edgeq needs hidden_size / num_attention_heads = ${hs}`);
  if (cfg.hidden_act !== undefined && cfg.hidden_act !== 'silu') throw fail(`config.json "hidden_act" is ${JSON.stringify(cfg.hidden_act)}; edgeq computes silu (SwiGLU)`);
  const spec: ModelSpec = {
    architecture: arch, ropeTheta: num('rope_theta', 10000), normEps: num('rms_norm_eps'),
    ropeLayout: 'interleaved', ropeDims: hs,
    biases: ['attention_bias', 'mlp_bias'].filter((k) => cfg[k] === true),
  };
  const scaling = cfg.rope_scaling as Json | null | undefined;
  if (scaling) {
    const ff = scalingFactors(scaling, spec.ropeTheta, hs, fail);
    if (ff) spec.ropeFreqFactors = ff;
  }
  const bad = unsupportedSpec(config, spec);
  if (bad) {
    const key = { ropeTheta: 'rope_theta', normEps: 'rms_norm_eps', ropeFreqFactors: 'rope_scaling', biases: 'attention_bias/mlp_bias' }[bad.field as string] ?? bad.field;
    throw fail(`config.json "${key}" is ${bad.value}; edgeq's forward pass supports ${bad.supported}`);
  }

  // Collect tensors from every shard; each name once.
  const where = new Map<string, { file: SafetensorsFile; t: SafetensorsTensor }>();
  let bytes = 0;
  for (const s of files.shards) {
    const f = readSafetensors(s);
    bytes += f.bytes;
    for (const [n, t] of f.tensors) {
      if (where.has(n)) throw new EdgeqError(`tensor '${n}' also appears in ${where.get(n)!.file.path}`, { file: s });
      where.set(n, { file: f, t });
    }
  }
  const kv = (config.dim * config.nKvHeads) / nHeads;
  const shapes: Record<string, number[]> = {
    tok_embeddings: [config.vocabSize, config.dim], wcls: [config.vocabSize, config.dim], rms_final: [config.dim],
    rms_att: [config.dim], rms_ffn: [config.dim], wq: [config.dim, config.dim], wk: [kv, config.dim], wv: [kv, config.dim],
    wo: [config.dim, config.dim], w1: [config.hiddenDim, config.dim], w3: [config.hiddenDim, config.dim], w2: [config.dim, config.hiddenDim],
  };
  const names = ['tok_embeddings'];
  for (let l = 0; l < config.nLayers; l++) for (const n of Object.values(LAYER_NAMES)) names.push(blockTensor(l, n));
  names.push('rms_final');
  if (!config.sharedClassifier) names.push('wcls');
  const known = new Set(names.map(hfName));
  if (config.sharedClassifier) known.add('lm_head.weight'); // some exports store the tied copy too
  for (const [n, { file }] of where) {
    if (!known.has(n) && !n.endsWith('.rotary_emb.inv_freq')) {
      throw new EdgeqError(`tensor '${n}' is not part of a ${config.nLayers}-layer ${arch} edgeq computes`, { file: file.path });
    }
  }
  const tensors = new Map<string, TensorRef>();
  for (const name of names) {
    const src = where.get(hfName(name));
    if (!src) throw new EdgeqError(`no tensor ${hfName(name)} in ${files.shards.length > 1 ? `the ${files.shards.length} shards of ${files.index}` : files.shards[0]}`, { file: files.shards[0] });
    const kind = name.replace(/^blocks\.\d+\./, '');
    const want = shapes[kind];
    if (src.t.shape.join() !== want.join()) {
      throw new EdgeqError(`tensor '${src.t.name}' has shape [${src.t.shape.join(', ')}] but config.json implies [${want.join(', ')}]`, { file: src.file.path, offset: src.t.fileOffset });
    }
    const heads = kind === 'wq' ? nHeads : kind === 'wk' ? config.nKvHeads : 0;
    tensors.set(name, hfTensorRef(src.file.path, src.t, name, want, heads, hs));
  }
  if (config.sharedClassifier) tensors.set('wcls', { ...tensors.get('tok_embeddings')!, name: 'wcls' });
  return { config, source: { path, format: 'hf-safetensors', bytes }, tensors, spec };
}

/** HF's rope_scaling (llama3 or linear) as per-frequency divisors (model-spec.ts). */
function scalingFactors(s: Json, theta: number, hs: number, fail: (m: string) => EdgeqError): Float32Array | undefined {
  const type = s.rope_type ?? s.type;
  const need = (k: string) => {
    if (typeof s[k] !== 'number' || !(s[k] as number > 0)) throw fail(`config.json "rope_scaling" (${type}) has no positive number "${k}"`);
    return s[k] as number;
  };
  if (type === 'default') return undefined;
  if (type === 'linear') return linearFreqFactors(hs, need('factor'));
  if (type === 'llama3') {
    return llama3FreqFactors(theta, hs, {
      factor: need('factor'), lowFreqFactor: need('low_freq_factor'), highFreqFactor: need('high_freq_factor'),
      originalContext: need('original_max_position_embeddings'),
    });
  }
  throw fail(`config.json "rope_scaling" type ${JSON.stringify(type)} is not supported; edgeq reads none, default, linear or llama3`);
}

function hfTensorRef(path: string, t: SafetensorsTensor, name: string, shape: number[], heads: number, hs: number): TensorRef {
  const n = shape.reduce((a, b) => a * b, 1);
  const cols = shape.length === 2 ? shape[1] : n;
  const elem = t.nBytes / n;
  const check = (a: Float32Array, start: number) => {
    const bad = firstNonFinite(a);
    if (bad >= 0) throw nonFiniteError(path, t.name, start + bad, t.fileOffset + (start + bad) * elem, a[bad]);
    return a;
  };
  // Row r of the interleaved layout is HF row hfRow(r) (see the top of this file).
  const hfRow = (r: number) => {
    if (!heads) return r;
    const h = Math.floor(r / hs), k = r % hs, i = k >> 1, j = k & 1;
    return h * hs + j * (hs / 2) + i;
  };
  const readRange = (start: number, count: number): Float32Array => {
    if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0 && start + count <= n)) {
      throw new RangeError(`internal: readRange(${start}, ${count}) outside ${name} (${n} elements)`);
    }
    if (!heads) return check(readSafetensorsRange(path, t, start, count), start);
    // Permuted rows: read the HF rows covering the range, then place each value.
    const out = new Float32Array(count);
    const r0 = Math.floor(start / cols), r1 = Math.ceil((start + count) / cols);
    const headStart = Math.floor(r0 / hs) * hs, headEnd = Math.min(shape[0], Math.ceil(r1 / hs) * hs);
    const block = readSafetensorsRange(path, t, headStart * cols, (headEnd - headStart) * cols);
    for (let e = start; e < start + count; e++) {
      const r = Math.floor(e / cols), c = e % cols;
      out[e - start] = block[(hfRow(r) - headStart) * cols + c];
    }
    return check(out, start);
  };
  return { name, shape, byteOffset: t.fileOffset, read: () => readRange(0, n), readRange };
}
