// The generated AssemblyScript int8 runtime in V8 against the integer reference: logits
// byte-identical at every one of the first 64 positions (stories260K on the SIMD and the
// scalar build, babyllama936K scalar, a synthetic stories15M-shape model SIMD), embedded
// conformance vectors, integer-only modules, the decoder and the sampler, and error codes
// for corrupted artifacts and bad calls -- never a trap.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as flatbuffers from 'flatbuffers';
import { haveModels, model } from './helpers/models.ts';
import { built, instantiate, loadCode, raw, type Built } from './helpers/bundles.ts';
import { IntTransformer, Xorshift64Star } from '../runtime/reference/model.ts';
import { findFloats } from '../compiler/codegen/float-check.ts';
import { fnv1a64 } from '../compiler/emit/conformance-hash.ts';
import { VerifyError } from '../compiler/emit/verify-errors.ts';
import { Model } from '../schemas/generated/edgeq/fb/model.ts';
import { Tokenizer, safePrint } from '../compiler/import/tokenizer.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import * as C from '../runtime/kernels/reference/constants.ts';
import { readFileSync } from 'node:fs';
import { ROOT } from './helpers/models.ts';

const bytesOf = (l: Int32Array) => new Uint8Array(l.buffer, l.byteOffset, l.byteLength);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

async function agree(b: Built, positions: number, what: string) {
  const rt = await instantiate(b);
  const it = new IntTransformer(b.model);
  let token = 1;
  for (let pos = 0; pos < positions; pos++) {
    rt.forward(token, pos);
    const want = it.forward(token, pos);
    assert.ok(same(bytesOf(rt.logits()), bytesOf(want)), `${what}: logits differ at position ${pos}`);
    assert.is(rt.logitsHash(), fnv1a64(bytesOf(want)), `${what}: logits_hash at ${pos}`);
    assert.is(rt.argmax(), it.argmax(want), `${what}: argmax at ${pos}`);
    // Greedy, except every 7th step, so the run leaves the most likely path too.
    token = pos % 7 === 3 ? (token * 31 + 7) % b.model.params.vocabSize : it.argmax(want);
  }
  assert.equal(findFloats(b.bundle.files['runtime.wasm']), [], `${what}: floats in runtime.wasm`);
  const st = rt.selftest();
  assert.is(st.mismatches, 0, `${what}: selftest`);
  assert.equal(st.hashes.map(([, h]) => h), b.bundle.contents.conformance[0].outputHashes, `${what}: selftest hashes`);
}

test('stories260K: SIMD runtime logits byte-identical to the integer reference (64 positions)', async () => {
  if (!haveModels) return;
  await agree(await built('stories260K', 'wasm32'), 64, 'stories260K simd');
});

test('stories260K: scalar runtime logits byte-identical (64 positions)', async () => {
  if (!haveModels) return;
  await agree(await built('stories260K', 'cortex-m'), 64, 'stories260K scalar');
});

test('babyllama936K: scalar runtime logits byte-identical (64 positions)', async () => {
  if (!haveModels) return;
  await agree(await built('babyllama936K', 'cortex-m'), 64, 'babyllama936K scalar');
});

test('synthetic stories15M shape: SIMD runtime logits byte-identical (64 positions)', async () => {
  await agree(await built('synth15M', 'wasm32', 8), 64, 'synth15M simd');
});

test('the AssemblyScript constants equal the reference constants', () => {
  const src = readFileSync(`${ROOT}/runtime/kernels/scalar/constants.ts`, 'utf8');
  for (const [k, v] of Object.entries(C)) {
    const m = new RegExp(`export const ${k}: i32 = ([^;]+);`).exec(src);
    assert.ok(m, `${k} missing from the scalar constants`);
    // The right-hand sides are integer expressions over earlier constants.
    const expr = m![1].replace(/\b[A-Z_][A-Z0-9_]*\b/g, (n) => String((C as Record<string, number>)[n]));
    assert.is(Function(`return (${expr})`)(), v, k);
  }
});

