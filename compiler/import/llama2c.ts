// Reader for llama2.c checkpoints, legacy v0 and version 1 (layouts in llama2c-format.ts),
// told apart by v1's magic number.
//
// Validation happens in two places, both with messages that name the file and offset:
//  - at import (cheap, O(1) reads): header fields, divisibility, absurd sizes, and the
//    exact file size the header implies;
//  - when values are read: every read()/readRange() rejects NaN/Inf, so compile, run and
//    anything else that touches the weights catches a corrupt file without a separate
//    pass. `checkFinite(graph)` (finite.ts, or `{ checkFinite: true }` here) streams the
//    whole file up front for commands that want the answer before doing work (inspect).
//
// Tensors are read lazily by positioned reads; each read opens and closes its own fd, so
// a Graph holds no OS resources and can be dropped at any time.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { checkInputFile } from '../util/input-file.ts';
import { EdgeqError } from '../util/errors.ts';
import type { Graph, ModelConfig, TensorRef } from './graph.ts';
import {
  CONFIG_FIELDS, V0_HEADER_BYTES, V1_HEADER_BYTES, V1_MAGIC, V1_SHARED_FLAG_OFFSET,
  configFieldsOffset, configProblem, describeConfig, llama2cLayout,
  type Layout, type Llama2cFormat,
} from './llama2c-format.ts';
import { checkFinite, firstNonFinite, nonFiniteError } from './finite.ts';

export interface ImportOptions {
  /** Stream through every weight now and fail on the first NaN/Inf (default false: checked on read). */
  checkFinite?: boolean;
}

/** Reads exactly `buf.length` bytes at `offset`, or fails naming what was being read. */
function readFully(fd: number, path: string, buf: Uint8Array, offset: number, what: string): void {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, offset + got);
    if (n === 0) {
      throw new EdgeqError(`file ends early: expected ${buf.length - got} more bytes of ${what} (was the file changed after it was opened?)`,
        { file: path, offset: offset + got });
    }
    got += n;
  }
}

/** Reads `count` float32 starting at `byteOffset` and rejects non-finite values. */
function readFloats(path: string, name: string, byteOffset: number, elemStart: number, count: number): Float32Array {
  // Allocate as Float32Array so the bytes are 4-aligned; all our hosts are little-endian,
  // like the file (Node on big-endian hardware is not a target).
  const out = new Float32Array(count);
  const fd = openSync(path, 'r');
  try {
    readFully(fd, path, new Uint8Array(out.buffer), byteOffset, name);
  } finally {
    closeSync(fd);
  }
  const bad = firstNonFinite(out);
  if (bad >= 0) throw nonFiniteError(path, name, elemStart + bad, byteOffset + bad * 4, out[bad]);
  return out;
}

interface Header { format: Llama2cFormat; config: ModelConfig }

function parseHeader(path: string, fd: number, size: number): Header {
  const fail = (msg: string, offset?: number) => new EdgeqError(msg, { file: path, offset });
  if (size < 4) throw fail(`file is ${size} bytes, too short for a llama2.c checkpoint (the v0 header alone is ${V0_HEADER_BYTES} bytes)`, size);
  const head = Buffer.alloc(Math.min(size, V1_HEADER_BYTES));
  readFully(fd, path, head, 0, 'the header');
  let format: Llama2cFormat = 'v0';
  if (head.readUInt32LE(0) === V1_MAGIC) {
    format = 'v1';
    if (size < V1_HEADER_BYTES) throw fail(`file is ${size} bytes, shorter than the ${V1_HEADER_BYTES}-byte llama2.c v1 header`, size);
    const version = head.readInt32LE(4);
    if (version !== 1) {
      const known = version === 2 ? ' (llama2.c\'s Q8_0-quantized export)' : '';
      throw fail(`unsupported llama2.c checkpoint version ${version}${known}; expected 1 (float32) or a legacy v0 file — re-export with export.py --version 1`, 4);
    }
  } else if (head.toString('latin1', 0, 4) === 'GGUF') {
    throw fail('this is a GGUF file; edgeq reads llama2.c checkpoints (v0 or v1, see export.py in llama2.c)', 0);
  } else if (size < V0_HEADER_BYTES) {
    throw fail(`file is ${size} bytes, shorter than the ${V0_HEADER_BYTES}-byte llama2.c v0 header`, size);
  }
  const base = configFieldsOffset(format);
  const f = (i: number) => head.readInt32LE(base + i * 4);
  const rawVocab = f(5);
  let shared: boolean;
  if (format === 'v0') {
    shared = rawVocab > 0; // llama2.c v0: negative vocab_size flags a separate classifier
  } else {
    const flag = head[V1_SHARED_FLAG_OFFSET];
    if (flag > 1) throw fail(`shared_classifier flag is ${flag}; expected 0 or 1`, V1_SHARED_FLAG_OFFSET);
    shared = flag === 1;
    if (rawVocab <= 0) throw fail(`vocab_size must be a positive integer in a v1 header, got ${rawVocab}`, base + 5 * 4);
  }
  const config: ModelConfig = {
    dim: f(0), hiddenDim: f(1), nLayers: f(2), nHeads: f(3), nKvHeads: f(4),
    vocabSize: Math.abs(rawVocab), seqLen: f(6), sharedClassifier: shared,
  };
  const problem = configProblem(config);
  if (problem) {
    throw fail(`bad ${format} header field ${CONFIG_FIELDS[problem.field]}: ${problem.message}`, base + problem.field * 4);
  }
  return { format, config };
}

