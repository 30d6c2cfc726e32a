// The device verifier (runtime/assembly/verify.ts), compiled with compiler/codegen/asc.ts
// and run in V8: it accepts a valid artifact and returns the right VerifyError code --
// never a trap -- for truncated, foreign, future, corrupted and inconsistent files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as flatbuffers from 'flatbuffers';
import { Model } from '../schemas/generated/edgeq/fb/model.ts';
import { VerifyError, verifyErrorMessage, VERIFY_ERROR_MESSAGES } from '../compiler/emit/verify-errors.ts';
import { readArtifact, writeArtifact } from '../compiler/emit/artifact.ts';
import { DTYPE_NAMES, DType, tensorBytes } from '../compiler/emit/dtype.ts';
import { LIMITS } from '../compiler/emit/limits.ts';
import { formatNamed } from '../compiler/quantize/formats/registry.ts';
import { fnv1a64 } from '../compiler/emit/conformance-hash.ts';
import { findFloats } from '../compiler/codegen/float-check.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { asSchemaConstants, compileVerifier, fixtureContents, seededBytes, verifier } from './helpers/artifact-fixture.ts';

const S = asSchemaConstants();
const good = writeArtifact(fixtureContents());
const code = (name: keyof typeof VerifyError) => VerifyError[name];
const name = (c: number) => `${c} (${verifyErrorMessage(c)})`;

function expectCode(got: number, want: keyof typeof VerifyError, what: string) {
  assert.is(name(got), name(code(want)), what);
}

// Offsets inside `bytes` of the things the tests patch, found with the generated reader.
function locate(bytes: Uint8Array) {
  const bb = new flatbuffers.ByteBuffer(bytes);
  const model = Model.getRootAsModel(bb);
  const field = (table: number, slot: number) => table + bb.__offset(table, slot);
  const tensor = (i: number) => model.tensors(i)!;
  return {
    version: field(model.bb_pos, S.ModelVT.formatVersion),
    /** Position of the u32 dims of tensor i. */
    dims: (i: number) => tensor(i).shapeArray()!.byteOffset - bytes.byteOffset,
    /** Position of tensor i's data (the length word is 4 bytes before). */
    data: (i: number) => tensor(i).dataArray()!.byteOffset - bytes.byteOffset,
    /** Position of tensor i's uoffset to its data vector. */
    dataField: (i: number) => field(tensor(i).bb_pos, S.TensorVT.data),
    tensorIndex: (n: string) => Array.from({ length: model.tensorsLength() }, (_, i) => tensor(i).name()).indexOf(n),
    /** Position of the index of input j of op i (a Ref struct). */
    opInputIndex: (i: number, j: number) => model.program()!.ops(i)!.inputs(j)!.bb_pos + S.RefLayout.index,
  };
}

function patchU32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const c = bytes.slice();
  new DataView(c.buffer).setUint32(at, value >>> 0, true);
  return c;
}

test('a valid artifact verifies (ok), at any 16-byte aligned address', async () => {
  const v = await verifier(good.length + 64);
  expectCode(v.run(good), 'ok', 'fixture');
  expectCode(v.run(good, v.ptr + 32), 'ok', 'fixture at +32');
  expectCode(v.run(good, v.ptr + 4), 'base_misaligned', 'fixture at +4');
});

test('truncated: every cut is too_small or out_of_bounds', async () => {
  const v = await verifier(good.length);
  for (let cut = 0; cut < good.length; cut++) {
    expectCode(v.run(good.subarray(0, cut)), cut < 8 ? 'too_small' : 'out_of_bounds', `cut at ${cut}`);
  }
});

test('wrong identifier, wrong version', async () => {
  const v = await verifier(good.length);
  const ident = good.slice();
  ident.set([0x45, 0x44, 0x51, 0x41], 4); // an adapter's "EDQA"
  expectCode(v.run(ident), 'bad_identifier', 'EDQA');
  const at = locate(good).version;
  expectCode(v.run(patchU32(good, at, 2)), 'bad_version', 'version 2');
  expectCode(v.run(patchU32(good, at, 0)), 'bad_version', 'version 0');
  assert.is(v.ex.errorOffset(), new DataView(good.buffer).getUint32(0, true), 'error at the root table');
});

