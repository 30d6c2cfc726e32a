// A short run of scripts/fuzz.ts (the long one is `npm run fuzz`, README "Safety"): ~2,000
// seeded mutations of real artifacts through each bundle's runtime.wasm (reserve + load, and
// one forward step when load accepts). Every case must end in an error code or a valid run:
// no trap, no host exception, no slow case, and a reused instance behaves like a fresh one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as flatbuffers from 'flatbuffers';
import { arenaCase, caseOutcome, defaultTargets, formatReport, fuzz, kblockTarget, layoutOf, lowbitTarget, MUTATORS, vqTarget, type FuzzTarget } from '../scripts/fuzz.ts';
import { Model } from '../schemas/generated/edgeq/fb/model.ts';
import { OpKind } from '../schemas/generated/edgeq/fb/op-kind.ts';

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

/** Byte positions, in `a`, of the fields a padded LUT matrix's checks read (blocks.0.w2 and its ops). */
function paddedFields(a: Uint8Array) {
  const m = Model.getRootAsModel(new flatbuffers.ByteBuffer(a));
  const tensors = Array.from({ length: m.tensorsLength() }, (_, i) => m.tensors(i)!);
  const w2 = tensors.find((t) => t.name() === 'blocks.0.w2')!;
  const q = w2.quant()!;
  const u32At = (table: { bb: flatbuffers.ByteBuffer | null; bb_pos: number }, vtableOffset: number) => {
    const off = table.bb!.__offset(table.bb_pos, vtableOffset);
    assert.ok(off, 'field present');
    return table.bb_pos + off;
  };
  const p = m.program()!;
  const ops = Array.from({ length: p.opsLength() }, (_, i) => p.ops(i)!);
  const paramsAt = (kind: OpKind, name: string) => {
    const o = ops.find((x) => x.kind() === kind && x.name() === name)!;
    const arr = o.paramsArray()!;
    return { at: arr.byteOffset - a.byteOffset, values: [...arr] };
  };
  const shape = w2.shapeArray()!;
  return {
    dtype: w2.dtype(),
    groupSize: u32At(q, 10), // Quant.group_size: field 3
    cols: shape.byteOffset - a.byteOffset + 4, // shape [64, 172]: the second dim
    tables: paramsAt(OpKind.lut_tables, 'blocks.0.hq.lut'),
    gemv: paramsAt(OpKind.gemv_lut, 'blocks.0.w2'),
  };
}

test('a padded LUT matrix (w2, 172 inputs at g32: 192 stored) mutated in its group size, shape or op params is refused cleanly', async () => {
  const t = await lowbitTarget();
  const f = paddedFields(t.artifact);
  const view = new DataView(t.artifact.buffer, t.artifact.byteOffset, t.artifact.byteLength);
  assert.is(view.getUint32(f.groupSize, true), 32);
  assert.is(view.getUint32(f.cols, true), 172);
  assert.equal(f.tables.values, [172, 192], 'lut_tables n, nPad');
  assert.equal(f.gemv.values.slice(0, 2), [192, 64], 'gemv_lut n (padded), d');
  assert.is(await caseOutcome(t, t.artifact), 'accepted, forward ok');
  const mutant = (at: number, v: number) => { const b = t.artifact.slice(); new DataView(b.buffer).setUint32(at, v >>> 0, true); return b; };
  const cases: Array<[string, Uint8Array, string]> = [
    // The size rule reads the group size: one that pads differently no longer matches the
    // bytes, one the format does not take is refused. (64 pads 172 to 192 too: the same
    // bytes, and the kernel takes G from the op's params, so that mutant runs as before.)
    ['group size 64 (192 columns, as 32)', mutant(f.groupSize, 64), 'accepted, forward ok'],
    ['group size 0 (no padding: 176 columns)', mutant(f.groupSize, 0), 'rejected: size_mismatch'],
    ['group size 128 (no group size of q5)', mutant(f.groupSize, 128), 'rejected: bad_quant'],
    ['group size 8 (no group size of q5)', mutant(f.groupSize, 8), 'rejected: bad_quant'],
    ['group size 2^31', mutant(f.groupSize, 2 ** 31), 'rejected: bad_quant'],
    ['cols 160', mutant(f.cols, 160), 'rejected: size_mismatch'],
    ['cols 200', mutant(f.cols, 200), 'rejected: size_mismatch'],
    ['cols 2^32 - 1', mutant(f.cols, 2 ** 32 - 1), 'rejected: bad_shape'],
  ];
  for (const [what, bytes, want] of cases) assert.is(await caseOutcome(t, bytes), want, what);
  // The ops' params: every change is refused by the op checks at load (none reaches a kernel).
  const opCases: Array<[string, Uint8Array]> = [
    ['lut_tables nPad 160 (< n)', mutant(f.tables.at + 4, 160)],
    ['lut_tables nPad 224 (not the table slot\'s size)', mutant(f.tables.at + 4, 224)],
    ['lut_tables nPad 200 (not a multiple of 32)', mutant(f.tables.at + 4, 200)],
    ['lut_tables nPad 2^31 - 32', mutant(f.tables.at + 4, 2 ** 31 - 32)],
    ['lut_tables nPad -32', mutant(f.tables.at + 4, -32)],
    ['lut_tables n 173 (past x)', mutant(f.tables.at, 173)],
    ['lut_tables n 192 (x has 172)', mutant(f.tables.at, 192)],
    ['gemv_lut n 172 (not whole groups)', mutant(f.gemv.at, 172)],
    ['gemv_lut n 160', mutant(f.gemv.at, 160)],
    ['gemv_lut n 224', mutant(f.gemv.at, 224)],
  ];
  for (const [what, bytes] of opCases) {
    const got = await caseOutcome(t, bytes);
    assert.ok(got.startsWith('rejected: '), `${what}: ${got}`);
  }
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