/** Checks that the file is exactly as long as the header says, explaining any difference. */
function checkSize(path: string, h: Header, layout: Layout, size: number): void {
  const want = layout.totalBytes;
  if (size === want) return;
  const desc = `its ${h.format} header (${describeConfig(h.config)}) implies ${want} bytes`;
  let hint = '';
  if (h.format === 'v0') {
    // The sign of vocab_size decides whether wcls is present: say so if the other choice fits.
    const other = llama2cLayout({ ...h.config, sharedClassifier: !h.config.sharedClassifier }, 'v0').totalBytes;
    if (other === size) {
      hint = h.config.sharedClassifier
        ? '; that size fits a separate classifier (wcls), but vocab_size is positive, which means shared'
        : '; that size fits a shared classifier, but vocab_size is negative, which means a separate wcls';
    }
  }
  if (size < want) {
    const cut = layout.regions.find((r) => r.byteOffset + r.bytes > size);
    const where = cut ? `; it ends inside ${cut.name} (bytes ${cut.byteOffset}..${cut.byteOffset + cut.bytes})` : '';
    throw new EdgeqError(`file is ${size} bytes but ${desc}: ${want - size} bytes missing${where}${hint}`, { file: path, offset: size });
  }
  throw new EdgeqError(`file is ${size} bytes but ${desc}: ${size - want} unexpected bytes after the last tensor${hint}`, { file: path, offset: want });
}

export function importLlama2c(path: string, opts: ImportOptions = {}): Graph {
  checkInputFile(path, 'a llama2.c checkpoint (.bin)');
  const fd = openSync(path, 'r');
  let size: number;
  let h: Header;
  try {
    size = fstatSync(fd).size;
    h = parseHeader(path, fd, size);
  } finally {
    closeSync(fd);
  }
  const layout = llama2cLayout(h.config, h.format);
  checkSize(path, h, layout, size);

  const tensors = new Map<string, TensorRef>();
  const byName = new Map(layout.regions.map((r) => [r.name, r]));
  // Canonical order (graph.ts), whatever the file order is.
  const names = ['tok_embeddings'];
  for (let l = 0; l < h.config.nLayers; l++) {
    for (const n of ['rms_att', 'wq', 'wk', 'wv', 'wo', 'rms_ffn', 'w1', 'w2', 'w3']) names.push(`blocks.${l}.${n}`);
  }
  names.push('rms_final');
  if (!h.config.sharedClassifier) names.push('wcls');
  for (const name of names) {
    const r = byName.get(name)!;
    const n = r.bytes / 4;
    tensors.set(name, {
      name, shape: r.shape, byteOffset: r.byteOffset,
      read: () => readFloats(path, name, r.byteOffset, 0, n),
      readRange: (start, count) => {
        if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0 && start + count <= n)) {
          throw new RangeError(`internal: readRange(${start}, ${count}) outside ${name} (${n} elements)`);
        }
        return readFloats(path, name, r.byteOffset + start * 4, start, count);
      },
    });
  }
  if (h.config.sharedClassifier) tensors.set('wcls', { ...tensors.get('tok_embeddings')!, name: 'wcls' });

  const graph: Graph = { config: h.config, source: { path, format: `llama2c-${h.format}`, bytes: size }, tensors };
  if (opts.checkFinite) checkFinite(graph);
  return graph;
}
