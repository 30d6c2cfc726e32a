// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// `edgeq run` end to end: the text on stdout is llama2.c's, the statistics stay on stderr,
// and bad input gives one line and the right exit code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { ROOT, model } from './helpers/models.ts';

const edgeq = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/edgeq.mjs', ...args], { cwd: ROOT, encoding: 'utf8' });
const run = (m: string, tok: string, ...args: string[]) =>
  edgeq('run', model(m), '--tokenizer', model(tok), ...args);

test('stories260K greedy from BOS: the known story on stdout, tok/s on stderr only', () => {
  const r = run('stories260K.bin', 'tok512.bin', '--engine', 'reference-float', '--temperature', '0', '--positions', '256');
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.stdout.startsWith('Once upon a time, there was a little girl named Lily.'), r.stdout);
  assert.ok(r.stdout.endsWith('\n'));
  assert.not.match(r.stdout, /tok\/s/);
  assert.match(r.stderr, /^achieved tok\/s: [\d.]+/);
});

test('babyllama936K with tok105 continues the prompt as llama2.c does', () => {
  const r = run('babyllama936K.bin', 'tok105.bin', '--temperature', '0', '--prompt', 'Once upon a time');
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.stdout.startsWith('Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.'), r.stdout);
});

test('sampling is deterministic: default seed and an explicit seed', () => {
  const a = run('stories260K.bin', 'tok512.bin', '--positions', '40');
  const b = run('stories260K.bin', 'tok512.bin', '--positions', '40', '--seed', '42');
  const c = run('stories260K.bin', 'tok512.bin', '--positions', '40', '--seed', '43');
  assert.is(a.status, 0, a.stderr);
  assert.is(a.stdout, b.stdout);
  assert.is.not(a.stdout, c.stdout);
});

test('--steps, the old spelling of --positions, still works with a deprecation line; both at once is a usage error', () => {
  const now = run('stories260K.bin', 'tok512.bin', '--temperature', '0', '--positions', '20');
  const old = run('stories260K.bin', 'tok512.bin', '--temperature', '0', '--steps', '20');
  assert.is(old.status, 0, old.stderr);
  assert.is(old.stdout, now.stdout);
  assert.match(old.stderr, /^edgeq run: warning: --steps is deprecated here; it means --positions \(use that name\)\n/);
  assert.not.match(now.stderr, /deprecated/);
  const both = run('stories260K.bin', 'tok512.bin', '--positions', '20', '--steps', '20');
  assert.is(both.status, 2);
  assert.match(both.stderr, /--steps is the old spelling of --positions: give only --positions/);
  // --help teaches the new word only.
  const help = edgeq('run', '--help');
  assert.match(help.stdout, /--positions <n>/);
  assert.not.match(help.stdout, /--steps/);
});

test('an unknown engine is a usage error (exit 2, one line naming the known engines)', () => {
  const r = run('stories260K.bin', 'tok512.bin', '--engine', 'gpu');
  assert.is(r.status, 2);
  assert.is(r.stderr, 'edgeq: error: --engine: unknown engine "gpu"; known engines: reference-float, reference-int, v8, wasm2c\n');
  assert.is(r.stdout, '');
});

test('a tokenizer of another vocabulary is refused (exit 1, both sizes named)', () => {
  const r = run('stories260K.bin', 'tok105.bin');
  assert.is(r.status, 1);
  assert.match(r.stderr, /^edgeq: error: tokenizer .*tok105\.bin has 105 tokens but model .*stories260K\.bin has a vocabulary of 512\n$/);
});

test.run();
