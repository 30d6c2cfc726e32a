// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// LoRA adapter files (compiler/emit/adapter.ts, schemas/adapter.fbs): round trip,
// deterministic bytes, a table of corrupted files and their messages, checks against the
// base model, and SIGKILL at random moments while saving (the file is always a whole
// adapter, the old or the new one).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as flatbuffers from 'flatbuffers';
import * as fbA from '../schemas/generated/edgeq/adapter.ts';
import * as fb from '../schemas/generated/edgeq/fb.ts';
import { adapterBytes, checkAdapterFor, readAdapter, writeAdapter } from '../compiler/emit/adapter.ts';
import type { AdapterState } from '../compiler/train/trainer.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { fixtureState, type FixtureShape } from './helpers/adapter-fixture.ts';
import { ROOT } from './helpers/models.ts';

const SMALL: FixtureShape = { dim: 32, kvDim: 16, nLayers: 2, rank: 4 };
const tmp = () => mkdtempSync(join(tmpdir(), 'edgeq-adapter-'));

/** What a read-back state must equal: rng words as uint32 (the file stores uint). */
const normalized = (s: AdapterState): AdapterState => ({ ...s, rngLo: s.rngLo >>> 0, rngHi: s.rngHi >>> 0 });

/**
 * An adapter serialized by hand from the schema's generated builder, with no validation,
 * so tests can write what the writer refuses. `dtype`/`dataBytes` override per tensor.
 */
function rawBytes(s: AdapterState, o: { version?: number; dtype?: number; dataBytes?: (i: number, d: Uint8Array) => Uint8Array; checksum?: 'none' | 'wrong' } = {}): Uint8Array {
  const b = new flatbuffers.Builder(1024);
  const tensors = s.tensors.map((t, i) => {
    let bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (o.dataBytes) bytes = o.dataBytes(i, bytes);
    b.startVector(1, bytes.length, 16);
    for (let j = bytes.length - 1; j >= 0; j--) b.addInt8(bytes[j]);
    const data = b.endVector();
    const name = b.createString(t.name);
    const shape = fb.Tensor.createShapeVector(b, t.shape);
    fb.Tensor.startTensor(b);
    fb.Tensor.addName(b, name);
    fb.Tensor.addDtype(b, o.dtype ?? fb.DType.int32);
    fb.Tensor.addShape(b, shape);
    fb.Tensor.addData(b, data);
    return fb.Tensor.endTensor(b);
  });
  const tv = fbA.Adapter.createTensorsVector(b, tensors);
  const targets = fbA.Adapter.createTargetsVector(b, s.targets.map((t) => b.createString(t)));
  const sha = fbA.Adapter.createBaseSha256Vector(b, s.baseSha256);
  fbA.Adapter.finishAdapterBuffer(b, fbA.Adapter.createAdapter(
    b, o.version ?? 1, sha, s.rank, tv, s.rPad, targets, s.seqLen, s.lr, s.lrM, s.lrE, s.momentumShift,
    s.gseG, s.gseM, BigInt(s.seed), s.step, s.rngLo >>> 0, s.rngHi >>> 0, o.checksum === 'none' ? 0n : 1n, // 0: the default, not written
  ));
  const bytes = b.asUint8Array().slice();
  return o.checksum === 'none' ? bytes : seal(bytes, o.checksum === 'wrong' ? 1n : 0n);
}

/**
 * Writes the checksum field of adapter `bytes` (xor `flip`): FNV-1a 64 (offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3), written here in BigInt from its definition,
 * over the file with the field's 8 bytes zero.
 */
function seal(bytes: Uint8Array, flip = 0n): Uint8Array {
  const a = fbA.Adapter.getRootAsAdapter(new flatbuffers.ByteBuffer(bytes));
  const at = a.bb_pos + a.bb!.__offset(a.bb_pos, 38);
  const zeroed = bytes.slice(); zeroed.fill(0, at, at + 8);
  let h = 0xcbf29ce484222325n;
  for (const x of zeroed) h = ((h ^ BigInt(x)) * 0x100000001b3n) & 0xffffffffffffffffn;
  new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(at, h ^ flip, true);
  return bytes;
}

function readError(bytes: Uint8Array): EdgeqError {
  const path = join(tmp(), 'bad.edqa');
  writeFileSync(path, bytes);
  try {
    readAdapter(path);
  } catch (e) {
    if (!(e instanceof EdgeqError)) throw e;
    assert.ok(e.message.startsWith(`${path} at byte `), `names the file and byte: ${e.message}`);
    assert.ok(e.offset !== undefined && e.offset >= 0 && e.offset <= bytes.length, `offset ${e.offset}`);
    return e;
  }
  return assert.unreachable('readAdapter accepted a corrupted file') as never;
}

