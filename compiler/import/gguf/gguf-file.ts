// GGUF container reader (llama.cpp's format, versions 2 and 3, little-endian only):
//
//   magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count × (string key | u32 value_type | value)
//   tensor_count × (string name | u32 n_dims | n_dims × u64 ne (innermost first) | u32 ggml_type | u64 offset)
//   padding to `general.alignment` (u32, a power of two, default 32) | tensor data
//
// A string is u64 byte length + UTF-8 bytes; an array is u32 item type + u64 count + items.
// Tensor offsets are relative to the aligned data start and must themselves be aligned.
// This file reads the container only (metadata and tensor infos, plus raw tensor bytes on
// request); what the keys and tensors mean for a llama model is in gguf-model.ts.
//
// Every read is bounded by the file size before anything is allocated, so a corrupt count
// or length fails with a message naming the file, the byte offset and what was expected,
// never with an out-of-memory or a hang.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { EdgeqError } from '../../util/errors.ts';
import { ggmlBytes, ggmlType, type GgmlType } from './ggml-types.ts';

export const GGUF_MAGIC = 'GGUF';
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** GGUF versions this reader accepts (v1 used 32-bit counts and is obsolete; llama.cpp refuses it too). */
export const GGUF_VERSIONS = [2, 3] as const;

/** GGUF metadata value types, by their id in the file. */
export const GGUF_VALUE_TYPES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'] as const;
export type GgufValueType = (typeof GGUF_VALUE_TYPES)[number];
export type GgufScalarType = Exclude<GgufValueType, 'array'>;

