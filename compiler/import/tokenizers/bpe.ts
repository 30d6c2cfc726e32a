// BPE with ranked merges, as llama.cpp runs it for GGUF `tokenizer.ggml.model = "gpt2"`
// (llm_tokenizer_bpe_session) and as HF tokenizer.json's BPE model describes it.
// Text is split into words by the pre-tokenizer, each word is cut into characters (of the
// byte-level alphabet, or of the text itself for SentencePiece-style vocabularies), and
// the adjacent pair with the lowest merge rank merges first (ties: leftmost) until no
// ranked pair is left.
import { EdgeqError } from '../../util/errors.ts';
import { byteLevelDecode, byteLevelEncode } from './byte-level.ts';
import { bytesToByteString, byteStringToText, utf8ByteString, utf8Bytes } from './bytes.ts';
import { Heap } from './heap.ts';
import { compilePatterns, splitWords } from './pre-tokenizers.ts';
import { partitionSpecial, sortSpecials, type SpecialToken } from './special.ts';
import { TokenType, isControlType, type EncodeOptions, type TextTokenizer, type Vocabulary } from './text-tokenizer.ts';

const SPACE_MARK = '\u2581';

export interface BpeOptions {
  bosId: number;
  eosId: number;
  /** "a b" per merge, rank = position. */
  merges: string[];
  /** Pre-tokenizer expressions, JS syntax with \s meaning Unicode White_Space (empty: the whole fragment is one word). */
  patterns: string[];
  /** The pre-tokenizer's name (GGUF tokenizer.ggml.pre), for inspection. */
  preName?: string;
  /** Words are written in GPT-2's byte-level alphabet (Llama-3, SmolLM2, Qwen2, GPT-2). */
  byteLevel: boolean;
  /** SentencePiece-style (HF Llama-2): "▁" before each piece of text, spaces as "▁"; decode drops the first "▁" after BOS. */
  spaceMark: boolean;
  /** A symbol with no token becomes <0xXX> tokens (HF byte_fallback); otherwise llama.cpp's one-byte lookup. */
  byteFallback?: boolean;
  /** Put a space before the text when it has none (HF ByteLevel add_prefix_space). */
  addPrefixSpace?: boolean;
  /** A word that is a whole token is taken as is, before any merge (Llama-3). */
  ignoreMerges: boolean;
  /** NFC-normalise text first (Qwen2's tokenizer.json). */
  nfc?: boolean;
  /** Strip/keep white space around added tokens (HF lstrip/rstrip), by id. */
  stripAround?: Map<number, { lstrip: boolean; rstrip: boolean }>;
}

interface Symbol { text: string; prev: number; next: number }
interface Bigram { left: number; right: number; text: string; rank: number }

export class BpeTokenizer implements TextTokenizer {
  readonly kind = 'bpe' as const;
  readonly bosId: number;
  readonly eosId: number;
  readonly vocab: Vocabulary;
  readonly opts: BpeOptions;
  private readonly ids = new Map<string, number>();
  private readonly ranks = new Map<string, number>();
  private readonly specials: SpecialToken[];
  private readonly regexes: RegExp[];