test('tensor data pointing out of bounds', async () => {
  const v = await verifier(good.length);
  const loc = locate(good);
  const t0 = loc.tensorIndex('tok_embeddings');
  expectCode(v.run(patchU32(good, loc.data(t0) - 4, 0x7fffffff)), 'out_of_bounds', 'huge data length');
  expectCode(v.run(patchU32(good, loc.data(t0) - 4, 0xffffffff)), 'out_of_bounds', 'length 2^32-1');
  const f = loc.dataField(t0);
  expectCode(v.run(patchU32(good, f, good.length - f + 64)), 'out_of_bounds', 'uoffset past the end');
  expectCode(v.run(patchU32(good, f, 0xfffffffc)), 'out_of_bounds', 'uoffset wrapping around');
});

test('misaligned tensor data', async () => {
  // Move the uint8 [5] tensor's vector 4 bytes later: new length word where its data
  // began, data at +4 (inside its own bytes and padding), so only the alignment is wrong.
  const loc = locate(good);
  const i = loc.tensorIndex('bytes');
  const a = loc.data(i);
  let bad = patchU32(good, a, 5);
  const f = loc.dataField(i);
  bad = patchU32(bad, f, new DataView(good.buffer).getUint32(f, true) + 4);
  const v = await verifier(good.length);
  expectCode(v.run(bad), 'data_misaligned', 'data at 4 mod 16');
  assert.is(v.ex.errorOffset(), a + 4);
  try { readArtifact(bad, 'x.edgeq'); assert.unreachable('host reader accepted misaligned data'); } catch (e) {
    assert.instance(e, EdgeqError);
    assert.match((e as Error).message, /expected a multiple of 16/);
  }
});

test('shape/size mismatch, bad shape, bad operand reference', async () => {
  const v = await verifier(good.length);
  const loc = locate(good);
  const wq = loc.tensorIndex('blocks.0.wq');
  expectCode(v.run(patchU32(good, loc.dims(wq) + 4, 15)), 'size_mismatch', '[16,15] with 256 bytes');
  expectCode(v.run(patchU32(good, loc.dims(wq) + 4, 0)), 'bad_shape', 'zero dim');
  expectCode(v.run(patchU32(good, loc.dims(wq), 0x10000)), 'size_mismatch', 'rows 65536');
  expectCode(v.run(patchU32(good, loc.dims(wq), 0xffffffff)), 'bad_shape', 'more than 2^32 elements');
  expectCode(v.run(patchU32(good, loc.opInputIndex(1, 1), 99)), 'bad_ref', 'op 1 reads tensor 99');
  expectCode(v.run(patchU32(good, loc.opInputIndex(0, 1), 2)), 'bad_ref', 'input 2 does not exist');
});

test('fuzz: a few hundred seeded corruptions and truncations never trap; host and device agree', async () => {
  const v = await verifier(good.length);
  const rnd = seededBytes(4 * 600, 2024);
  const seen = new Map<string, number>();
  let disagreements = 0;
  for (let i = 0; i < 600; i++) {
    let c = good.slice();
    const r = (k: number) => rnd[4 * i + k];
    if (i % 5 === 4) {
      c = c.subarray(0, ((r(0) << 8) | r(1)) % c.length);
    } else {
      // Half the flips hit the first KiB (tables, vtables, offsets), half anywhere.
      const pos = ((r(0) << 8) | r(1)) % (i % 2 ? c.length : Math.min(1024, c.length));
      c[pos] ^= r(2) || 0x80;
      if (r(3) < 64) c[(pos + 1) % c.length] ^= r(3) | 1; // sometimes a second byte
    }
    let got: number;
    try { got = v.run(c); } catch (e) { throw new Error(`case ${i}: the verifier trapped: ${e}`); }
    assert.ok(got >= 0 && got <= VerifyError.bad_length, `case ${i}: code ${got}`);
    const key = VerifyError[got];
    seen.set(key, (seen.get(key) ?? 0) + 1);
    // The host reader applies the same rules: both accept or both reject.
    let hostOk = true;
    let hostErr = '';
    try { readArtifact(c); } catch (e) { if (!(e instanceof EdgeqError)) throw e; hostOk = false; hostErr = e.message; }
    if (hostOk !== (got === VerifyError.ok)) {
      disagreements++;
      console.error(`case ${i}: device ${name(got)} at ${v.ex.errorOffset()}, host ${hostOk ? 'accepts' : `rejects: ${hostErr}`}`);
    }
  }
  assert.is(disagreements, 0);
  assert.ok((seen.get('out_of_bounds') ?? 0) > 50 && seen.size >= 5, `codes seen: ${JSON.stringify([...seen])}`);
});

