// The tokenizer must turn text into exactly the ids llama2.c's run.c produces and print
// generated ids exactly as run.c prints them. The expected encodings below were recorded
// from run.c's encode() (the C functions of karpathy/llama2.c master compiled with gcc 12,
// glibc 2.36); the merge example is worked by hand.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { BOS, EOS, Tokenizer, parseTokenizer, safePrint, scanRawByte } from '../compiler/import/tokenizer.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { model } from './helpers/models.ts';

const tok512 = Tokenizer.load(model('tok512.bin'));
const tok105 = Tokenizer.load(model('tok105.bin'));
const tok32k = Tokenizer.load(model('tokenizer-llama2-32k.bin'));
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (...b: Array<number | string>) =>
  Uint8Array.from(b.flatMap((x) => (typeof x === 'string' ? [...Buffer.from(x)] : [x])));

test('loads the three real tokenizers with their vocabulary sizes', () => {
  assert.is(tok512.vocabSize, 512);
  assert.is(tok105.vocabSize, 105);
  assert.is(tok32k.vocabSize, 32000);
  assert.is(tok32k.maxTokenLength, 27);
  assert.is(text(tok32k.pieces[BOS]), '\n<s>\n');
});

// [tokenizer, text, ids with BOS] recorded from run.c.
const C_ENCODINGS: Array<[Tokenizer, string | Uint8Array, number[]]> = [
  [tok512, '', [1]],
  [tok512, 'Once upon a time', [1, 403, 407, 261, 378]],
  [tok512, ' leading', [1, 410, 278, 411, 380, 299]],
  [tok512, 'two  spaces   here', [1, 259, 424, 414, 410, 262, 427, 412, 331, 419, 410, 410, 281, 276]],
  [tok512, '   ', [1, 410, 410, 410, 410]],
  [tok512, 'a', [1, 261]],
  [tok512, '😀', [1, 410, 243, 162, 155, 131]], // byte fallback: 0xF0 0x9F 0x98 0x80, each + 3
  [tok512, '漢字', [1, 410, 233, 191, 165, 232, 176, 154]],
  [tok512, 'héllo wörld', [1, 270, 485, 306, 414, 263, 198, 185, 420, 341]],
  [tok512, 'line\nbreak', [1, 278, 271, 411, 13, 430, 276, 412, 433]],
  [tok512, 'Lily\'s cat said: "Hi!"', [1, 317, 439, 419, 280, 294, 336, 467, 313, 440, 417, 443, 436]],
  [tok512, bytes(0x80, 0x80, 'abc'), [1, 410, 131, 131, 412, 430, 429]], // stray continuation bytes
  [tok512, bytes(0xe2, 0x82), [1, 410, 229, 133]], // truncated 3-byte sequence
  [tok32k, 'Once upon a time', [1, 9038, 2501, 263, 931]],
  [tok32k, 'two  spaces   here', [1, 1023, 29871, 8162, 259, 1244]],
  [tok32k, '😀 emoji', [1, 29871, 243, 162, 155, 131, 953, 29877, 2397]],
  [tok32k, '漢字', [1, 29871, 31652, 30578]],
  [tok32k, 'héllo wörld', [1, 298, 3610, 417, 281, 1340, 430]],
  [tok32k, 'line\nbreak', [1, 1196, 13, 8690]],
  [tok32k, '   ', [1, 268]],
  [tok32k, bytes(0x80, 0x80, 'abc'), [1, 29871, 131, 131, 10736]],
  [tok32k, 'Lily\'s cat said: "Hi!"', [1, 365, 2354, 29915, 29879, 6635, 1497, 29901, 376, 18567, 3850]],
  [tok105, 'Once upon a time', [1, 3, 34, 9, 22, 4, 3, 18, 20, 7, 9, 3, 5, 3, 6, 10, 16, 4]],
  [tok105, 'café', [1, 3, 22, 5, 24, 78]],
  [tok105, '  x', [1, 3, 3, 3, 37]],
];

for (const [t, s, ids] of C_ENCODINGS) {
  const name = typeof s === 'string' ? JSON.stringify(s) : `bytes ${Buffer.from(s).toString('hex')}`;
  test(`encode(${name}) with ${t.vocabSize} tokens = run.c's ids`, () => {
    assert.equal(t.encode(s, { bos: true }), ids);
  });
}

test('BOS/EOS flags; the empty string gets no dummy prefix', () => {
  assert.equal(tok512.encode(''), []);
  assert.equal(tok512.encode('', { bos: true, eos: true }), [BOS, EOS]);
  assert.equal(tok512.encode('a', { eos: true }), [261, EOS]);
  assert.equal(tok512.encode('Once upon a time', { bos: false }), [403, 407, 261, 378]);
  // The prompt is a C string: it ends at a NUL byte.
  assert.equal(tok512.encode(bytes('a', 0, 'b')), tok512.encode('a'));
});

