// LoRA adapter files (*.edqa, schemas/adapter.fbs): writing an AdapterState atomically and
// reading one back with every field checked. Layout, tensor names and order are
// documented in the schema. Same state, same bytes: fields are written in one fixed
// order and tensors in the canonical order (block, target, lora_a, its momentum, lora_b,
// its momentum).
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { checkInputFile } from '../util/input-file.ts';
import { basename, dirname, join } from 'node:path';
import * as flatbuffers from 'flatbuffers';
import * as fbA from '../../schemas/generated/edgeq/adapter.ts';
import * as fb from '../../schemas/generated/edgeq/fb.ts';
import type { AdapterState, AdapterTensor } from '../train/trainer.ts';
import type { ModelConfig } from '../import/graph.ts';
import { alignedBytes } from './artifact.ts';
import { CheckedBuffer } from './artifact-read.ts';
import { fnv1a64 } from './conformance-hash.ts';
import { ADAPTER_IDENTIFIER, ARTIFACT_IDENTIFIER, DATA_ALIGN, FORMAT_VERSION, VERSION_VTABLE_SLOT } from './format.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { EdgeqError } from '../util/errors.ts';
import { VERSION } from '../version.ts';

/** Matrices of a block an adapter file may target (din/dout per target: loraDims); the
 * trainer adapts wq and wv (runtime/reference/train.ts LORA_TARGETS). */
export const ADAPTER_TARGETS = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const;
/** The stored width of A's rows / B's columns is the rank rounded up to this. */
export const RANK_ALIGN = 16;
/** Highest rank a file may carry (bounds the work of reading a hostile file). */
const MAX_RANK = 1024;
/** Tensor name suffixes of one adapted matrix, in file order. */
const PARTS = ['lora_a', 'lora_a.momentum', 'lora_b', 'lora_b.momentum'] as const;

export const roundUpRank = (rank: number): number => Math.ceil(rank / RANK_ALIGN) * RANK_ALIGN;

/** The model sizes an adapter's shapes depend on. */
export type AdapterBaseParams = Pick<ModelConfig, 'dim' | 'hiddenDim' | 'nLayers' | 'nHeads' | 'nKvHeads'>;

/** Input and output width of an adapted matrix W [dout, din]. */
export function loraDims(target: string, p: AdapterBaseParams): { din: number; dout: number } {
  const kv = (p.dim * p.nKvHeads) / p.nHeads;
  switch (target) {
    case 'wq': case 'wo': return { din: p.dim, dout: p.dim };
    case 'wk': case 'wv': return { din: p.dim, dout: kv };
    case 'w1': case 'w3': return { din: p.dim, dout: p.hiddenDim };
    case 'w2': return { din: p.hiddenDim, dout: p.dim };
    default: throw new EdgeqError(`unknown LoRA target "${target}" (known: ${ADAPTER_TARGETS.join(', ')})`);
  }
}

/** The tensor names of an adapter with `nLayers` blocks, in file order. */
export function adapterTensorNames(nLayers: number, targets: readonly string[]): string[] {
  const names: string[] = [];
  for (let l = 0; l < nLayers; l++) for (const t of targets) for (const p of PARTS) names.push(`blocks.${l}.${t}.${p}`);
  return names;
}

// ---------------------------------------------------------------------------------------
// Validation, shared by the writer (refuses to write a bad state) and the reader.

/** Where a field or tensor sits in the file (reader) — absent for the writer. */
type At = (what: string) => number | undefined;

