// `edgeq finetune` and `--adapter` on run/eval: help, and bad inputs (each with its
// message, exit code, and nothing written), and training end to end through the API's
// model (compiler/api/node.ts openBundleModel).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { Tokenizer } from '../compiler/import/tokenizer.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { lowerInt8 } from '../compiler/lower/program.ts';
import { emitArtifact } from '../compiler/emit/from-quant.ts';
import { adapterBytes, readAdapter, readAdapterForBundle } from '../compiler/emit/adapter.ts';
import { openBundle } from '../compiler/engines/bundle.ts';
import { cli } from './helpers/cli.ts';
import { fixtureState } from './helpers/adapter-fixture.ts';
import { ROOT, model } from './helpers/models.ts';
import { stories260KBundle } from './helpers/bundle.ts';
import { lossReportHtml } from '../compiler/train/report.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'edgeq-finetune-'));

/**
 * A stories260K int8 bundle for the input checks: a real model.edgeq (with the tokenizer)
 * and a placeholder runtime.wasm, which these tests never run (they fail before training).
 */
const fakeBundle = (() => {
  let dir: string | undefined;
  return () => {
    if (dir) return dir;
    dir = tmp();
    const q = quantizeInt8(loadWeights(openModel(model('stories260K.bin'))));
    writeFileSync(join(dir, 'model.edgeq'), emitArtifact({
      model: q, program: lowerInt8(q), target: { name: 'wasm32', simd: true }, plan: { kind: 'uniform', bits: 8 },
      tokenizer: Tokenizer.load(model('tok512.bin')), sourceSha256: new Uint8Array(32), sourcePath: 'stories260K.bin', vectors: 0,
    }));
    writeFileSync(join(dir, 'runtime.wasm'), new Uint8Array(0));
    return dir;
  };
})();

/** A few paragraphs of TinyStories (enough windows for short runs). */
function storyText(paragraphs = 40): string {
  const p = join(tmp(), 'stories.txt');
  writeFileSync(p, readFileSync(model('tinystories-valid-head.txt'), 'utf8').split(/\n\s*\n/).slice(0, paragraphs).join('\n\n'));
  return p;
}

