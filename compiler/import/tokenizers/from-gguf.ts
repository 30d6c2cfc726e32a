// A TextTokenizer from a GGUF file's `tokenizer.ggml.*` metadata, as llama.cpp's
// llama_vocab::load reads it: model "llama" is SentencePiece with scores (SpmTokenizer),
// model "gpt2" is byte-level BPE with merges and the pre-tokenizer named by
// `tokenizer.ggml.pre` (BpeTokenizer). Anything else is refused, naming the key.
import type { GgufFile } from '../gguf/gguf-file.ts';
import { BpeTokenizer } from './bpe.ts';
import { preTokenizerByName } from './pre-tokenizers.ts';
import { SpmTokenizer } from './spm.ts';
import { TokenType, type TextTokenizer } from './text-tokenizer.ts';

export const SUPPORTED_GGUF_TOKENIZERS = ['llama', 'gpt2'] as const;

/** True when the file carries a vocabulary (vocabulary-less GGUFs need --tokenizer). */
export function ggufHasTokenizer(gguf: GgufFile): boolean {
  return gguf.has('tokenizer.ggml.model');
}

export function tokenizerFromGguf(gguf: GgufFile): TextTokenizer {
  const model = gguf.getString('tokenizer.ggml.model');
  const texts = gguf.getStringArray('tokenizer.ggml.tokens');
  const n = texts.length;
  if (n === 0) throw gguf.keyError('tokenizer.ggml.tokens', "metadata key 'tokenizer.ggml.tokens' is empty; expected the vocabulary");
  const types = new Uint8Array(n).fill(TokenType.NORMAL);
  if (gguf.has('tokenizer.ggml.token_type')) {
    const t = gguf.getNumberArray('tokenizer.ggml.token_type');
    if (t.length !== n) throw gguf.keyError('tokenizer.ggml.token_type', `metadata key 'tokenizer.ggml.token_type' has ${t.length} items; expected ${n}, one per token`);
    t.forEach((v, i) => { types[i] = v; });
  }
  // Token ids: -1 (or absent where llama.cpp has no default) means "none".
  const id = (key: string, fallback: number): number => {
    const v = gguf.getInt(key, fallback);
    if (v < -1 || v >= n) throw gguf.keyError(key, `metadata key '${key}' is token ${v}, outside the vocabulary of ${n}`);
    return v;
  };

  if (model === 'llama') {
    const scores = gguf.getNumberArray('tokenizer.ggml.scores');
    if (scores.length !== n) throw gguf.keyError('tokenizer.ggml.scores', `metadata key 'tokenizer.ggml.scores' has ${scores.length} items; expected ${n}, one per token`);
    return new SpmTokenizer({ texts, scores: Float32Array.from(scores), types }, {
      bosId: id('tokenizer.ggml.bos_token_id', 1),
      eosId: id('tokenizer.ggml.eos_token_id', 2),
      addSpacePrefix: gguf.getBool('tokenizer.ggml.add_space_prefix', true),
    });
  }
  if (model === 'gpt2') {
    const merges = gguf.getStringArray('tokenizer.ggml.merges');
    const preName = gguf.getString('tokenizer.ggml.pre', 'default');
    let pre;
    try { pre = preTokenizerByName(preName); } catch (e) { throw gguf.keyError('tokenizer.ggml.pre', (e as Error).message); }
    return new BpeTokenizer({ texts, types }, {
      bosId: id('tokenizer.ggml.bos_token_id', 11),
      eosId: id('tokenizer.ggml.eos_token_id', 11),
      merges,
      patterns: pre.patterns,
      preName,
      ignoreMerges: pre.ignoreMerges,
      byteLevel: true,
      spaceMark: false,
    });
  }
  throw gguf.keyError('tokenizer.ggml.model',
    `unsupported tokenizer model '${model}' (metadata key 'tokenizer.ggml.model'); supported: ${SUPPORTED_GGUF_TOKENIZERS.join(', ')}`);
}