function validateState(s: AdapterState, file: string, at: At = () => undefined): void {
  const fail = (what: string, message: string): never => {
    throw new EdgeqError(`invalid adapter: ${what}: ${message}`, { file, offset: at(what) });
  };
  const int = (what: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) fail(what, `expected an integer in [${min}, ${max}], found ${v}`);
  };
  if (!(s.baseSha256 instanceof Uint8Array) || s.baseSha256.length !== 32) {
    fail('base_sha256', `expected 32 bytes (a SHA-256), found ${s.baseSha256?.length ?? 'none'}`);
  }
  int('rank', s.rank, 1, MAX_RANK);
  if (s.rPad !== roundUpRank(s.rank)) {
    fail('r_pad', `expected the rank ${s.rank} rounded up to a multiple of ${RANK_ALIGN} (${roundUpRank(s.rank)}), found ${s.rPad}`);
  }
  if (s.targets.length === 0) fail('targets', 'expected at least one adapted matrix (e.g. wq, wv), found none');
  s.targets.forEach((t, i) => {
    if (!(ADAPTER_TARGETS as readonly string[]).includes(t)) fail('targets', `entry ${i} "${t}" is not one of ${ADAPTER_TARGETS.join(', ')}`);
    if (s.targets.indexOf(t) !== i) fail('targets', `"${t}" is listed twice`);
  });
  int('seq_len', s.seqLen, 1, 0xffffffff);
  if (!Number.isFinite(s.lr) || s.lr <= 0) fail('lr', `expected a positive number, found ${s.lr}`);
  int('lr_m', s.lrM, 1, 0x7fffffff);
  int('lr_e', s.lrE, -0x80000000, 0x7fffffff);
  int('momentum_shift', s.momentumShift, 1, 31);
  int('gse_g', s.gseG, 1, 0xffffffff);
  int('gse_m', s.gseM, 1, 31);
  int('seed', s.seed, 0, Number.MAX_SAFE_INTEGER);
  int('step', s.step, 0, 0xffffffff);
  int('rng_lo', s.rngLo, -0x80000000, 0xffffffff);
  int('rng_hi', s.rngHi, -0x80000000, 0xffffffff);
  if ((s.rngLo | 0) === 0 && (s.rngHi | 0) === 0) fail('rng_lo', 'the xorshift64* state is 0 (it would stay 0 forever)');

  // Tensors: exactly the canonical list, each int32 with consistent shapes.
  const per = s.targets.length * PARTS.length;
  if (s.tensors.length === 0 || s.tensors.length % per !== 0) {
    fail('tensors', `expected ${PARTS.length} tensors per target (${PARTS.join(', ')}) per block, ` +
      `a multiple of ${per} for ${s.targets.length} target(s), found ${s.tensors.length}`);
  }
  const names = adapterTensorNames(s.tensors.length / per, s.targets);
  const firstShape = new Map<string, number[]>(); // per target and A/B: the shape block 0 has
  s.tensors.forEach((t, i) => {
    const what = `tensor ${i}`;
    if (t.name !== names[i]) fail(what, `expected the name "${names[i]}", found "${t.name}"`);
    const isA = t.name.includes('.lora_a');
    const target = s.targets[Math.floor(i / PARTS.length) % s.targets.length];
    if (t.shape.length !== 2 || !t.shape.every((d) => Number.isInteger(d) && d >= 1 && d <= 0xffffffff)) {
      fail(what, `"${t.name}": expected a 2-d shape of positive dims, found [${t.shape.join(', ')}]`);
    }
    const [rows, cols] = t.shape;
    if (isA && rows !== s.rPad) fail(what, `"${t.name}": expected ${s.rPad} (r_pad) rows [r_pad, din], found shape [${rows}, ${cols}]`);
    if (!isA && cols !== s.rPad) fail(what, `"${t.name}": expected ${s.rPad} (r_pad) columns [dout, r_pad], found shape [${rows}, ${cols}]`);
    const key = `${target}.${isA ? 'a' : 'b'}`;
    const want = firstShape.get(key);
    if (!want) firstShape.set(key, [rows, cols]);
    else if (want[0] !== rows || want[1] !== cols) {
      fail(what, `"${t.name}": expected shape [${want.join(', ')}] like block 0's ${target} ${isA ? 'lora_a' : 'lora_b'}, found [${rows}, ${cols}]`);
    }
    if (!(t.data instanceof Int32Array) || t.data.length !== rows * cols) {
      fail(what, `"${t.name}": expected ${rows * cols} int32 values for shape [${rows}, ${cols}], found ${t.data?.length ?? 'none'}`);
    }
    // The padding (A's rows >= rank, B's columns >= rank) never trains: it must be 0.
    const [r0, c0] = isA ? [s.rank, 0] : [0, s.rank];
    for (let r = r0; r < rows; r++) {
      for (let c = c0; c < cols; c++) {
        const v = t.data[r * cols + c];
        if (v !== 0) fail(what, `"${t.name}": expected 0 in the padding beyond rank ${s.rank}, found ${v} at [${r}, ${c}]`);
      }
    }
  });
}

/** Canonical tensor order (see the schema); unknown or duplicate names are left to validation. */
function canonicalOrder(s: AdapterState): AdapterTensor[] {
  const rank = new Map<string, number>();
  const n = s.tensors.length / Math.max(1, s.targets.length * PARTS.length);
  if (Number.isInteger(n)) adapterTensorNames(n, s.targets).forEach((name, i) => rank.set(name, i));
  const idx = (t: AdapterTensor) => rank.get(t.name) ?? Infinity;
  return [...s.tensors].sort((a, b) => idx(a) - idx(b));
}

