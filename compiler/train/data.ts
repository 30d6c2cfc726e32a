// Fine-tuning data: a UTF-8 text file as one token stream, and the deterministic windows
// each training step and the held-out evaluation read.
//
// Stream: the text's documents (blocks separated by blank lines) each as BOS followed by
// its lines, each line whitespace-collapsed and encoded on its own (run.c encode: dummy-
// prefix space, no EOS; as compiler/eval/text-stream.ts encodes paragraphs), concatenated.
// That is how llama2.c pretokenized its training data (BOS + story, per story), so a file
// with one story per block, one paragraph per line (scripts/make-style-data.ts writes such
// files), trains on what the model was trained on. Lines are encoded separately because
// encode is quadratic in its input's length (a 5 KB story takes seconds, a paragraph
// milliseconds); the dummy-prefix space of each line stands for the line break, and since
// no piece has a space after a non-space (checked: tok512, tok105 and the 32k Llama 2
// vocabulary) merges never cross a word boundary, so the tokens are those of the block
// with its lines joined by spaces (test/train-data.test.ts). A document the tokenizer cannot
// encode (a byte without a piece) is skipped and counted. A text without blank lines is
// one document (one BOS).
//
// Windows: window k = stream[k·seqLen .. k·seqLen + seqLen] (seqLen + 1 tokens) for
// k = 0 .. n − 1, n = floor((N − 1) / seqLen): consecutive windows share one token (the
// last target of k is the first input of k + 1), so one pass over the n windows predicts
// every stream token from index 1 to n·seqLen exactly once; the tail (< seqLen tokens) is
// never read. Training visits the windows in epochs: each epoch is a permutation of
// 0 .. n − 1 (Fisher–Yates, j = mulHiU32(u, i + 1) for i = n − 1 .. 1, u from
// Xorshift64Star(lo = seed, hi = 0x64617461) continuing across epochs), as many epochs as
// the steps need (the last one cut short). Held-out windows are the first ones in order.
import { loadTokenizerFile } from '../import/tokenizers/load.ts';
import type { TextTokenizer } from '../import/tokenizers/text-tokenizer.ts';
import { readUtf8 } from '../eval/text-stream.ts';
import { EdgeqError, usageError } from '../util/errors.ts';
import { Xorshift64Star } from '../../runtime/kernels/reference/rng.ts';
import { mulHiU32 } from '../../runtime/kernels/reference/int64.ts';

/** RNG stream word of the window order ("data"): distinct from the adapter init streams. */
const ORDER_STREAM = 0x64617461;

export interface TokenStream {
  /** The text file it came from (named in errors). */
  file: string;
  tokens: Int32Array;
  /** Documents encoded, and skipped because the tokenizer could not encode them. */
  documents: number;
  skipped: number;
}

/** `text` as a stream: each blank-line block as BOS + its lines encoded one by one, concatenated. */
export function encodeDocuments(tok: TextTokenizer, text: string, file: string): TokenStream {
  const out: number[] = [];
  let documents = 0, skipped = 0;
  for (const block of text.split(/\n[^\S\n]*\n\s*/)) {
    const lines = block.split('\n').map((l) => l.replace(/\s+/g, ' ').trim()).filter((l) => l.length > 0);
    if (lines.length === 0) continue;
    const ids: number[] = tok.bosId >= 0 ? [tok.bosId] : [];
    try {
      for (const l of lines) for (const id of tok.encode(l)) ids.push(id);
    } catch (e) { if (e instanceof EdgeqError) { skipped++; continue; } throw e; }
    for (const id of ids) out.push(id);
    documents++;
  }
  return { file, tokens: Int32Array.from(out), documents, skipped };
}

/** The token stream of a UTF-8 text file (a tokenizer path or a loaded tokenizer). */
export function loadTokenStream(tokenizer: string | TextTokenizer, textPath: string): TokenStream {
  const tok = typeof tokenizer === 'string' ? loadTokenizerFile(tokenizer) : tokenizer;
  return encodeDocuments(tok, readUtf8(textPath), textPath);
}

/** Number of full windows of seqLen + 1 tokens, or an error naming the file if there is none. */
export function windowCount(stream: TokenStream, seqLen: number): number {
  if (!Number.isInteger(seqLen) || seqLen < 1) throw usageError(`sequence length must be a positive integer, got ${seqLen}`);
  const n = stream.tokens.length;
  if (n < seqLen + 1) {
    throw new EdgeqError(`text too short for training: it encodes to ${n} tokens (${stream.documents} paragraphs), `
      + `one window needs seqLen + 1 = ${seqLen + 1}`, { file: stream.file });
  }
  return Math.floor((n - 1) / seqLen);
}

const window = (s: TokenStream, seqLen: number, k: number): Int32Array =>
  s.tokens.subarray(k * seqLen, k * seqLen + seqLen + 1);

/** The windows of steps 0 .. steps − 1, in order (views into stream.tokens). */
export function trainingWindows(stream: TokenStream, seqLen: number, steps: number, seed: number): Int32Array[] {
  const n = windowCount(stream, seqLen);
  if (!Number.isInteger(steps) || steps < 0) throw usageError(`steps must be a non-negative integer, got ${steps}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw usageError(`seed must be an integer in [0, 2^32), got ${seed}`);
  const rng = new Xorshift64Star(seed | 0, ORDER_STREAM);
  const order = new Int32Array(n);
  const out: Int32Array[] = [];
  while (out.length < steps) {
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = mulHiU32(rng.next(), i + 1);
      const t = order[i]; order[i] = order[j]; order[j] = t;
    }
    for (let i = 0; i < n && out.length < steps; i++) out.push(window(stream, seqLen, order[i]));
  }
  return out;
}

/** The first min(maxWindows, all) windows in stream order, for held-out evaluation. */
export function heldOutWindows(stream: TokenStream, seqLen: number, maxWindows = Infinity): Int32Array[] {
  const n = Math.min(windowCount(stream, seqLen), maxWindows);
  const out: Int32Array[] = [];
  for (let k = 0; k < n; k++) out.push(window(stream, seqLen, k));
  return out;
}
