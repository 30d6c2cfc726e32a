// Builds the distinctive-style fine-tuning dataset (issue 7): TinyStories validation text
// rewritten in a style the base models have not seen, split into disjoint train and
// held-out stories. Usage:
//   node --import tsx scripts/make-style-data.ts [out-dir] [--source file]
// out-dir defaults to out/style-data/; source defaults to the TinyStories validation text
// in ../shared/models (EDGEQ_MODELS overrides the folder). Writes, each atomically:
//   train.txt, heldout.txt   one story per block (blank line between stories, one paragraph
//                            per line), so compiler/train/data.ts encodes each story as
//                            BOS + story;
//   manifest.json            counts, the rule version and the source's SHA-256.
//
// Rule (deterministic, no randomness):
// 1. Stories: the source's paragraphs (split at blank lines, whitespace collapsed); a story
//    starts at each paragraph beginning with "Once upon a time" and runs to the next one.
//    Paragraphs before the first story start (the file begins mid-story) are dropped.
//    Story i (0-based) is held out when i % 10 == 9, else it is for training: disjoint.
// 2. Names: every capitalized word that follows "named " anywhere in the story, plus the
//    fixed list COMMON_NAMES, is replaced (whole word, also in "Lily's") by an invented name:
//    INVENTED[fnv1a32(name) % INVENTED.length], the same for a name in every story.
// 3. Words: the whole-word substitutions of SWAPS (first letter's case kept).
// 4. Frame: "Once upon a time" becomes OPENING; CLOSING is appended to the last paragraph.
// 5. The story's paragraphs are written one per line, without blank lines between them.
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { readUtf8 } from '../compiler/eval/text-stream.ts';
import { writeFileAtomic } from '../compiler/util/atomic-write.ts';
import { EdgeqError } from '../compiler/util/errors.ts';

export const RULE_VERSION = 1;
const OPENING = 'Long, long ago, in the misty land of Zib';
const CLOSING = 'And the bells of Zib rang three times.';
const INVENTED = ['Zorbel', 'Quillo', 'Fennix', 'Blimby', 'Tazzle', 'Wumple', 'Grindo', 'Ozzabel'];
const COMMON_NAMES = ['Lily', 'Timmy', 'Tim', 'Max', 'Tom', 'Lucy', 'Sue', 'Jack', 'Bob', 'Ben', 'Benny',
  'Sam', 'Sara', 'Sarah', 'Mia', 'Amy', 'Anna', 'Sally', 'Jane', 'Billy', 'Mary', 'Joe', 'Jill'];
const SWAPS: Record<string, string> = {
  said: 'hummed', happy: 'glimmy', sad: 'droopy', little: 'wee', big: 'grand', very: 'ever so',
  mom: 'mama', dad: 'papa', friend: 'chum', friends: 'chums', play: 'frolic', played: 'frolicked',
};

/** FNV-1a 32-bit over the UTF-16 code units (names here are ASCII). */
function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export const inventedName = (name: string): string => INVENTED[fnv1a32(name) % INVENTED.length];

const keepCase = (from: string, to: string): string =>
  from[0] === from[0].toUpperCase() ? to[0].toUpperCase() + to.slice(1) : to;

/** One story (its paragraphs) in the style, one paragraph per line. */
export function styleStory(paragraphs: string[]): string {
  const names = new Set(COMMON_NAMES);
  for (const p of paragraphs) for (const m of p.matchAll(/\bnamed ([A-Z][a-z]+)/g)) names.add(m[1]);
  // Longest first so that "Timmy" is not seen as "Tim" + "my" (whole words anyway).
  const nameList = [...names].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  const nameRe = new RegExp(`\\b(${nameList.join('|')})\\b`, 'g');
  const swapRe = new RegExp(`\\b(${Object.keys(SWAPS).join('|')})\\b`, 'gi');
  const out = paragraphs.map((p) => p
    .replace(nameRe, (n) => inventedName(n))
    .replace(swapRe, (w) => keepCase(w, SWAPS[w.toLowerCase()]))
    .replace(/Once upon a time/g, OPENING));
  out[out.length - 1] = `${out[out.length - 1]} ${CLOSING}`;
  return out.join('\n');
}

export interface StyleSplit { train: string[]; heldOut: string[]; droppedParagraphs: number }

/** Stories of `text` in the style, split by the rule in the header. */
export function makeStyleData(text: string): StyleSplit {
  const paras = text.split(/\n\s*\n/).map((p) => p.replace(/\s+/g, ' ').trim()).filter((p) => p.length > 0);
  const stories: string[][] = [];
  let dropped = 0;
  for (const p of paras) {
    if (p.startsWith('Once upon a time')) stories.push([p]);
    else if (stories.length > 0) stories[stories.length - 1].push(p);
    else dropped++;
  }
  const train: string[] = [], heldOut: string[] = [];
  stories.forEach((s, i) => (i % 10 === 9 ? heldOut : train).push(styleStory(s)));
  return { train, heldOut, droppedParagraphs: dropped };
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { source: { type: 'string' } } });
  const models = process.env.EDGEQ_MODELS ?? resolve(import.meta.dirname, '../../shared/models');
  const source = values.source ?? join(models, 'tinystories-valid-head.txt');
  const outDir = positionals[0] ?? 'out/style-data';
  const text = readUtf8(source);
  const split = makeStyleData(text);
  if (split.train.length === 0 || split.heldOut.length === 0) {
    throw new EdgeqError(`found ${split.train.length + split.heldOut.length} stories (paragraphs starting "Once upon a time"); need at least 10 for a held-out story`, { file: source });
  }
  writeFileAtomic(join(outDir, 'train.txt'), `${split.train.join('\n\n')}\n`);
  writeFileAtomic(join(outDir, 'heldout.txt'), `${split.heldOut.join('\n\n')}\n`);
  const manifest = {
    rule: RULE_VERSION, source, sourceSha256: createHash('sha256').update(text, 'utf8').digest('hex'),
    trainStories: split.train.length, heldOutStories: split.heldOut.length, droppedParagraphs: split.droppedParagraphs,
  };
  writeFileAtomic(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote ${outDir}/train.txt (${split.train.length} stories), heldout.txt (${split.heldOut.length} stories)`);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('make-style-data.ts')) {
  try { main(); } catch (e) {
    if (e instanceof EdgeqError) { console.error(`make-style-data: error: ${e.message}`); process.exit(e.exitCode); }
    throw e;
  }
}