// ---------------------------------------------------------------------------------------
// Writing.

/** The bytes of an adapter file (validated first: the writer never emits what readAdapter refuses). */
export function adapterBytes(state: AdapterState, file = '<adapter>'): Uint8Array {
  const s: AdapterState = { ...state, tensors: canonicalOrder(state) };
  validateState(s, file);
  const dataBytes = s.tensors.reduce((n, t) => n + t.data.byteLength + DATA_ALIGN + 64, 0);
  const b = new flatbuffers.Builder(dataBytes + 4096);
  // Tensor data first (big blobs at the end of the file, small tables near its start).
  const tensors = s.tensors.map((t) => {
    // The host is little-endian (as the file), so the Int32Array's bytes are the file's.
    const le = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const data = alignedBytes(b, le);
    const name = b.createString(t.name);
    const shape = fb.Tensor.createShapeVector(b, t.shape);
    fb.Tensor.startTensor(b);
    fb.Tensor.addName(b, name);
    fb.Tensor.addDtype(b, fb.DType.int32);
    fb.Tensor.addShape(b, shape);
    fb.Tensor.addData(b, data);
    return fb.Tensor.endTensor(b);
  });
  const tensorVec = fbA.Adapter.createTensorsVector(b, tensors);
  const targets = fbA.Adapter.createTargetsVector(b, s.targets.map((t) => b.createString(t)));
  const sha = fbA.Adapter.createBaseSha256Vector(b, s.baseSha256);
  fbA.Adapter.finishAdapterBuffer(b, fbA.Adapter.createAdapter(
    b, FORMAT_VERSION, sha, s.rank, tensorVec, s.rPad, targets, s.seqLen, s.lr, s.lrM, s.lrE,
    s.momentumShift, s.gseG, s.gseM, BigInt(s.seed), s.step, s.rngLo >>> 0, s.rngHi >>> 0,
    CHECKSUM_PLACEHOLDER,
  ));
  const bytes = b.asUint8Array().slice();
  const at = checksumOffset(new CheckedBuffer(bytes, file, 'adapter'));
  if (at < 0) throw new EdgeqError('adapter writer: the checksum field was not written', { file }, 70);
  new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(at, adapterChecksum(bytes, at), true);
  return bytes;
}

// ---------------------------------------------------------------------------------------
// The checksum (schema: Adapter.checksum): fnv1a64 of the file with the field's 8 bytes
// read as zero. fnv1a64 is a bijection of its state per byte, so a change confined to any
// one byte always changes it; pure TypeScript, because browsers parse adapters too.

/** vtable offset of Adapter.checksum (field 17: 4 + 2 * 17). */
const CHECKSUM_SLOT = 38;
/** Any value but the default 0, so that the builder writes the field; patched afterwards. */
const CHECKSUM_PLACEHOLDER = 1n;

/** Where the checksum's 8 bytes sit in an adapter buffer, or -1 when it has no checksum field. */
function checksumOffset(bb: CheckedBuffer): number {
  const table = bb.readUint32(0);
  const o = bb.__offset(table, CHECKSUM_SLOT);
  if (!o) return -1;
  bb.need(table + o, 8, 'checksum');
  return table + o;
}

/** The checksum of `bytes` whose checksum field is at `at`. */
function adapterChecksum(bytes: Uint8Array, at: number): bigint {
  const zeroed = bytes.slice();
  zeroed.fill(0, at, at + 8);
  return fnv1a64(zeroed);
}

/**
 * Writes `state` to `path` atomically (temporary file, fsync, rename): a crash at any
 * moment leaves the previous adapter or the new one. Temporary files that killed earlier
 * saves of the same path left behind (their process is gone) are removed afterwards.
 */
export function writeAdapter(path: string, state: AdapterState): void {
  writeFileAtomic(path, adapterBytes(state, path));
  removeStaleTemps(path);
}

