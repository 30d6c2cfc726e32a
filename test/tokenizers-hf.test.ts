// HF tokenizer.json loading, checked against llama.cpp's expected ids: the tokenizer.json
// files are built in the test from llama.cpp's vocab GGUFs (same vocabulary, merges and
// pre-tokenizer as HF's own files for GPT-2 and Llama-2 have), so the ids must match the
// .out lines llama.cpp wrote.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model } from './helpers/models.ts';
import { readGguf } from '../compiler/import/gguf/gguf-file.ts';
import { caseInsensitiveGroups, hfTokenizer } from '../compiler/import/tokenizers/from-hf.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { loadTokenizerFile } from '../compiler/import/tokenizers/load.ts';
import { readArtifact, writeArtifact } from '../compiler/emit/artifact.ts';
import { tokenizerContents, tokenizerFromContents } from '../compiler/emit/tokenizer-contents.ts';
import { fixtureContents } from './helpers/artifact-fixture.ts';

const vocabFile = (name: string) => model(`gguf/vocab/ggml-vocab-${name}.gguf`);
function cases(name: string): { text: string; ids: number[] }[] {
  const inputs = readFileSync(vocabFile(name) + '.inp', 'utf8').split('\n__ggml_vocab_test__\n');
  const lines = readFileSync(vocabFile(name) + '.out', 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l, i) => ({ text: inputs[i], ids: l.trim() === '' ? [] : l.trim().split(/\s+/).map(Number) }));
}

// GPT-2's tokenizer.json shape: vocab + merges, ByteLevel pre-tokenizer, <|endoftext|> added.
function gpt2Json(preTokenizer: object): Record<string, any> {
  const g = readGguf(vocabFile('gpt-2'));
  const tokens = g.getStringArray('tokenizer.ggml.tokens');
  const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
  return {
    added_tokens: [{ id: 50256, content: '<|endoftext|>', special: true, lstrip: false, rstrip: false }],
    normalizer: null,
    pre_tokenizer: preTokenizer,
    model: { type: 'BPE', vocab, merges: g.getStringArray('tokenizer.ggml.merges') },
  };
}

test('byte-level tokenizer.json (GPT-2 shape) gives llama.cpp\'s ids on every case', () => {
  const tok = hfTokenizer(gpt2Json({ type: 'ByteLevel', add_prefix_space: false, use_regex: true }), undefined, 'gpt2.json');
  for (const c of cases('gpt-2')) assert.equal(tok.encode(c.text), c.ids, JSON.stringify(c.text));
  assert.is(tok.bosId, 50256);
  assert.is(tok.eosId, 50256);
});

test('Split(Regex) + ByteLevel(use_regex: false), the Llama-3/Qwen2 shape, and merges as pairs', () => {
  const json = gpt2Json({ type: 'Sequence', pretokenizers: [
    { type: 'Split', pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, use_regex: false },
  ] });
  json.model.merges = json.model.merges.map((m: string) => m.split(' '));
  const tok = hfTokenizer(json, undefined, 'gpt2.json');
  for (const c of cases('gpt-2')) assert.equal(tok.encode(c.text), c.ids, JSON.stringify(c.text));
});

