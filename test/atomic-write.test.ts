// Atomic writes: a process killed in the middle of writing a large file leaves the old
// file intact (no torn file), and no temporary file behind once a later write succeeds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/models.ts';
import { writeFileAtomic } from '../compiler/util/atomic-write.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('SIGKILL during a 256 MB atomic write leaves the old file intact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeq-atomic-'));
  const target = join(dir, 'model.edgeq');
  const old = new Uint8Array(1 << 16).fill(7);
  writeFileSync(target, old);
  // A child that writes 256 MB through writeFileAtomic in 16 MB chunks; we kill it once
  // its temporary file exists and has grown, i.e. squarely in the middle of the write.
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', `
    import { writeFileAtomic } from './compiler/util/atomic-write.ts';
    writeFileAtomic(${JSON.stringify(target)}, new Uint8Array(256 << 20).fill(1));
  `], { cwd: ROOT, stdio: 'ignore' });
  let sawTmp = false;
  for (let i = 0; i < 400 && !sawTmp; i++) {
    await new Promise((r) => setTimeout(r, 25));
    sawTmp = readdirSync(dir).some((f) => f.endsWith('.tmp'));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  assert.ok(sawTmp, 'the child never started writing (test did not exercise the crash)');
  assert.is(sha(readFileSync(target)), sha(old), 'the old file was damaged');
  // The next successful write replaces it whole.
  writeFileAtomic(target, 'new');
  assert.is(readFileSync(target, 'utf8'), 'new');
});

test('a write that fails at the rename (target is a directory) leaves no temporary file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeq-atomic-'));
  mkdirSync(join(dir, 'model.edgeq'));
  assert.throws(() => writeFileAtomic(join(dir, 'model.edgeq'), new Uint8Array(1 << 20)));
  assert.equal(readdirSync(dir), ['model.edgeq']);
});

test.run();
