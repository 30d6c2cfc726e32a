// ggml tensor data to float32, value for value what ggml's reference dequantize_row_*
// (ggml/src/ggml-quants.c) computes: every product and sum is rounded to float32 in the
// same order as the C code (compiled without FMA contraction), so the output bytes equal
// the peer's. test/ggml-dequant.test.ts compiles the peer's own ggml-quants.c and compares.
// Block layouts are stated once in ggml-types.ts; offsets below follow its field order.
import { EdgeqError } from '../../util/errors.ts';
import { QK_K, type GgmlType } from './ggml-types.ts';

const fr = Math.fround;

/** IEEE half to float (exact, including subnormals, infinities and NaN). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 31) return man === 0 ? sign * Infinity : NaN;
  return sign * (1024 + man) * 2 ** (exp - 25);
}

const HALF = new Float32Array(65536);
for (let i = 0; i < 65536; i++) HALF[i] = halfToFloat(i);
const half = (b: Uint8Array, o: number): number => HALF[b[o] | (b[o + 1] << 8)];

/** ggml's non-linear 4-bit codebook for IQ4_NL (kvalues_iq4nl). */
export const IQ4NL_VALUES = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113] as const;

type Dequant = (b: Uint8Array, o: number, y: Float32Array, at: number) => void;

/** The k-quants' packed 6-bit scale and min number j of 8 (ggml's get_scale_min_k4). */
function scaleMinK4(j: number, q: Uint8Array, o: number): [number, number] {
  if (j < 4) return [q[o + j] & 63, q[o + j + 4] & 63];
  return [(q[o + j + 4] & 0xf) | ((q[o + j - 4] >> 6) << 4), (q[o + j + 4] >> 4) | ((q[o + j] >> 6) << 4)];
}

