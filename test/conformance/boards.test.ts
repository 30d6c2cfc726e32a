// tier: slow
// Boards are data (targets/*.json, compiler/engines/board.ts): every board loads, derives
// its engine and training engine, and is listed by `edgeq flash --list-boards`; on every
// board with an engine, stories260K int8 and 4-bit images pass the embedded conformance
// vectors and print what `edgeq run --temperature 0` prints, with the weights read in place
// from flash (the RAM line holds no weight byte). A missing tool skips locally, fails in CI.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boards, engineBoards, findBoard } from '../../compiler/engines/board.ts';
import { ENGINES } from '../../compiler/engines/index.ts';
import { TRAIN_ENGINES } from '../../compiler/engines/train-conformance.ts';
import { firmwareToolsMissing } from '../../compiler/engines/firmware.ts';
import { linkerScript } from '../../compiler/engines/linker-script.ts';
import { stories260KBundle } from '../helpers/bundle.ts';
import { cli } from '../helpers/cli.ts';
import { model } from '../helpers/models.ts';

const STEPS = 24;
const t = suite('conformance: boards');
let out = '';
t.before(() => { out = mkdtempSync(join(tmpdir(), 'edgeq-boards-')); });
t.after(() => rmSync(out, { recursive: true, force: true }));

t('the issue\'s boards exist, and each board with an engine is a conformance and a training engine', () => {
  const names = boards().map((b) => b.name);
  for (const n of ['mps2-an386', 'mps2-an505', 'mps3-an547', 'virt-rv32', 'virt-rv32-16m', 'virt-rv32-520k']) assert.ok(names.includes(n), n);
  assert.is(new Set(names).size, names.length, 'board names are unique');
  for (const b of engineBoards()) {
    assert.ok(ENGINES.some((e) => e.name === b.profile.conformanceEngine), `${b.name}: verify engine`);
    assert.ok(TRAIN_ENGINES.includes(b.profile.conformanceEngine!), `${b.name}: training engine`);
  }
  assert.ok(ENGINES.some((e) => e.name === 'riscv32-baremetal'));
  assert.ok(ENGINES.some((e) => e.name === 'cortex-m33'));
  assert.ok(ENGINES.some((e) => e.name === 'cortex-m55'));
  const big = findBoard('virt-rv32-16m').target;
  assert.is(big.flashBytes, 16 * 1048576);
  assert.is(big.ramBytes, 2 * 1048576);
});

t('the linker script is the profile\'s memory map', () => {
  const b = findBoard('mps2-an505');
  const ld = linkerScript(b.target, 65536);
  assert.match(ld, /FLASH \(rx\)  : ORIGIN = 0x10000000, LENGTH = 4194304/);
  assert.match(ld, /RAM   \(rwx\) : ORIGIN = 0x38000000, LENGTH = 4194304/);
  assert.match(ld, /_estack - _ebss >= 65536/);
});

t('edgeq flash --list-boards prints every board with its budgets; an unknown board names them', async () => {
  const r = await cli(['flash', '--list-boards']);
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines.length, boards().length);
  assert.match(r.stdout, /virt-rv32-16m +target riscv32-16m .*flash 16 MiB at 0x80000000, RAM 2 MiB at 0x81000000/);
  assert.match(r.stdout, /mps2-an505 +target cortex-m33 .*Cortex-M33/);
  // Sizes that are not whole MiB are printed exactly, not rounded (520 KiB, not 0.5 MiB).
  assert.match(r.stdout, /virt-rv32-520k +target riscv32-520k .*flash 4 MiB at 0x80000000, RAM 520 KiB at 0x80400000/);
  assert.match(r.stdout, /mps3-an547 .*flash 512 KiB at 0x00000000/);
  const u = await cli(['flash', '/nonexistent', '--board', 'esp32']);
  assert.is(u.status, 2);
  assert.match(u.stderr, /unknown board "esp32"; known boards: .*mps2-an505.*virt-rv32/);
});