test('the in-place reader (flatbuffer.ts) reads, without copying, what the host wrote', async () => {
  const a = fixtureContents();
  const v = await verifier(good.length);
  expectCode(v.run(good), 'ok', 'fixture');
  const ex = v.ex as unknown as Record<string, (...args: number[]) => number>;
  const base = v.ptr;
  const mem = () => new Uint8Array(v.ex.memory.buffer);
  assert.is(ex.configU32(base, S.ModelConfigVT.dim), a.config.dim);
  assert.is(ex.configU32(base, S.ModelConfigVT.vocabSize), a.config.vocabSize);
  assert.is(ex.sharedClassifier(base), 1);
  assert.is(ex.tensorCount(base), a.tensors.length);
  a.tensors.forEach((t, i) => {
    const tp = ex.tensorAt(base, i);
    const data = ex.tensorData(tp);
    assert.is(data % 16, 0, `tensor ${i} data aligned in memory`);
    assert.ok(data > base && data + t.data.length <= base + good.length, `tensor ${i} data inside the artifact`);
    assert.equal([...mem().subarray(data, data + ex.tensorDataLen(tp))], [...t.data], t.name);
    assert.is(ex.tensorDType(tp), DType[t.dtype]);
    assert.equal(Array.from({ length: ex.tensorRank(tp) }, (_, j) => ex.tensorDim(tp, j)), t.shape);
    const q = ex.tensorQuant(tp);
    assert.is(q !== 0, t.quant !== undefined);
    assert.is(ex.quantScalesTensor(q), t.quant?.scalesTensor ?? -1);
    assert.is(ex.quantZeroPoint(q), t.quant?.zeroPoint ?? 0);
    const m = ex.quantMultipliers(q);
    assert.equal(Array.from({ length: ex.vecLen(m) }, (_, j) => ex.vecI32(m, j)), t.quant?.multipliers ?? []);
  });
  assert.is(ex.arenaSize(base), a.program.arenaSize);
  assert.is(ex.slotCount(base), a.program.slots.length);
  a.program.slots.forEach((s, i) => {
    const sp = ex.slotAt(base, i);
    assert.equal([ex.slotDType(sp), ex.slotOffset(sp), ex.slotSize(sp)], [DType[s.dtype], s.offset, s.size]);
  });
  const kinds = { tensor: 1, slot: 2, input: 3 } as const;
  assert.is(ex.opCount(base), a.program.ops.length);
  a.program.ops.forEach((op, i) => {
    const o = ex.opAt(base, i);
    assert.is(ex.opKind(o), S.OpKind[op.kind]);
    const ins = Array.from({ length: ex.opInputCount(o) }, (_, j) => [ex.refKind(ex.opInput(o, j)), ex.refIndex(ex.opInput(o, j))]);
    assert.equal(ins, op.inputs.map((r) => [kinds[r.kind], r.index]));
    const outs = Array.from({ length: ex.opOutputCount(o) }, (_, j) => [ex.refKind(ex.opOutput(o, j)), ex.refIndex(ex.opOutput(o, j))]);
    assert.equal(outs, op.outputs.map((r) => [kinds[r.kind], r.index]));
    assert.equal(Array.from({ length: ex.opParamCount(o) }, (_, j) => ex.opParam(o, j)), op.params);
  });
  assert.is(ex.programOutputCount(base), 1);
  assert.is(ex.refIndex(ex.programOutput(base, 0)), a.program.outputs[0].index);
  const piece = ex.tokenPiece(base, 6);
  assert.is(new TextDecoder().decode(mem().subarray(piece + 4, piece + 4 + ex.vecLen(piece))), ' the');
  assert.is(ex.conformanceCount(base), a.conformance.length);
  const c0 = ex.conformanceAt(base, 0);
  assert.is(ex.casePositions(c0), a.conformance[0].positions);
  const hash = ex.caseHash as unknown as (c: number, p: number) => bigint;
  assert.equal([0, 1, 2].map((p) => [ex.caseToken(c0, p), BigInt.asUintN(64, hash(c0, p))]),
    [0, 1, 2].map((p) => [a.conformance[0].tokens[p], a.conformance[0].outputHashes[p]]));
});

