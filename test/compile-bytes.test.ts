// Issue 14 (compile speed) must not change a byte: model.edgeq of stories260K at int8,
// 4 bits (g64) and 2 bits (g32) has the sha256 recorded from the compiler before the
// faster clip search, the worker pool and the other speed-ups (main at a8a3448). A
// deliberate format change updates these hashes in the same commit, saying why.
// The fast clip search is also checked choice for choice against the old one
// (test/helpers/lowbit-reference.ts) on matrices with the awkward cases (zero groups and
// rows, constant groups, one-sided groups, heavy tails), and the worker pool against one
// thread on a matrix large enough to use it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { haveModels, model } from './helpers/models.ts';
import { compileBundle } from '../compiler/bundle.ts';
import { quantizeLowbit, runRowsHere } from '../compiler/quantize/lowbit.ts';
import { lowbitPool } from '../compiler/quantize/lowbit-pool.ts';
import { LOWBIT_BITS, lutGroupSizes } from '../compiler/quantize/lowbit-format.ts';
import { quantizeLowbitReference } from './helpers/lowbit-reference.ts';
import { Rng } from '../compiler/synth/prng.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { greedyConformance } from '../compiler/emit/from-quant.ts';
import { gemvPool } from '../compiler/emit/conformance-pool.ts';

// The low-bit hashes changed once, deliberately (issue 15, padded last group): w2 (172 inputs)
// is stored low-bit instead of int8 (its tensors and a `.groups` tensor, so later tensors'
// scales_tensor indices move by one), lut_tables gained its nPad param, and w2's gemv became
// a lut_tables + gemv_lut. Checked against main's artifacts (9cf3d364…, d324cf1e…): every
// other tensor's data is byte-identical.
const RECORDED: Record<string, string> = {
  'uniform:8': '72dc53af614191dcb50f75139226d97e959d87e435b70e63c35bdc3b1457d9ec',
  'uniform:4g64': '6bc1e7aaecb0d71dd735f3ae09a791289def4d6c0e2c2f552439918589bed082',
  'uniform:2g32': 'd3d8b8655b219ca5bb15ade79f0f3dbf9ca427fbcc6e829f42106ab2a4728e58',
};

if (haveModels) {
  for (const [plan, want] of Object.entries(RECORDED)) {
    test(`stories260K ${plan}: model.edgeq has the recorded sha256`, async () => {
      const f = await compileBundle({ checkpoint: model('stories260K.bin'), target: 'wasm32', plan, train: false });
      assert.is(createHash('sha256').update(f['model.edgeq']).digest('hex'), want);
    });
  }
}

if (haveModels) {
  // edgeq compile moves the weights into the artifact (bundleFromQuant moveWeights): the same
  // files as a copy, and afterwards each tensor of the model is a view of its own bytes in
  // model.edgeq, holding the values it held (with a tokenizer: the builder must not grow).
  test('moveWeights: the same bundle bytes; the model keeps its values as views into model.edgeq', async () => {
    const { bundleFromQuant } = await import('../compiler/bundle.ts');
    const { loadTarget } = await import('../compiler/target/profile.ts');
    const { Tokenizer } = await import('../compiler/import/tokenizer.ts');
    const m = quantizeInt8(loadWeights(openModel(model('stories260K.bin'))));
    const before = m.tensors.map((t) => t.data.slice());
    const opts = {
      target: loadTarget('wasm32'), plan: { kind: 'uniform' as const, bits: 8 as const }, planName: 'uniform:8', vectors: 4,
      tokenizer: Tokenizer.load(model('tok512.bin')), sourceSha256: new Uint8Array(32), sourcePath: 'stories260K.bin',
    };
    const copied = await bundleFromQuant({ ...opts, model: m });
    const moved = await bundleFromQuant({ ...opts, model: m, moveWeights: true, runtime: copied.runtime });
    for (const k of ['model.edgeq', 'manifest.json'] as const) assert.equal(moved.files[k], copied.files[k], k);
    const art = moved.files['model.edgeq'];
    m.tensors.forEach((t, i) => {
      assert.ok(t.data.buffer === art.buffer, `${t.name} is a view into model.edgeq`);
      assert.equal(t.data, before[i], t.name);
      assert.ok(moved.contents.tensors[i].data.buffer === art.buffer, `contents ${t.name}`);
    });
  });
}

