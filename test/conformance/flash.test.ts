// `edgeq flash`: the stories260K image for the emulated Cortex-M4 board boots and prints
// the same greedy text as `edgeq run <dir> --temperature 0`; the image and its manifest
// (sha256 of every part) are written; sizes are stated against the target's budget, and an
// image over budget is refused with the numbers.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBudget } from '../../compiler/cli/commands/flash.ts';
import { firmwareToolsMissing, type Firmware } from '../../compiler/engines/firmware.ts';
import { findBoard } from '../../compiler/engines/board.ts';
import { loadTarget } from '../../compiler/target/profile.ts';
import { EdgeqError } from '../../compiler/util/errors.ts';
import { stories260KBundle } from '../helpers/bundle.ts';
import { ROOT } from '../helpers/models.ts';
import { cli } from '../helpers/cli.ts';

const STEPS = 40;
const edgeq = (...args: string[]) => cli(args);
const t = suite('conformance: edgeq flash');
let dir = '';
let out = '';
t.before(async () => {
  dir = await stories260KBundle('wasm32', 16);
  out = mkdtempSync(join(tmpdir(), 'edgeq-flash-'));
});
t.after(() => rmSync(out, { recursive: true, force: true }));

/** True when the tools are there; outside CI a missing tool skips with a note, in CI it fails. */
function haveTools(withQemu: boolean): boolean {
  const why = firmwareToolsMissing(findBoard('mps2-an386'), withQemu);
  if (!why) return true;
  if (process.env.CI) assert.unreachable(`CI: ${why}`);
  console.warn(`  (flash test skipped: ${why})`);
  return false;
}

t('boots stories260K on mps2-an386 and prints what `edgeq run --temperature 0` prints', async () => {
  if (!haveTools(true)) return;
  const elf = join(out, 'fw.elf');
  const f = await edgeq('flash', dir, '--board', 'mps2-an386', '--positions', String(STEPS), '-o', elf);
  assert.is(f.status, 0, f.stderr);
  const r = await edgeq('run', dir, '--temperature', '0', '--positions', String(STEPS));
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.stdout.startsWith('Once upon a time'), r.stdout);
  assert.is(f.stdout, r.stdout);
  assert.match(f.stderr, /flash: \d+ bytes .* of 4194304/);
  assert.match(f.stderr, /RAM: +\d+ bytes .* of 4194304/);

  // The manifest names every part with the sha256 of what was written.
  const m = JSON.parse(readFileSync(join(out, 'fw.manifest.json'), 'utf8'));
  assert.is(m.board, 'mps2-an386');
  assert.is(m.target, 'cortex-m');
  const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
  const part = (path: string) => m.parts.find((p: { path: string }) => p.path === path);
  assert.is(part('firmware.elf').sha256, sha(elf));
  assert.is(part('model.edgeq').sha256, sha(join(dir, 'model.edgeq')));
  for (const p of ['runtime.wasm', 'runtime.c', 'targets/hosts/baremetal/main.c', 'targets/hosts/common/host_core.c']) assert.ok(part(p), p);
  assert.is(part('targets/hosts/baremetal/main.c').sha256, sha(join(ROOT, 'targets/hosts/baremetal/main.c')));
  assert.ok(m.size.flash > 0 && m.size.flash <= m.size.flashBudget);
  assert.ok(m.size.ram > m.size.wasmMemoryBytes && m.size.ram <= m.size.ramBudget);
});

t('--no-boot writes the image only; a second build comes from the cache', async () => {
  if (!haveTools(false)) return;
  const elf = join(out, 'nb.elf');
  const f = await edgeq('flash', dir, '--board', 'mps2-an386', '--positions', '8', '--no-boot', '-o', elf);
  assert.is(f.status, 0, f.stderr);
  assert.is(f.stdout, '');
  assert.ok(existsSync(elf));
  const g = await edgeq('flash', dir, '--board', 'mps2-an386', '--positions', '8', '--no-boot', '-o', elf);
  assert.match(g.stderr, /from cache/);
});

t('an image over the target budget is refused with the numbers', async () => {
  const t0 = loadTarget('cortex-m');
  const fw = { size: { text: 5_000_000, data: 100, bss: 200_000, flash: 5_000_100, ram: 265_636 }, heapBytes: 131072, wasmBytes: 196608, weights: { bytes: 65536, address: 0x1000 } } as Firmware;
  try {
    checkBudget(fw, t0);
    assert.unreachable('accepted');
  } catch (e) {
    assert.instance(e, EdgeqError);
    assert.match((e as Error).message, /does not fit target cortex-m: over flash by 805796 bytes \(5000100 > 4194304\)/);
  }
  const ok = checkBudget({ ...fw, size: { ...fw.size, text: 100_000, flash: 100_100 } }, t0);
  assert.match(ok[0], /flash: 100100 bytes .* of 4194304 \(2\.4%\)/);
});

t('an unknown board is a usage error naming the known boards', async () => {
  const r = await edgeq('flash', dir, '--board', 'esp32');
  assert.is(r.status, 2);
  assert.match(r.stderr, /unknown board "esp32"; known boards: mps2-an386/);
});

t.run();
