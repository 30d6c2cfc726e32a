// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// A board target's budget covers the firmware image (compiler/plan/budget.ts): `edgeq plan
// --target cortex-m --budget-bytes N` → `edgeq compile --target cortex-m` (a fresh process,
// as a user runs it) → `edgeq flash --no-boot`: the image's flash (text + data, from
// arm-none-eabi-size) is exactly what the plan said, and within the budget.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SHAPES, writeSynth } from '../../compiler/synth/synth.ts';
import { firmwareToolsMissing } from '../../compiler/engines/firmware.ts';
import { findBoard } from '../../compiler/engines/board.ts';
import { cli } from '../helpers/cli.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'edgeq-fwbudget-'));

test('plan --target cortex-m --budget-bytes: the firmware image is exactly as planned and fits', async () => {
  const why = firmwareToolsMissing(findBoard('mps2-an386'), false);
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const ckpt = join(dir, 's.bin');
  writeSynth(ckpt, { ...SHAPES.stories260K }, 21);
  const budget = 340_000; // int8 everywhere needs ~376 KB of flash: some blocks must be lowered
  const pf = join(dir, 'fw.json');
  const r = await cli(['plan', ckpt, '--target', 'cortex-m', '--budget-bytes', String(budget), '--json', '-o', pf]);
  assert.is(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.match(s.budgetCovers, /^the firmware image's flash/);
  assert.ok(s.blocks.some((b: { bits: number }) => b.bits < 8));
  const out = join(dir, 'b');
  const c = spawnSync(process.execPath, ['bin/edgeq.mjs', 'compile', ckpt, '--target', 'cortex-m', '--plan', pf, '-o', out], { cwd: ROOT, encoding: 'utf8' });
  assert.is(c.status, 0, c.stderr);
  const f = spawnSync(process.execPath, ['bin/edgeq.mjs', 'flash', out, '--board', 'mps2-an386', '--no-boot', '-o', join(dir, 'fw.elf')], { cwd: ROOT, encoding: 'utf8' });
  assert.is(f.status, 0, f.stderr);
  const flash = JSON.parse(readFileSync(join(dir, 'fw.manifest.json'), 'utf8')).size.flash as number;
  assert.is(flash, s.device.total, 'the image is what the plan measured');
  assert.ok(flash <= budget, `${flash} > ${budget}`);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
