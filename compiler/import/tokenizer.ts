// llama2.c's tokenizer (tokenizer.bin format and run.c's encode/decode/safe_printf),
// reproduced byte for byte. Everything works on bytes, not JS strings, because run.c
// does: pieces are C strings, prompts are raw UTF-8, and a generated token may be half
// of a multi-byte character. Where run.c has undefined behaviour (a byte-fallback id past
// the end of a small vocabulary) we stop with an error instead.
//
// File format: uint32 max_token_length, then per token: float32 score, int32 length, bytes.
import { readInputFile } from '../util/input-file.ts';
import { EdgeqError } from '../util/errors.ts';
import type { EncodeOptions, TextTokenizer } from './tokenizers/text-tokenizer.ts';

export const UNK = 0;
export const BOS = 1;
export const EOS = 2;
/** run.c maps a byte with no piece of its own to token byte + 3 (after <unk>, <s>, </s>). */
export const BYTE_FALLBACK_OFFSET = 3;

// BOS is 1 and EOS is 2 here; run.c has no special-token parsing, so parseSpecial is ignored.
export type { EncodeOptions };

// run.c keeps pieces as NUL-terminated C strings, so everything after a NUL byte is
// invisible to strcmp, sprintf("%s") and printf. Pieces are stored as C would see them.
function cString(b: Uint8Array): Uint8Array {
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

// A byte string as a JS string key (one char per byte), for Map lookups.
const key = (b: Uint8Array): string => String.fromCharCode(...b);

// strcmp: unsigned byte order, shorter prefix first.
function strcmp(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

const utf8 = new TextEncoder();

export class Tokenizer implements TextTokenizer {
  readonly kind = 'llama2c' as const;
  readonly bosId = BOS;
  readonly eosId = EOS;
  /** Token pieces as run.c sees them (C strings: cut at the first NUL byte). */
  readonly pieces: Uint8Array[];
  readonly scores: Float32Array;
  readonly maxTokenLength: number;
  /** piece bytes -> the id run.c's bsearch over the strcmp-sorted vocabulary returns. */
  private readonly lookup: Map<string, number>;
  /** key(piece) per id, so the merge loop does not rebuild them every round. */
  private readonly keys: string[];

  constructor(pieces: Uint8Array[], scores: Float32Array, maxTokenLength: number) {
    this.pieces = pieces.map(cString);
    this.scores = scores;
    this.maxTokenLength = maxTokenLength;
    this.lookup = buildLookup(this.pieces);
    this.keys = this.pieces.map(key);
  }

  get vocabSize(): number { return this.pieces.length; }

  /** <unk>, <s> and </s>: run.c still prints their pieces if sampled (it stops at BOS). */
  isControl(id: number): boolean { return id === UNK || id === BOS || id === EOS; }

  /** Reads a tokenizer.bin; every token up to the end of the file. */
  static load(path: string): Tokenizer {
    return parseTokenizer(readInputFile(path, 'a llama2.c tokenizer (tokenizer.bin)', { maxBytes: 1 << 28 }), path);
  }

  /** Id of an exact piece (as run.c's str_lookup), or -1. */
  find(piece: Uint8Array | string): number {
    const b = typeof piece === 'string' ? utf8.encode(piece) : piece;
    return this.lookup.get(key(cString(b))) ?? -1;
  }

  /** run.c `encode`: optional BOS, dummy-prefix " ", codepoints or byte fallback, then score-greedy merges, optional EOS. */
  encode(text: string | Uint8Array, opts: EncodeOptions = {}): number[] {
    // The C prompt is a C string: it ends at the first NUL.
    const bytes = cString(typeof text === 'string' ? utf8.encode(text) : text);
    const tokens: number[] = [];
    if (opts.bos) tokens.push(BOS);
    // add_dummy_prefix: run.c prepends the " " token whenever the text is non-empty.
    if (bytes.length > 0) tokens.push(this.requirePiece(' '));
    this.pushCodepoints(bytes, tokens);
    this.mergePairs(tokens);
    if (opts.eos) tokens.push(EOS);
    return tokens;
  }

  /**
   * run.c `decode`: the bytes printed for `token` when it follows `prevToken`. After BOS
   * a leading space is dropped (SentencePiece does the same); a piece parsed by
   * sscanf("<0x%02hhX>") becomes that single raw byte.
   */
  decode(prevToken: number, token: number): Uint8Array {
    this.checkId(token);
    let piece = this.pieces[token];
    if (prevToken === BOS && piece[0] === 0x20) piece = piece.subarray(1);
    const byte = scanRawByte(piece);
    // byte_pieces[0] is "" as a C string, so <0x00> prints nothing.
    if (byte !== null) return byte === 0 ? new Uint8Array(0) : Uint8Array.of(byte);
    return piece;
  }

  /**
   * Bytes of a token sequence (its first token, normally BOS, is context only) as run.c's
   * generate loop prints them: decode + safe_printf. `safe: false` keeps the bytes
   * safe_printf would drop, so byte-fallback text round-trips.
   */
  detokenize(tokens: number[], { safe = true }: { safe?: boolean } = {}): Uint8Array {
    const out: number[] = [];
    for (let i = 1; i < tokens.length; i++) {
      const piece = this.decode(tokens[i - 1], tokens[i]);
      out.push(...(safe ? safePrint(piece) : piece));
    }
    return Uint8Array.from(out);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.pieces.length) {
      throw new EdgeqError(`token id ${id} is outside the tokenizer's vocabulary of ${this.pieces.length}`);
    }
  }

  private requirePiece(s: string): number {
    const id = this.find(s);
    // run.c would use id -1 here (undefined behaviour); say what is missing instead.
    if (id < 0) throw new EdgeqError(`tokenizer has no piece ${JSON.stringify(s)}, which encoding needs`);
    return id;
  }

  // Groups the bytes into UTF-8 codepoints the way run.c does (a lead byte plus up to
  // three continuation bytes; stray continuation bytes stand alone) and maps each to its
  // piece, or each of its bytes to byte + 3.
  private pushCodepoints(bytes: Uint8Array, tokens: number[]): void {
    const isCont = (i: number) => i < bytes.length && (bytes[i] & 0xc0) === 0x80;
    let buf: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      if (!isCont(i)) buf = [];
      buf.push(bytes[i]);
      if (isCont(i + 1) && buf.length < 4) continue;
      const id = this.lookup.get(String.fromCharCode(...buf));
      if (id !== undefined) tokens.push(id);
      else for (const b of buf) tokens.push(this.byteFallback(b, i));
      buf = [];
    }
  }

  private byteFallback(b: number, at: number): number {
    const id = b + BYTE_FALLBACK_OFFSET;
    // A character-level vocabulary (tok105) has no byte tokens: run.c would still emit
    // byte + 3 (so "\n" becomes token 13 there, whatever that piece is) and read past the
    // vocabulary for high bytes. We keep the first and refuse the second.
    if (id >= this.pieces.length) {
      throw new EdgeqError(
        `cannot encode byte 0x${b.toString(16).padStart(2, '0')} at text offset ${at}: the tokenizer has no piece for it ` +
        `and its byte-fallback id ${id} is outside the vocabulary of ${this.pieces.length}`);
    }
    return id;
  }

  // run.c's merge loop: each round, merge the adjacent pair whose concatenation is a piece
  // with the highest score (strictly greater wins, so the leftmost of equal scores), until
  // no pair merges. Like run.c, BOS (added before merging) takes part in the candidates.
  private mergePairs(tokens: number[]): void {
    const NONE = Math.fround(-1e10);
    for (;;) {
      let bestScore = NONE, bestId = -1, bestIdx = -1;
      for (let i = 0; i < tokens.length - 1; i++) {
        const id = this.lookup.get(this.keys[tokens[i]] + this.keys[tokens[i + 1]]);
        if (id !== undefined && this.scores[id] > bestScore) {
          bestScore = this.scores[id]; bestId = id; bestIdx = i;
        }
      }
      if (bestIdx < 0) return;
      tokens.splice(bestIdx, 2, bestId);
    }
  }
}

