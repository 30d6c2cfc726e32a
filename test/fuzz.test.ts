// A short run of scripts/fuzz.ts (the long one is `npm run fuzz`, README "Safety"): ~2,000
// seeded mutations of real artifacts through each bundle's runtime.wasm (reserve + load, and
// one forward step when load accepts). Every case must end in an error code or a valid run:
// no trap, no host exception, no slow case, and a reused instance behaves like a fresh one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { arenaCase, defaultTargets, formatReport, fuzz, kblockTarget, layoutOf, lowbitTarget, MUTATORS, vqTarget, type FuzzTarget } from '../scripts/fuzz.ts';

let targets: FuzzTarget[] = [];

test('the structure-aware mutators find the fields they aim at', async () => {
  targets = await defaultTargets();
  assert.ok(targets.length >= 1);
  for (const t of targets) {
    const L = layoutOf(t.artifact);
    assert.ok(L.params.length > 50 && L.dims.length > 20 && L.refIndex.length > 100 && L.opKinds.length > 20, t.name);
    assert.ok(L.uoffsets.length > 100 && L.vecLens.length > 50 && L.data.length > 10, t.name);
    // Every located u32 lies outside the weights.
    for (const p of [...L.params, ...L.dims, ...L.uoffsets]) assert.not.ok(L.data.some(([a, b]) => p >= a && p < b), `${t.name}: ${p} inside tensor data`);
  }
});

test('an arena larger than the one the runtime was generated for is refused before memory grows', async () => {
  for (const t of targets) {
    // Near 2^31: the size that made load grow memory by 2 GiB (issue 18, item 5).
    const big = await arenaCase(t, 0x7fff0000);
    assert.is(big.outcome, 'rejected: out of memory', t.name);
    assert.is(big.grewBytes, 0, `${t.name}: memory grew by ${big.grewBytes} bytes before the refusal`);
    // One aligned step more than the program's own arena is already too much.
    const own = new DataView(t.artifact.buffer, t.artifact.byteOffset).getUint32(layoutOf(t.artifact).arena, true);
    assert.is((await arenaCase(t, own + 16)).outcome, 'rejected: out of memory', t.name);
    assert.is((await arenaCase(t, own)).outcome, 'accepted', t.name);
  }
});

test('2,000 seeded cases: clean error codes or valid runs, never a trap', async () => {
  const r = await fuzz(targets, { cases: 2000, seconds: 60, seed: 20261122, perInstance: 300, slowMs: 1000 });
  const text = formatReport(r);
  assert.is(r.cases, 2000, text);
  assert.equal(r.findings, [], text);
  assert.not.ok(r.outcomes.trap, text);
  assert.ok((r.outcomes['accepted, forward ok'] ?? 0) > 100, `some mutants still run: ${text}`);
  const rejectCodes = Object.keys(r.outcomes).filter((k) => k.startsWith('rejected: '));
  assert.ok(rejectCodes.length >= 10, `many different rejections: ${text}`);
  for (const code of ['out_of_bounds', 'bad_shape', 'bad_ref', 'bad program']) assert.ok(r.outcomes[`rejected: ${code}`], `${code} seen: ${text}`);
  for (const m of Object.keys(MUTATORS)) assert.ok(r.mutations[m] > 20, `mutation ${m} used: ${text}`);
  assert.ok(r.instances > targets.length, 'instances were re-created (each checked against the first one\'s baseline)');
  assert.ok(r.maxCaseMs < 1000, text);
});

/** A 600-case run of one synthetic target: clean error codes or valid runs, some mutants running. */
async function smallRun(t: FuzzTarget, seed: number): Promise<void> {
  const r = await fuzz([t], { cases: 600, seconds: 60, seed, perInstance: 200, slowMs: 1000 });
  const text = formatReport(r);
  assert.is(r.cases, 600, text);
  assert.equal(r.findings, [], text);
  assert.not.ok(r.outcomes.trap, text);
  assert.ok((r.outcomes['accepted, forward ok'] ?? 0) > 20, `some mutants still run: ${text}`);
  for (const code of ['out_of_bounds', 'bad_shape']) assert.ok(r.outcomes[`rejected: ${code}`], `${code} seen: ${text}`);
}

test('q5 / q6 artifacts (issue 15): 600 seeded cases end in clean error codes or valid runs', async () => {
  const t = await lowbitTarget();
  const dtypes = new TextDecoder('latin1').decode(t.artifact);
  assert.ok(dtypes.includes('blocks.1.wq.groups'), 'the target has grouped matrices');
  await smallRun(t, 20261205);
});

test('vq2 artifacts (issue 15 item 5): 600 seeded cases end in clean error codes or valid runs', async () => {
  const t = await vqTarget();
  assert.ok(new TextDecoder('latin1').decode(t.artifact).includes('blocks.1.wq.codebook'), 'the target has vq2 matrices');
  await smallRun(t, 20261207);
});

test('per-channel K blocks (k2v2,w4,kblock=2,anchors=2%): 600 seeded cases end in clean error codes or valid runs', async () => {
  await smallRun(await kblockTarget(), 20261206);
});

test('seeded: the same seed gives the same outcomes', async () => {
  const a = await fuzz(targets, { cases: 300, seconds: 60, seed: 5 });
  const b = await fuzz(targets, { cases: 300, seconds: 60, seed: 5 });
  assert.equal(a.outcomes, b.outcomes);
  assert.equal(a.mutations, b.mutations);
});

test.run();