test('limits, dtype sizes and the hash agree between the device and the host', async () => {
  const v = await verifier(1024);
  for (const [k, want] of Object.entries(LIMITS)) {
    const g = v.ex[k] as WebAssembly.Global | undefined;
    assert.ok(g, `verify-entry exports ${k}`);
    assert.is(g.value >>> 0, want, k);
  }
  const mem = () => new DataView(v.ex.memory.buffer);
  const shapes = [[1], [7], [8], [9], [16, 13], [3, 5, 9], [2, 1, 1, 17], [4096, 4096]];
  for (const dt of DTYPE_NAMES) {
    for (const shape of shapes) {
      shape.forEach((d, i) => mem().setUint32(v.ptr + 4 * i, d, true));
      // A group size pads a LUT format's columns (and nothing else's): host and device alike.
      for (const gs of [0, ...(formatNamed(dt)?.groupSizes ?? [])]) {
        assert.is(Number(v.ex.dtypeBytes(DType[dt], v.ptr, shape.length, gs)), tensorBytes(dt, shape, gs), `${dt} [${shape}] g${gs}`);
      }
    }
  }
  assert.is(Number(v.ex.dtypeBytes(0, v.ptr, 1, 0)), -1, 'invalid dtype');
  assert.is(Number(v.ex.dtypeBytes(99, v.ptr, 1, 0)), -1, 'unknown dtype');
  const data = seededBytes(333, 5);
  new Uint8Array(v.ex.memory.buffer, v.ptr, data.length).set(data);
  assert.is(BigInt.asUintN(64, v.ex.fnv1a64(v.ptr, data.length)), fnv1a64(data));
  // Published FNV-1a 64 vectors, and the definition itself in BigInt arithmetic.
  assert.is(fnv1a64(new Uint8Array(0)), 0xcbf29ce484222325n);
  assert.is(fnv1a64(new TextEncoder().encode('a')), 0xaf63dc4c8601ec8cn);
  assert.is(fnv1a64(new TextEncoder().encode('foobar')), 0x85944171f73967e8n);
  let h = 0xcbf29ce484222325n;
  for (const b of data) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  assert.is(fnv1a64(data), h);
});

test('error codes: one table in the schema, generated for the device, a message for each', () => {
  assert.equal(S.VerifyError, Object.fromEntries(Object.entries(VerifyError).filter(([k]) => Number.isNaN(Number(k)))));
  for (const k of Object.keys(VERIFY_ERROR_MESSAGES)) assert.ok(k in VerifyError, k);
  assert.match(verifyErrorMessage(4), /^bad_version: /);
});

test('the verifier module is integer-only and imports nothing', async () => {
  const wasm = await compileVerifier();
  assert.equal(findFloats(wasm), []);
  assert.equal(WebAssembly.Module.imports(new WebAssembly.Module(wasm)), []);
});

test.run();
