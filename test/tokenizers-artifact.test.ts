// tier: slow
// The tokenizer in the artifact: a llama2.c tokenizer writes exactly the fields it wrote
// before the general ones existed (same bytes); spm and bpe tokenizers survive the round
// trip through model.edgeq and still give llama.cpp's ids; the device runtime prints the
// same bytes as the host decode and reports BOS/EOS from the artifact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as flatbuffers from 'flatbuffers';
import { readFileSync } from 'node:fs';
import { haveModels, model } from './helpers/models.ts';
import { built, instantiate } from './helpers/bundles.ts';
import { Model } from '../schemas/generated/edgeq/fb/model.ts';
import { readArtifact, writeArtifact } from '../compiler/emit/artifact.ts';
import { tokenizerContents, tokenizerFromContents } from '../compiler/emit/tokenizer-contents.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { Tokenizer } from '../compiler/import/tokenizer.ts';
import { readGguf } from '../compiler/import/gguf/gguf-file.ts';
import { tokenizerFromGguf } from '../compiler/import/tokenizers/from-gguf.ts';
import { SpmTokenizer } from '../compiler/import/tokenizers/spm.ts';
import { BpeTokenizer } from '../compiler/import/tokenizers/bpe.ts';
import type { TextTokenizer } from '../compiler/import/tokenizers/text-tokenizer.ts';
import { fixtureContents } from './helpers/artifact-fixture.ts';

const vocabFile = (name: string) => model(`gguf/vocab/ggml-vocab-${name}.gguf`);
function cases(name: string): { text: string; ids: number[] }[] {
  const inputs = readFileSync(vocabFile(name) + '.inp', 'utf8').split('\n__ggml_vocab_test__\n');
  const lines = readFileSync(vocabFile(name) + '.out', 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l, i) => ({ text: inputs[i], ids: l.trim() === '' ? [] : l.trim().split(/\s+/).map(Number) }));
}

/** An artifact around `tok` (the fixture model, its vocabulary widened to the tokenizer's). */
function roundTrip(tok: TextTokenizer): TextTokenizer {
  const a = fixtureContents();
  a.config.vocabSize = tok.vocabSize;
  a.tokenizer = tokenizerContents(tok);
  const back = readArtifact(writeArtifact(a));
  return tokenizerFromContents(back.tokenizer!);
}

test('a llama2.c tokenizer writes no field after eos_id (its artifact bytes are unchanged)', () => {
  if (!haveModels) return;
  const a = fixtureContents();
  const tok = Tokenizer.load(model('tok512.bin'));
  a.config.vocabSize = tok.vocabSize;
  a.tokenizer = tokenizerContents(tok);
  const bytes = writeArtifact(a);
  const t = Model.getRootAsModel(new flatbuffers.ByteBuffer(bytes)).tokenizer()!;
  const bb = new flatbuffers.ByteBuffer(bytes);
  const vtable = t.bb_pos - bb.readInt32(t.bb_pos);
  // 4 bytes of header + 2 per field: pieces .. eos_id are the first 8 fields.
  assert.ok(bb.readUint16(vtable) <= 4 + 2 * 8, `vtable of ${bb.readUint16(vtable)} bytes`);
  const back = tokenizerFromContents(readArtifact(bytes).tokenizer!);
  assert.is(back.kind, 'llama2c');
  assert.equal(back.encode('Once upon a time', { bos: true }), tok.encode('Once upon a time', { bos: true }));
});

for (const name of ['llama-spm', 'gpt-2', 'phi-3']) {
  test(`${name}: the tokenizer read back from model.edgeq gives llama.cpp's ids on every case`, () => {
    const tok = roundTrip(tokenizerFromGguf(readGguf(vocabFile(name))));
    for (const c of cases(name)) assert.equal(tok.encode(c.text), c.ids, JSON.stringify(c.text));
  });
}

// The first 512 tokens of a real vocabulary, to fit stories260K's 512-token model.
function firstTokens(tok: TextTokenizer, n: number): TextTokenizer {
  if (tok instanceof SpmTokenizer) {
    const v = tok.vocab;
    return new SpmTokenizer({ texts: v.texts.slice(0, n), scores: v.scores!.slice(0, n), types: v.types.slice(0, n) },
      { bosId: tok.bosId, eosId: tok.eosId, addSpacePrefix: tok.addSpacePrefix });
  }
  const b = tok as BpeTokenizer;
  return new BpeTokenizer({ texts: b.vocab.texts.slice(0, n), types: b.vocab.types.slice(0, n) }, { ...b.opts, merges: [], bosId: 1, eosId: 2 });
}

test('runtime decode() prints what the host decode prints, for spm and bpe artifacts; bos()/eos() from the artifact', async () => {
  if (!haveModels) return;
  const base = await built('stories260K', 'wasm32');
  for (const name of ['llama-spm', 'gpt-2']) {
    const tok = firstTokens(tokenizerFromGguf(readGguf(vocabFile(name))), 512);
    const b = await bundleFromQuant({
      model: base.model, target: loadTarget('wasm32'), plan: { kind: 'uniform', bits: 8 }, planName: 'uniform:8', tokenizer: tok,
      sourceSha256: new Uint8Array(32), sourcePath: 'x.bin', vectors: 1, runtime: base.bundle.runtime,
    });
    const rt = await instantiate({ ...base, bundle: b });
    assert.is(rt.bos(), tok.bosId, `${name}: bos()`);
    assert.is(rt.eos(), tok.eosId, `${name}: eos()`);
    for (const prev of [-1, tok.bosId, 7]) {
      for (let t = 0; t < tok.vocabSize; t++) {
        assert.equal([...rt.decode(prev, t)], [...tok.decode(prev, t)], `${name}: decode(${prev}, ${t}) of ${JSON.stringify(tok.vocabSize && (tok as SpmTokenizer).vocab.texts[t])}`);
      }
    }
  }
});

test.run();
