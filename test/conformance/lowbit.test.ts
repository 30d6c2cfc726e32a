// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// Cross-engine conformance of low-bit bundles (issue 5): stories260K compiled with
// `--plan uniform:4`, `--plan uniform:2g32` and `--plan uniform:4,cls4` (the opt-in 4-bit
// classifier: wcls split off the embedding, a gemv_lut with outFrac 16), checked by `edgeq verify --engines all` on
// every engine (V8 SIMD and scalar, wasm-interp, wasm2c x86-64/AArch64/RISC-V and the
// Cortex-M image run the scalar LUT kernel; V8 SIMD the SIMD one). Few positions: the
// emulated engines dominate the time. A missing tool skips its engine locally, fails in CI.
// The 4-bit bundle also has a per-channel K block cache (`--kv k4v2,w2,kblock=2`, §3.7.3;
// no extra bundle to build on every engine): blocks 0 and 1 are requantized at positions 2
// and 4 and read from position 2 on, so the SIMD build's block path (V8 SIMD, wasm-interp,
// wasm2c *-simd) and the scalar one (the rest) are checked against the reference.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stories260KBundle } from '../helpers/bundle.ts';
import { cli } from '../helpers/cli.ts';
import { readBundle } from '../../compiler/engines/engine.ts';

const POSITIONS = 6;
const KV_BLOCKS = 'k4v2,w2,kblock=2';
const t = suite('conformance: low-bit bundles');
const dirs: Record<string | number, string> = {};
t.before(async () => {
  dirs[4] = await stories260KBundle('wasm32', POSITIONS, 'uniform:4', KV_BLOCKS);
  dirs[2] = await stories260KBundle('wasm32', POSITIONS, 'uniform:2g32');
  dirs.cls4 = await stories260KBundle('wasm32', POSITIONS, 'uniform:4,cls4');
});

t('the bundles are low-bit: gemv_lut ops over q4_lut / q2_lut tensors', () => {
  for (const [bits, dtype] of [[4, 'q4_lut'], [2, 'q2_lut']] as const) {
    const c = readBundle(dirs[bits]).contents;
    assert.ok(c.program.ops.some((o) => o.kind === 'gemv_lut'), `${bits}-bit: no gemv_lut`);
    assert.is(c.tensors.find((x) => x.name === 'blocks.0.wq')!.dtype, dtype);
  }
  const kv = readBundle(dirs[4]).contents;
  assert.is(kv.plan.kvCache, KV_BLOCKS);
  assert.ok(kv.program.ops.some((o) => o.kind === 'attention_q' && o.params.at(-1) === 2), 'attention_q with kBlock 2');
  const c = readBundle(dirs.cls4).contents;
  assert.is(c.tensors.find((x) => x.name === 'wcls')!.dtype, 'q4_lut');
  assert.is(c.tensors.find((x) => x.name === 'tok_embeddings')!.dtype, 'int8');
  const last = c.program.ops.at(-1)!;
  assert.equal([last.kind, last.name], ['gemv_lut', 'wcls']);
});

t('edgeq verify --engines all: every engine reproduces the integer reference on the three bundles', async () => {
  const r = await cli(['verify', dirs[4], dirs[2], dirs.cls4, '--engines', 'all', '--json']);
  const j = JSON.parse(r.stdout);
  const notes: string[] = [];
  for (const b of j.bundles) {
    for (const e of b.engines) {
      if (e.status === 'skipped') {
        if (process.env.CI) assert.unreachable(`CI: engine ${e.engine} cannot run: ${e.reason}`);
        console.warn(`  (engine ${e.engine} skipped: ${e.reason})`);
        continue;
      }
      assert.is(e.status, 'pass', `${b.dir} ${e.engine}: ${JSON.stringify(e.firstMismatch)}`);
      assert.is(e.matched, POSITIONS);
      assert.is(e.selftestMismatches, 0);
      notes.push(`${e.engine} ${e.runMs} ms`);
    }
  }
  assert.is(r.status, 0, r.stderr);
  console.log(`  low-bit engine times: ${notes.join('; ')}`);
});

t.run();