test('sample(): the same tokens as IntTransformer.sample with the same seed', async () => {
  if (!haveModels) return;
  const b = await built('stories260K', 'wasm32');
  const rt = await instantiate(b);
  const it = new IntTransformer(b.model);
  const settings: Array<[number, number, bigint]> = [[65536, 58982, 42n], [65536, 0, 7n], [32768, 65536, 1n], [131072, 45875, 0x1234567890n], [6554, 58982, 3n], [0, 58982, 5n]];
  for (const [tq, pq, seed] of settings) {
    rt.seed(seed);
    const rng = new Xorshift64Star(Number(seed & 0xffffffffn) | 0, Number(seed >> 32n) | 0);
    for (let pos = 0; pos < 24; pos++) {
      const tok = (pos * 37 + 1) % 512;
      rt.forward(tok, pos);
      const l = it.forward(tok, pos);
      for (let k = 0; k < 4; k++) assert.is(rt.sample(tq, pq), it.sample(l, tq, pq, rng), `T_q ${tq} P_q ${pq} seed ${seed} pos ${pos} draw ${k}`);
    }
  }
});

test('decode(): every token after BOS and after another token, as Tokenizer.decode + safePrint', async () => {
  if (!haveModels) return;
  for (const name of ['stories260K', 'babyllama936K'] as const) {
    const b = await built(name, name === 'stories260K' ? 'wasm32' : 'cortex-m');
    const rt = await instantiate(b);
    const tok = b.tokenizer!;
    for (const prev of [1, 0, 2, 5]) {
      for (let t = 0; t < tok.vocabSize; t++) {
        assert.ok(same(rt.decode(prev, t), safePrint(tok.decode(prev, t))), `${name}: decode(${prev}, ${t})`);
      }
    }
  }
});

test("decode(): llama2.c's corner cases (raw bytes, sscanf's reading, unprintable bytes, NUL)", async () => {
  if (!haveModels) return;
  const base = await built('stories260K', 'wasm32');
  const real = Tokenizer.load(model('tok512.bin'));
  const odd = ['<0x41>', '<0x00>', '<0x0A>', '<0x7F>', '<0xC3>', '< 0x41>', '<0x 4>', '<0x-1>', '<0x+f>', '<0xg1>', '<0x', '<0x4', ' ',
    '\u0001', ' \u0001', '\t', 'a\u0000b', '\u0000', ' <0x42>', '<0X41>', '<0x41>junk', 'é'];
  const enc = new TextEncoder();
  const pieces = real.pieces.map((p, i) => (i >= 3 && i - 3 < odd.length ? enc.encode(odd[i - 3]) : p));
  const tok = new Tokenizer(pieces, real.scores, 16);
  const b = await bundleFromQuant({
    model: base.model, target: loadTarget('wasm32'), plan: { kind: 'uniform', bits: 8 }, planName: 'uniform:8', tokenizer: tok,
    sourceSha256: new Uint8Array(32), sourcePath: 'x.bin', vectors: 1, runtime: base.bundle.runtime,
  });
  const rt = await instantiate({ ...base, bundle: b });
  for (const prev of [1, 7]) {
    for (let t = 0; t < 3 + odd.length + 2; t++) {
      assert.ok(same(rt.decode(prev, t), safePrint(tok.decode(prev, t))), `decode(${prev}, ${t}) of ${JSON.stringify(odd[t - 3])}`);
    }
  }
});

// ---- error codes -------------------------------------------------------------------------

const RT = { notLoaded: 64, badToken: 65, badPosition: 66, badProgram: 68, configMismatch: 70 };

test('bad calls: forward before load, token and position out of range', async () => {
  if (!haveModels) return;
  const b = await built('stories260K', 'wasm32');
  const fresh = raw(b.bundle.files['runtime.wasm']);
  assert.is(fresh.forward(1, 0), RT.notLoaded);
  const { code, ex } = loadCode(b.bundle.files['runtime.wasm'], b.bundle.files['model.edgeq']);
  assert.is(code, 0);
  assert.is(ex.forward(512, 0), RT.badToken);
  assert.is(ex.forward(-1, 0), RT.badToken);
  assert.is(ex.forward(1, 512), RT.badPosition);
  assert.is(ex.forward(1, -1), RT.badPosition);
  assert.is(ex.forward(511, 511), 0);
});