const BLOCKS: Record<string, Dequant> = {
  Q4_0(b, o, y, at) {
    const d = half(b, o);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 2 + j];
      y[at + j] = fr(((q & 0xf) - 8) * d);
      y[at + j + 16] = fr(((q >> 4) - 8) * d);
    }
  },
  Q4_1(b, o, y, at) {
    const d = half(b, o), m = half(b, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 4 + j];
      y[at + j] = fr(fr((q & 0xf) * d) + m);
      y[at + j + 16] = fr(fr((q >> 4) * d) + m);
    }
  },
  Q5_0(b, o, y, at) {
    const d = half(b, o);
    const qh = (b[o + 2] | (b[o + 3] << 8) | (b[o + 4] << 16) | (b[o + 5] << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = b[o + 6 + j];
      const h0 = ((qh >>> j) << 4) & 0x10, h1 = (qh >>> (j + 12)) & 0x10;
      y[at + j] = fr((((q & 0xf) | h0) - 16) * d);
      y[at + j + 16] = fr((((q >> 4) | h1) - 16) * d);
    }
  },
  Q5_1(b, o, y, at) {
    const d = half(b, o), m = half(b, o + 2);
    const qh = (b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = b[o + 8 + j];
      const h0 = ((qh >>> j) << 4) & 0x10, h1 = (qh >>> (j + 12)) & 0x10;
      y[at + j] = fr(fr(((q & 0xf) | h0) * d) + m);
      y[at + j + 16] = fr(fr(((q >> 4) | h1) * d) + m);
    }
  },
  Q8_0(b, o, y, at) {
    const d = half(b, o);
    for (let j = 0; j < 32; j++) y[at + j] = fr(((b[o + 2 + j] << 24) >> 24) * d);
  },
  IQ4_NL(b, o, y, at) {
    const d = half(b, o);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 2 + j];
      y[at + j] = fr(d * IQ4NL_VALUES[q & 0xf]);
      y[at + j + 16] = fr(d * IQ4NL_VALUES[q >> 4]);
    }
  },
  // scales[16] qs[64] d dmin
  Q2_K(b, o, y, at) {
    const d = half(b, o + 80), min = half(b, o + 82);
    let q = o + 16, is = 0, p = at;
    for (let n = 0; n < QK_K; n += 128) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (const off of [0, 16]) {
          const sc = b[o + is++];
          const dl = fr(d * (sc & 0xf)), ml = fr(min * (sc >> 4));
          for (let l = 0; l < 16; l++) y[p++] = fr(fr(dl * ((b[q + off + l] >> shift) & 3)) - ml);
        }
      }
      q += 32;
    }
  },
  // hmask[32] qs[64] scales[12] d
  Q3_K(b, o, y, at) {
    const dAll = half(b, o + 108);
    const sc = o + 96;
    const w = (i: number) => (b[sc + 4 * i] | (b[sc + 4 * i + 1] << 8) | (b[sc + 4 * i + 2] << 16) | (b[sc + 4 * i + 3] << 24)) >>> 0;
    const a0 = w(0), a1 = w(1), tmp = w(2);
    const k1 = 0x03030303, k2 = 0x0f0f0f0f;
    const aux = [
      ((a0 & k2) | (((tmp >>> 0) & k1) << 4)) >>> 0,
      ((a1 & k2) | (((tmp >>> 2) & k1) << 4)) >>> 0,
      (((a0 >>> 4) & k2) | (((tmp >>> 4) & k1) << 4)) >>> 0,
      (((a1 >>> 4) & k2) | (((tmp >>> 6) & k1) << 4)) >>> 0,
    ];
    const scale = (i: number) => ((aux[i >> 2] >>> (8 * (i & 3))) << 24) >> 24; // int8 view, little-endian
    let q = o + 32, is = 0, m = 1, p = at;
    for (let n = 0; n < QK_K; n += 128) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (const off of [0, 16]) {
          const dl = fr(dAll * (scale(is++) - 32));
          for (let l = 0; l < 16; l++) {
            y[p++] = fr(dl * (((b[q + off + l] >> shift) & 3) - (b[o + off + l] & m ? 0 : 4)));
          }
        }
        m <<= 1;
      }
      q += 32;
    }
  },
  // d dmin scales[12] qs[128]
  Q4_K(b, o, y, at) {
    const d = half(b, o), min = half(b, o + 2);
    let q = o + 16, is = 0, p = at;
    for (let j = 0; j < QK_K; j += 64) {
      const [s1, m1_] = scaleMinK4(is, b, o + 4), [s2, m2_] = scaleMinK4(is + 1, b, o + 4);
      const d1 = fr(d * s1), m1 = fr(min * m1_), d2 = fr(d * s2), m2 = fr(min * m2_);
      for (let l = 0; l < 32; l++) y[p++] = fr(fr(d1 * (b[q + l] & 0xf)) - m1);
      for (let l = 0; l < 32; l++) y[p++] = fr(fr(d2 * (b[q + l] >> 4)) - m2);
      q += 32; is += 2;
    }
  },
  // d dmin scales[12] qh[32] qs[128]
  Q5_K(b, o, y, at) {
    const d = half(b, o), min = half(b, o + 2);
    const qh = o + 16;
    let ql = o + 48, is = 0, u1 = 1, u2 = 2, p = at;
    for (let j = 0; j < QK_K; j += 64) {
      const [s1, m1_] = scaleMinK4(is, b, o + 4), [s2, m2_] = scaleMinK4(is + 1, b, o + 4);
      const d1 = fr(d * s1), m1 = fr(min * m1_), d2 = fr(d * s2), m2 = fr(min * m2_);
      for (let l = 0; l < 32; l++) y[p++] = fr(fr(d1 * ((b[ql + l] & 0xf) + (b[qh + l] & u1 ? 16 : 0))) - m1);
      for (let l = 0; l < 32; l++) y[p++] = fr(fr(d2 * ((b[ql + l] >> 4) + (b[qh + l] & u2 ? 16 : 0))) - m2);
      ql += 32; is += 2; u1 <<= 2; u2 <<= 2;
    }
  },
  // ql[128] qh[64] scales[16] (int8) d
  Q6_K(b, o, y, at) {
    const d = half(b, o + 208);
    let ql = o, qh = o + 128, sc = o + 192, p = at;
    const s8 = (i: number) => (b[sc + i] << 24) >> 24;
    for (let n = 0; n < QK_K; n += 128) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = b[qh + l];
        const q1 = ((b[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((b[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((b[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((b[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        y[p + l] = fr(fr(d * s8(is)) * q1);
        y[p + l + 32] = fr(fr(d * s8(is + 2)) * q2);
        y[p + l + 64] = fr(fr(d * s8(is + 4)) * q3);
        y[p + l + 96] = fr(fr(d * s8(is + 6)) * q4);
      }
      p += 128; ql += 64; qh += 32; sc += 8;
    }
  },
};

/** Type names this module dequantizes. */
export const DEQUANTIZABLE = ['F32', 'F16', 'BF16', ...Object.keys(BLOCKS)] as const;

export const canDequantize = (t: GgmlType): boolean => (DEQUANTIZABLE as readonly string[]).includes(t.name);

/**
 * Dequantizes `bytes` (whole blocks of `type`) to float32. `where` names the tensor for the
 * refusal of a type this reader does not support.
 */
export function dequantize(type: GgmlType, bytes: Uint8Array, where: { file: string; tensor: string; offset?: number }): Float32Array {
  if (bytes.length % type.blockBytes !== 0) {
    throw new RangeError(`internal: ${bytes.length} bytes is not a whole number of ${type.name} blocks (${type.blockBytes} bytes)`);
  }
  const nBlocks = bytes.length / type.blockBytes;
  const y = new Float32Array(nBlocks * type.blockElems);
  switch (type.name) {
    case 'F32':
      new Uint8Array(y.buffer).set(bytes); // little-endian host, like the file
      return y;
    case 'F16':
      for (let i = 0; i < y.length; i++) y[i] = HALF[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
      return y;
    case 'BF16': {
      // bfloat16 is the top half of a float32: widening is exact.
      const u = new Uint32Array(y.buffer);
      for (let i = 0; i < y.length; i++) u[i] = ((bytes[2 * i] << 16) | (bytes[2 * i + 1] << 24)) >>> 0;
      return y;
    }
  }
  const block = BLOCKS[type.name];
  if (!block) {
    throw new EdgeqError(`tensor '${where.tensor}' has ggml type ${type.name}, which edgeq does not read; supported: ${DEQUANTIZABLE.join(', ')}`,
      { file: where.file, offset: where.offset });
  }
  for (let i = 0; i < nBlocks; i++) block(bytes, i * type.blockBytes, y, i * type.blockElems);
  return y;
}
