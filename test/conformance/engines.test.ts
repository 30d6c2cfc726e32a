// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// Cross-engine conformance on a real model: stories260K int8, 16 positions of greedy
// decoding from BOS. Every engine (V8 SIMD and scalar, wasm-interp, wasm2c on x86-64,
// AArch64 and RISC-V, the Cortex-M image) must print exactly the hashes the compiler
// embedded, and those must be what the TypeScript integer reference computes afresh.
// A missing tool skips its engine with a note locally and fails in CI.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGINES } from '../../compiler/engines/index.ts';
import { expectedHashes, formatHash, readBundle } from '../../compiler/engines/engine.ts';
import { verifyEngine } from '../../compiler/cli/commands/verify.ts';
import { fnv1a64 } from '../../compiler/emit/conformance-hash.ts';
import { openModel } from '../../compiler/import/open-model.ts';
import { loadWeights } from '../../compiler/import/graph.ts';
import { quantizeInt8 } from '../../compiler/quantize/int8.ts';
import { IntTransformer } from '../../runtime/reference/model.ts';
import { restampManifest, stories260KBundle } from '../helpers/bundle.ts';
import { model } from '../helpers/models.ts';

const POSITIONS = 16;
const t = suite('conformance: engines');
let dir = '';
t.before(async () => { dir = await stories260KBundle('wasm32', POSITIONS); });

function skipOrFail(engine: string, reason: string): void {
  if (process.env.CI) assert.unreachable(`CI: engine ${engine} cannot run: ${reason}`);
  console.warn(`  (engine ${engine} skipped: ${reason})`);
}

t('the embedded hashes are the TypeScript integer reference\'s, recomputed from the checkpoint', () => {
  const b = readBundle(dir);
  const want = expectedHashes(b.contents);
  assert.is(want.length, POSITIONS);
  const it = new IntTransformer(quantizeInt8(loadWeights(openModel(model('stories260K.bin')))));
  const tokens = b.contents.conformance[0].tokens;
  for (let pos = 0; pos < POSITIONS; pos++) {
    const l = it.forward(tokens[pos], pos);
    assert.is(formatHash(fnv1a64(new Uint8Array(l.buffer, l.byteOffset, l.byteLength))), formatHash(want[pos].hash), `position ${pos}`);
    if (pos + 1 < POSITIONS) assert.is(tokens[pos + 1], it.argmax(l), `greedy token after position ${pos}`);
  }
});

const times: string[] = [];
for (const e of ENGINES) {
  t(`${e.name}: every position's hash equals the integer reference's`, async () => {
    const v = await verifyEngine(e, readBundle(dir), { timeoutMs: 300_000 });
    if (v.status === 'skipped') return skipOrFail(e.name, v.reason!);
    assert.is(v.status, 'pass', v.reason);
    assert.is(v.matched, POSITIONS);
    assert.is(v.selftestMismatches, 0);
    times.push(`${e.name} build ${v.buildMs} ms run ${v.runMs} ms`);
  });
}

t('a tampered weight byte: every engine reports a mismatch at position 0', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'edgeq-tamper-'));
  try {
    cpSync(dir, tmp, { recursive: true });
    const b = readBundle(tmp);
    // A byte of BOS's embedding row: position 0 starts from BOS, so its logits change.
    const emb = b.contents.tensors.find((x) => x.name === 'tok_embeddings')!;
    const dim = b.contents.config.dim;
    const at = emb.data.byteOffset + 1 * dim + 3;
    const bytes = new Uint8Array(readFileSync(join(tmp, 'model.edgeq')));
    bytes[at] ^= 0x55;
    writeFileSync(join(tmp, 'model.edgeq'), bytes);
    restampManifest(tmp); // past the integrity check, to the engines' hashes
    const tampered = readBundle(tmp);
    assert.is.not(createHash('sha256').update(tampered.artifact).digest('hex'), createHash('sha256').update(b.artifact).digest('hex'));
    for (const e of ENGINES) {
      const v = await verifyEngine(e, tampered, { timeoutMs: 300_000 });
      if (v.status === 'skipped') { skipOrFail(e.name, v.reason!); continue; }
      assert.is(v.status, 'fail', `${e.name}: ${v.status} ${v.reason ?? ''}`);
      assert.is(v.firstMismatch?.position, 0, e.name);
      assert.ok((v.selftestMismatches ?? 0) > 0, `${e.name}: the runtime's own selftest counted the mismatches`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

t.after(() => { if (times.length) console.log(`  engine times (stories260K, ${POSITIONS} positions): ${times.join('; ')}`); });
t.run();
