// The host side of model.edgeq: writer determinism, round trip, 16-byte data alignment,
// and readArtifact's errors (which file, which byte, what was expected).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as flatbuffers from 'flatbuffers';
import { Model } from '../schemas/generated/edgeq/fb/model.ts';
import { readArtifact, writeArtifact, DATA_ALIGN, FORMAT_VERSION } from '../compiler/emit/artifact.ts';
import type { ArtifactContents } from '../compiler/emit/artifact-contents.ts';
import { VERSION_VTABLE_SLOT } from '../compiler/emit/format.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { fixtureContents, seededBytes } from './helpers/artifact-fixture.ts';

const clone = (a: ArtifactContents): ArtifactContents => structuredClone(a);

function throwsEdgeq(fn: () => unknown, re: RegExp, offset?: number): EdgeqError {
  try { fn(); } catch (e) {
    assert.instance(e, EdgeqError, `expected EdgeqError, got ${e}`);
    const err = e as EdgeqError;
    assert.match(err.message, re);
    if (offset !== undefined) assert.is(err.offset, offset);
    return err;
  }
  throw new assert.Assertion({ message: `expected an EdgeqError matching ${re}`, operator: 'throws', generated: false, actual: '', expects: '' });
}

test('round trip: read(write(a)) equals a', () => {
  const a = fixtureContents();
  const back = readArtifact(writeArtifact(a), 'fixture.edgeq');
  // Compare data as plain arrays (the reader returns views into the buffer).
  const plain = (x: ArtifactContents) => JSON.parse(JSON.stringify(x, (_k, v) =>
    v instanceof Uint8Array ? [...v] : typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
  assert.equal(plain(back), plain(a));
});

test('deterministic: same contents, same bytes (fresh objects, repeated writes)', () => {
  const one = writeArtifact(fixtureContents());
  const two = writeArtifact(clone(fixtureContents()));
  const three = writeArtifact(fixtureContents());
  assert.ok(Buffer.from(one).equals(Buffer.from(two)) && Buffer.from(one).equals(Buffer.from(three)));
  assert.is(String.fromCharCode(...one.subarray(4, 8)), 'EDGQ');
  assert.is(one.length % DATA_ALIGN, 0);
  // A different input must change the bytes (the test above would pass for a constant writer).
  const other = fixtureContents();
  other.tensors[2].data[5] ^= 1;
  assert.not.ok(Buffer.from(writeArtifact(other)).equals(Buffer.from(one)));
});

test('every tensor data vector starts 16-byte aligned (many odd sizes)', () => {
  const a = fixtureContents();
  // Odd sizes and orders make the builder pad differently before each vector.
  for (let n = 1; n <= 40; n++) a.tensors.push({ name: `odd.${n}`, dtype: 'uint8', shape: [n], data: seededBytes(n, n) });
  a.tensors.push({ name: 'odd.i16', dtype: 'int16', shape: [3], data: seededBytes(6, 3) });
  const bytes = writeArtifact(a);
  const model = Model.getRootAsModel(new flatbuffers.ByteBuffer(bytes));
  assert.is(model.tensorsLength(), a.tensors.length);
  for (let i = 0; i < model.tensorsLength(); i++) {
    const view = model.tensors(i)!.dataArray()!;
    const start = view.byteOffset - bytes.byteOffset;
    assert.is(start % DATA_ALIGN, 0, `tensor ${i} data at byte ${start}`);
    assert.equal([...view], [...a.tensors[i].data]);
  }
  readArtifact(bytes); // and the reader agrees
});

test('writer refuses contents the device would reject', () => {
  const bad = (edit: (a: ArtifactContents) => void, re: RegExp) => {
    const a = fixtureContents();
    edit(a);
    throwsEdgeq(() => writeArtifact(a), re);
  };
  bad((a) => { a.tensors[2].data = a.tensors[2].data.subarray(1); }, /tensor 2 \(blocks\.0\.wq\): data is 255 bytes, int8 \[16,16\] needs 256/);
  bad((a) => { a.program.ops[1].inputs[1].index = 99; }, /op 1 .*input 1: no tensor 99/);
  bad((a) => { a.program.ops[1].outputs[0] = { kind: 'tensor', index: 0 }; }, /outputs must be arena slots/);
  bad((a) => { a.program.slots[2].offset = 240; }, /pass the arena's end/);
  bad((a) => { a.program.slots[1].offset = 8; }, /multiple of 16/);
  bad((a) => { a.tensors[0].shape = []; }, /1 to 8 dims/);
  bad((a) => { a.config.headSize = 4; }, /headSize 4 \* nHeads 2 != dim 16/);
  bad((a) => { a.conformance[0].outputHashes.pop(); }, /2 hashes for 3 positions/);
  bad((a) => { a.tokenizer!.pieces.pop(); }, /7 pieces, vocabSize is 8/);
  bad((a) => { a.metadata.sourceSha256 = new Uint8Array(31); }, /31 bytes, expected 32/);
  bad((a) => { a.tensors[2].quant!.multipliers!.pop(); }, /15 multipliers but 16 shifts/);
});

test('reader: short buffer, wrong identifier, adapter, wrong version name the file and byte', () => {
  throwsEdgeq(() => readArtifact(new Uint8Array(5), 'm.edgeq'), /^m\.edgeq at byte 0: too short .* 5 bytes, expected at least 8/, 0);
  const good = writeArtifact(fixtureContents());
  const wrong = good.slice();
  wrong.set([0x54, 0x46, 0x4c, 0x33], 4); // "TFL3"
  throwsEdgeq(() => readArtifact(wrong, 'm.edgeq'), /^m\.edgeq at byte 4: expected file identifier "EDGQ" at byte 4, found "TFL3"/, 4);
  const adapter = good.slice();
  adapter.set([0x45, 0x44, 0x51, 0x41], 4);
  throwsEdgeq(() => readArtifact(adapter, 'a.edqa'), /LoRA adapter/);

  const v2 = good.slice();
  const model = Model.getRootAsModel(new flatbuffers.ByteBuffer(v2));
  const at = model.bb_pos + model.bb!.__offset(model.bb_pos, VERSION_VTABLE_SLOT);
  new DataView(v2.buffer).setUint32(at, FORMAT_VERSION + 1, true);
  throwsEdgeq(() => readArtifact(v2, 'm.edgeq'), new RegExp(`at byte ${at}: format version ${FORMAT_VERSION + 1}, expected ${FORMAT_VERSION}`), at);
});

test('reader: truncations and corruptions give EdgeqErrors naming the file, never other errors', () => {
  const good = writeArtifact(fixtureContents());
  let rejected = 0;
  const attempt = (bytes: Uint8Array) => {
    try { readArtifact(bytes, 'c.edgeq'); } catch (e) {
      if (!(e instanceof EdgeqError)) throw e;
      assert.ok(e.message.startsWith('c.edgeq'), e.message);
      rejected++;
    }
  };
  for (let cut = 0; cut < good.length; cut += 7) attempt(good.subarray(0, cut));
  const rnd = seededBytes(3 * 400, 7);
  for (let i = 0; i < 400; i++) {
    const c = good.slice();
    // Mostly the small tables at the front, where offsets and lengths live.
    const pos = ((rnd[3 * i] << 8) | rnd[3 * i + 1]) % (i % 2 ? c.length : Math.min(c.length, 1024));
    c[pos] ^= rnd[3 * i + 2] || 0x80;
    attempt(c);
  }
  assert.ok(rejected > 100, `only ${rejected} corruptions were rejected`);
});

test.run();
