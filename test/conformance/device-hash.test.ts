// The C hosts check the artifact's SHA-256 before running it (targets/hosts/common/sha256.c):
// the Linux host with `--sha256 <hex>`, the bare-metal image against the hash embedded at
// build time (from the bundle's manifest in `edgeq flash`). A mismatch refuses to run
// (exit 6) with the two hashes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stories260KBundle } from '../helpers/bundle.ts';
import { readBundle } from '../../compiler/engines/engine.ts';
import { runtimeFlavour } from '../../compiler/engines/runtime-flavour.ts';
import { buildLinuxHost } from '../../compiler/engines/wasm2c.ts';
import { arch as x86 } from '../../compiler/engines/wasm2c-x86_64.ts';
import { wabtMissing } from '../../compiler/engines/wabt.ts';
import { bootFirmware, buildFirmware, firmwareToolsMissing } from '../../compiler/engines/firmware.ts';
import { missingTools } from '../../compiler/engines/proc.ts';
import { findBoard } from '../../compiler/engines/board.ts';
import { cli } from '../helpers/cli.ts';

const t = suite('device hosts check the artifact hash');
let dir = '';
let tmp = '';
t.before(async () => {
  dir = await stories260KBundle('wasm32', 16);
  tmp = mkdtempSync(join(tmpdir(), 'edgeq-devhash-'));
});
t.after(() => rmSync(tmp, { recursive: true, force: true }));

function skip(why: string | null): boolean {
  if (!why) return false;
  if (process.env.CI) assert.unreachable(`CI: ${why}`);
  console.warn(`  (skipped: ${why})`);
  return true;
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const wrong = (h: string) => `${h.slice(0, 20)}${h[20] === 'a' ? 'b' : 'a'}${h.slice(21)}`;

t('Linux host: --sha256 right runs, wrong refuses with exit 6, malformed is a usage error', async () => {
  if (skip(wabtMissing() ?? missingTools([['gcc', 'gcc']]))) return;
  const b = readBundle(dir);
  const rt = await runtimeFlavour(b, false);
  const exe = join((await buildLinuxHost(x86, rt.wasm)).dir, 'edgeq-host');
  const h = sha(b.artifact);
  const ok = spawnSync(exe, [b.artifactPath, 'selftest', '--sha256', h], { encoding: 'utf8' });
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /selftest mismatches 0/);
  const plain = spawnSync(exe, [b.artifactPath, 'generate', '8'], { encoding: 'utf8' });
  assert.is(plain.status, 0, 'no --sha256: no check');
  const bad = spawnSync(exe, [b.artifactPath, 'selftest', '--sha256', wrong(h)], { encoding: 'utf8' });
  assert.is(bad.status, 6);
  assert.is(bad.stdout, `edgeq: artifact sha256 ${h} differs from the expected ${wrong(h)}, refusing to run\n`);
  assert.match(bad.stderr, /model\.edgeq: sha256 differs from the expected hash, refusing to run/);
  const tampered = join(tmp, 'model.edgeq');
  const art = Buffer.from(b.artifact);
  art[art.length >> 1] ^= 1;
  writeFileSync(tampered, art);
  const t2 = spawnSync(exe, [tampered, 'generate', '8', '--sha256', h], { encoding: 'utf8' });
  assert.is(t2.status, 6, 'one flipped bit in the weights');
  const mal = spawnSync(exe, [b.artifactPath, 'selftest', '--sha256', 'xyz'], { encoding: 'utf8' });
  assert.is(mal.status, 2);
  assert.match(mal.stderr, /--sha256 expects 64 hex digits/);
});

t('bare metal: an image whose embedded hash differs from its artifact refuses to run (exit 6)', async () => {
  const board = findBoard('mps2-an386');
  if (skip(firmwareToolsMissing(board, true))) return;
  const b = readBundle(dir);
  const rt = await runtimeFlavour(b, false);
  const h = sha(b.artifact);
  const fw = await buildFirmware(board, rt.wasm, b.artifact, { selftest: false, steps: 4, artifactSha256: wrong(h) });
  const r = await bootFirmware(board, fw.elf, 120_000);
  assert.is(r.status, 6, r.stdout + r.stderr);
  assert.is(r.stdout, `edgeq: artifact sha256 ${h} differs from the expected ${wrong(h)}, refusing to run\n`);
});

// Since issue 12 the host compares the bundle with its manifest first (compiler/engines/bundle.ts),
// so such a bundle never reaches the board; the board's own check is the test above.
t('edgeq flash refuses a bundle whose manifest disagrees with its artifact, before building an image', async () => {
  const d = join(tmp, 'bundle');
  cpSync(dir, d, { recursive: true });
  const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8'));
  if (!m.files) { console.warn('  (skipped: the cached bundle has no manifest files table)'); return; }
  const h = m.files['model.edgeq'].sha256;
  m.files['model.edgeq'].sha256 = wrong(h);
  writeFileSync(join(d, 'manifest.json'), JSON.stringify(m, null, 2));
  const r = await cli(['flash', d, '--board', 'mps2-an386', '--positions', '4', '-o', join(tmp, 'fw.elf'), '--timeout', '120']);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /model\.edgeq: sha256 [0-9a-f]+… differs from the [0-9a-f]+… that .*manifest\.json lists/);
  assert.not.ok(existsSync(join(tmp, 'fw.elf')), 'no image written');
});

t.run();
