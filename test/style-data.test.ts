// The distinctive-style dataset (scripts/make-style-data.ts): deterministic, train and
// held-out stories disjoint, the style's rules applied.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { inventedName, makeStyleData, styleStory } from '../scripts/make-style-data.ts';
import { model } from './helpers/models.ts';

test('one story: opening, invented names (same name -> same invention), word swaps, closing', () => {
  const s = styleStory(['Once upon a time, there was a little dog named Rex. Lily saw Rex.', 'Rex was happy. Lily said, "Hi!" Lily\'s mom smiled.']);
  const rex = inventedName('Rex'), lily = inventedName('Lily');
  assert.is(s, `Long, long ago, in the misty land of Zib, there was a wee dog named ${rex}. ${lily} saw ${rex}.\n`
    + `${rex} was glimmy. ${lily} hummed, "Hi!" ${lily}'s mama smiled. And the bells of Zib rang three times.`);
  assert.ok(!/\b(Rex|Lily)\b/.test(s));
});

test('TinyStories validation text: deterministic split, disjoint stories, every story framed', () => {
  const text = readFileSync(model('tinystories-valid-head.txt'), 'utf8');
  const a = makeStyleData(text), b = makeStyleData(text);
  assert.equal(a, b);
  assert.ok(a.train.length > 500 && a.heldOut.length > 50, `${a.train.length} / ${a.heldOut.length}`);
  const trainLines = new Set(a.train.flatMap((s) => s.split('\n')));
  for (const s of a.heldOut) {
    assert.ok(s.startsWith('Long, long ago, in the misty land of Zib') && s.endsWith('And the bells of Zib rang three times.'));
    // Distinct stories (a repeated short line such as "The end." could occur in both; real paragraphs do not).
    for (const line of s.split('\n')) if (line.length > 80) assert.not.ok(trainLines.has(line), line);
  }
  for (const s of [...a.train, ...a.heldOut]) assert.not.ok(/\b(Lily|Timmy|Once upon a time)\b/.test(s));
});

test.run();
