// `edgeq verify` end to end: the matrix, the --json object's shape, exit codes, and
// engines that cannot run reported as skipped (with the reason), never dropped.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readArtifact } from '../../compiler/emit/artifact-read.ts';
import { restampManifest, stories260KBundle } from '../helpers/bundle.ts';
import { cli } from '../helpers/cli.ts';

const edgeq = (args: string[], env: Record<string, string> = {}) => cli(args, env);

const t = suite('conformance: edgeq verify');
let dir = '';
t.before(async () => { dir = await stories260KBundle('wasm32', 16); });

t('--json: one object with every engine asked for, each with its verdict', async () => {
  const r = await edgeq(['verify', dir, '--engines', 'v8,wasm2c-x86_64', '--json']);
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.is(j.ok, true);
  assert.is(j.bundles.length, 1);
  const b = j.bundles[0];
  assert.is(b.dir, dir);
  assert.match(b.artifactSha256, /^[0-9a-f]{64}$/);
  assert.match(b.runtimeSha256, /^[0-9a-f]{64}$/);
  assert.equal(b.expected.cases, [{ name: 'greedy-bos', positions: 16 }]);
  assert.is(b.expected.positions, 16);
  assert.match(b.expected.source, /integer reference/);
  assert.equal(b.engines.map((e: { engine: string }) => e.engine), ['v8-simd', 'v8-scalar', 'v8-threads', 'wasm2c-x86_64']);
  for (const e of b.engines) {
    assert.equal(Object.keys(e).sort(), ['buildMs', 'engine', 'firstMismatch', 'matched', 'positions', 'runMs', 'runtime', 'selftestMismatches', 'status'].sort());
    assert.is(e.status, 'pass');
    assert.is(e.matched, 16);
    assert.is(e.firstMismatch, null);
    assert.is(e.selftestMismatches, 0);
    assert.match(e.runtime.sha256, /^[0-9a-f]{64}$/);
  }
  assert.is(b.engines[0].runtime.simd, true);
  assert.is(b.engines[1].runtime.simd, false);
  assert.is(b.engines[2].runtime.simd, true); // v8-threads: the threaded flavour of the bundle's (SIMD) build
  assert.is(b.engines[3].runtime.simd, false);
});

t('the matrix: one row per engine, ✓ with the positions matched', async () => {
  const r = await edgeq(['verify', dir, '--engines', 'v8-simd,wasm-interp']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^v8-simd\s+✓ 16\/16/m);
  assert.match(r.stdout, /^wasm-interp\s+✓ 16\/16/m);
  assert.match(r.stdout, /OK: 2 passed, 0 failed, 0 skipped/);
});

t('a wrong embedded expectation: exit 1, ✗ with the first mismatching position', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'edgeq-verify-'));
  try {
    cpSync(dir, tmp, { recursive: true });
    const bytes = new Uint8Array(readFileSync(join(tmp, 'model.edgeq')));
    // Corrupt the expected hash of position 5 inside the conformance table.
    const c = readArtifact(bytes).conformance[0];
    const le = new Uint8Array(8);
    new DataView(le.buffer).setBigUint64(0, c.outputHashes[5], true);
    const at = Buffer.from(bytes).indexOf(Buffer.from(le));
    assert.ok(at > 0, 'found the hash in the file');
    bytes[at] ^= 1;
    writeFileSync(join(tmp, 'model.edgeq'), bytes);
    restampManifest(tmp); // past the integrity check, to the engines' hashes
    const r = await edgeq(['verify', tmp, '--engines', 'v8-simd', '--json']);
    assert.is(r.status, 1, r.stderr);
    const e = JSON.parse(r.stdout).bundles[0].engines[0];
    assert.is(e.status, 'fail');
    assert.is(e.firstMismatch.position, 5);
    assert.is(e.selftestMismatches, 1);
    assert.is(e.matched, 15);
    const m = await edgeq(['verify', tmp, '--engines', 'v8-simd']);
    assert.is(m.status, 1);
    assert.match(m.stdout, /^v8-simd\s+✗ pos 5/m);
    assert.match(m.stdout, /v8-simd \[1\] fail: position 5 \(case greedy-bos\): expected [0-9a-f]{16}, got [0-9a-f]{16}/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

t('an engine whose tools are missing is reported as skipped with the reason, not dropped', async () => {
  const r = await edgeq(['verify', dir, '--engines', 'v8-simd,wasm2c-riscv64', '--json'], { PATH: '/nonexistent' });
  assert.is(r.status, 0, r.stderr);
  const [v8, rv] = JSON.parse(r.stdout).bundles[0].engines;
  assert.is(v8.status, 'pass');
  assert.is(rv.status, 'skipped');
  assert.match(rv.reason, /missing riscv64-linux-gnu-gcc \(Debian package gcc-riscv64-linux-gnu\)/);
});

t('an unknown engine is a usage error naming the known ones', async () => {
  const r = await edgeq(['verify', dir, '--engines', 'gpu']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /unknown engine "gpu"; known engines: v8-simd, v8-scalar, v8-threads, wasm-interp, wasm2c-x86_64/);
});

t('not a bundle: exit 1 naming the missing file', async () => {
  const r = await edgeq(['verify', tmpdir(), '--engines', 'v8']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /model\.edgeq is missing/);
});

t.run();