for (const plan of ['uniform:8', 'uniform:4']) {
  for (const board of ['mps2-an505', 'mps3-an547', 'virt-rv32']) {
    t(`${board}, stories260K ${plan}: selftest passes and the text is \`edgeq run\`'s, weights in flash`, async () => {
      const why = firmwareToolsMissing(findBoard(board), true);
      if (why) {
        if (process.env.CI) assert.unreachable(`CI: ${why}`);
        console.warn(`  (${board} skipped: ${why})`);
        return;
      }
      const dir = await stories260KBundle('wasm32', 8, plan);
      const elf = join(out, `${board}-${plan.replace(':', '')}.elf`);
      const f = await cli(['flash', dir, '--board', board, '--positions', String(STEPS), '--selftest', '-o', elf]);
      assert.is(f.status, 0, f.stderr);
      assert.match(f.stdout, /^selftest mismatches 0$/m);
      const r = await cli(['run', dir, '--temperature', '0', '--positions', String(STEPS)]);
      assert.is(r.status, 0, r.stderr);
      assert.ok(r.stdout.startsWith('Once upon a time'), r.stdout);
      assert.is(f.stdout.replace(/^selftest .*\n/gm, ''), r.stdout);
      // The weights line, and RAM that could not hold them: RAM use + artifact > what the image's RAM holds.
      const m = JSON.parse(readFileSync(elf.replace(/\.elf$/, '.manifest.json'), 'utf8'));
      const artifactBytes = readFileSync(join(dir, 'model.edgeq')).length;
      assert.match(f.stderr, new RegExp(`weights: model\\.edgeq ${artifactBytes} bytes .* read in place from flash at 0x[0-9a-f]{8}, not in RAM`));
      assert.is(m.weights.bytes, artifactBytes);
      assert.is(m.weights.inRam, false);
      assert.ok(m.size.bss < m.size.wasmVirtualBytes, 'the RAM behind the wasm memory is less than the wasm memory');
      assert.is(m.size.wasmVirtualBytes - m.size.wasmMemoryBytes <= artifactBytes, true);
      assert.ok(m.size.wasmVirtualBytes - m.size.wasmMemoryBytes > artifactBytes - 16, 'exactly the artifact is not in RAM');
    });
  }
}

// Issue 18: a model whose weights are larger than the board's RAM runs from flash. The
// RP2350-class profile has 520 KiB of RAM; babyllama936K at int8 has 984 KiB of weights.
t('virt-rv32-520k (520 KiB RAM): babyllama936K int8, weights larger than the RAM, runs from flash with `edgeq run`\'s text', async () => {
  const board = findBoard('virt-rv32-520k');
  const why = firmwareToolsMissing(board, true);
  if (why) {
    if (process.env.CI) assert.unreachable(`CI: ${why}`);
    console.warn(`  (virt-rv32-520k skipped: ${why})`);
    return;
  }
  const dir = join(out, 'baby-520k');
  const c = await cli(['compile', model('babyllama936K.bin'), '--tokenizer', model('tok105.bin'), '--target', 'riscv32-520k', '--vectors', '8', '-o', dir]);
  assert.is(c.status, 0, c.stderr);
  const artifactBytes = readFileSync(join(dir, 'model.edgeq')).length;
  assert.ok(artifactBytes > board.target.ramBytes!, `the weights (${artifactBytes} bytes) must exceed the RAM (${board.target.ramBytes})`);
  const elf = join(out, 'baby-520k.elf');
  const f = await cli(['flash', dir, '--board', 'virt-rv32-520k', '--positions', String(STEPS), '--selftest', '-o', elf]);
  assert.is(f.status, 0, f.stderr);
  assert.match(f.stdout, /^selftest mismatches 0$/m);
  const r = await cli(['run', dir, '--temperature', '0', '--positions', String(STEPS)]);
  assert.is(r.status, 0, r.stderr);
  assert.is(f.stdout.replace(/^selftest .*\n/gm, ''), r.stdout);
  const m = JSON.parse(readFileSync(elf.replace(/\.elf$/, '.manifest.json'), 'utf8'));
  assert.is(m.weights.inRam, false);
  assert.ok(m.size.ram <= board.target.ramBytes!, `RAM ${m.size.ram} within ${board.target.ramBytes}`);
  assert.match(f.stderr, new RegExp(`RAM: +\\d+ bytes .* of ${board.target.ramBytes} `));
  assert.match(f.stderr, new RegExp(`weights: model\\.edgeq ${artifactBytes} bytes .* read in place from flash at 0x[0-9a-f]{8}, not in RAM`));
});

t.run();