/** Runs `args`, then checks the exit code, that stderr matches, and that `dir` is unchanged. */
async function refuses(args: string[], status: number, stderr: RegExp, dir: string) {
  const before = readdirSync(dir).sort();
  const r = await cli(args);
  assert.is(r.status, status, r.stderr);
  assert.match(r.stderr, stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.is(r.stdout, '');
  assert.equal(readdirSync(dir).sort(), before, 'nothing written');
}

test('finetune --help teaches: what it does, resume, exit codes, an example; edgeq --help lists it', async () => {
  const r = await cli(['finetune', '--help']);
  assert.is(r.status, 0);
  for (const s of ['--data <text>', '--steps <n>', '--rank <r>', '--resume', '--save-every', '--report <loss.html>', 'Exit codes', '130 interrupted',
    '$ edgeq finetune out/s260k --data style.txt --steps 300']) assert.ok(r.stdout.includes(s), `help lacks ${s}:\n${r.stdout}`);
  const top = await cli(['--help']);
  assert.match(top.stdout, /finetune\s+train a LoRA adapter/);
  assert.match((await cli(['run', '--help'])).stdout, /--adapter <file\.edqa>/);
  assert.match((await cli(['eval', '--help'])).stdout, /--adapter <file\.edqa>/);
});

test('finetune: missing data file (exit 1, names it, nothing written)', async () => {
  const out = tmp();
  await refuses(['finetune', fakeBundle(), '--data', join(out, 'none.txt'), '--steps', '3', '-o', join(out, 'a.edqa')], 1,
    /^edgeq: error: .*none\.txt: no such file \(--data: the text to train on\)/, out);
});

test('finetune: a text too short for one window (exit 1, names the file and the counts)', async () => {
  const out = tmp();
  const short = join(out, 'short.txt');
  writeFileSync(short, 'Hi.');
  await refuses(['finetune', fakeBundle(), '--data', short, '--steps', '3', '--seq-len', '32', '-o', join(out, 'a.edqa')], 1,
    /short\.txt: text too short for training: it encodes to \d+ tokens \(1 paragraphs\), one window needs seqLen \+ 1 = 33/, out);
});

test('finetune: bad flags are usage errors (exit 2)', async () => {
  const out = tmp(), data = storyText(3);
  const base = ['finetune', fakeBundle(), '--data', data, '-o', join(out, 'a.edqa')];
  await refuses([...base, '--steps', '3', '--rank', '5'], 2, /--rank must be one of 4, 8, 16, 32, got "5"/, out);
  await refuses([...base, '--steps', '0'], 2, /--steps must be in \[1, 10000000\], got 0/, out);
  await refuses([...base, '--steps', '3', '--lr', 'fast'], 2, /--lr expects a number, got "fast"/, out);
  await refuses([...base, '--steps', '3', '--engine', 'gpu'], 2, /--engine: unknown engine "gpu"; known engines: v8, reference-int/, out);
  await refuses([...base, '--steps', '3', '--seq-len', '100000'], 2, /--seq-len 100000 is longer than the model's context \(seq_len 512\)/, out);
  const noSteps = await cli(base);
  assert.is(noSteps.status, 2);
  assert.match(noSteps.stderr, /required option '--steps <n>' not specified/);
});

test('finetune: not a bundle, and --resume with nothing to resume (exit 1)', async () => {
  const out = tmp(), data = storyText(3);
  await refuses(['finetune', join(out, 'nope'), '--data', data, '--steps', '3', '-o', join(out, 'a.edqa')], 1, /nope: not a bundle directory/, out);
  await refuses(['finetune', fakeBundle(), '--data', data, '--steps', '3', '-o', join(out, 'a.edqa'), '--resume'], 1,
    /a\.edqa: --resume: no adapter to continue/, out);
});

test('an adapter made for another base is refused by finetune --resume, run and eval (both hashes named, file untouched)', async () => {
  const out = tmp(), data = storyText(3);
  const path = join(out, 'other.edqa');
  // Shapes of stories260K (dim 64, kv dim 32, 5 blocks), but another base's hash.
  const bytes = adapterBytes(fixtureState({ dim: 64, kvDim: 32, nLayers: 5, rank: 8 }));
  writeFileSync(path, bytes);
  const theirs = Buffer.from(fixtureState({ dim: 64, kvDim: 32, nLayers: 5, rank: 8 }).baseSha256).toString('hex');
  const ours = createHash('sha256').update(readFileSync(join(fakeBundle(), 'model.edgeq'))).digest('hex');
  const want = new RegExp(`other\\.edqa: the adapter was trained for a base model with sha256 ${theirs}, but .*model\\.edgeq has sha256 ${ours}`);
  await refuses(['finetune', fakeBundle(), '--data', data, '--steps', '3', '-o', path, '--resume'], 1, want, out);
  await refuses(['run', fakeBundle(), '--adapter', path, '--positions', '4'], 1, want, out);
  await refuses(['eval', fakeBundle(), '--adapter', path, '--reference', model('stories260K.bin'), '--text', data], 1, want, out);
  assert.equal(new Uint8Array(readFileSync(path)), bytes, 'the adapter was not modified');
});

test('run --adapter: a corrupted adapter names the byte; a checkpoint is a usage error', async () => {
  const out = tmp();
  const bad = join(out, 'bad.edqa');
  writeFileSync(bad, adapterBytes(fixtureState({ dim: 64, kvDim: 32, nLayers: 5, rank: 8 })).slice(0, 100));
  await refuses(['run', fakeBundle(), '--adapter', bad], 1, /bad\.edqa at byte \d+: corrupt adapter/, out);
  await refuses(['run', model('stories260K.bin'), '--tokenizer', model('tok512.bin'), '--adapter', bad], 2,
    /--adapter applies to a bundle directory/, out);
});

test('loss report: deterministic, one point per step, the running mean, escaped text', () => {
  const losses = [3, 2.5, 2.75, 2, 1.5];
  const r = { title: '<b>&', settings: [['lr', '0.05']] as Array<[string, string]>, startStep: 10, losses, heldOut: { before: 2.9, after: 1.9, windows: 4 } };
  const html = lossReportHtml(r);
  assert.is(lossReportHtml(r), html);
  assert.ok(html.includes('&lt;b&gt;&amp;') && !html.includes('<b>&'));
  assert.is((html.match(/<circle /g) ?? []).length, 5);
  assert.match(html, /<title>step 11: 3\.0000<\/title>/);
  assert.match(html, /<title>step 15: 1\.5000<\/title>/);
  // Running mean at the last step, computed here: (3 + 2.5 + 2.75 + 2 + 1.5) / 5 = 2.35; the
  // polyline's last y must equal the y of a 2.35 loss on the same axis as the points.
  const ys = [...html.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
  const yOf = (v: number) => ys[0] + ((ys[4] - ys[0]) * (v - 3)) / (1.5 - 3); // linear axis through two points
  const poly = /<polyline points="([^"]+)"/.exec(html)![1].split(' ').map((p) => Number(p.split(',')[1]));
  assert.is(poly.length, 5);
  assert.ok(Math.abs(poly[4] - yOf(2.35)) <= 0.2, `${poly[4]} vs ${yOf(2.35)}`);
  assert.match(html, /held-out loss 2\.9000 → 1\.9000 over 4 windows/);
  assert.match(html, /loss 2\.7500 → 1\.7500 \(mean of the first and the last 2 steps/);
});

// ---- Training for real. ----
const real = test;

real('a low-bit bundle is refused before the text is read (issue 12: checks before work)', async () => {
  const bundle = await stories260KBundle('wasm32', 16, 'uniform:4g64');
  const out = tmp(), data = join(out, 'short.txt');
  // Too short to train on: had the text been read first, this would be the error.
  writeFileSync(data, 'Hi.');
  const r = await cli(['finetune', bundle, '--data', data, '--steps', '2', '-o', join(out, 'a.edqa')]);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /fine-tuning needs an int8 base: tensor .* is q4_lut/);
  assert.not.match(r.stderr, /short|too few|windows/i);
  assert.equal(readdirSync(out), ['short.txt'], 'nothing written');
});

real('finetune 4 steps (saves at 2 and 4), then --resume to 6 = 6 steps in one run, byte for byte; run --adapter', async () => {
  const bundle = await stories260KBundle();
  const data = storyText(), out = tmp();
  const a = join(out, 'a.edqa'), b = join(out, 'b.edqa'), report = join(out, 'loss.html');
  const common = ['finetune', bundle, '--data', data, '--rank', '4', '--seq-len', '16', '--seed', '3', '--json'];
  const r1 = await cli([...common, '--steps', '4', '--save-every', '2', '-o', a, '--report', report]);
  assert.is(r1.status, 0, r1.stderr);
  const j1 = JSON.parse(r1.stdout);
  assert.is(j1.steps, 4);
  assert.is(j1.loss.length, 4);
  assert.ok(j1.loss.every((l: number) => Number.isFinite(l) && l > 0), r1.stdout);
  assert.ok(j1.peakBytes > 0 && j1.seconds > 0);
  assert.is(readAdapter(a).step, 4);
  readAdapterForBundle(a, openBundle(bundle)); // belongs to the bundle
  assert.match(readFileSync(report, 'utf8'), /<svg[^>]*>[\s\S]*<polyline/);
  const r2 = await cli([...common, '--steps', '6', '-o', a, '--resume']);
  assert.is(r2.status, 0, r2.stderr);
  assert.is(JSON.parse(r2.stdout).loss.length, 2, 'the resumed run did the 2 remaining steps');
  const r3 = await cli([...common, '--steps', '6', '-o', b]);
  assert.is(r3.status, 0, r3.stderr);
  assert.equal(readFileSync(a), readFileSync(b), '4 steps + resume 2 = 6 steps');
  assert.equal(readdirSync(out).sort(), ['a.edqa', 'b.edqa', 'loss.html']);
  const run = await cli(['run', bundle, '--adapter', a, '--temperature', '0', '--positions', '24']);
  assert.is(run.status, 0, run.stderr);
  assert.ok(run.stdout.trim().length > 0);
});

real('run --adapter: an adapter that did not move (lr 1e-9: B stays exactly 0) prints what the bundle alone prints', async () => {
  const bundle = await stories260KBundle();
  const out = tmp(), a = join(out, 'still.edqa');
  // With B = 0 the adapted forward is byte-identical to inference (docs/integer-spec.md §13).
  const data = storyText();
  const r = await cli(['finetune', bundle, '--data', data, '--steps', '1', '--lr', '1e-9', '--seq-len', '16', '-o', a]);
  assert.is(r.status, 0, r.stderr);
  const bs = readAdapter(a).tensors.filter((t) => t.name.endsWith('.lora_b'));
  assert.ok(bs.length > 0 && bs.every((t) => t.data.every((v) => v === 0)), 'B is still exactly 0');
  // Greedy, and sampled (the adapter engines' sampler must be the runtime's, same seed).
  for (const how of [['--temperature', '0'], ['--temperature', '1', '--seed', '7']]) {
    const plain = await cli(['run', bundle, ...how, '--positions', '32']);
    assert.is(plain.status, 0, plain.stderr);
    for (const engine of ['v8', 'reference-int']) {
      const adapted = await cli(['run', bundle, '--adapter', a, '--engine', engine, ...how, '--positions', '32']);
      assert.is(adapted.status, 0, adapted.stderr);
      assert.is(adapted.stdout, plain.stdout, `${engine} ${how.join(' ')}: an adapter with B = 0 does not change the text`);
    }
  }
});

real('Ctrl-C: exit 130 after saving the current step; --resume then ends where an uninterrupted run ends', async () => {
  const bundle = await stories260KBundle();
  const data = storyText(), out = tmp();
  const a = join(out, 'a.edqa'), b = join(out, 'b.edqa');
  const args = ['finetune', bundle, '--data', data, '--rank', '4', '--seq-len', '16', '--steps', '60', '--engine', 'reference-int'];
  const child = spawn(process.execPath, ['bin/edgeq.mjs', ...args, '-o', a], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  // Up to 2 minutes for the first step: on a loaded 2-core machine start-up alone took over 30 s.
  for (let i = 0; i < 6000 && !/step \d+\/60/.test(err); i++) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  assert.is(await exited, 130, err);
  assert.match(err, /interrupted after step (\d+) of 60: saved .*a\.edqa \(continue with --resume\)/);
  const stopped = readAdapter(a).step;
  assert.ok(stopped >= 1 && stopped < 60, `stopped at ${stopped}`);
  const r = await cli([...args, '-o', a, '--resume']);
  assert.is(r.status, 0, r.stderr);
  const full = await cli([...args, '-o', b]);
  assert.is(full.status, 0, full.stderr);
  assert.equal(readFileSync(a), readFileSync(b));
});

test.run();