export type GgufValue =
  | { type: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64'; value: number }
  | { type: 'u64' | 'i64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: GgufScalarType; value: number[] | bigint[] | boolean[] | string[] };

export interface GgufTensorInfo {
  name: string;
  /** Dimensions as stored: innermost (contiguous) first, like ggml's ne[]. */
  dims: number[];
  /** Row-major shape, outermost first (dims reversed): [rows, cols] for a matrix. */
  shape: number[];
  type: GgmlType;
  nElements: number;
  nBytes: number;
  /** Offset relative to the data start, as stored. */
  offset: number;
  /** Absolute byte offset of the tensor's data in the file. */
  fileOffset: number;
  /** Byte offset of this tensor's info record (for error messages). */
  infoOffset: number;
}

const SCALAR_BYTES: Record<Exclude<GgufScalarType, 'string'>, number> = {
  u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, bool: 1, u64: 8, i64: 8, f64: 8,
};

/** Sequential reader over a file descriptor with a refilled window; every read checks the file size first. */
class Cursor {
  pos = 0;
  private buf = Buffer.alloc(0);
  private bufStart = 0;

  constructor(private fd: number, readonly path: string, readonly size: number) {}

  fail(msg: string, offset = this.pos): EdgeqError {
    return new EdgeqError(msg, { file: this.path, offset });
  }

  /** Makes `n` bytes at `pos` available in the window, or fails naming `what`. */
  private need(n: number, what: string): Buffer {
    if (this.pos + n > this.size) {
      throw this.fail(`file ends early: ${what} needs ${n} bytes but only ${this.size - this.pos} remain (file is ${this.size} bytes)`);
    }
    const rel = this.pos - this.bufStart;
    if (rel >= 0 && rel + n <= this.buf.length) return this.buf.subarray(rel, rel + n);
    const want = Math.min(Math.max(n, 1 << 20), this.size - this.pos);
    const buf = Buffer.alloc(want);
    let got = 0;
    while (got < want) {
      const k = readSync(this.fd, buf, got, want - got, this.pos + got);
      if (k === 0) throw this.fail(`file ends early while reading ${what} (was it changed while being read?)`, this.pos + got);
      got += k;
    }
    this.buf = buf;
    this.bufStart = this.pos;
    return buf.subarray(0, n);
  }

  bytes(n: number, what: string): Buffer {
    const b = this.need(n, what);
    this.pos += n;
    return b;
  }
  u32(what: string): number { return this.bytes(4, what).readUInt32LE(0); }
  u64(what: string): bigint { return this.bytes(8, what).readBigUInt64LE(0); }

  /** A u64 that must fit a JS number and not exceed `max` (a bound derived from the file size). */
  count(what: string, max: number, unit: string): number {
    const at = this.pos;
    const v = this.u64(what);
    if (v > BigInt(max)) {
      throw this.fail(`${what} is ${v}, more than the ${max} ${unit} the rest of the file could hold`, at);
    }
    return Number(v);
  }

  string(what: string): string {
    const len = this.count(`length of ${what}`, this.size - this.pos - 8, 'bytes');
    return this.bytes(len, what).toString('utf8');
  }

  scalar(type: GgufScalarType, what: string): number | bigint | boolean | string {
    switch (type) {
      case 'u8': return this.bytes(1, what)[0];
      case 'i8': return this.bytes(1, what).readInt8(0);
      case 'u16': return this.bytes(2, what).readUInt16LE(0);
      case 'i16': return this.bytes(2, what).readInt16LE(0);
      case 'u32': return this.bytes(4, what).readUInt32LE(0);
      case 'i32': return this.bytes(4, what).readInt32LE(0);
      case 'f32': return this.bytes(4, what).readFloatLE(0);
      case 'f64': return this.bytes(8, what).readDoubleLE(0);
      case 'u64': return this.bytes(8, what).readBigUInt64LE(0);
      case 'i64': return this.bytes(8, what).readBigInt64LE(0);
      case 'bool': {
        const at = this.pos;
        const b = this.bytes(1, what)[0];
        if (b > 1) throw this.fail(`${what} is a bool stored as ${b}; expected 0 or 1`, at);
        return b === 1;
      }
      case 'string': return this.string(what);
    }
  }
}

function valueType(c: Cursor, what: string): GgufValueType {
  const at = c.pos;
  const id = c.u32(`type of ${what}`);
  const type = GGUF_VALUE_TYPES[id];
  if (type === undefined) {
    throw c.fail(`${what} has value type ${id}; GGUF value types are 0..${GGUF_VALUE_TYPES.length - 1} (${GGUF_VALUE_TYPES.join(', ')})`, at);
  }
  return type;
}

function readValue(c: Cursor, key: string): GgufValue {
  const what = `metadata value '${key}'`;
  const type = valueType(c, what);
  if (type !== 'array') return { type, value: c.scalar(type, what) } as GgufValue;
  const itemAt = c.pos;
  const itemType = valueType(c, `items of ${what}`);
  if (itemType === 'array') throw c.fail(`${what} is an array of arrays, which GGUF does not allow`, itemAt);
  // Strings take at least their 8-byte length each; scalars their fixed size.
  const minItem = itemType === 'string' ? 8 : SCALAR_BYTES[itemType];
  const n = c.count(`item count of ${what}`, Math.floor((c.size - c.pos - 8) / minItem), `${itemType} items`);
  const value: Array<number | bigint | boolean | string> = new Array(n);
  for (let i = 0; i < n; i++) value[i] = c.scalar(itemType, `item ${i} of ${what}`);
  return { type: 'array', itemType, value } as GgufValue;
}

const describe = (v: GgufValue): string => (v.type === 'array' ? `array of ${v.itemType}` : v.type);

export class GgufFile {
  constructor(
    readonly path: string,
    readonly version: number,
    readonly fileBytes: number,
    readonly metadata: Map<string, GgufValue>,
    /** Byte offset of each metadata key's record, for error messages. */
    readonly metadataOffsets: Map<string, number>,
    /** Tensor infos in file order. */
    readonly tensors: GgufTensorInfo[],
    readonly alignment: number,
    /** Absolute byte offset of the (aligned) start of tensor data. */
    readonly dataStart: number,
  ) {}

  private byName?: Map<string, GgufTensorInfo>;
  tensor(name: string): GgufTensorInfo | undefined {
    this.byName ??= new Map(this.tensors.map((t) => [t.name, t]));
    return this.byName.get(name);
  }

  has(key: string): boolean { return this.metadata.has(key); }

  /** An error about metadata key `key`, at its record's offset when present. */
  keyError(key: string, message: string): EdgeqError {
    return new EdgeqError(message, { file: this.path, offset: this.metadataOffsets.get(key) });
  }

  private get<T>(key: string, expected: string, fallback: T | undefined, pick: (v: GgufValue) => T | undefined): T {
    const v = this.metadata.get(key);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new EdgeqError(`GGUF metadata has no key '${key}' (expected ${expected})`, { file: this.path });
    }
    const got = pick(v);
    if (got === undefined) {
      const shown = v.type === 'array' ? `${v.value.length} items` : String(v.value);
      throw this.keyError(key, `metadata key '${key}' is ${describe(v)} ${shown}; expected ${expected}`);
    }
    return got;
  }

  getString(key: string, fallback?: string): string {
    return this.get(key, 'a string', fallback, (v) => (v.type === 'string' ? v.value : undefined));
  }

  getBool(key: string, fallback?: boolean): boolean {
    return this.get(key, 'a bool', fallback, (v) => (v.type === 'bool' ? v.value : undefined));
  }

  /** Any integer type whose value is in 0..2^32-1 (converters differ in which width they write). */
  getU32(key: string, fallback?: number): number {
    return this.get(key, 'an integer in 0..4294967295', fallback, (v) => {
      const n = integerOf(v);
      return n !== undefined && n >= 0 && n <= 0xffffffff ? n : undefined;
    });
  }

  /** Any integer type whose value is a safe JS integer (negative allowed, e.g. token ids -1). */
  getInt(key: string, fallback?: number): number {
    return this.get(key, 'an integer', fallback, integerOf);
  }

  /** f32 or f64 (or an integer, widened exactly). */
  getFloat(key: string, fallback?: number): number {
    return this.get(key, 'a number', fallback, (v) => (v.type === 'f32' || v.type === 'f64' ? v.value : integerOf(v)));
  }

  getArray(key: string): Extract<GgufValue, { type: 'array' }> {
    return this.get(key, 'an array', undefined, (v) => (v.type === 'array' ? v : undefined));
  }

  getStringArray(key: string, fallback?: string[]): string[] {
    return this.get(key, 'an array of strings', fallback, (v) => (v.type === 'array' && v.itemType === 'string' ? v.value as string[] : undefined));
  }

  /** An array of any numeric item type except 64-bit integers, as numbers. */
  getNumberArray(key: string, fallback?: number[]): number[] {
    return this.get(key, 'an array of numbers', fallback, (v) =>
      (v.type === 'array' && v.itemType !== 'string' && v.itemType !== 'bool' && v.itemType !== 'u64' && v.itemType !== 'i64'
        ? v.value as number[] : undefined));
  }

  /** The raw bytes of a tensor's data (a fresh buffer; one positioned read). */
  readTensorBytes(t: GgufTensorInfo, byteStart = 0, byteCount = t.nBytes): Uint8Array {
    if (byteStart < 0 || byteCount < 0 || byteStart + byteCount > t.nBytes) {
      throw new RangeError(`internal: readTensorBytes(${byteStart}, ${byteCount}) outside ${t.name} (${t.nBytes} bytes)`);
    }
    const out = new Uint8Array(byteCount);
    const fd = openSync(this.path, 'r');
    try {
      let got = 0;
      while (got < byteCount) {
        const k = readSync(fd, out, got, byteCount - got, t.fileOffset + byteStart + got);
        if (k === 0) {
          throw new EdgeqError(`file ends early inside the data of tensor '${t.name}' (was the file changed after it was opened?)`,
            { file: this.path, offset: t.fileOffset + byteStart + got });
        }
        got += k;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }
}

function integerOf(v: GgufValue): number | undefined {
  switch (v.type) {
    case 'u8': case 'i8': case 'u16': case 'i16': case 'u32': case 'i32': return v.value;
    case 'u64': case 'i64':
      return v.value >= BigInt(Number.MIN_SAFE_INTEGER) && v.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v.value) : undefined;
    default: return undefined;
  }
}

/** True when the first four bytes are GGUF's magic (for detection by content). */
export function isGgufMagic(head: Uint8Array): boolean {
  return head.length >= 4 && Buffer.from(head.subarray(0, 4)).toString('latin1') === GGUF_MAGIC;
}

/** Parses a GGUF file's header, metadata and tensor infos; tensor data is read on demand. */
export function readGguf(path: string): GgufFile {
  const fd = openSync(path, 'r');
  try {
    return parse(new Cursor(fd, path, fstatSync(fd).size));
  } finally {
    closeSync(fd);
  }
}

function parse(c: Cursor): GgufFile {
  if (c.size < 24) throw c.fail(`file is ${c.size} bytes, too short for a GGUF header (24 bytes)`, 0);
  const magic = c.bytes(4, 'the magic');
  if (magic.toString('latin1') !== GGUF_MAGIC) {
    throw c.fail(`not a GGUF file: magic is ${JSON.stringify(magic.toString('latin1'))} (bytes ${[...magic].map((b) => b.toString(16).padStart(2, '0')).join(' ')}); expected "GGUF"`, 0);
  }
  const version = c.u32('the version');
  if (!(GGUF_VERSIONS as readonly number[]).includes(version)) {
    const swapped = Buffer.alloc(4);
    swapped.writeUInt32BE(version, 0);
    const be = swapped.readUInt32LE(0);
    const why = (GGUF_VERSIONS as readonly number[]).includes(be)
      ? `this is a big-endian GGUF v${be}; edgeq reads little-endian GGUF only`
      : version === 1 ? 'GGUF v1 is obsolete (32-bit counts); convert the model again with a current llama.cpp'
        : `unsupported GGUF version ${version}`;
    throw c.fail(`${why}; supported versions: ${GGUF_VERSIONS.join(', ')} (little-endian)`, 4);
  }
  // A tensor info takes at least 8 (name length) + 4 + 4 + 8 bytes; a key/value at least 8 + 4 + 1.
  const nTensors = c.count('the tensor count', Math.floor((c.size - 24) / 24), 'tensor infos');
  const nKv = c.count('the metadata key/value count', Math.floor((c.size - 24) / 13), 'key/value pairs');

  const metadata = new Map<string, GgufValue>();
  const metadataOffsets = new Map<string, number>();
  for (let i = 0; i < nKv; i++) {
    const at = c.pos;
    const key = c.string(`metadata key ${i}`);
    if (metadata.has(key)) throw c.fail(`metadata key '${key}' appears twice (first at byte ${metadataOffsets.get(key)})`, at);
    metadataOffsets.set(key, at);
    metadata.set(key, readValue(c, key));
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = metadata.get('general.alignment');
  if (al !== undefined) {
    if (al.type !== 'u32' || al.value === 0 || (al.value & (al.value - 1)) !== 0) {
      throw c.fail(`metadata key 'general.alignment' is ${describe(al)} ${al.type === 'array' ? '[…]' : String(al.value)}; expected a u32 power of two`,
        metadataOffsets.get('general.alignment'));
    }
    alignment = al.value;
  }

  const infos: Array<Omit<GgufTensorInfo, 'fileOffset'>> = [];
  const seen = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const infoOffset = c.pos;
    const name = c.string(`name of tensor ${i}`);
    if (seen.has(name)) throw c.fail(`tensor name '${name}' appears twice`, infoOffset);
    seen.add(name);
    const nDimsAt = c.pos;
    const nDims = c.u32(`dimension count of tensor '${name}'`);
    if (nDims > 4) throw c.fail(`tensor '${name}' has ${nDims} dimensions; ggml allows at most 4`, nDimsAt);
    const dims: number[] = [];
    let nElements = 1;
    for (let d = 0; d < nDims; d++) {
      const at = c.pos;
      const ne = c.u64(`dimension ${d} of tensor '${name}'`);
      if (ne > BigInt(Number.MAX_SAFE_INTEGER) || nElements * Number(ne) > Number.MAX_SAFE_INTEGER) {
        throw c.fail(`tensor '${name}' dimension ${d} is ${ne}: the tensor would have more than 2^53 elements`, at);
      }
      dims.push(Number(ne));
      nElements *= Number(ne);
    }
    const typeAt = c.pos;
    const typeId = c.u32(`type of tensor '${name}'`);
    const type = ggmlType(typeId);
    if (!type) throw c.fail(`tensor '${name}' has unknown ggml type id ${typeId}`, typeAt);
    const row = dims[0] ?? 1;
    if (row % type.blockElems !== 0) {
      throw c.fail(`tensor '${name}' of type ${type.name} has rows of ${row} elements, not a multiple of its block size ${type.blockElems}`, typeAt);
    }
    const offAt = c.pos;
    const off = c.u64(`data offset of tensor '${name}'`);
    if (off > BigInt(c.size)) {
      throw c.fail(`tensor '${name}' data offset ${off} is past the end of the file (${c.size} bytes)`, offAt);
    }
    const offset = Number(off);
    if (offset % alignment !== 0) {
      throw c.fail(`tensor '${name}' data offset ${offset} is not a multiple of the alignment ${alignment}`, offAt);
    }
    infos.push({ name, dims, shape: [...dims].reverse(), type, nElements, nBytes: ggmlBytes(type, nElements), offset, infoOffset });
  }

  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const tensors: GgufTensorInfo[] = infos.map((t) => {
    const fileOffset = dataStart + t.offset;
    if (fileOffset + t.nBytes > c.size) {
      throw c.fail(`tensor '${t.name}' (${t.type.name} [${t.dims.join(', ')}], ${t.nBytes} bytes) has its data at bytes ${fileOffset}..${fileOffset + t.nBytes}, past the end of the file (${c.size} bytes): the file is truncated or the offset is wrong`,
        t.infoOffset);
    }
    return { ...t, fileOffset };
  });
  if (nTensors > 0 && dataStart > c.size) throw c.fail(`tensor data would start at byte ${dataStart}, past the end of the file`, c.pos);
  return new GgufFile(c.path, version, c.size, metadata, metadataOffsets, tensors, alignment, dataStart);
}
