// Hugging Face model writer (config.json + model.safetensors, or shards with
// model.safetensors.index.json), for tests, `edgeq synth --format hf-*` and benchmarks.
// q/k rows are permuted into HF's rotate_half layout exactly as transformers'
// convert_llama_weights_to_hf.py does, so the reader's un-permutation is exercised.
// Files it writes show only that reader and writer agree.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openAtomic, writeFileAtomic } from '../../util/atomic-write.ts';
import { headSize, type Graph } from '../graph.ts';
import { encodeBF16, encodeF16 } from '../gguf/gguf-write.ts';
import { hfName } from './hf-model.ts';

export type HfDtype = 'F32' | 'F16' | 'BF16';
const ENCODE: Record<HfDtype, (a: Float32Array) => Uint8Array> = {
  F32: (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength), F16: encodeF16, BF16: encodeBF16,
};

/** Interleaved rows → HF rows (HF row h*hs + j*hs/2 + i holds interleaved row h*hs + 2i + j). */
function toHfLayout(a: Float32Array, rows: number, cols: number, hs: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) {
    const h = Math.floor(r / hs), k = r % hs;
    const hfRow = h * hs + (k & 1) * (hs / 2) + (k >> 1);
    out.set(a.subarray(r * cols, (r + 1) * cols), hfRow * cols);
  }
  return out;
}

const DTYPE_BYTES: Record<HfDtype, number> = { F32: 4, F16: 2, BF16: 2 };

interface Entry { name: string; shape: number[]; data: () => Uint8Array }

/** Streams one safetensors file (header from the shapes, then each tensor as it is encoded); returns its size. */
function writeSafetensors(path: string, entries: Entry[], dtype: HfDtype): number {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const e of entries) {
    const n = e.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    header[e.name] = { dtype, shape: e.shape, data_offsets: [off, off + n] };
    off += n;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]); // padded with spaces to 8 bytes, as safetensors does
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length), 0);
  const f = openAtomic(path);
  try {
    f.write(len);
    f.write(json);
    for (const e of entries) f.write(e.data());
    f.commit();
    return f.bytesWritten;
  } catch (err) {
    f.abort();
    throw err;
  }
}

/** Writes `graph` as an HF LlamaForCausalLM directory; `shards` > 1 splits the tensors. Returns the bytes written. */
export function writeGraphHf(dir: string, graph: Graph, dtype: HfDtype, opts: { shards?: number } = {}): number {
  const c = graph.config;
  const hs = headSize(c);
  mkdirSync(dir, { recursive: true });
  const config = {
    architectures: ['LlamaForCausalLM'], model_type: 'llama',
    hidden_size: c.dim, intermediate_size: c.hiddenDim, num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads, num_key_value_heads: c.nKvHeads, vocab_size: c.vocabSize,
    max_position_embeddings: c.seqLen, rms_norm_eps: graph.spec?.normEps ?? 1e-5, rope_theta: graph.spec?.ropeTheta ?? 10000,
    hidden_act: 'silu', tie_word_embeddings: c.sharedClassifier,
    torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype],
  };
  const names = [...graph.tensors.keys()].filter((n) => !(n === 'wcls' && c.sharedClassifier));
  const entries: Entry[] = names.map((n) => {
    const t = graph.tensors.get(n)!;
    const kind = n.replace(/^blocks\.\d+\./, '');
    return {
      name: hfName(n), shape: t.shape,
      data: () => {
        let a = t.read();
        if (kind === 'wq' || kind === 'wk') a = toHfLayout(a, t.shape[0], t.shape[1], hs);
        return ENCODE[dtype](a);
      },
    };
  });
  const shards = Math.max(1, Math.min(opts.shards ?? 1, entries.length));
  let bytes = 0;
  if (shards === 1) {
    bytes += writeSafetensors(join(dir, 'model.safetensors'), entries, dtype);
  } else {
    const weightMap: Record<string, string> = {};
    const per = Math.ceil(entries.length / shards);
    for (let s = 0; s < shards; s++) {
      const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = entries.slice(s * per, (s + 1) * per);
      for (const e of part) weightMap[e.name] = file;
      bytes += writeSafetensors(join(dir, file), part, dtype);
    }
    writeFileAtomic(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2) + '\n');
  }
  // config.json last: a directory without it is not taken for a model if writing fails midway.
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  return bytes;
}
