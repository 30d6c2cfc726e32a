// The one interface every tokenizer edgeq reads implements: llama2.c's tokenizer.bin
// (../tokenizer.ts, byte-exact with run.c), SentencePiece vocabularies with scores
// (GGUF `llama`, HF Llama-2 style) and byte-level BPE with merges (GGUF `gpt2`, HF
// Llama-3/SmolLM2/Qwen2). Callers (run, eval, plan, finetune, the bundle writer) see only
// this, so a new vocabulary kind never touches them.
//
// Everything is bytes: a generated token may be half of a multi-byte character, so
// `decode` returns the token's bytes and the caller joins them.

/** Which algorithm a tokenizer runs; recorded in the artifact so a host can decode. */
export type TokenizerKind = 'llama2c' | 'spm' | 'bpe';

export interface EncodeOptions {
  /** Prepend the vocabulary's BOS token. */
  bos?: boolean;
  /** Append the vocabulary's EOS token. */
  eos?: boolean;
  /**
   * Match control tokens written in the text ("<s>", "<|endoftext|>") as themselves.
   * Off by default, as in llama.cpp: user text cannot inject control tokens.
   * (User-defined tokens are always matched, as llama.cpp does.)
   */
  parseSpecial?: boolean;
}

export interface TextTokenizer {
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  /** Begin-of-sequence id, or -1 when the vocabulary has none. */
  readonly bosId: number;
  /** End-of-sequence id, or -1 when the vocabulary has none. */
  readonly eosId: number;
  encode(text: string | Uint8Array, opts?: EncodeOptions): number[];
  /** The bytes printed for `token` when it follows `prevToken` (-1: none). */
  decode(prevToken: number, token: number): Uint8Array;
  /** True for tokens that are markup, not text (BOS, EOS, <unk>, chat markers): decode gives no bytes. */
  isControl(id: number): boolean;
}

/** Token types as GGUF's `tokenizer.ggml.token_type` numbers them (llama.cpp's llama_token_type). */
export const TokenType = {
  UNDEFINED: 0,
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** Is a token of this type markup (control, or the unknown token) rather than text? */
export const isControlType = (t: number): boolean => t === TokenType.CONTROL || t === TokenType.UNKNOWN;

/** A vocabulary as GGUF and tokenizer.json both give it: text per id, optional score, type per id. */
export interface Vocabulary {
  /** Token text (UTF-8 as JS string), indexed by id. */
  texts: string[];
  /** SentencePiece log-probability per id (SPM only). */
  scores?: Float32Array;
  /** TokenType per id. */
  types: Uint8Array;
}