/** Removes `.name.<pid>.<time>.tmp` files (compiler/util/atomic-write.ts) of dead processes. */
function removeStaleTemps(path: string): void {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try { names = readdirSync(dirname(path)); } catch { return; }
  for (const n of names) {
    const m = n.startsWith(prefix) ? /^(\d+)\.\d+\.tmp$/.exec(n.slice(prefix.length)) : null;
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue; // ours would be in flight; theirs may be
    rmSync(join(dirname(path), n), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

// ---------------------------------------------------------------------------------------
// Reading.

/** Reads and checks an adapter file. */
export function readAdapter(path: string): AdapterState {
  let bytes: Uint8Array;
  checkInputFile(path, 'an adapter file (*.edqa, from edgeq finetune)', { maxBytes: 1 << 30 });
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new EdgeqError('no such adapter file (write one with edgeq finetune -o)', { file: path });
    if (err.code === 'EISDIR') throw new EdgeqError('is a directory, expected an adapter file (*.edqa)', { file: path });
    throw e;
  }
  return parseAdapter(bytes, path);
}

/** Parses and checks adapter bytes; `file` names them in errors. Tensor data are copies. */
export function parseAdapter(bytes: Uint8Array, file = '<adapter>'): AdapterState {
  if (bytes.length < 8) {
    throw new EdgeqError(`too short for an edgeq adapter: ${bytes.length} bytes, expected at least 8`, { file, offset: 0 });
  }
  const ident = String.fromCharCode(...bytes.subarray(4, 8));
  if (ident !== ADAPTER_IDENTIFIER) {
    const hint = ident === ARTIFACT_IDENTIFIER ? 'this is a model artifact (model.edgeq), not an adapter' : 'not an edgeq adapter';
    throw new EdgeqError(
      `expected file identifier ${JSON.stringify(ADAPTER_IDENTIFIER)} at byte 4, found ${JSON.stringify(ident)} (${hint})`,
      { file, offset: 4 },
    );
  }
  const bb = new CheckedBuffer(bytes, file, 'adapter');
  const a = fbA.Adapter.getRootAsAdapter(bb);
  const field = (slot: number) => { const o = bb.__offset(a.bb_pos, slot); return o ? a.bb_pos + o : a.bb_pos; };
  const vo = bb.__offset(a.bb_pos, VERSION_VTABLE_SLOT);
  const version = vo ? bb.readUint32(a.bb_pos + vo) : 0;
  if (version !== FORMAT_VERSION) {
    throw new EdgeqError(
      `adapter format version ${version}${vo ? '' : ' (field missing)'}, expected ${FORMAT_VERSION}: ` +
        `this edgeq ${VERSION} reads format version ${FORMAT_VERSION} only`,
      { file, offset: field(VERSION_VTABLE_SLOT) },
    );
  }
  // The checksum before any other field: a damaged file is named as such, not by whichever
  // of its fields happens to look wrong first.
  const at = checksumOffset(bb);
  if (at < 0) {
    throw new EdgeqError('the adapter has no checksum field: it was written before edgeq stored adapter checksums; retrain it with edgeq finetune', { file, offset: field(CHECKSUM_SLOT) });
  }
  const stored = new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(at, true);
  const computed = adapterChecksum(bytes, at);
  if (stored !== computed) {
    throw new EdgeqError(
      `adapter checksum mismatch: the file says fnv1a64 ${stored.toString(16).padStart(16, '0')}, its bytes give ` +
        `${computed.toString(16).padStart(16, '0')}: the file is damaged, truncated or was edited`, { file, offset: at });
  }
  // Vectors must fit in the file before we iterate them (a corrupt length must not make
  // us loop 2^31 times); `n` comes from an xLength() call just before.
  const count = (n: number, elemSize: number, what: string): number => {
    if (n < 0 || (n > 0 && bb.lastVectorData + n * elemSize > bytes.length)) {
      bb.fail(`${what}: ${n} entries of ${elemSize} bytes from byte ${bb.lastVectorData} pass the end of the file`, a.bb_pos);
    }
    return n;
  };
  const shaLen = count(a.baseSha256Length(), 1, 'base_sha256');
  const baseSha256 = Uint8Array.from({ length: shaLen }, (_, i) => a.baseSha256(i)!);
  const nTargets = count(a.targetsLength(), 4, 'targets');
  const targets = Array.from({ length: nTargets }, (_, i) => a.targets(i));
  const nTensors = count(a.tensorsLength(), 4, 'tensors');
  const tensorAt: number[] = [];
  const tensors = Array.from({ length: nTensors }, (_, i): AdapterTensor => {
    const t = a.tensors(i)!;
    tensorAt.push(t.bb_pos);
    const name = t.name() ?? '';
    if (t.dtype() !== fb.DType.int32) {
      bb.fail(`tensor ${i} "${name}": expected dtype int32, found ${fb.DType[t.dtype()] ?? t.dtype()}`, t.bb_pos);
    }
    const shape = Array.from({ length: count(t.shapeLength(), 4, `tensor ${i} shape`) }, (_, j) => t.shape(j)!);
    if (shape.length > 8) bb.fail(`tensor ${i} "${name}": expected 2 dims, found ${shape.length}`, t.bb_pos);
    const n = count(t.dataLength(), 1, `tensor ${i} data`);
    const start = bb.lastVectorData;
    bb.need(start, n, `tensor ${i} data`);
    if (start % DATA_ALIGN !== 0) bb.fail(`tensor ${i} data starts at byte ${start}, expected a multiple of ${DATA_ALIGN}`, start);
    const elems = shape.reduce((x, y) => x * y, 1);
    if (n !== 4 * elems) {
      bb.fail(`tensor ${i} "${name}": expected ${4 * elems} bytes of int32 data for shape [${shape.join(', ')}], found ${n}`, start);
    }
    // A copy (4-byte aligned, owned by the caller, who may train it further).
    return { name, shape, data: new Int32Array(bytes.slice(start, start + n).buffer) };
  });
  const seed = a.seed();
  const state: AdapterState = {
    baseSha256, rank: a.rank(), rPad: a.rPad(), targets, seqLen: a.seqLen(),
    lr: a.lr(), lrM: a.lrM(), lrE: a.lrE(), momentumShift: a.momentumShift(), gseG: a.gseG(), gseM: a.gseM(),
    seed: seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seed) : Number.NaN,
    step: a.step(), rngLo: a.rngLo(), rngHi: a.rngHi(), tensors,
  };
  const SLOTS: Record<string, number> = {
    base_sha256: 6, rank: 8, tensors: 10, r_pad: 12, targets: 14, seq_len: 16, lr: 18, lr_m: 20, lr_e: 22,
    momentum_shift: 24, gse_g: 26, gse_m: 28, seed: 30, step: 32, rng_lo: 34, rng_hi: 36,
  };
  validateState(state, file, (what) => {
    const t = /^tensor (\d+)$/.exec(what);
    if (t) return tensorAt[Number(t[1])];
    return SLOTS[what] !== undefined ? field(SLOTS[what]) : undefined;
  });
  return state;
}

// ---------------------------------------------------------------------------------------
// Applying to a base model.

// Not Buffer: the JavaScript API (compiler/api/) checks adapters in browsers too.
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * Refuses an adapter made for another base model (by SHA-256 of its model.edgeq) or whose
 * shapes do not fit `params`. `names` name the files in messages.
 */
export function checkAdapterFor(
  state: AdapterState, baseSha256: Uint8Array | string, params: AdapterBaseParams,
  names: { adapter?: string; base?: string } = {},
): void {
  const want = typeof baseSha256 === 'string' ? baseSha256.toLowerCase() : hex(baseSha256);
  const have = hex(state.baseSha256);
  const where = names.adapter !== undefined ? { file: names.adapter } : {};
  if (want !== have) {
    throw new EdgeqError(
      `the adapter was trained for a base model with sha256 ${have}, but ${names.base ?? 'this model'} has sha256 ${want}: ` +
        'an adapter applies only to the exact model.edgeq it was trained on', where);
  }
  const nLayers = state.tensors.length / (state.targets.length * PARTS.length);
  if (nLayers !== params.nLayers) {
    throw new EdgeqError(`adapter has ${nLayers} blocks, expected ${params.nLayers} (the base model's n_layers)`, where);
  }
  for (const t of state.tensors) {
    const target = t.name.split('.')[2];
    const { din, dout } = loraDims(target, params);
    const want2 = t.name.includes('.lora_a') ? [state.rPad, din] : [dout, state.rPad];
    if (t.shape[0] !== want2[0] || t.shape[1] !== want2[1]) {
      throw new EdgeqError(`"${t.name}" has shape [${t.shape.join(', ')}], expected [${want2.join(', ')}] for the base model's ${target}`, where);
    }
  }
}

/** Reads the adapter at `path` and checks it belongs to the bundle's model.edgeq. */
export function readAdapterForBundle(
  path: string, bundle: { artifactPath: string; artifactBytes: Uint8Array; artifact: { config: AdapterBaseParams } },
): AdapterState {
  const state = readAdapter(path);
  const sha = new Uint8Array(createHash('sha256').update(bundle.artifactBytes).digest());
  checkAdapterFor(state, sha, bundle.artifact.config, { adapter: path, base: bundle.artifactPath });
  return state;
}
