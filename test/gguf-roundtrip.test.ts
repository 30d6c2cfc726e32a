// stories260K and babyllama936K written as GGUF by the project's writer (gguf-write.ts)
// and read back: F32 gives the same bits and the same greedy text as the llama2.c file;
// F16, BF16 and Q8_0 give weights within their rounding and (measured) the same first 64
// greedy tokens. This shows writer and reader agree; llama.cpp's own files
// (gguf-file/open-model/ggml-dequant tests) show the reader is right.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model } from './helpers/models.ts';
import { cli } from './helpers/cli.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { writeGraphGguf, type GgufWeightType } from '../compiler/import/gguf/gguf-write.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { greedy } from './helpers/greedy.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-gguf-rt-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Largest allowed |w' - w| for one value, given its block's max |w| (Q8_0) — the dtype's rounding. */
const BOUND: Record<GgufWeightType, (w: number, amax: number) => number> = {
  F32: () => 0,
  F16: (w) => Math.max(Math.abs(w) * 2 ** -11, 2 ** -25),
  BF16: (w) => Math.abs(w) * 2 ** -8,
  // half a step, plus the F16 rounding of the scale d = amax/127 times |q| <= 127
  Q8_0: (_w, amax) => (amax / 127) * 0.5 + amax * 2 ** -11 + 1e-12,
};

for (const m of ['stories260K', 'babyllama936K']) {
  const src = openModel(model(`${m}.bin`));
  const ref = loadWeights(src);
  const refTokens = greedy(ref, 64);
  for (const type of ['F32', 'F16', 'BF16', 'Q8_0'] as const) {
    test(`${m} as GGUF ${type}: weights within ${type} rounding, same greedy tokens`, () => {
      const p = join(dir, `${m}-${type}.gguf`);
      writeGraphGguf(p, src, type);
      const g = openModel(p);
      assert.is(g.source.format, 'gguf');
      assert.equal(g.config, src.config);
      for (const [name, t] of src.tensors) {
        const a = t.read(), b = g.tensors.get(name)!.read();
        assert.is(b.length, a.length, name);
        // Q8_0 rows that are not whole 32-blocks (hidden 172) fall back to F16, as in llama.cpp.
        const rowBlocks = t.shape.length === 2 && t.shape[1] % 32 === 0;
        const bound = t.shape.length === 1 ? BOUND.F32 : type === 'Q8_0' && !rowBlocks ? BOUND.F16 : BOUND[type];
        for (let s = 0; s < a.length; s += 32) {
          let amax = 0;
          for (let j = s; j < Math.min(a.length, s + 32); j++) amax = Math.max(amax, Math.abs(a[j]));
          for (let j = s; j < Math.min(a.length, s + 32); j++) {
            if (!(Math.abs(b[j] - a[j]) <= bound(a[j], amax))) assert.unreachable(`${name}[${j}]: ${b[j]} vs ${a[j]} (${type})`);
          }
        }
      }
      assert.equal(greedy(loadWeights(g), 64), refTokens);
    });
  }
}

test('edgeq run --engine reference --temperature 0: GGUF F32 and Q8_0 print the llama2.c file\'s text', async () => {
  const args = (p: string) => ['run', p, '--engine', 'reference', '--temperature', '0', '--positions', '48', '--tokenizer', model('tok512.bin')];
  const want = await cli(args(model('stories260K.bin')));
  assert.is(want.status, 0, want.stderr);
  for (const type of ['F32', 'Q8_0']) {
    const got = await cli(args(join(dir, `stories260K-${type}.gguf`)));
    assert.is(got.status, 0, got.stderr);
    assert.is(got.stdout, want.stdout);
  }
});

test.run();
