import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeTokenizerFile, synthVocabulary } from '../compiler/synth/tokenizer.ts';
import { parseTokenizer, BOS } from '../compiler/import/tokenizer.ts';

test('synthetic vocabulary has the requested size, byte tokens at 3..258, no duplicates', () => {
  const v = synthVocabulary(512);
  assert.is(v.length, 512);
  assert.is(v[3], '<0x00>');
  assert.is(v[258], '<0xFF>');
  assert.is(new Set(v).size, 512);
});

test('synthetic tokenizer file parses and round-trips English and byte-fallback text', () => {
  const tok = parseTokenizer(Buffer.from(encodeTokenizerFile(synthVocabulary(512))), 'synthetic');
  assert.is(tok.vocabSize, 512);
  for (const text of ['Once upon a time, the little girl played.', 'naïve café ☕', '']) {
    const ids = tok.encode(text, { bos: true });
    assert.is(ids[0], BOS);
    // safe: false, since run.c's safe printing drops lone non-ASCII bytes on purpose.
    const out = Buffer.from(tok.detokenize(ids, { safe: false })).toString('utf8');
    assert.is(out, text === '' ? '' : text, `round trip of ${JSON.stringify(text)}`);
  }
  // Merges are used: " the" is one token, not four.
  assert.ok(tok.encode(' the').length < 4);
});

test.run();
