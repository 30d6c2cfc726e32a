// Writers for llama2.c checkpoints (v0 and v1; layouts in llama2c-format.ts). Used by
// `edgeq synth` and by tests that need well-formed or deliberately broken files.
// They stream: the source hands over one tensor (or one chunk of a tensor) at a time and
// the bytes go to a temporary file that is renamed into place only when complete.
import type { Graph, ModelConfig } from './graph.ts';
import { headSize } from './graph.ts';
import { openAtomic } from '../util/atomic-write.ts';
import {
  CONFIG_FIELDS, V0_HEADER_BYTES, V1_HEADER_BYTES, V1_MAGIC, V1_SHARED_FLAG_OFFSET,
  configFieldsOffset, configProblem, llama2cLayout, type Llama2cFormat,
} from './llama2c-format.ts';

/**
 * Supplies the values of one weight tensor (canonical name, see graph.ts), either whole
 * or as consecutive row-major chunks. Called once per tensor, in file order.
 */
export type TensorSource = (name: string, shape: number[]) => Float32Array | Iterable<Float32Array>;

export interface WriteOptions {
  format: Llama2cFormat;
  /** Called after each write with bytes written so far and the final size. */
  onProgress?: (written: number, total: number) => void;
}

/** The header bytes llama2.c's export.py writes for this config. */
export function encodeHeader(c: ModelConfig, format: Llama2cFormat): Uint8Array {
  const b = Buffer.alloc(format === 'v0' ? V0_HEADER_BYTES : V1_HEADER_BYTES);
  if (format === 'v1') {
    b.writeUInt32LE(V1_MAGIC, 0);
    b.writeInt32LE(1, 4);
    b[V1_SHARED_FLAG_OFFSET] = c.sharedClassifier ? 1 : 0;
  }
  // v0 has no flag byte: a separate classifier is signalled by a negative vocab_size.
  const vocab = format === 'v0' && !c.sharedClassifier ? -c.vocabSize : c.vocabSize;
  const vals = [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, vocab, c.seqLen];
  vals.forEach((v, i) => b.writeInt32LE(v, configFieldsOffset(format) + i * 4));
  return b;
}

/**
 * v0's RoPE tables as llama2.c's model.py computes them in float32:
 * freqs[i] = 1 / 10000^(2i/head_size), angle = t * freqs[i], real = cos, imag = sin.
 * Nothing reads them (RoPE is recomputed), but v0 files must contain them.
 */
export function freqCis(c: ModelConfig, part: 'real' | 'imag'): Float32Array {
  const hs = headSize(c);
  const half = hs / 2;
  const out = new Float32Array(c.seqLen * half);
  const f = Math.fround;
  for (let i = 0; i < half; i++) {
    const freq = f(1 / f(Math.pow(10000, f((2 * i) / hs))));
    for (let t = 0; t < c.seqLen; t++) {
      const angle = f(t * freq);
      out[t * half + i] = part === 'real' ? Math.cos(angle) : Math.sin(angle);
    }
  }
  return out;
}

const asBytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Writes a llama2.c checkpoint of `config` with weights from `source`; returns its size. */
export function writeLlama2c(path: string, config: ModelConfig, source: TensorSource, opts: WriteOptions): number {
  const problem = configProblem(config);
  if (problem) throw new Error(`internal: cannot write ${path}: ${CONFIG_FIELDS[problem.field]}: ${problem.message}`);
  const layout = llama2cLayout(config, opts.format);
  const file = openAtomic(path);
  try {
    file.write(encodeHeader(config, opts.format));
    for (const r of layout.regions) {
      const v = r.weight ? source(r.name, r.shape) : freqCis(config, r.name.endsWith('real') ? 'real' : 'imag');
      const start = file.bytesWritten;
      for (const chunk of v instanceof Float32Array ? [v] : v) {
        file.write(asBytes(chunk));
        opts.onProgress?.(file.bytesWritten, layout.totalBytes);
      }
      if (file.bytesWritten - start !== r.bytes) {
        throw new Error(`internal: source gave ${(file.bytesWritten - start) / 4} values for ${r.name}, expected ${r.bytes / 4}`);
      }
    }
    file.commit();
  } catch (e) {
    file.abort();
    throw e;
  }
  return layout.totalBytes;
}

/** Re-writes an imported graph in the given format, streaming each tensor in 4 MB chunks. */
export function writeGraphLlama2c(path: string, graph: Graph, opts: WriteOptions): number {
  const CHUNK = 1 << 20;
  return writeLlama2c(path, graph.config, function* (name) {
    const t = graph.tensors.get(name);
    if (!t) throw new Error(`internal: graph has no tensor ${name}`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (!t.readRange) { yield t.read(); return; }
    for (let s = 0; s < n; s += CHUNK) yield t.readRange(s, Math.min(CHUNK, n - s));
  }, opts);
}
