// One entry point for every model source: `openModel(path)` checks the path, then asks each
// reader in READERS, in order, whether the content is its format (never the file name),
// and opens it with the first that says yes. llama2.c has no magic (v0 files start with
// their dim), so it is the fallback and comes last.
//
// Every reader returns the same Graph (graph.ts): config, spec (model-spec.ts) and lazy
// float32 tensors in the canonical names and RoPE layout.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EdgeqError } from '../util/errors.ts';
import { checkInputFile, inputErrnoMessage } from '../util/input-file.ts';
import type { Graph, SourceFormat } from './graph.ts';
import { importLlama2c } from './llama2c.ts';
import { importGguf } from './gguf/gguf-model.ts';
import { hfFiles, importHf } from './hf/hf-model.ts';
import { looksLikeSafetensors } from './hf/safetensors.ts';
import { isGgufMagic, readGguf } from './gguf/gguf-file.ts';
import { ggufHasTokenizer, tokenizerFromGguf } from './tokenizers/from-gguf.ts';
import { loadTokenizerFile } from './tokenizers/load.ts';
import type { TextTokenizer } from './tokenizers/text-tokenizer.ts';

/** What detection looks at: the path's kind and the first bytes of a file. */
export interface Probe { path: string; isDirectory: boolean; head: Uint8Array; size: number }

export interface ModelReader {
  name: string;
  formats: SourceFormat[];
  detect(p: Probe): boolean;
  open(path: string): Graph;
}

export const READERS: ModelReader[] = [
  { name: 'GGUF', formats: ['gguf'], detect: (p) => !p.isDirectory && isGgufMagic(p.head), open: importGguf },
  {
    name: 'Hugging Face safetensors', formats: ['hf-safetensors'], open: importHf,
    detect: (p) => (p.isDirectory ? existsSync(join(p.path, 'config.json')) : looksLikeSafetensors(p.head, p.size)),
  },
  { name: 'llama2.c', formats: ['llama2c-v0', 'llama2c-v1'], detect: (p) => !p.isDirectory, open: (path) => importLlama2c(path) },
];

const HEAD_BYTES = 16;

/**
 * Checks that `path` can hold a model — a regular file, or a directory a reader accepts —
 * and says why not at once (a FIFO or a device would block or never end).
 */
export function probeModelPath(path: string): Probe {
  const what = 'a model (a checkpoint file or a model directory)';
  let st: Stats;
  try { st = statSync(path); } catch (e) { throw new EdgeqError(inputErrnoMessage(e as NodeJS.ErrnoException, what), { file: path }); }
  if (st.isDirectory()) return { path, isDirectory: true, head: new Uint8Array(0), size: 0 };
  checkInputFile(path, what); // a FIFO, device or /proc file: refused at once
  const head = new Uint8Array(Math.min(HEAD_BYTES, st.size));
  const fd = openSync(path, 'r');
  try { readSync(fd, head, 0, head.length, 0); } finally { closeSync(fd); }
  return { path, isDirectory: false, head, size: st.size };
}

/** Opens a model from any supported source, detected by content. */
export function openModel(path: string): Graph {
  const probe = probeModelPath(path);
  const reader = READERS.find((r) => r.detect(probe));
  if (!reader) {
    const hint = probe.isDirectory
      ? existsSync(join(path, 'model.edgeq')) ? ' (it is a compiled bundle: give it to edgeq run/verify, not as a source model)'
        : ` (expected a Hugging Face model directory with config.json and *.safetensors)`
      : '';
    throw new EdgeqError(`is a directory that holds no model edgeq reads${hint}`, { file: path });
  }
  return reader.open(path);
}

/**
 * The tokenizer a model file carries (GGUF tokenizer.ggml.*, an HF directory's
 * tokenizer.json), or undefined (llama2.c checkpoints have none: their tokenizer.bin is a
 * separate file).
 */
export function embeddedTokenizer(graph: Graph): TextTokenizer | undefined {
  const { path, format } = graph.source;
  if (format === 'gguf') {
    const g = readGguf(path);
    return ggufHasTokenizer(g) ? tokenizerFromGguf(g) : undefined;
  }
  if (format === 'hf-safetensors') {
    const json = join(statSync(path).isDirectory() ? path : dirname(path), 'tokenizer.json');
    return existsSync(json) ? loadTokenizerFile(json) : undefined;
  }
  return undefined;
}

/** The tokenizer to use with a model: the file the user named (any kind), else the model's own. */
export function modelTokenizer(graph: Graph, path?: string): TextTokenizer | undefined {
  return path !== undefined ? loadTokenizerFile(path) : embeddedTokenizer(graph);
}

/**
 * SHA-256 identifying a model source (recorded in the bundle): of the file itself, or for
 * an HF model of each file it is made of (config.json, index, shards), name and digest.
 */
export function sourceDigest(path: string): Buffer {
  const fileDigest = (p: string) => {
    const h = createHash('sha256');
    const fd = openSync(p, 'r');
    try {
      const buf = Buffer.alloc(1 << 22);
      for (let pos = 0; ; ) {
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        pos += n;
      }
    } finally { closeSync(fd); }
    return h.digest();
  };
  const probe = probeModelPath(path);
  if (!probe.isDirectory && !looksLikeSafetensors(probe.head, probe.size)) return fileDigest(path);
  const f = hfFiles(path);
  const h = createHash('sha256');
  for (const p of [f.config, ...(f.index ? [f.index] : []), ...f.shards]) h.update(`${basename(p)}\n`).update(fileDigest(p));
  return h.digest();
}