/** Weights with every case the search treats specially. */
function awkward(seed: number, rows: number, cols: number, gs: number): Float32Array {
  const rng = new Rng(seed, 'awkward');
  const w = new Float32Array(rows * cols);
  for (let o = 0; o < rows; o++) {
    const kind = o % 7, sc = 0.002 + 0.05 * rng.uniform();
    for (let j = 0; j < cols; j++) {
      const g = Math.floor(j / gs);
      let x = sc * rng.gauss() * (rng.uniform() < 0.03 ? 6 : 1);
      if (kind === 1) x = 0; // zero row
      else if (kind === 2 && g === 0) x = 0; // a zero group
      else if (kind === 3 && g % 2 === 0) x = 0.0123; // constant groups
      else if (kind === 4) x = Math.abs(x); // one-sided
      else if (kind === 5 && g === 1) x = -Math.abs(x) * 1e-6; // tiny, negative
      else if (kind === 6) x = Math.round(x * 200) / 200; // ties between candidates
      w[o * cols + j] = x;
    }
  }
  return w;
}

const same = (a: ReturnType<typeof quantizeLowbit>, b: ReturnType<typeof quantizeLowbit>, what: string) => {
  assert.equal(a.planes, b.planes, `${what}: planes`);
  assert.equal(a.groups, b.groups, `${what}: groups`);
  assert.equal([...a.scaleM], [...b.scaleM], `${what}: scale_m`);
  assert.equal([...a.scaleE], [...b.scaleE], `${what}: scale_e`);
  assert.is(a.sqError, b.sqError, `${what}: squared error`);
};

test('fast clip search = the old search, bit for bit, at every bit width and group size', () => {
  for (const bits of LOWBIT_BITS) for (const gs of lutGroupSizes(bits)) {
    const rows = 21, cols = 3 * gs, w = awkward(bits * 1000 + gs, rows, cols, gs);
    same(quantizeLowbit(w, rows, cols, { bits, groupSize: gs }), quantizeLowbitReference(w, rows, cols, { bits, groupSize: gs }), `b${bits} g${gs}`);
    const ratios = [0.5, 1, 0.75, 0.75, 0.9]; // unsorted, with a duplicate
    same(quantizeLowbit(w, rows, cols, { bits, groupSize: gs, ratios }), quantizeLowbitReference(w, rows, cols, { bits, groupSize: gs, ratios }), `b${bits} g${gs} ratios`);
    same(quantizeLowbit(w, rows, cols, { bits, groupSize: gs, clip: false }), quantizeLowbitReference(w, rows, cols, { bits, groupSize: gs, clip: false }), `b${bits} g${gs} min/max`);
  }
});

test('worker pool: the same matrix as one thread, and as the old search', async () => {
  const rows = 200, cols = 512, w = awkward(7, rows, cols, 64);
  const pool = lowbitPool(2);
  try {
    for (const [bits, gs] of [[4, 64], [2, 32]] as const) {
      const here = quantizeLowbit(w, rows, cols, { bits, groupSize: gs }, runRowsHere);
      same(quantizeLowbit(w, rows, cols, { bits, groupSize: gs }, pool.run), here, `b${bits} pool`);
      same(here, quantizeLowbitReference(w, rows, cols, { bits, groupSize: gs }), `b${bits} old`);
    }
  } finally {
    await pool.close();
  }
});

if (haveModels) {
  test('conformance GEMVs on two threads: the same vectors as one thread', async () => {
    const m = quantizeInt8(loadWeights(openModel(model('stories260K.bin'))), { shared: true });
    const one = greedyConformance(m, 12);
    const mats = m.tensors.filter((t) => t.dtype === 'int8' && t.shape.length === 2).map((t) => ({
      q: t.data as Int8Array, m: m.tensors.find((x) => x.name === `${t.name}.scale_m`)!.data as Int16Array, e: m.tensors.find((x) => x.name === `${t.name}.scale_e`)!.data as Int8Array,
    }));
    assert.ok(mats.length > 0 && mats.every((x) => x.q.buffer instanceof SharedArrayBuffer));
    const pool = gemvPool(mats, 2, 0)!; // every GEMV through the pool, however small
    try {
      // Wait until the worker has started, so that it takes rows (it joins calls as it can).
      for (let i = 0; i < 200 && !pool.ready(); i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(greedyConformance(m, 12, pool.gemvQ8), one);
    } finally {
      await pool.close();
    }
  });
}

test.run();