  constructor(vocab: Vocabulary, opts: BpeOptions) {
    this.vocab = vocab;
    this.regexes = compilePatterns(opts.patterns);
    this.opts = opts;
    this.bosId = opts.bosId;
    this.eosId = opts.eosId;
    vocab.texts.forEach((t, id) => this.ids.set(t, id));
    opts.merges.forEach((m, rank) => {
      // llama.cpp splits a merge at its first space after the first character.
      const sp = m.indexOf(' ', 1);
      if (sp < 0) throw new EdgeqError(`merge ${rank} ${JSON.stringify(m)} has no space between its two parts`);
      const key = m.slice(0, sp) + ' ' + m.slice(sp + 1);
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
    this.specials = sortSpecials(vocab.texts.flatMap((text, id) => {
      const t = vocab.types[id];
      const control = isControlType(t);
      const strip = opts.stripAround?.get(id);
      return control || t === TokenType.USER_DEFINED
        ? [{ id, text: utf8ByteString(text), control, lstrip: strip?.lstrip ?? false, rstrip: strip?.rstrip ?? false }]
        : [];
    }));
  }

  get vocabSize(): number { return this.vocab.texts.length; }

  isControl(id: number): boolean {
    return isControlType(this.vocab.types[id]);
  }

  encode(text: string | Uint8Array, opts: EncodeOptions = {}): number[] {
    const raw = typeof text === 'string' ? utf8ByteString(text) : bytesToByteString(text);
    const out: number[] = [];
    if (opts.bos) out.push(this.requireId(this.bosId, 'BOS'));
    for (const f of partitionSpecial(raw, this.specials, opts.parseSpecial ?? false)) {
      if (typeof f === 'number') { out.push(f); continue; }
      let s = byteStringToText(f);
      if (this.opts.nfc) s = s.normalize('NFC');
      // HF normalises each piece between special tokens on its own, so each gets the prefix.
      if (this.opts.spaceMark) s = SPACE_MARK + s.replaceAll(' ', SPACE_MARK);
      if (this.opts.addPrefixSpace && !s.startsWith(' ')) s = ' ' + s;
      for (const word of splitWords(s, this.regexes)) {
        this.tokenizeWord(this.opts.byteLevel ? byteLevelEncode(utf8Bytes(word)) : word, out);
      }
    }
    if (opts.eos) out.push(this.requireId(this.eosId, 'EOS'));
    return out;
  }

  decode(prevToken: number, token: number): Uint8Array {
    const bytes = this.tokenBytes(token);
    // SentencePiece-style: the "▁" put before the text is not part of it.
    if (this.opts.spaceMark && (prevToken < 0 || prevToken === this.bosId) && bytes[0] === 0x20) return bytes.subarray(1);
    return bytes;
  }

  /** The bytes a token prints, without context (byte-level decoded, or "▁" as space). */
  tokenBytes(token: number): Uint8Array {
    if (!Number.isInteger(token) || token < 0 || token >= this.vocab.texts.length) {
      throw new EdgeqError(`token id ${token} is outside the tokenizer's vocabulary of ${this.vocab.texts.length}`);
    }
    const type = this.vocab.types[token];
    const text = this.vocab.texts[token];
    if (type === TokenType.CONTROL || type === TokenType.UNKNOWN || type === TokenType.UNUSED) return new Uint8Array(0);
    if (type === TokenType.USER_DEFINED) return utf8Bytes(text);
    if (type === TokenType.BYTE) return Uint8Array.of(parseInt(text.slice(3, 5), 16));
    if (this.opts.byteLevel) return byteLevelDecode(text);
    return utf8Bytes(this.opts.spaceMark ? text.replaceAll(SPACE_MARK, ' ') : text);
  }

  private requireId(id: number, what: string): number {
    if (id < 0) throw new EdgeqError(`the tokenizer has no ${what} token`);
    return id;
  }

  private tokenizeWord(word: string, out: number[]): void {
    if (this.opts.ignoreMerges) {
      const whole = this.ids.get(word);
      if (whole !== undefined) { out.push(whole); return; }
    }
    const symbols: Symbol[] = [];
    for (const ch of word) symbols.push({ text: ch, prev: symbols.length - 1, next: symbols.length + 1 });
    if (symbols.length === 0) return;
    symbols[symbols.length - 1].next = -1;
    // Lowest rank first; equal ranks: leftmost first (llama.cpp's comparator).
    const queue = new Heap<Bigram>((a, b) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left));
    const add = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const l = symbols[left].text, r = symbols[right].text;
      const rank = this.ranks.get(l + ' ' + r);
      if (rank !== undefined) queue.push({ left, right, text: l + r, rank });
    };
    for (let i = 1; i < symbols.length; i++) add(i - 1, i);
    for (let b = queue.pop(); b; b = queue.pop()) {
      const l = symbols[b.left], r = symbols[b.right];
      if (l.text.length === 0 || r.text.length === 0 || l.text + r.text !== b.text) continue; // stale
      l.text += r.text;
      r.text = '';
      l.next = r.next;
      if (r.next >= 0) symbols[r.next].prev = b.left;
      add(l.prev, b.left);
      add(b.left, l.next);
    }
    for (let i = 0; i !== -1; i = symbols[i].next) this.pushSymbol(symbols[i].text, out);
  }

  private pushSymbol(text: string, out: number[]): void {
    const id = this.ids.get(text);
    if (id !== undefined) { out.push(id); return; }
    const bytes = utf8Bytes(text);
    for (const b of bytes) {
      if (this.opts.byteFallback) {
        // HF byte_fallback: <0xXX> per byte.
        const hex = b.toString(16).toUpperCase().padStart(2, '0');
        const byteId = this.ids.get(`<0x${hex}>`);
        if (byteId === undefined) throw new EdgeqError(`cannot encode byte 0x${hex}: the vocabulary has no <0x${hex}> token`);
        out.push(byteId);
      } else {
        // llama.cpp: each byte looked up as a one-byte token; bytes without one are dropped.
        const byteId = b < 0x80 ? this.ids.get(String.fromCharCode(b)) : undefined;
        if (byteId !== undefined) out.push(byteId);
      }
    }
  }
}