test('round trip: write, read back, every field and tensor equal', () => {
  const s = fixtureState(SMALL, 5, 3);
  const path = join(tmp(), 'a.edqa');
  writeAdapter(path, s);
  assert.equal(readAdapter(path), normalized(s));
  // A 3-target, rank 32 adapter too (rPad = rank: no padding).
  const s2 = fixtureState({ dim: 48, kvDim: 48, nLayers: 3, rank: 32, targets: ['wq', 'wk', 'wv'] }, 0, 2);
  writeAdapter(path, s2);
  assert.equal(readAdapter(path), normalized(s2));
});

test('bytes: deterministic, independent of tensor order, as the schema builder lays them out', () => {
  const s = fixtureState(SMALL, 1);
  const a = adapterBytes(s);
  assert.equal(adapterBytes(fixtureState(SMALL, 1)), a);
  assert.equal(adapterBytes({ ...s, tensors: [...s.tensors].reverse() }), a, 'tensor order of the state does not matter');
  assert.is(String.fromCharCode(...a.subarray(4, 8)), 'EDQA');
  assert.equal(rawBytes(s), a, 'the writer emits exactly the generated builder\'s layout, nothing else');
  // Every tensor's data is 16-byte aligned in the file: find each blob.
  const buf = Buffer.from(a);
  for (const t of s.tensors) {
    const at = buf.indexOf(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    assert.ok(at > 0 && at % 16 === 0, `${t.name} data at byte ${at}`);
  }
});

test('the writer refuses an invalid state and leaves nothing behind', () => {
  const dir = tmp();
  const s = fixtureState(SMALL);
  s.tensors[0].data[4 * 32] = 9; // lora_a row 4 (>= rank 4) is padding
  assert.throws(() => writeAdapter(join(dir, 'a.edqa'), s), /padding beyond rank 4, found 9 at \[4, 0\]/);
  assert.equal(readdirSync(dir), []);
});

// Each row: what is wrong, how to make it, the message expected.
const good = () => fixtureState(SMALL);
const CORRUPT: Array<[string, () => Uint8Array, RegExp]> = [
  ['truncated to half', () => adapterBytes(good()).slice(0, 3000), /adapter checksum mismatch: .*damaged, truncated or was edited/],
  ['6 bytes', () => adapterBytes(good()).slice(0, 6), /too short for an edgeq adapter: 6 bytes, expected at least 8/],
  ['a model artifact', () => { const b = adapterBytes(good()); b.set([0x45, 0x44, 0x47, 0x51], 4); return b; }, /found "EDGQ" \(this is a model artifact/],
  ['wrong identifier', () => { const b = adapterBytes(good()); b.set([0x58, 0x58, 0x58, 0x58], 4); return b; }, /expected file identifier "EDQA" at byte 4, found "XXXX"/],
  ['unknown version', () => rawBytes(good(), { version: 2 }), /adapter format version 2, expected 1/],
  ['version missing', () => rawBytes(good(), { version: 0 }), /adapter format version 0 \(field missing\), expected 1/],
  ['short sha256', () => rawBytes({ ...good(), baseSha256: new Uint8Array(31) }), /base_sha256: expected 32 bytes \(a SHA-256\), found 31/],
  ['r_pad not rank rounded up', () => rawBytes({ ...good(), rPad: 32 }), /r_pad: expected the rank 4 rounded up to a multiple of 16 \(16\), found 32/],
  ['unknown target', () => { const s = good(); return rawBytes({ ...s, targets: ['wq', 'wz'] }); }, /targets: entry 1 "wz" is not one of wq, wk/],
  ['renamed tensor', () => { const s = good(); s.tensors[2].name = 'blocks.0.wq.lora_x'; return rawBytes(s); }, /tensor 2: expected the name "blocks.0.wq.lora_b", found "blocks.0.wq.lora_x"/],
  ['a momentum missing', () => { const s = good(); s.tensors.pop(); return rawBytes(s); }, /tensors: expected 4 tensors per target .* a multiple of 8 for 2 target\(s\), found 15/],
  ['A with rank rows, not r_pad', () => {
    const s = good(); s.tensors[0] = { ...s.tensors[0], shape: [4, 32], data: s.tensors[0].data.slice(0, 128) }; return rawBytes(s);
  }, /tensor 0: "blocks.0.wq.lora_a": expected 16 \(r_pad\) rows \[r_pad, din\], found shape \[4, 32\]/],
  ['block 1 B of another width', () => {
    const s = good(); const i = s.tensors.findIndex((t) => t.name === 'blocks.1.wv.lora_b');
    s.tensors[i] = { ...s.tensors[i], shape: [32, 16], data: new Int32Array(512) }; return rawBytes(s);
  }, /"blocks.1.wv.lora_b": expected shape \[16, 16\] like block 0's wv lora_b, found \[32, 16\]/],
  ['int8 dtype', () => rawBytes(good(), { dtype: fb.DType.int8 }), /tensor 0 "blocks.0.wq.lora_a": expected dtype int32, found int8/],
  ['data shorter than the shape', () => rawBytes(good(), { dataBytes: (i, d) => (i === 1 ? d.subarray(0, d.length - 4) : d) }),
    /tensor 1 "blocks.0.wq.lora_a.momentum": expected 2048 bytes of int32 data for shape \[16, 32\], found 2044/],
  ['non-zero padding in B', () => { const s = good(); s.tensors[2].data[4] = -5; return rawBytes(s); },
    /tensor 2: "blocks.0.wq.lora_b": expected 0 in the padding beyond rank 4, found -5 at \[0, 4\]/],
  ['no checksum field', () => rawBytes(good(), { checksum: 'none' }), /no checksum field: it was written before edgeq stored adapter checksums; retrain it/],
  ['checksum off by one bit', () => rawBytes(good(), { checksum: 'wrong' }), /adapter checksum mismatch: the file says fnv1a64 [0-9a-f]{16}, its bytes give [0-9a-f]{16}: the file is damaged, truncated or was edited/],
  ['rng state 0', () => rawBytes({ ...good(), rngLo: 0, rngHi: 0 }), /rng_lo: the xorshift64\* state is 0/],
  ['negative lr', () => rawBytes({ ...good(), lr: -1 }), /lr: expected a positive number, found -1/],
  ['data length word past the end', () => {
    const s = good(); const b = rawBytes(s);
    // Find the last tensor's blob and make its length word (just before the data) huge.
    const first = Buffer.from(b).indexOf(Buffer.from(s.tensors[s.tensors.length - 1].data.buffer));
    new DataView(b.buffer).setUint32(first - 4, 0x7ffffff0, true);
    return seal(b); // a consistent checksum: the structural check must catch it by itself
  }, /corrupt adapter: .*pass the end of the file|outside the file/],
];

for (const [what, make, want] of CORRUPT) {
  test(`corrupt file: ${what}`, () => {
    const e = readError(make());
    assert.match(e.message, want);
  });
}

test('every one-bit flip anywhere in an adapter is refused (the checksum, or an earlier check)', () => {
  const a = adapterBytes(fixtureState(SMALL, 2));
  const path = join(tmp(), 'flip.edqa');
  let checksum = 0;
  for (let bit = 0; bit < a.length * 8; bit += 7) { // every 7th bit: all bytes, every bit position
    const b = a.slice();
    b[bit >> 3] ^= 1 << (bit & 7);
    writeFileSync(path, b);
    try {
      readAdapter(path);
      assert.unreachable(`a flip of bit ${bit & 7} of byte ${bit >> 3} was accepted`);
    } catch (e) {
      if (!(e instanceof EdgeqError)) throw e;
      if (/checksum mismatch/.test(e.message)) checksum++;
    }
  }
  assert.ok(checksum > (a.length * 8 / 7) * 0.9, `most flips are caught by the checksum (${checksum})`);
});

test('field errors point at the field: r_pad and version offsets hold the bad values', () => {
  const b1 = rawBytes({ ...good(), rPad: 32 });
  assert.is(new DataView(b1.buffer).getUint32(readError(b1).offset!, true), 32);
  const b2 = rawBytes(good(), { version: 7 });
  assert.is(new DataView(b2.buffer).getUint32(readError(b2).offset!, true), 7);
});

test('missing file and a directory: EdgeqError naming the path', () => {
  const dir = tmp();
  assert.throws(() => readAdapter(join(dir, 'none.edqa')), (e: Error) => e instanceof EdgeqError && /none\.edqa: no such file or directory \(expected an adapter file/.test(e.message));
  assert.throws(() => readAdapter(dir), (e: Error) => e instanceof EdgeqError && /is a directory/.test(e.message));
});

test('checkAdapterFor: refuses another base (both hashes named) and other shapes; accepts its own', () => {
  const s = good();
  const params = { dim: 32, hiddenDim: 96, nLayers: 2, nHeads: 4, nKvHeads: 2 }; // kvDim 16
  const own = Buffer.from(s.baseSha256).toString('hex');
  checkAdapterFor(s, s.baseSha256, params);
  checkAdapterFor(s, own.toUpperCase(), params);
  const other = 'ab'.repeat(32);
  try {
    checkAdapterFor(s, other, params, { adapter: 'x.edqa', base: 'b/model.edgeq' });
    assert.unreachable('accepted another base');
  } catch (e) {
    assert.instance(e, EdgeqError);
    const m = (e as Error).message;
    assert.ok(m.startsWith('x.edqa: ') && m.includes(own) && m.includes(other) && m.includes('b/model.edgeq'), m);
  }
  assert.throws(() => checkAdapterFor(s, own, { ...params, nLayers: 3 }), /adapter has 2 blocks, expected 3/);
  assert.throws(() => checkAdapterFor(s, own, { ...params, nKvHeads: 4 }), /"blocks.0.wv.lora_b" has shape \[16, 16\], expected \[32, 16\]/);
});

// A child saves ~8 MB adapters in a loop (alternating contents, step = save count) and
// is SIGKILLed at a random moment, many times. After each kill the target must read
// back whole and equal the fixture of some step the child could have saved; nothing but
// the killed child's temporary file may be next to it, and the next save removes that.
test('SIGKILL at random moments during saves: always a whole adapter, old or new', async () => {
  const dir = tmp();
  const target = join(dir, 'big.edqa');
  const BIG: FixtureShape = { dim: 1024, kvDim: 256, nLayers: 8, rank: 32 };
  writeAdapter(target, fixtureState(BIG, 0));
  const KILLS = 16;
  let midWrite = 0;
  let lastStep = 0;
  const pids: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    const first = lastStep + 1;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', `
      import { writeAdapter } from './compiler/emit/adapter.ts';
      import { fixtureState } from './test/helpers/adapter-fixture.ts';
      const shape = ${JSON.stringify(BIG)};
      process.stdout.write('ready\\n');
      for (let step = ${first}; ; step++) { writeAdapter(${JSON.stringify(target)}, fixtureState(shape, step)); process.stdout.write('saved ' + step + '\\n'); }
    `], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => { out += d; });
    const exited = new Promise((r) => child.on('exit', r));
    for (let i = 0; i < 600 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(out.includes('ready'), 'the child did not start');
    if (k % 2 === 0) {
      await new Promise((r) => setTimeout(r, Math.random() * 400)); // anywhere in the loop
    } else {
      // Inside a write: once a temporary file exists, after a random 0-10 ms.
      for (let i = 0; i < 3000 && !readdirSync(dir).some((f) => f.startsWith(`.big.edqa.${child.pid}.`)); i++) {
        await new Promise((r) => setTimeout(r, 1));
      }
      await new Promise((r) => setTimeout(r, Math.random() * 10));
    }
    const tmpNow = readdirSync(dir).some((f) => f.endsWith('.tmp'));
    child.kill('SIGKILL');
    await exited;
    const saved = [...out.matchAll(/saved (\d+)/g)].map((m) => Number(m[1]));
    const reported = saved.length ? saved[saved.length - 1] : lastStep;
    const s = readAdapter(target);
    // The save in flight may have renamed before it could report.
    assert.ok(s.step === reported || s.step === reported + 1 && s.step >= first, `kill ${k}: step ${s.step}, last reported ${reported}`);
    assert.equal(s, normalized(fixtureState(BIG, s.step)), `kill ${k}: contents of step ${s.step}`);
    // At most one temporary file per killed child (a child's first save removes those of
    // earlier children, unless it is killed before that save ends).
    pids.push(child.pid!);
    const others = readdirSync(dir).filter((f) => f !== 'big.edqa');
    const owner = (f: string) => pids.find((p) => f.startsWith(`.big.edqa.${p}.`) && f.endsWith('.tmp'));
    assert.ok(others.every((f) => owner(f) !== undefined) && new Set(others.map(owner)).size === others.length,
      `kill ${k}: unexpected files ${others.join(', ')}`);
    if (tmpNow && others.some((f) => owner(f) === child.pid)) midWrite++;
    lastStep = s.step;
  }
  assert.ok(midWrite >= KILLS / 4, `only ${midWrite} kills landed during a write (${KILLS} kills): the test did not exercise the crash`);
  writeAdapter(target, fixtureState(BIG, 999));
  assert.equal(readdirSync(dir), ['big.edqa'], 'a later save removes temporary files of killed saves');
  assert.is(readAdapter(target).step, 999);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
