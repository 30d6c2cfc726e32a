// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// `edgeq verify --train` end to end on stories260K: the engines' per-step hashes equal an
// independent computation of the integer reference's (greedy text from BOS by the
// reference model, state bytes assembled here from the ABI's layout); a model.edgeq whose
// weights changed after compile fails the anchor (engines and reference would agree on
// it); a mismatching engine is named with its step; low-bit bundles and flag
// combinations that make no sense are refused.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readArtifact } from '../../compiler/emit/artifact-read.ts';
import { quantModelFromArtifact } from '../../compiler/emit/quant-from-artifact.ts';
import { fnv1a64 } from '../../compiler/emit/conformance-hash.ts';
import { createIntReferenceTrainer, initialAdapterState } from '../../compiler/train/int-reference.ts';
import { judgeRun, type VerifyReport } from '../../compiler/cli/verify-report.ts';
import { firstTrainFailure, formatTrainReport, hasTrainRunner } from '../../compiler/cli/verify-train.ts';
import { selectEngines } from '../../compiler/cli/commands/verify.ts';
import { IntTransformer } from '../../runtime/reference/model.ts';
import { restampManifest, stories260KBundle } from '../helpers/bundle.ts';
import { cli } from '../helpers/cli.ts';

const t = suite('conformance: edgeq verify --train');
let dir = '';
t.before(async () => { dir = await stories260KBundle('wasm32', 16); });

/** The reference's hash after each of `steps` steps (lr 0.02, seed 1: edgeq finetune's defaults), computed here. */
function referenceHashes(artifact: Uint8Array, steps: number, seqLen: number, rank = 8): { windows: number[][]; hashes: string[] } {
  const m = quantModelFromArtifact(readArtifact(artifact));
  // Greedy from BOS (token 1): every token is the argmax of the previous position's logits.
  const it = new IntTransformer(m);
  const stream = [1];
  for (let p = 0; p < steps * seqLen; p++) stream.push(it.argmax(it.forward(stream[p], p)));
  const windows = Array.from({ length: steps }, (_, k) => stream.slice(k * seqLen, k * seqLen + seqLen + 1));
  const s0 = initialAdapterState(m.params, { rank, seqLen, lr: 0.02, seed: 1 }, new Uint8Array(createHash('sha256').update(artifact).digest()));
  const tr = createIntReferenceTrainer(m, s0);
  const hashes = windows.map((w) => {
    const loss = Math.round(tr.step(Int32Array.from(w)) * seqLen * 65536);
    const s = tr.state();
    // docs/runtime-abi.md, adapter_state(): the tensors in layout order, then rng lo, hi; then the loss.
    const words = [...s.tensors.flatMap((x) => Array.from(x.data)), s.rngLo, s.rngHi, loss];
    return fnv1a64(new Uint8Array(Int32Array.from(words).buffer)).toString(16).padStart(16, '0');
  });
  return { windows, hashes };
}

const skippedOk = (e: { engine: string; status: string; reason?: string }): boolean => {
  if (e.status !== 'skipped') return false;
  if (process.env.CI) assert.unreachable(`CI: engine ${e.engine} cannot run: ${e.reason}`);
  console.warn(`  (engine ${e.engine} skipped: ${e.reason})`);
  return true;
};

let passing: VerifyReport | undefined;

t('--train --engines v8,wasm2c-x86_64 --json: every engine prints the reference\'s hash after every step', async () => {
  const r = await cli(['verify', dir, '--train', '--engines', 'v8,wasm2c-x86_64', '--json']);
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as VerifyReport;
  passing = j;
  assert.is(j.ok, true);
  const b = j.bundles[0];
  assert.is(b.dir, dir);
  assert.match(b.artifactSha256, /^[0-9a-f]{64}$/);
  assert.equal(b.expected.cases, [{ name: 'train', positions: 3 }]);
  const want = referenceHashes(new Uint8Array(readFileSync(join(dir, 'model.edgeq'))), 3, 16);
  const tr = b.train!;
  assert.equal([tr.steps, tr.rank, tr.rPad, tr.seqLen, tr.lr, tr.seed], [3, 8, 16, 16, 0.02, 1]);
  assert.equal(tr.tokens.windows, want.windows);
  assert.equal(tr.hashes, want.hashes);
  assert.equal(tr.anchor, { case: 'greedy-bos', positions: 16, matched: 16, firstMismatch: null });
  assert.equal(new Set(want.hashes).size, 3, 'the state changes every step');
  assert.equal(b.engines.map((e) => e.engine), ['v8-simd', 'v8-scalar', 'wasm2c-x86_64']);
  for (const e of b.engines) {
    if (skippedOk(e)) continue;
    assert.is(e.status, 'pass', e.reason);
    assert.equal(e.hashes, want.hashes, e.engine);
    assert.equal([e.matched, e.positions, e.selftestMismatches], [3, 3, 0]);
    assert.is(e.runtime!.simd, e.engine === 'v8-simd');
  }
});