test('Oniguruma (?i:...) contractions become llama.cpp\'s adapted Llama-3 expression', () => {
  // Left: the expression in Llama-3's tokenizer.json; right: llama.cpp's hand adaptation.
  assert.is(caseInsensitiveGroups("(?i:'s|'t|'re|'ve|'m|'ll|'d)|\\p{N}{1,3}"),
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|\\p{N}{1,3}");
});

// Llama-2's tokenizer.json shape: SentencePiece pieces as a BPE vocabulary with merges
// (HF's converter lists every split of a piece into two pieces, by the piece's score),
// Prepend/Replace normalizer, byte_fallback.
function llama2Json(): Record<string, any> {
  const g = readGguf(vocabFile('llama-spm'));
  const tokens = g.getStringArray('tokenizer.ggml.tokens');
  const scores = g.getNumberArray('tokenizer.ggml.scores');
  const types = g.getNumberArray('tokenizer.ggml.token_type');
  const ids = new Map(tokens.map((t, i) => [t, i]));
  const merges: [string, string, number][] = [];
  tokens.forEach((t, i) => {
    if (types[i] !== 1) return;
    const chars = [...t];
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join(''), r = chars.slice(k).join('');
      if (ids.has(l) && ids.has(r)) merges.push([l, r, i]);
    }
  });
  merges.sort((a, b) => scores[b[2]] - scores[a[2]] || a[2] - b[2]);
  return {
    added_tokens: [0, 1, 2].map((id) => ({ id, content: tokens[id], special: true })),
    normalizer: { type: 'Sequence', normalizers: [
      { type: 'Prepend', prepend: '\u2581' }, { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }] },
    pre_tokenizer: null,
    model: { type: 'BPE', byte_fallback: true, vocab: Object.fromEntries(ids), merges: merges.map(([l, r]) => `${l} ${r}`) },
  };
}

test('SentencePiece-style tokenizer.json (Llama-2 shape) gives llama.cpp\'s ids on every case', () => {
  const tok = hfTokenizer(llama2Json(), { bos_token: '<s>', eos_token: '</s>' }, 'llama.json');
  assert.is(tok.bosId, 1);
  assert.is(tok.eosId, 2);
  for (const c of cases('llama-spm')) assert.equal(tok.encode(c.text), c.ids, JSON.stringify(c.text));
});

test('HF tokenizers survive the round trip through model.edgeq (options, merges, patterns)', () => {
  for (const [name, json] of [['gpt-2', gpt2Json({ type: 'ByteLevel', use_regex: true })], ['llama-spm', llama2Json()]] as const) {
    const tok = hfTokenizer(json, undefined, 't.json');
    const a = fixtureContents();
    a.config.vocabSize = tok.vocabSize;
    a.tokenizer = tokenizerContents(tok);
    const back = tokenizerFromContents(readArtifact(writeArtifact(a)).tokenizer!);
    assert.is(back.kind, 'bpe');
    for (const c of cases(name)) assert.equal(back.encode(c.text), c.ids, `${name}: ${JSON.stringify(c.text)}`);
  }
});

test('unsupported tokenizer.json parts are refused naming the JSON path', () => {
  const refuse = (json: object, re: RegExp) => {
    try { hfTokenizer(json, undefined, 't.json'); assert.unreachable(); } catch (e) {
      assert.instance(e, EdgeqError);
      assert.match((e as Error).message, re);
    }
  };
  refuse({ model: { type: 'Unigram', vocab: [] } }, /t\.json: model\.type: unsupported tokenizer model "Unigram"/);
  refuse({ model: { type: 'BPE', vocab: {}, merges: [] }, pre_tokenizer: { type: 'Whitespace' } }, /pre_tokenizer\[0\]: unsupported pre-tokenizer "Whitespace"/);
  refuse({ model: { type: 'BPE', vocab: {}, merges: [] }, normalizer: { type: 'Lowercase' }, pre_tokenizer: { type: 'ByteLevel' } }, /normalizer\[0\]: unsupported normalizer "Lowercase"/);
});

test('loadTokenizerFile tells tokenizer.json, GGUF and tokenizer.bin apart by content', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeq-tok-'));
  try {
    const json = join(dir, 'vocab.bin'); // a misleading name: content decides
    writeFileSync(json, '  ' + JSON.stringify(gpt2Json({ type: 'ByteLevel', use_regex: true })));
    const hf = loadTokenizerFile(json);
    assert.is(hf.kind, 'bpe');
    assert.equal(hf.encode('Hello world'), [15496, 995]);
    assert.is(loadTokenizerFile(vocabFile('llama-spm')).kind, 'spm');
    assert.is(loadTokenizerFile(vocabFile('gpt-2')).kind, 'bpe');
    assert.is(loadTokenizerFile(model('tok512.bin')).kind, 'llama2c');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test.run();