test('load_at: an artifact already in memory at any 16-aligned address', async () => {
  if (!haveModels) return;
  const b = await built('stories260K', 'cortex-m');
  const art = b.bundle.files['model.edgeq'];
  const ex = raw(b.bundle.files['runtime.wasm']);
  const ptr = ex.reserve(art.length + 64);
  new Uint8Array(ex.memory.buffer, ptr + 48, art.length).set(art);
  assert.is(ex.load_at(ptr + 48, art.length), 0);
  assert.is(ex.forward(1, 0), 0);
  const l = new Int32Array(ex.memory.buffer, ex.logits(), 512);
  assert.ok(same(bytesOf(l), bytesOf(new IntTransformer(b.model).forward(1, 0))));
  assert.is(ex.selftest(), 0);
  new Uint8Array(ex.memory.buffer, ptr + 8, art.length).set(art);
  assert.is(ex.load_at(ptr + 8, art.length), VerifyError.base_misaligned);
});

test('corrupted artifacts: load returns the verifier code, never traps', async () => {
  if (!haveModels) return;
  const b = await built('stories260K', 'wasm32');
  const wasm = b.bundle.files['runtime.wasm'], good = b.bundle.files['model.edgeq'];
  assert.is(loadCode(wasm, good.subarray(0, 5)).code, VerifyError.too_small);
  for (const cut of [8, 100, 4000, good.length >> 1, good.length - 1]) {
    const c = loadCode(wasm, good.subarray(0, cut)).code;
    assert.ok(c === VerifyError.out_of_bounds || c === VerifyError.misaligned || c === VerifyError.bad_vtable, `cut at ${cut}: code ${c}`);
  }
  const id = good.slice(); id[4] = 0x58;
  assert.is(loadCode(wasm, id).code, VerifyError.bad_identifier);
  // Flipped bytes in offsets: the root offset, and the uoffset of every table field of the root.
  const bb = new flatbuffers.ByteBuffer(good);
  const root = Model.getRootAsModel(bb);
  for (let slot = 4; slot <= 20; slot += 2) {
    const at = bb.__offset(root.bb_pos, slot);
    if (!at) continue;
    for (const v of [0xffffff00, 0x7ffffff0, 3]) {
      const c = good.slice();
      new DataView(c.buffer).setUint32(root.bb_pos + at, v, true);
      const code = loadCode(wasm, c).code;
      assert.ok(code !== 0, `field slot ${slot} offset ${v.toString(16)} accepted`);
    }
  }
  const c = good.slice();
  new DataView(c.buffer).setUint32(0, good.length + 100, true);
  assert.is(loadCode(wasm, c).code, VerifyError.out_of_bounds);
});

test('inconsistent programs: an op whose operands do not fit its kernel is bad_program', async () => {
  if (!haveModels) return;
  const b = await built('stories260K', 'wasm32');
  const wasm = b.bundle.files['runtime.wasm'], good = b.bundle.files['model.edgeq'];
  const bb = new flatbuffers.ByteBuffer(good);
  const prog = Model.getRootAsModel(bb).program()!;
  const patch = (opIndex: number, f: (view: DataView, paramsAt: number, op: ReturnType<typeof prog.ops>) => void) => {
    const c = good.slice();
    const op = prog.ops(opIndex)!;
    f(new DataView(c.buffer), op.paramsArray()!.byteOffset - good.byteOffset, op);
    return loadCode(wasm, c).code;
  };
  // gemv (op 2 is blocks.0.wq): a longer row than the tensor holds.
  assert.is(prog.ops(2)!.name(), 'blocks.0.wq');
  assert.is(patch(2, (v, p) => v.setInt32(p, 4096, true)), RT.badProgram);
  assert.is(patch(2, (v, p) => v.setInt32(p + 4, -1, true)), RT.badProgram);
  // embed with a dim that does not match its output slot.
  assert.is(patch(0, (v, p) => v.setInt32(p, 65, true)), RT.badProgram);
  // An operand pointing at the wrong slot (the logits instead of the 12-bit input).
  assert.is(patch(2, (v, _p, op) => {
    const ref = op!.inputs(0)!;
    v.setUint32(ref.bb_pos + 4, 2, true); // slot 2 is the logits (int32 [512])
  }), RT.badProgram);
});

test("an artifact of another model: config_mismatch (a runtime is generated for one program)", async () => {
  if (!haveModels) return;
  const a = await built('stories260K', 'cortex-m');
  const b = await built('babyllama936K', 'cortex-m');
  assert.is(loadCode(a.bundle.files['runtime.wasm'], b.bundle.files['model.edgeq']).code, RT.configMismatch);
});

test.run();