// str_lookup is bsearch over the vocabulary qsort-ed by strcmp. With duplicate pieces the
// id found depends on the search path, so we replay glibc's bsearch over a stable sort
// (glibc's qsort is a merge sort) once per distinct piece.
function buildLookup(pieces: Uint8Array[]): Map<string, number> {
  const sorted = pieces.map((_, i) => i).sort((a, b) => strcmp(pieces[a], pieces[b]) || a - b);
  const map = new Map<string, number>();
  for (const p of pieces) {
    const k = key(p);
    if (map.has(k)) continue;
    let lo = 0, hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = strcmp(p, pieces[sorted[mid]]);
      if (c < 0) hi = mid;
      else if (c > 0) lo = mid + 1;
      else { map.set(k, sorted[mid]); break; }
    }
  }
  return map;
}

const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const isCSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * sscanf(piece, "<0x%02hhX>") == 1: literal "<0x", optional white space, then at most two
 * characters of an optionally signed hex number; what follows (the ">") is not checked.
 * Returns the byte, or null when the conversion fails.
 */
export function scanRawByte(piece: Uint8Array): number | null {
  if (piece[0] !== 0x3c || piece[1] !== 0x30 || piece[2] !== 0x78) return null;
  let i = 3;
  while (i < piece.length && isCSpace(piece[i])) i++;
  const end = Math.min(piece.length, i + 2);
  let sign = 1;
  if (i < end && (piece[i] === 0x2b || piece[i] === 0x2d)) { sign = piece[i] === 0x2d ? -1 : 1; i++; }
  let v = 0, digits = 0;
  for (; i < end && isHex(piece[i]); i++, digits++) v = v * 16 + parseInt(String.fromCharCode(piece[i]), 16);
  return digits === 0 ? null : (sign * v) & 0xff;
}

