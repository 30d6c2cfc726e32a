// Reader for llama2.c checkpoints (legacy v0 format; see ../shared/models/PROVENANCE.md).
// Tensors are located by offset and read lazily with positioned reads.
// TODO(issue 2): v1 ("ak42") format, full header/size/NaN validation with precise errors.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { EdgeqError } from '../util/errors.ts';
import type { Graph, ModelConfig, TensorRef } from './graph.ts';
import { blockTensor, kvDim } from './graph.ts';

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, offset + got);
      if (n === 0) throw new EdgeqError(`file ends early: expected ${length} bytes here`, { file: path, offset: offset + got });
      got += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

export function importLlama2c(path: string): Graph {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  closeSync(fd);
  const header = readAt(path, 0, 28);
  const h = (i: number) => header.readInt32LE(i * 4);
  const config: ModelConfig = {
    dim: h(0), hiddenDim: h(1), nLayers: h(2), nHeads: h(3), nKvHeads: h(4),
    vocabSize: Math.abs(h(5)), seqLen: h(6), sharedClassifier: h(5) > 0,
  };
  const tensors = new Map<string, TensorRef>();
  let off = 28;
  const add = (name: string, shape: number[]): TensorRef => {
    const n = shape.reduce((a, b) => a * b, 1);
    const byteOffset = off;
    const ref: TensorRef = {
      name, shape, byteOffset,
      read: () => {
        const b = readAt(path, byteOffset, n * 4);
        return new Float32Array(b.buffer, b.byteOffset, n);
      },
    };
    tensors.set(name, ref);
    off += n * 4;
    return ref;
  };
  const { dim, hiddenDim: hd, nLayers: L, vocabSize: V } = config;
  const kd = kvDim(config);
  const emb = add('tok_embeddings', [V, dim]);
  // llama2.c stores each kind of tensor for all layers contiguously.
  const perLayer = (name: string, shape: number[]) => { for (let l = 0; l < L; l++) add(blockTensor(l, name), shape); };
  perLayer('rms_att', [dim]);
  perLayer('wq', [dim, dim]);
  perLayer('wk', [kd, dim]);
  perLayer('wv', [kd, dim]);
  perLayer('wo', [dim, dim]);
  perLayer('rms_ffn', [dim]);
  perLayer('w1', [hd, dim]);
  perLayer('w2', [dim, hd]);
  perLayer('w3', [hd, dim]);
  add('rms_final', [dim]);
  off += 2 * config.seqLen * (dim / config.nHeads / 2) * 4; // freq_cis_real/imag: unused, RoPE is recomputed
  if (config.sharedClassifier) tensors.set('wcls', { ...emb, name: 'wcls' });
  else add('wcls', [V, dim]);
  return { config, source: { path, format: 'llama2c-v0', bytes: size }, tensors };
}
