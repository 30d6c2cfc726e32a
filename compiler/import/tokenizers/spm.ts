// SentencePiece with scores and byte fallback, as llama.cpp runs it for GGUF
// `tokenizer.ggml.model = "llama"` (llm_tokenizer_spm_session): spaces become "▁", a
// dummy "▁" goes in front of the text (and after every special token), the text is cut
// into UTF-8 characters, and the adjacent pair whose concatenation is the vocabulary
// piece with the highest score merges first (ties: leftmost), until no pair merges.
// A character left without a piece becomes its bytes' <0xXX> tokens.
import { EdgeqError } from '../../util/errors.ts';
import { bytesToByteString, byteStringToBytes, utf8ByteString, utf8SequenceLength } from './bytes.ts';
import { Heap } from './heap.ts';
import { partitionSpecial, sortSpecials, type SpecialToken } from './special.ts';
import { TokenType, isControlType, type EncodeOptions, type TextTokenizer, type Vocabulary } from './text-tokenizer.ts';

const SPACE_MARK = utf8ByteString('\u2581'); // "▁" as bytes

export interface SpmOptions {
  bosId: number;
  eosId: number;
  /** Put "▁" before the text and after each special token (GGUF tokenizer.ggml.add_space_prefix, default true). */
  addSpacePrefix: boolean;
}

interface Symbol { start: number; n: number; prev: number; next: number }
interface Bigram { left: number; right: number; score: number; size: number }

export class SpmTokenizer implements TextTokenizer {
  readonly kind = 'spm' as const;
  readonly bosId: number;
  readonly eosId: number;
  readonly addSpacePrefix: boolean;
  readonly vocab: Vocabulary;
  private readonly scores: Float32Array;
  /** byte string -> id; a later duplicate wins, as llama.cpp's token_to_id map. */
  private readonly ids = new Map<string, number>();
  private readonly pieces: string[];
  private readonly specials: SpecialToken[];

  constructor(vocab: Vocabulary, opts: SpmOptions) {
    if (!vocab.scores) throw new EdgeqError('a SentencePiece vocabulary needs a score per token');
    this.vocab = vocab;
    this.scores = vocab.scores;
    this.bosId = opts.bosId;
    this.eosId = opts.eosId;
    this.addSpacePrefix = opts.addSpacePrefix;
    this.pieces = vocab.texts.map(utf8ByteString);
    this.pieces.forEach((p, id) => this.ids.set(p, id));
    this.specials = sortSpecials(this.pieces.flatMap((text, id) => {
      const t = vocab.types[id];
      const control = isControlType(t);
      return control || t === TokenType.USER_DEFINED ? [{ id, text, control, lstrip: false, rstrip: false }] : [];
    }));
  }

  get vocabSize(): number { return this.pieces.length; }

  isControl(id: number): boolean {
    return isControlType(this.vocab.types[id]);
  }

  encode(text: string | Uint8Array, opts: EncodeOptions = {}): number[] {
    const raw = typeof text === 'string' ? utf8ByteString(text) : bytesToByteString(text);
    const out: number[] = [];
    if (opts.bos) out.push(this.requireId(this.bosId, 'BOS'));
    let prevSpecial = true;
    for (const f of partitionSpecial(raw, this.specials, opts.parseSpecial ?? false)) {
      if (typeof f === 'number') { out.push(f); prevSpecial = true; continue; }
      const withPrefix = (this.addSpacePrefix && prevSpecial ? ' ' : '') + f;
      this.tokenizeFragment(withPrefix.replaceAll(' ', SPACE_MARK), out);
      prevSpecial = false;
    }
    if (opts.eos) out.push(this.requireId(this.eosId, 'EOS'));
    return out;
  }

  decode(prevToken: number, token: number): Uint8Array {
    const bytes = this.tokenBytes(token);
    // The dummy prefix is not part of the text: drop it after BOS (or at the start), as
    // SentencePiece and llama2.c's run.c do.
    if (this.addSpacePrefix && (prevToken < 0 || prevToken === this.bosId) && bytes[0] === 0x20) return bytes.subarray(1);
    return bytes;
  }

  /** The bytes a token prints, without context: "▁" as space, byte tokens as their byte, control tokens nothing. */
  tokenBytes(token: number): Uint8Array {
    if (!Number.isInteger(token) || token < 0 || token >= this.pieces.length) {
      throw new EdgeqError(`token id ${token} is outside the tokenizer's vocabulary of ${this.pieces.length}`);
    }
    const type = this.vocab.types[token];
    if (type === TokenType.CONTROL || type === TokenType.UNKNOWN || type === TokenType.UNUSED) return new Uint8Array(0);
    if (type === TokenType.BYTE) return Uint8Array.of(parseInt(this.vocab.texts[token].slice(3, 5), 16));
    if (type === TokenType.USER_DEFINED) return byteStringToBytes(this.pieces[token]);
    return byteStringToBytes(this.pieces[token].replaceAll(SPACE_MARK, ' '));
  }

  private requireId(id: number, what: string): number {
    if (id < 0) throw new EdgeqError(`the tokenizer has no ${what} token`);
    return id;
  }

  // llm_tokenizer_spm_session::tokenize on one fragment (a byte string).
  private tokenizeFragment(text: string, out: number[]): void {
    const symbols: Symbol[] = [];
    for (let off = 0; off < text.length;) {
      const n = Math.min(utf8SequenceLength(text.charCodeAt(off)), text.length - off);
      symbols.push({ start: off, n, prev: symbols.length - 1, next: off + n === text.length ? -1 : symbols.length + 1 });
      off += n;
    }
    // Highest score first; equal scores: leftmost first (llama.cpp's comparator).
    const queue = new Heap<Bigram>((a, b) => a.score > b.score || (a.score === b.score && a.left < b.left));
    const tryAdd = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const l = symbols[left], r = symbols[right];
      const id = this.ids.get(text.substr(l.start, l.n + r.n));
      if (id === undefined) return;
      queue.push({ left, right, score: this.scores[id], size: l.n + r.n });
    };
    for (let i = 1; i < symbols.length; i++) tryAdd(i - 1, i);
    for (let b = queue.pop(); b; b = queue.pop()) {
      const l = symbols[b.left], r = symbols[b.right];
      // Stale entry: one side already merged elsewhere.
      if (l.n === 0 || r.n === 0 || l.n + r.n !== b.size) continue;
      l.n += r.n;
      r.n = 0;
      l.next = r.next;
      if (r.next >= 0) symbols[r.next].prev = b.left;
      tryAdd(l.prev, b.left);
      tryAdd(b.left, l.next);
    }
    for (let i = symbols.length > 0 ? 0 : -1; i !== -1; i = symbols[i].next) {
      const s = symbols[i];
      const piece = text.substr(s.start, s.n);
      const id = this.ids.get(piece);
      if (id !== undefined) { out.push(id); continue; }
      // A merge only ever forms a piece, so an unknown symbol is one character: its bytes.
      for (let j = 0; j < piece.length; j++) out.push(this.byteToken(piece.charCodeAt(j)));
    }
  }

  // llama.cpp byte_to_token: "<0xXX>" (upper-case hex), else the byte itself as a piece.
  private byteToken(byte: number): number {
    const hex = byte.toString(16).toUpperCase().padStart(2, '0');
    const id = this.ids.get(`<0x${hex}>`) ?? this.ids.get(String.fromCharCode(byte));
    if (id === undefined) {
      throw new EdgeqError(`cannot encode byte 0x${hex}: the vocabulary has neither <0x${hex}> nor a piece for the byte`);
    }
    return id;
  }
}
