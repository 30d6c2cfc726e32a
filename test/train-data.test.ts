// Fine-tuning data (compiler/train/data.ts): the stream is BOS + text per blank-line block,
// training windows are deterministic and cover the stream once per epoch, short texts fail
// with a clear error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '../compiler/import/tokenizer.ts';
import { heldOutWindows, loadTokenStream, trainingWindows, type TokenStream } from '../compiler/train/data.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { model } from './helpers/models.ts';

const tok = Tokenizer.load(model('tok512.bin'));
const dir = mkdtempSync(join(tmpdir(), 'edgeq-data-'));
const write = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };

const PARAS = [
  'Once upon a time, there was a cat.  It liked\nmilk.',
  'The dog ran to the park. It was fun!',
  'They were friends forever.',
];

test('stream: each paragraph encoded with BOS first, whitespace collapsed, concatenated', () => {
  const p = write('three.txt', `\n${PARAS[0]}\n\n\n${PARAS[1]}\n   \n${PARAS[2]}\n`);
  const s = loadTokenStream(tok, p);
  const want: number[] = [];
  for (const para of ['Once upon a time, there was a cat. It liked milk.', PARAS[1], PARAS[2]]) want.push(1, ...tok.encode(para));
  assert.equal(Array.from(s.tokens), want);
  assert.is(s.documents, 3);
  assert.is(s.skipped, 0);
  assert.is(s.file, p);
});

test('stream: a block of several lines is one document, the same tokens as its lines joined by spaces', () => {
  const story = ['Once upon a time, Quib the frog sat on a log.', 'He looked at the moon and said, "I will go there!"', 'His friend laughed.'];
  const p = write('story.txt', `${story.join('\n')}\n\n${story.slice(1).join('\n')}\n`);
  const s = loadTokenStream(tok, p);
  const want = [1, ...tok.encode(story.join(' ')), 1, ...tok.encode(story.slice(1).join(' '))];
  assert.equal(Array.from(s.tokens), want);
  assert.is(s.documents, 2);
});

const synthetic = (n: number): TokenStream => ({ file: 'synthetic', tokens: Int32Array.from({ length: n }, (_, i) => i), documents: 1, skipped: 0 });
const startOf = (w: Int32Array) => w[0]; // token i sits at index i in the synthetic stream

test('training windows: deterministic, seqLen + 1 consecutive tokens, each epoch a permutation of all windows', () => {
  const s = synthetic(1000), seqLen = 32, n = Math.floor(999 / 32); // 31 windows
  const a = trainingWindows(s, seqLen, 100, 7);
  assert.equal(a.map(startOf), trainingWindows(s, seqLen, 100, 7).map(startOf));
  assert.not.equal(a.map(startOf), trainingWindows(s, seqLen, 100, 8).map(startOf));
  assert.is(a.length, 100);
  for (const w of a) {
    assert.is(w.length, seqLen + 1);
    for (let i = 0; i < w.length; i++) assert.is(w[i], w[0] + i);
    assert.is(w[0] % seqLen, 0);
  }
  for (let e = 0; e < 3; e++) {
    const starts = a.slice(e * n, (e + 1) * n).map(startOf).sort((x, y) => x - y);
    assert.equal(starts, Array.from({ length: n }, (_, k) => k * seqLen), `epoch ${e}`);
  }
  // Not simply in order (a shuffled epoch of 31 windows is the identity with probability 1/31!).
  assert.not.equal(a.slice(0, n).map(startOf), Array.from({ length: n }, (_, k) => k * seqLen));
  // Predicted tokens of one epoch: every index 1 .. n·seqLen exactly once.
  const seen = new Uint8Array(1000);
  for (const w of a.slice(0, n)) for (let i = 1; i < w.length; i++) seen[w[i]]++;
  for (let i = 0; i < 1000; i++) assert.is(seen[i], i >= 1 && i <= n * seqLen ? 1 : 0, `token ${i}`);
  // A shorter run is a prefix of a longer one.
  assert.equal(trainingWindows(s, seqLen, 40, 7).map(startOf), a.slice(0, 40).map(startOf));
});

test('held-out windows: the first windows in stream order', () => {
  const s = synthetic(100);
  assert.equal(heldOutWindows(s, 16).map(startOf), [0, 16, 32, 48, 64, 80]);
  assert.equal(heldOutWindows(s, 16, 2).map(startOf), [0, 16]);
  assert.equal(heldOutWindows(synthetic(17), 16).map((w) => w.length), [17]);
});

test('a text too short for one window is an EdgeqError naming the file, token count and need', () => {
  const p = write('short.txt', 'A cat.');
  const s = loadTokenStream(tok, p);
  const n = s.tokens.length;
  for (const f of [() => trainingWindows(s, 64, 10, 1), () => heldOutWindows(s, 64)]) {
    try { f(); assert.unreachable('no error'); } catch (e) {
      assert.instance(e, EdgeqError);
      const m = (e as Error).message;
      assert.ok(m.includes(p) && m.includes(`${n} tokens`) && m.includes('65'), m);
    }
  }
  assert.is(trainingWindows(s, n - 1, 3, 1).length, 3); // exactly one window: fine
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