test('hand-worked merges: best score first, leftmost on equal scores, repeated until none', () => {
  const pieces = ['<unk>', '\n<s>\n', '\n</s>\n', ' ', 'a', 'b', ' a', 'ab', 'ba', ' ab', 'bab'];
  const scores = [0, 0, 0, -9, -9, -9, -1, -2, -1, -3, -0.5];
  const t = new Tokenizer(pieces.map((p) => Buffer.from(p)), Float32Array.from(scores), 3);
  // " aba" -> [" ","a","b","a"]; candidates " a"(-1) "ab"(-2) "ba"(-1): tie, leftmost " a"
  // wins -> [" a","b","a"]; candidates " ab"(-3) "ba"(-1): "ba" -> [" a","ba"]; then none.
  assert.equal(t.encode('aba'), [6, 8]);
  // " abab" -> [" ","a","b","a","b"] -> leftmost " a"(-1) -> [" a","b","a","b"];
  // then "ba"(-1) beats "ab"(-2) and " ab"(-3) -> [" a","ba","b"]; then "bab"(-0.5).
  assert.equal(t.encode('abab'), [6, 10]);
});

test('golden token ids decode to the known text of both models (PROVENANCE.md)', () => {
  const ids = (m: string) => readFileSync(model(`golden/${m}.greedy32.tokens.txt`), 'utf8').trim().split(/\s+/).map(Number);
  assert.ok(text(tok512.detokenize(ids('stories260K'))).startsWith('Once upon a time, there was a little girl named Lily. She loved to play outside in the park.'));
  assert.ok(text(tok105.detokenize(ids('babyllama936K'))).startsWith('Once upon a time, there was a l'));
});

test('decode: leading space dropped only right after BOS; raw-byte pieces become the byte', () => {
  const once = tok512.find(' Once');
  assert.equal(tok512.encode('Once'), [once]);
  assert.is(text(tok512.decode(BOS, once)), 'Once');
  assert.is(text(tok512.decode(once, once)), ' Once');
  assert.equal([...tok512.decode(5, 13)], [0x0a]); // <0x0A>
  assert.equal([...tok512.decode(5, 3 + 0xe2)], [0xe2]);
  assert.equal([...tok512.decode(5, 3)], []); // <0x00> is an empty C string
  assert.is(text(tok105.decode(5, 0)), '<unk>'); // tok105 prints its newlines like this
  assert.throws(() => tok512.decode(1, 512), (e: unknown) => e instanceof EdgeqError);
});

test('scanRawByte follows sscanf("<0x%02hhX>")', () => {
  const s = (x: string) => scanRawByte(Buffer.from(x));
  assert.is(s('<0x0A>'), 10);
  assert.is(s('<0xff>'), 255);
  assert.is(s('<0x4>'), 4);
  assert.is(s('<0x1F'), 31); // the closing '>' is never checked
  assert.is(s('<0x123>'), 0x12); // width 2
  assert.is(s('<0xZZ>'), null);
  assert.is(s('<unk>'), null);
  assert.is(s('0x41'), null);
});

test('safePrint drops single unprintable bytes but keeps white space and longer pieces', () => {
  assert.equal([...safePrint(bytes(0x01))], []);
  assert.equal([...safePrint(bytes(0x7f))], []);
  assert.equal([...safePrint(bytes(0xe2))], []); // half a UTF-8 character
  assert.equal([...safePrint(bytes('\n'))], [10]);
  assert.equal([...safePrint(bytes('\t'))], [9]);
  assert.equal([...safePrint(bytes('x'))], [0x78]);
  assert.equal([...safePrint(bytes(0xe2, 0x80, 0x9c))], [0xe2, 0x80, 0x9c]);
  assert.equal([...safePrint(bytes())], []);
});

test('round trips: decode(encode(text)) = text (byte fallback needs the raw, unfiltered bytes)', () => {
  for (const t of [tok512, tok32k]) {
    for (const s of ['Once upon a time', ' leading', 'two  spaces   here', 'line\nbreak', 'héllo wörld', '😀 漢字 ok', 'tab\there']) {
      assert.is(text(t.detokenize(t.encode(s, { bos: true }), { safe: false })), s, `${t.vocabSize}: ${s}`);
    }
  }
  // What run.c prints drops the lone bytes of fallback-encoded characters.
  assert.is(text(tok512.detokenize(tok512.encode('a😀b', { bos: true }))), 'ab');
});

test('tok105 quirks: no newline piece, so run.c byte-falls-back "\\n" to id 13 ("r"); high bytes cannot be encoded', () => {
  assert.equal(tok105.encode('a\nb', { bos: true }), [1, 3, 5, 13, 23]);
  assert.throws(() => tok105.encode('😀'), /byte 0xf0 .*byte-fallback id 243 is outside the vocabulary of 105/);
});

test('malformed tokenizer files name the file, the offset and the problem', () => {
  const good = readFileSync(model('tok512.bin'));
  const fails = (buf: Uint8Array, re: RegExp) =>
    assert.throws(() => parseTokenizer(buf, 'bad.bin'), (e: unknown) => e instanceof EdgeqError && re.test(e.message));
  fails(good.subarray(0, 2), /^bad\.bin at byte 0: file ends early: expected uint32 max_token_length/);
  fails(good.subarray(0, 4), /^bad\.bin at byte 4: tokenizer has no tokens/);
  fails(good.subarray(0, 10), /^bad\.bin at byte 4: file ends early: expected float32 score and int32 length of token 0/);
  fails(good.subarray(0, 4 + 8 + 2), /^bad\.bin at byte 12: file ends early: expected the 5 bytes of token 0/);
  const neg = Buffer.from(good); neg.writeInt32LE(-3, 8);
  fails(neg, /^bad\.bin at byte 8: token 0 has negative length -3/);
  const long = Buffer.from(good); long.writeUInt32LE(4, 0);
  fails(long, /^bad\.bin at byte 8: token 0 is 5 bytes, longer than max_token_length 4/);
});

test.run();