t('the table: one row per engine with the steps matched, the anchor and the reference\'s hashes', async () => {
  const r = await cli(['verify', dir, '--train', '--engines', 'v8-scalar', '--steps', '2', '--seq-len', '8', '--rank', '4']);
  assert.is(r.status, 0, r.stderr);
  const want = referenceHashes(new Uint8Array(readFileSync(join(dir, 'model.edgeq'))), 2, 8, 4);
  assert.match(r.stdout, /2 training step\(s\), rank 4, seq len 8/);
  assert.match(r.stdout, new RegExp(`reference: step 0 ${want.hashes[0]} \\(loss \\d+\\.\\d{4}\\), step 1 ${want.hashes[1]} `));
  assert.match(r.stdout, /^v8-scalar\s+✓ 2\/2/m);
  assert.match(r.stdout, /anchor: the reference reproduces the artifact's compile-time greedy-bos hashes \(16\/16 positions\)/);
  assert.match(r.stdout, /OK: 1 passed, 0 failed, 0 skipped/);
});

t('--train: a group (all, v8) leaves out engines without a training runner; one named exactly stays (and is reported skipped)', () => {
  const names = (spec: string) => selectEngines(spec, hasTrainRunner).map((e) => e.name);
  assert.ok(!names('all').includes('v8-threads'), 'all');
  for (const a of ['x86_64', 'aarch64', 'riscv64']) assert.ok(!names('all').includes(`wasm2c-${a}-threads`), `all: wasm2c-${a}-threads`);
  assert.ok(!names('wasm2c').some((n) => n.endsWith('-threads')), 'the wasm2c family');
  assert.ok(names('all').includes('wasm2c-x86_64'), 'all keeps the trainable engines');
  assert.equal(names('v8'), ['v8-simd', 'v8-scalar']);
  assert.equal(names('v8-threads'), ['v8-threads']);
  assert.ok(selectEngines('v8').map((e) => e.name).includes('v8-threads'), 'inference verify keeps v8-threads in the v8 family');
});

t('a mismatching engine: ✗ with its first step, and the exit message names engine and step', () => {
  assert.ok(passing, 'needs the first test\'s report');
  const r = structuredClone(passing!);
  const b = r.bundles[0];
  const e = b.engines[1];
  const expected = b.train!.hashes.map((h, i) => ({ caseName: 'train', position: i, hash: BigInt(`0x${h}`) }));
  const hashes = expected.map((x) => ({ position: x.position, hash: x.hash }));
  hashes[1] = { position: 1, hash: hashes[1].hash ^ 1n };
  b.engines[1] = judgeRun({ ...e, status: 'skipped' }, expected, { hashes, mismatches: 1, runtime: e.runtime!, buildMs: 0, runMs: 5 }, 'step');
  r.ok = false;
  assert.is(b.engines[1].status, 'fail');
  assert.is(b.engines[1].matched, 2);
  assert.match(b.engines[1].reason!, /^step 1: expected [0-9a-f]{16}, got [0-9a-f]{16}$/);
  assert.is(firstTrainFailure(r), `[1] ${dir}: v8-scalar differs from the integer reference at step 1`);
  const text = formatTrainReport(r);
  assert.match(text, /^v8-scalar\s+✗ step 1/m);
  assert.match(text, /FAILED: 2 passed, 1 failed, 0 skipped/);
});

t('weights changed after compile: the anchor fails (exit 1) though the engines agree with the reference', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'edgeq-verify-train-'));
  try {
    cpSync(dir, tmp, { recursive: true });
    const bytes = new Uint8Array(readFileSync(join(tmp, 'model.edgeq')));
    const w1 = readArtifact(bytes).tensors.find((x) => x.name === 'blocks.0.w1')!;
    const at = Buffer.from(bytes).indexOf(Buffer.from(w1.data.subarray(0, 64)));
    assert.ok(at > 0, 'found blocks.0.w1 in the file');
    for (let i = 0; i < 16; i++) bytes[at + 64 * i] ^= 0x40;
    writeFileSync(join(tmp, 'model.edgeq'), bytes);
    restampManifest(tmp); // past the integrity check, to the engines' hashes
    const r = await cli(['verify', tmp, '--train', '--engines', 'v8-scalar', '--json']);
    assert.is(r.status, 1, r.stderr);
    const b = (JSON.parse(r.stdout) as VerifyReport).bundles[0];
    assert.ok(b.train!.anchor!.firstMismatch, 'anchor mismatch reported');
    assert.ok(b.train!.anchor!.matched < 16);
    assert.is(b.engines[0].status, 'pass', 'the engine trains the tampered model as the reference does');
    const m = await cli(['verify', tmp, '--train', '--engines', 'v8-scalar']);
    assert.is(m.status, 1);
    assert.match(m.stdout, /anchor: ✗ the reference's greedy logits differ from the artifact's compile-time hash at position \d+/);
    assert.match(m.stderr, /training conformance failed: \[1\] .*: the integer reference does not reproduce the artifact's compile-time greedy-bos hash at position \d+ \(model\.edgeq changed after compile\?\)/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

t('a low-bit bundle is refused: training needs an int8 base', async () => {
  const low = await stories260KBundle('wasm32', 6, 'uniform:2g32');
  const r = await cli(['verify', low, '--train', '--engines', 'v8']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /model\.edgeq: verify --train: fine-tuning needs an int8 base, and this bundle's \S+ is q2_lut .*--plan uniform:8/);
  assert.is(r.stdout, '');
});

t('flags that do not go together: exit 2 with a clear message', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--train', '--layers'], /--layers traces the inference program op by op; it cannot be combined with --train/],
    [['--steps', '2'], /--steps sets up the training run of --train; pass --train too, or drop --steps/],
    [['--rank', '8'], /--rank sets up the training run of --train/],
    [['--seq-len', '8'], /--seq-len sets up the training run of --train/],
    [['--train', '--rank', '5'], /--rank must be one of 4, 8, 16, 32, got "5"/],
    [['--train', '--steps', '0'], /--steps must be in \[1, 64\], got 0/],
    [['--train', '--seq-len', '600'], /--seq-len 600 is longer than the context of .* \(seq_len 512\)/],
  ];
  for (const [flags, msg] of cases) {
    const r = await cli(['verify', dir, '--engines', 'v8-scalar', ...flags]);
    assert.is(r.status, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg, flags.join(' '));
    assert.is(r.stdout, '', flags.join(' '));
  }
});

t.run();