/**
 * run.c `safe_printf`: the bytes it prints for a decoded piece. A single-byte piece is
 * printed only if it is printable or white space in the C locale (so raw control bytes
 * and lone high bytes of broken UTF-8 are dropped); longer pieces are printed as is.
 */
export function safePrint(piece: Uint8Array): Uint8Array {
  if (piece.length === 1) {
    const c = piece[0];
    const printable = c >= 0x20 && c <= 0x7e;
    if (!(printable || isCSpace(c))) return new Uint8Array(0);
  }
  return piece;
}

/** Parses tokenizer.bin bytes; `file` names the source in error messages. */
export function parseTokenizer(buf: Uint8Array, file: string): Tokenizer {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const need = (off: number, n: number, what: string) => {
    if (off + n > buf.length) {
      throw new EdgeqError(`file ends early: expected ${what} (${n} bytes), ${buf.length - off} left`, { file, offset: off });
    }
  };
  need(0, 4, 'uint32 max_token_length');
  const maxTokenLength = view.getUint32(0, true);
  const pieces: Uint8Array[] = [];
  const scores: number[] = [];
  let off = 4;
  while (off < buf.length) {
    const t = pieces.length;
    need(off, 8, `float32 score and int32 length of token ${t}`);
    const score = view.getFloat32(off, true);
    const len = view.getInt32(off + 4, true);
    if (len < 0) throw new EdgeqError(`token ${t} has negative length ${len}`, { file, offset: off + 4 });
    // run.c sizes its merge buffer from max_token_length; a longer piece would overflow it.
    if (len > maxTokenLength) {
      throw new EdgeqError(`token ${t} is ${len} bytes, longer than max_token_length ${maxTokenLength} in the header`, { file, offset: off + 4 });
    }
    need(off + 8, len, `the ${len} bytes of token ${t}`);
    scores.push(score);
    pieces.push(buf.slice(off + 8, off + 8 + len));
    off += 8 + len;
  }
  if (pieces.length === 0) throw new EdgeqError('tokenizer has no tokens', { file, offset: 4 });
  return new Tokenizer(pieces, Float32Array.from(scores), maxTokenLength);
}
