// safetensors container reader: u64 little-endian header length N, N bytes of JSON
// ({ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": {...} }), then the
// data; offsets are relative to the data start, shapes row-major. Only the header is read
// here; tensor bytes are read on demand by positioned reads.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { EdgeqError } from '../../util/errors.ts';
import { halfToFloat } from '../gguf/ggml-dequant.ts';

const HALF = new Float32Array(65536);
for (let i = 0; i < 65536; i++) HALF[i] = halfToFloat(i);

/** dtypes edgeq widens to float32 exactly (F16, BF16) or reads as is (F32). */
export const SAFETENSORS_DTYPES = { F32: 4, F16: 2, BF16: 2 } as const;
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPES;

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte offset of the data in the file, and its length. */
  fileOffset: number;
  nBytes: number;
}

export interface SafetensorsFile { path: string; bytes: number; tensors: Map<string, SafetensorsTensor> }

/** Header length limit (safetensors' own reader refuses headers over 100 MB). */
const MAX_HEADER = 100_000_000;

/** True when `head` (the file's first 9+ bytes) starts like a safetensors file. */
export function looksLikeSafetensors(head: Uint8Array, size: number): boolean {
  if (head.length < 9) return false;
  const n = Buffer.from(head.buffer, head.byteOffset, head.length).readBigUInt64LE(0);
  return n > 1n && n <= BigInt(Math.min(MAX_HEADER, size - 8)) && head[8] === 0x7b; // '{'
}

function readAt(fd: number, path: string, len: number, pos: number, what: string): Buffer {
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const k = readSync(fd, b, got, len - got, pos + got);
    if (k === 0) throw new EdgeqError(`file ends early inside ${what}`, { file: path, offset: pos + got });
    got += k;
  }
  return b;
}

export function readSafetensors(path: string): SafetensorsFile {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const fail = (msg: string, offset?: number) => new EdgeqError(msg, { file: path, offset });
    if (size < 8) throw fail(`file is ${size} bytes, too short for a safetensors header`, 0);
    const n = readAt(fd, path, 8, 0, 'the header length').readBigUInt64LE(0);
    if (n > BigInt(Math.min(MAX_HEADER, size - 8))) throw fail(`safetensors header length is ${n}, more than the ${Math.min(MAX_HEADER, size - 8)} bytes allowed by the file size`, 0);
    const headerLen = Number(n);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(readAt(fd, path, headerLen, 8, 'the JSON header').toString('utf8'));
    } catch (e) {
      if (e instanceof EdgeqError) throw e;
      throw fail(`safetensors header is not valid JSON: ${(e as Error).message}`, 8);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('safetensors header is not a JSON object', 8);
    const dataStart = 8 + headerLen;
    const tensors = new Map<string, SafetensorsTensor>();
    for (const [name, v] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const dtype = t?.dtype as string;
      if (!(typeof dtype === 'string' && dtype in SAFETENSORS_DTYPES)) {
        throw fail(`tensor '${name}' has dtype ${JSON.stringify(dtype)}; edgeq reads ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`, 8);
      }
      const shape = t.shape as number[];
      const offs = t.data_offsets as number[];
      if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw fail(`tensor '${name}' has a malformed shape ${JSON.stringify(t.shape)}`, 8);
      if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0) || offs[1] < offs[0]) {
        throw fail(`tensor '${name}' has malformed data_offsets ${JSON.stringify(t.data_offsets)}`, 8);
      }
      const count = shape.reduce((a, b) => a * b, 1);
      const nBytes = offs[1] - offs[0];
      const elem = SAFETENSORS_DTYPES[dtype as SafetensorsDtype];
      if (nBytes !== count * elem) {
        throw fail(`tensor '${name}' (${dtype} [${shape.join(', ')}]) has data_offsets [${offs.join(', ')}] spanning ${nBytes} bytes; its shape needs ${count * elem}`, 8);
      }
      if (dataStart + offs[1] > size) {
        throw fail(`tensor '${name}' data at bytes ${dataStart + offs[0]}..${dataStart + offs[1]} lies past the end of the file (${size} bytes): the file is truncated or the offsets are wrong`, dataStart + offs[0]);
      }
      tensors.set(name, { name, dtype: dtype as SafetensorsDtype, shape, fileOffset: dataStart + offs[0], nBytes });
    }
    return { path, bytes: size, tensors };
  } finally {
    closeSync(fd);
  }
}

/** Reads `count` elements from element `start` of `t`, widened to float32 (exact for F16 and BF16). */
export function readSafetensorsRange(path: string, t: SafetensorsTensor, start: number, count: number): Float32Array {
  const elem = SAFETENSORS_DTYPES[t.dtype];
  const fd = openSync(path, 'r');
  let raw: Buffer;
  try { raw = readAt(fd, path, count * elem, t.fileOffset + start * elem, `the data of tensor '${t.name}' (was the file changed after it was opened?)`); } finally { closeSync(fd); }
  const out = new Float32Array(count);
  if (t.dtype === 'F32') { new Uint8Array(out.buffer).set(raw); return out; }
  if (t.dtype === 'BF16') {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) u[i] = ((raw[2 * i] << 16) | (raw[2 * i + 1] << 24)) >>> 0;
    return out;
  }
  for (let i = 0; i < count; i++) out[i] = HALF[raw[2 * i] | (raw[2 * i + 1] << 8)];
  return out;
}
