// Exact artifact sizes without quantizing (compiler/plan/size.ts): the skeleton model has the
// real quantizer's tensor list, and the writer gives it the real artifact's byte length, for
// uniform, mixed and per-matrix plans, shared and separate classifiers, with and without a
// tokenizer and conformance vectors. The real side is quantizeInt8 + lowering + the
// artifact writer, as edgeq compile runs them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHAPES, writeSynth } from '../compiler/synth/synth.ts';
import { writeSynthTokenizer } from '../compiler/synth/tokenizer.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { Tokenizer } from '../compiler/import/tokenizer.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { lowerInt8 } from '../compiler/lower/program.ts';
import { contentsFromQuant } from '../compiler/emit/from-quant.ts';
import { writeArtifact } from '../compiler/emit/artifact.ts';
import { parsePlan, readPlanFile, type PlanSpec } from '../compiler/plan/plan.ts';
import { exactArtifactBytes, skeletonModel } from '../compiler/plan/size.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-plansize-'));
const shared = join(dir, 's260.bin'), unshared = join(dir, 'u260.bin'), baby = join(dir, 'b936.bin'), tokp = join(dir, 'tok.bin');
writeSynth(shared, { ...SHAPES.stories260K }, 3);
writeSynth(unshared, { ...SHAPES.stories260K, sharedClassifier: false }, 4);
writeSynth(baby, { ...SHAPES.babyllama936K }, 5);
writeSynthTokenizer(tokp, SHAPES.stories260K.vocabSize);

const mixed = join(dir, 'mixed.json');
writeFileSync(mixed, JSON.stringify({
  edgeqPlan: 1, default: { bits: 4, groupSize: 64 },
  blocks: { 0: { bits: 8 }, 2: { bits: 2, groupSize: 128 }, 3: { bits: 3, matrices: { wq: { bits: 1, groupSize: 32 }, w2: { bits: 8 } } } },
}));

const plans: Array<[string, () => PlanSpec]> = [
  ['uniform:8', () => parsePlan('uniform:8')], ['uniform:4', () => parsePlan('uniform:4')],
  ['uniform:2g32', () => parsePlan('uniform:2g32')], ['mixed.json', () => readPlanFile(mixed)],
  // A low-bit classifier: split off the shared embedding as wcls (or replacing the separate one).
  ['uniform:2g32,cls4', () => parsePlan('uniform:2g32,cls4')],
];

for (const [ckpt, what] of [[shared, 'stories260K shape'], [unshared, 'stories260K shape, separate classifier'], [baby, 'babyllama936K shape']] as const) {
  test(`skeleton = real quantization, and exact artifact bytes (${what})`, () => {
    const g = openModel(ckpt), w = loadWeights(g);
    const tok = g.config.vocabSize === 512 ? Tokenizer.load(tokp) : undefined;
    for (const [name, mk] of plans) {
      const plan = mk();
      const real = quantizeInt8(w, { plan });
      const sk = skeletonModel(g.config, plan);
      const shape = (m: typeof real) => m.tensors.map((t) => [t.name, t.dtype, t.shape.join('x'), Object.keys(t.params).sort().join(','), t.data.length].join(' '));
      assert.equal(shape(sk), shape(real), `${name}: tensor list`);
      assert.equal(sk.formats, real.formats, `${name}: formats and rules`);
      assert.is(sk.planMethod, real.planMethod);
      for (const [target, vectors, withTok] of [[{ name: 'wasm32', simd: true }, 32, true], [{ name: 'cortex-m', simd: false }, 0, false], [{ name: 'riscv64-linux', simd: false }, 5, true]] as const) {
        const tokenizer = withTok ? tok : undefined;
        const bytes = writeArtifact(contentsFromQuant({ model: real, program: lowerInt8(real), target, plan, tokenizer, sourceSha256: new Uint8Array(32).fill(7), sourcePath: ckpt, vectors })).length;
        assert.is(exactArtifactBytes(g.config, plan, { target, sourcePath: ckpt, vectors, tokenizer }), bytes, `${name}, ${target.name}, vectors ${vectors}`);
      }
    }
  });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
