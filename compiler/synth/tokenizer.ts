// A synthetic tokenizer in llama2.c's tokenizer.bin format, to go with a synthetic
// checkpoint when no trained one is at hand (e.g. the quick start on a machine with no
// network). Layout as llama2.c's Llama 2 vocabularies: <unk>, <s>, </s>, the 256 byte
// tokens <0x00>..<0xFF>, the printable ASCII characters, then merge pieces made of the
// prefixes of common English words (so every piece is reachable by BPE merges),
// best-scored first.
import { writeFileAtomic } from '../util/atomic-write.ts';

const WORDS = (
  'the and was to a he she it they her his said in of you with that on for day one little big time ' +
  'once upon there named lily tom ben sam mom dad play park friend happy saw wanted went very had ' +
  'not but so all can be do have like what go see help look find tree dog cat ball toy fun sun ' +
  'red blue good new sad loved home kind from at up out this come make run jump girl boy bird'
).split(' ');

/** Pieces of a synthetic vocabulary of exactly `vocabSize` tokens (vocabSize >= 3). */
export function synthVocabulary(vocabSize: number): string[] {
  const pieces = ['<unk>', '\n<s>\n', '\n</s>\n'];
  for (let b = 0; b < 256; b++) pieces.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  for (let c = 32; c < 127; c++) pieces.push(String.fromCharCode(c));
  const seen = new Set(pieces);
  for (const w of WORDS) {
    for (let end = 2; end <= w.length + 1; end++) {
      const p = (' ' + w).slice(0, end);
      if (!seen.has(p)) { seen.add(p); pieces.push(p); }
    }
  }
  for (let i = 0; pieces.length < vocabSize; i++) pieces.push(`<extra_${i}>`);
  return pieces.slice(0, vocabSize);
}

/** Encodes a vocabulary as llama2.c's tokenizer.bin. Scores: later merge pieces score lower. */
export function encodeTokenizerFile(pieces: string[]): Uint8Array {
  const enc = new TextEncoder();
  const bytes = pieces.map((p) => enc.encode(p));
  const size = 4 + bytes.reduce((s, b) => s + 8 + b.length, 0);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(Math.max(...bytes.map((b) => b.length)), 0);
  let off = 4;
  bytes.forEach((b, i) => {
    // Special and byte tokens score 0 as in Llama 2's vocabulary; merges rank by position.
    out.writeFloatLE(i < 3 + 256 + 95 ? 0 : -(i - (3 + 256 + 95)), off);
    out.writeInt32LE(b.length, off + 4);
    out.set(b, off + 8);
    off += 8 + b.length;
  });
  return out;
}

export function writeSynthTokenizer(path: string, vocabSize: number): void {
  writeFileAtomic(path, encodeTokenizerFile(synthVocabulary(vocabSize)));
}
