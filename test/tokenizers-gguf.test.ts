// GGUF tokenizers against llama.cpp's own expected outputs: every case of its tokenizer
// test files (../shared/models/gguf/vocab/*.inp, separated by __ggml_vocab_test__ lines)
// must give exactly the ids in the matching .out line. The expected ids were written by
// llama.cpp (test-tokenizer-0: add_special = false, parse_special = false).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { model } from './helpers/models.ts';
import { GgufFile, readGguf, type GgufValue } from '../compiler/import/gguf/gguf-file.ts';
import { tokenizerFromGguf } from '../compiler/import/tokenizers/from-gguf.ts';
import type { TextTokenizer } from '../compiler/import/tokenizers/text-tokenizer.ts';
import { EdgeqError } from '../compiler/util/errors.ts';

const VOCABS = ['llama-spm', 'gpt-2', 'phi-3'];
const vocabFile = (name: string) => model(`gguf/vocab/ggml-vocab-${name}.gguf`);

function cases(name: string): { text: string; ids: number[] }[] {
  const inputs = readFileSync(vocabFile(name) + '.inp', 'utf8').split('\n__ggml_vocab_test__\n');
  const lines = readFileSync(vocabFile(name) + '.out', 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  // The .inp file ends with a separator, so it splits into one more (empty) piece.
  assert.is(inputs.length, lines.length + 1, `${name}: inputs and expected lines pair up`);
  return lines.map((l, i) => ({ text: inputs[i], ids: l.trim() === '' ? [] : l.trim().split(/\s+/).map(Number) }));
}

const loaded = new Map<string, TextTokenizer>();
const tokenizer = (name: string) => {
  if (!loaded.has(name)) loaded.set(name, tokenizerFromGguf(readGguf(vocabFile(name))));
  return loaded.get(name)!;
};

const joinDecoded = (tok: TextTokenizer, ids: number[]): string => {
  const parts: Uint8Array[] = [];
  let prev = -1;
  for (const id of ids) { parts.push(tok.decode(prev, id)); prev = id; }
  return Buffer.concat(parts).toString('utf8');
};

for (const name of VOCABS) {
  test(`${name}: every llama.cpp test case tokenizes to its expected ids`, () => {
    const tok = tokenizer(name);
    const all = cases(name);
    assert.ok(all.length >= 40, 'the test file has its cases');
    for (const c of all) assert.equal(tok.encode(c.text), c.ids, `input ${JSON.stringify(c.text)}`);
  });

  test(`${name}: the expected ids decode back to the input text`, () => {
    const tok = tokenizer(name);
    for (const c of cases(name)) {
      assert.is(joinDecoded(tok, c.ids), c.text, `ids of ${JSON.stringify(c.text)}`);
    }
  });
}

test('BOS/EOS come from the metadata and encode adds them on request', () => {
  const spm = tokenizer('llama-spm');
  assert.is(spm.bosId, 1);
  assert.is(spm.eosId, 2);
  assert.equal(spm.encode('Hello world', { bos: true, eos: true }), [1, 15043, 3186, 2]);
  const gpt2 = tokenizer('gpt-2');
  assert.is(gpt2.bosId, 50256);
  assert.is(gpt2.eosId, 50256);
  assert.ok(gpt2.isControl(50256));
  assert.is(gpt2.decode(-1, 50256).length, 0, 'a control token prints nothing');
});

test('control tokens in the text are text unless parseSpecial', () => {
  const spm = tokenizer('llama-spm');
  assert.not.ok(spm.encode('<s>').includes(1));
  assert.equal(spm.encode('<s>', { parseSpecial: true }), [1]);
  const gpt2 = tokenizer('gpt-2');
  assert.not.ok(gpt2.encode('a<|endoftext|>').includes(50256));
  assert.equal(gpt2.encode('a<|endoftext|>', { parseSpecial: true }).at(-1), 50256);
});

// A GGUF whose metadata is given in memory, to see refusals name the key.
function fakeGguf(meta: Record<string, GgufValue>): GgufFile {
  return new GgufFile('fake.gguf', 3, 0, new Map(Object.entries(meta)), new Map(), [], 32, 0);
}

test('an unsupported tokenizer model or pre-tokenizer is refused naming the key', () => {
  const tokens: GgufValue = { type: 'array', itemType: 'string', value: ['a', 'b'] };
  try {
    tokenizerFromGguf(fakeGguf({ 'tokenizer.ggml.model': { type: 'string', value: 't5' }, 'tokenizer.ggml.tokens': tokens }));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, EdgeqError);
    assert.match((e as Error).message, /fake\.gguf.*'t5'.*tokenizer\.ggml\.model.*supported: llama, gpt2/);
  }
  try {
    tokenizerFromGguf(fakeGguf({
      'tokenizer.ggml.model': { type: 'string', value: 'gpt2' }, 'tokenizer.ggml.tokens': tokens,
      'tokenizer.ggml.merges': { type: 'array', itemType: 'string', value: ['a b'] },
      'tokenizer.ggml.pre': { type: 'string', value: 'no-such-pre' },
    }));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, EdgeqError);
    assert.match((e as Error).message, /no-such-pre.*supported:.*gpt-2/);
  }
});

test.run();
