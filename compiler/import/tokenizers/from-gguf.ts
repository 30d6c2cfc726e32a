// A TextTokenizer from a GGUF file's `tokenizer.ggml.*` metadata, as llama.cpp's
// llama_vocab::load reads it: model "llama" is SentencePiece with scores (SpmTokenizer),
// model "gpt2" is byte-level BPE with merges and the pre-tokenizer named by
// `tokenizer.ggml.pre` (BpeTokenizer). Anything else is refused, naming the key.
import { EdgeqError } from '../../util/errors.ts';
import { BpeTokenizer } from './bpe.ts';
import { preTokenizerByName } from './pre-tokenizers.ts';
import { SpmTokenizer } from './spm.ts';
import { TokenType, type TextTokenizer, type Vocabulary } from './text-tokenizer.ts';

/** Metadata lookup by key (a Map of the GGUF key/value section works). */
export interface GgufMetadataLookup {
  get(key: string): unknown;
}

export const SUPPORTED_GGUF_TOKENIZERS = ['llama', 'gpt2'] as const;

export function tokenizerFromGguf(meta: GgufMetadataLookup, file: string): TextTokenizer {
  const bad = (key: string, what: string) => new EdgeqError(`metadata ${key}: ${what}`, { file });
  const model = meta.get('tokenizer.ggml.model');
  if (model === undefined) throw bad('tokenizer.ggml.model', 'missing: the file carries no tokenizer (give one with --tokenizer)');
  const texts = stringArray(meta.get('tokenizer.ggml.tokens'), () => bad('tokenizer.ggml.tokens', 'expected an array of strings'));
  const n = texts.length;
  if (n === 0) throw bad('tokenizer.ggml.tokens', 'the vocabulary is empty');
  const typesRaw = meta.get('tokenizer.ggml.token_type');
  const types = new Uint8Array(n).fill(TokenType.NORMAL);
  if (typesRaw !== undefined) {
    const t = numberArray(typesRaw, n, () => bad('tokenizer.ggml.token_type', `expected ${n} integers, one per token`));
    t.forEach((v, i) => { types[i] = v; });
  }
  const id = (key: string, fallback: number): number => {
    const v = meta.get(key);
    if (v === undefined) return fallback;
    const x = Number(v);
    if (!Number.isInteger(x) || x < -1 || x >= n) throw bad(key, `token id ${String(v)} is outside the vocabulary of ${n}`);
    return x;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const v = meta.get(key);
    return v === undefined ? fallback : Boolean(v);
  };

  if (model === 'llama') {
    const scoresRaw = meta.get('tokenizer.ggml.scores');
    if (scoresRaw === undefined) throw bad('tokenizer.ggml.scores', 'missing: a SentencePiece vocabulary needs a score per token');
    const scores = Float32Array.from(numberArray(scoresRaw, n, () => bad('tokenizer.ggml.scores', `expected ${n} numbers, one per token`)));
    const vocab: Vocabulary = { texts, scores, types };
    return new SpmTokenizer(vocab, {
      bosId: id('tokenizer.ggml.bos_token_id', 1),
      eosId: id('tokenizer.ggml.eos_token_id', 2),
      addSpacePrefix: flag('tokenizer.ggml.add_space_prefix', true),
    });
  }
  if (model === 'gpt2') {
    const merges = stringArray(meta.get('tokenizer.ggml.merges'), () => bad('tokenizer.ggml.merges', 'expected an array of strings ("left right")'));
    const preName = meta.get('tokenizer.ggml.pre') ?? 'default';
    if (typeof preName !== 'string') throw bad('tokenizer.ggml.pre', 'expected a string');
    let pre;
    try { pre = preTokenizerByName(preName); } catch (e) { throw bad('tokenizer.ggml.pre', (e as Error).message); }
    return new BpeTokenizer({ texts, types }, {
      bosId: id('tokenizer.ggml.bos_token_id', 11),
      eosId: id('tokenizer.ggml.eos_token_id', 11),
      merges,
      patterns: pre.patterns,
      ignoreMerges: pre.ignoreMerges,
      byteLevel: true,
      spaceMark: false,
    });
  }
  throw bad('tokenizer.ggml.model', `unsupported tokenizer model ${JSON.stringify(model)}; supported: ${SUPPORTED_GGUF_TOKENIZERS.join(', ')}`);
}

function stringArray(v: unknown, err: () => Error): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw err();
  return v as string[];
}

function numberArray(v: unknown, n: number, err: () => Error): number[] {
  if (!(Array.isArray(v) || ArrayBuffer.isView(v))) throw err();
  const a = Array.from(v as ArrayLike<number | bigint>, Number);
  if (a.length !== n || a.some((x) => !Number.isFinite(x))) throw err();
  return a;
}
