// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// `edgeq inspect` and `edgeq synth` as a user runs them: exit codes, one-line errors on
// stderr, and the numbers inspect prints.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, model } from './helpers/models.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-cli-inspect-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const edgeq = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/edgeq.mjs'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
/** Exactly one line on stderr, "edgeq: error: ..." matching every pattern. */
const oneLineError = (err: string, ...patterns: RegExp[]) => {
  assert.is(err.split('\n').filter(Boolean).length, 1, err);
  assert.match(err, /^edgeq: error: /);
  for (const re of patterns) assert.match(err, re);
};

test('inspect stories260K: format, shape, per-matrix and per-block counts, totals, bytes', () => {
  const r = edgeq('inspect', model('stories260K.bin'));
  assert.is(r.code, 0, r.err);
  assert.is(r.err, '');
  assert.match(r.out, /format\s+llama2\.c v0/);
  assert.match(r.out, /dim 64, hidden 172, layers 5, heads 8, kv heads 4, head size 8, kv dim 32, vocab 512, seq len 512/);
  assert.match(r.out, /classifier\s+shared with the token embedding/);
  assert.match(r.out, /^tok_embeddings\s+512 x 64\s+32,768\s+1\s+32,768\s+12\.6%$/m);
  assert.match(r.out, /^ {2}wk\s+32 x 64\s+2,048\s+5\s+10,240\s/m);
  assert.match(r.out, /^ {2}w2\s+64 x 172\s+11,008\s+5\s+55,040\s/m);
  assert.match(r.out, /^ {2}block\s+45,440\s+5\s+227,200\s/m);
  assert.match(r.out, /^total\s+260,032\s+100\.0%$/m);
  assert.match(r.out, /file 1,056,540 = header 28 \+ float32 weights 1,040,128 \+ RoPE tables 16,384/);
  assert.match(r.out, /all 260,032 values finite/);
});

test('inspect --json babyllama936K', () => {
  const r = edgeq('inspect', '--json', model('babyllama936K.bin'));
  assert.is(r.code, 0, r.err);
  const d = JSON.parse(r.out);
  assert.is(d.format, 'llama2c-v0');
  assert.equal(d.config, { dim: 128, hiddenDim: 352, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 105, seqLen: 256, sharedClassifier: true, headSize: 16, kvDim: 64 });
  assert.is(d.params.perBlock, 184576);
  assert.is(d.params.total, 936448);
  assert.equal(d.bytes, { file: 3762204, header: 28, weights: 936448 * 4, ropeTables: 16384, float32: 936448 * 4 });
  assert.is(d.finite, true);
});

test('synth then inspect: v1, unshared classifier', () => {
  const p = join(dir, 's.bin');
  const s = edgeq('synth', '--shape', 'stories260K', '--seed', '12', '--format', 'v1', '--unshared', '-o', p);
  assert.is(s.code, 0, s.err);
  assert.match(s.out, /^wrote .*s\.bin: stories260K, seed 12, llama2\.c v1, 1171456 bytes\n$/);
  const r = edgeq('inspect', p);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /llama2\.c v1/);
  assert.match(r.out, /classifier\s+separate matrix \(wcls\)/);
  assert.match(r.out, /^wcls\s+512 x 64\s+32,768\s+1\s+32,768/m);
  assert.match(r.out, /^total\s+292,800\s/m);
});

test('inspect of a truncated file: exit 1, one line naming file, offset, expected vs actual', () => {
  const p = join(dir, 'cut.bin');
  writeFileSync(p, readFileSync(model('stories260K.bin')).subarray(0, 500000));
  const r = edgeq('inspect', p);
  assert.is(r.code, 1);
  assert.is(r.out, '');
  oneLineError(r.err, new RegExp(`${p} at byte 500000: file is 500000 bytes but its v0 header .* implies 1056540 bytes: 556540 bytes missing`));
});

test('inspect catches a NaN (and --no-finite-check skips the scan)', () => {
  const p = join(dir, 'nan.bin');
  const b = Buffer.from(readFileSync(model('stories260K.bin')));
  b.writeFloatLE(NaN, 28 + 100 * 4);
  writeFileSync(p, b);
  const r = edgeq('inspect', p);
  assert.is(r.code, 1);
  oneLineError(r.err, new RegExp(`${p} at byte 428: weight tok_embeddings\\[100\\] is NaN`));
  const s = edgeq('inspect', '--no-finite-check', p);
  assert.is(s.code, 0, s.err);
  assert.match(s.out, /not checked/);
});

test('inspect of a missing file and of a bad header', () => {
  const r = edgeq('inspect', join(dir, 'nope.bin'));
  assert.is(r.code, 1);
  oneLineError(r.err, /nope\.bin: no such file or directory/);
  const p = join(dir, 'heads.bin');
  const b = Buffer.from(readFileSync(model('stories260K.bin')));
  b.writeInt32LE(5, 12);
  writeFileSync(p, b);
  const s = edgeq('inspect', p);
  assert.is(s.code, 1);
  oneLineError(s.err, /at byte 12: bad v0 header field n_heads: n_heads 5 does not divide dim 64/);
});

test('synth usage errors exit 2 with one line; nothing is written', () => {
  const p = join(dir, 'bad.bin');
  const cases: Array<[string[], RegExp]> = [
    [['--shape', 'stories7B', '-o', p], /--shape must be one of stories260K, babyllama936K, stories15M, stories42M, stories110M, smollm2-135M, tinyllama-1.1B, got "stories7B"/],
    [['--shape', 'stories260K', '--seed', '-1', '-o', p], /--seed must be in \[0, 4294967295\], got -1/],
    [['--shape', 'stories260K', '--seed', 'x', '-o', p], /--seed expects an integer, got "x"/],
    [['--shape', 'stories260K', '--format', 'v2', '-o', p], /--format must be one of v0, v1, gguf-f32, gguf-f16, gguf-q8_0, hf-f32, hf-bf16, got "v2"/],
  ];
  for (const [args, re] of cases) {
    const r = edgeq('synth', ...args);
    assert.is(r.code, 2, args.join(' '));
    oneLineError(r.err, re);
  }
  const m = edgeq('synth', '--shape', 'stories260K');
  assert.is(m.code, 2);
  assert.match(m.err, /required option '-o, --output <file.bin>' not specified/);
  assert.not.ok(existsSync(p));
});

test('--help teaches: options described, shapes listed, examples', () => {
  const s = edgeq('synth', '--help');
  assert.is(s.code, 0);
  for (const re of [/--shape <name>/, /--seed <n>/, /--format <name>/, /--unshared/, /stories110M\s+dim 768/, /Examples:/]) assert.match(s.out, re);
  const i = edgeq('inspect', '--help');
  assert.is(i.code, 0);
  for (const re of [/--json/, /--no-finite-check/, /Examples:/]) assert.match(i.out, re);
});

test('a truncated file is still reported when shorter than the header', () => {
  const p = join(dir, 'tiny.bin');
  writeFileSync(p, readFileSync(model('stories260K.bin')).subarray(0, 1000));
  truncateSync(p, 20);
  const r = edgeq('inspect', p);
  assert.is(r.code, 1);
  oneLineError(r.err, /at byte 20: file is 20 bytes, shorter than the 28-byte llama2\.c v0 header/);
});

test.run();
