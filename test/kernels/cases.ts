// The kernel corpus: for each op kind of the registry (compiler/ops/kinds), fixed edge
// cases (zeros, the largest magnitudes, single elements, the last position) and seeded
// random shapes and values. Weights and caches are made the way the compiler makes them
// (quantizeRows, quantizeLowbit, quantizeAct), so every case is an input a real program
// can feed the kernel. test/kernels/kernels.test.ts runs them all through harness.ts.
import type { OpKindName } from '../../compiler/emit/artifact-contents.ts';
import { toScale } from '../../compiler/quantize/fixed-point.ts';
import { quantizeLowbit } from '../../compiler/quantize/lowbit.ts';
import { quantizeVq2, vq2CodeBytes } from '../../compiler/quantize/vq2.ts';
import { GROUPED_FORMATS } from '../../compiler/quantize/formats/registry.ts';
import { exp2Table, modelConstants, ropeTables, siluTable } from '../../compiler/quantize/tables.ts';
import { quantizeGain, quantizeRows } from '../../compiler/quantize/weights.ts';
import { Rng } from '../../compiler/synth/prng.ts';
import {
  ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, INV_QMAX8_E, INV_QMAX8_M, LOGIT_FRAC, QMAX8,
} from '../../runtime/kernels/reference/constants.ts';
import { I32_MAX } from '../../runtime/kernels/reference/arith.ts';
import { fillCache, randQ } from '../helpers/kv-cache.ts';
import { kvKScaleBase, kvKScaleMElems } from '../../runtime/kernels/reference/kv_kblock.ts';
import type { KernelCase } from './harness.ts';

/** Seeded random cases per op kind (on top of the fixed ones). */
export const RANDOM_CASES = 6;

const int = (r: Rng, lo: number, hi: number) => lo + (r.next() % (hi - lo + 1));
const gaussF32 = (r: Rng, n: number, mag: number) => Float32Array.from({ length: n }, () => r.gauss() * mag);
/** Q16 values of standard deviation `mag` (× 10^±2 per case, so exponents move). */
const q16 = (r: Rng, n: number, mag: number) => randQ(r, n, mag, ACT_FRAC);
const i16 = (r: Rng, n: number, max: number) => Int16Array.from({ length: n }, () => int(r, -max, max));
/** The largest admissible magnitudes, alternating sign. */
const extreme32 = (n: number) => Int32Array.from({ length: n }, (_, i) => (i & 1 ? -I32_MAX : I32_MAX));
const scaleBuf = (r: Rng) => { const s = toScale(2 ** (r.gauss() * 4) / 2047); return Int32Array.of(s.m, s.e, 0, 0); };

function gemvCase(op: OpKindName, label: string, r: Rng, n: number, d: number, xs: Int16Array | null, outFrac: number): KernelCase {
  const w = quantizeRows(gaussF32(r, n * d, 0.05 * 2 ** (r.gauss())), d, n);
  const x = xs ?? i16(r, n, ACT_QMAX), sc = scaleBuf(r);
  return {
    op, label, buffers: { y: new Int32Array(d), w: w.q, wM: w.m, wE: w.e, x },
    calls: [{ fn: 'gemvQ8', args: ['y', 'w', 'wM', 'wE', 'x', sc[0], sc[1], n, d, outFrac] }], compare: ['y'],
  };
}

function rmsnormCase(label: string, r: Rng, n: number, x: Int32Array): KernelCase {
  const g = quantizeGain(Float32Array.from({ length: n }, () => 1 + r.gauss() * 0.3));
  const k = modelConstants(n, 8);
  return {
    op: 'rmsnorm', label, buffers: { q: new Int16Array(n), x, g: g.q, u: new Int32Array(n), sc: new Int32Array(4) },
    calls: [{ fn: 'rmsnormQuant', args: ['q', 'x', n, 'g', g.frac, k.rmsEpsQ32, k.rmsSqShift, k.rmsDimScale.m, k.rmsDimScale.e, 'u', 'sc', 0] }],
    compare: ['q', 'sc'],
  };
}

function attentionCase(label: string, r: Rng, nH: number, nKv: number, hs: number, S: number, pos: number, qMag: number): KernelCase {
  const c = fillCache(r, pos + 1, nKv, hs, 1 + r.uniform() * 3, 1 + r.uniform() * 3, S);
  const att = modelConstants(nH * hs, hs).attScale;
  return {
    op: 'attention', label,
    buffers: {
      out: new Int32Array(nH * hs), q: q16(r, nH * hs, qMag), kc: c.kc, kM: c.kM, kE: c.kE, vc: c.vc, vM: c.vM, vE: c.vE,
      exp2: exp2Table(), q12: new Int16Array(hs), scores: new Int32Array(S), weights: new Int32Array(S),
    },
    calls: [{ fn: 'attention', args: ['out', 'q', pos, 'kc', 'kM', 'kE', 'vc', 'vM', 'vE', nH, nKv, hs, att.m, att.e, 'exp2', 'q12', 'scores', 'weights'] }],
    compare: ['out'],
  };
}

function kvStoreCase(label: string, r: Rng, nKv: number, hs: number, S: number, pos: number, k: Int32Array, v: Int32Array): KernelCase {
  const kvD = nKv * hs;
  return {
    op: 'kv_store', label,
    buffers: {
      kc: new Int16Array(S * kvD), kM: new Int16Array(S * nKv), kE: new Int8Array(S * nKv),
      vc: new Int8Array(S * kvD), vM: new Int16Array(S * nKv), vE: new Int8Array(S * nKv), k, v, sc: new Int32Array(4),
    },
    calls: [{ fn: 'kvStore', args: ['kc', 'kM', 'kE', 'vc', 'vM', 'vE', 'k', 'v', pos, nKv, hs, 'sc'] }],
    compare: ['kc', 'kM', 'kE', 'vc', 'vM', 'vE'],
  };
}

/**
 * The quantized cache (kv_store_q, attention_q): positions 0..pos stored one call each into
 * a fresh cache of S rows, window W, then (attention_q) attention at pos. With anchors
 * (A > 0) attention runs after every store, as in a model, since its scores decide which
 * positions kv_store_q promotes. Every cache byte and scale and the anchor state are
 * compared, so the store's packing, ring and anchor choices are checked across flavours.
 */
function kvqCase(op: 'kv_store_q' | 'attention_q', label: string, r: Rng, nH: number, nKv: number, hs: number, S: number, pos: number,
  kBits: number, vBits: number, W: number, mag: number, A = 0, rot = false, G = 0): KernelCase {
  const kvD = nKv * hs, rows = (S + W + A) * nKv;
  // K blocks of G positions (§3.7.3): a scale row per block, then (lo, step) per block and channel.
  const buffers: KernelCase['buffers'] = {
    kc: new Int8Array(((S * kvD * kBits) >> 3) + (W + A) * kvD), kM: new Int16Array(kvKScaleMElems(S, nKv, hs, G, W + A)), kE: new Int8Array((kvKScaleBase(S, G) + W + A) * nKv),
    vc: new Int8Array(((S * kvD * vBits) >> 3) + (W + A) * kvD), vM: new Int16Array(rows), vE: new Int8Array(rows),
    st: new Int32Array(A > 0 ? (2 * S + A) * nKv : 1), row8: new Int8Array(hs), sc: new Int32Array(4),
  };
  const att = modelConstants(nH * hs, hs).attScale;
  const attend = (t: number) => ({ fn: 'attentionQ' as const, args: ['out', 'q', t, 'kc', 'kM', 'kE', 'vc', 'vM', 'vE', S, nH, nKv, hs, att.m, att.e, kBits, vBits, W, A, G, 'st', 'exp2', 'q12', 'scores', 'weights'] });
  const withAttention = op === 'attention_q' || A > 0;
  if (withAttention) {
    Object.assign(buffers, {
      out: new Int32Array(nH * hs), q: q16(r, nH * hs, mag), exp2: exp2Table(), q12: new Int16Array(hs),
      scores: new Int32Array(S), weights: new Int32Array(S),
    });
  }
  const calls: KernelCase['calls'] = [];
  for (let t = 0; t <= pos; t++) {
    buffers[`k${t}`] = q16(r, kvD, mag * 10 ** (r.gauss() * 0.3)); buffers[`v${t}`] = q16(r, kvD, mag);
    // `,rot` (§3.7.2): k goes through the Walsh–Hadamard transform first, as in a model.
    if (rot) calls.push({ fn: 'hadamard', args: [`k${t}`, kvD, hs] });
    calls.push({ fn: 'kvStoreQ', args: ['kc', 'kM', 'kE', 'vc', 'vM', 'vE', `k${t}`, `v${t}`, t, S, nKv, hs, kBits, vBits, W, A, G, 'st', 'row8', 'sc'] });
    if (A > 0 && t < pos) calls.push(attend(t));
  }
  const compare = ['kc', 'kM', 'kE', 'vc', 'vM', 'vE', 'st'];
  if (op === 'attention_q') { calls.push(attend(pos)); compare.push('out'); }
  return { op, label, buffers, calls, compare };
}

const KV_BITS = [8, 4, 2];
const randomKvq = (op: 'kv_store_q' | 'attention_q') => (r: Rng, i: number): KernelCase => {
  const nKv = int(r, 1, 3), nH = nKv * int(r, 1, 2), hs = 4 * int(r, 1, 8), S = int(r, 1, 24);
  const kBits = KV_BITS[int(r, 0, 2)], vBits = KV_BITS[int(r, 0, 2)], W = int(r, 0, 1) ? int(r, 1, S) : 0;
  const A = W > 0 && int(r, 0, 1) ? int(r, 1, S) : 0;
  // K blocks: a divisor of the window, in every other case with one.
  const divisors = Array.from({ length: W }, (_, j) => j + 1).filter((d) => W % d === 0);
  const G = W > 0 && int(r, 0, 1) ? divisors[int(r, 0, divisors.length - 1)] : 0;
  return kvqCase(op, `random ${i}: k${kBits}v${vBits},w${W},A${A},G${G}, ${nH}/${nKv} heads of ${hs}, S ${S}`, r, nH, nKv, hs, S, int(r, 0, S - 1), kBits, vBits, W, 10 ** r.gauss(), A, false, G);
};

/**
 * kv_store_q and attention_q at every (kBits, vBits) pair, each pair once without a window,
 * once with a ring wrapped over several times, once with anchor slots filled and evicted
 * (and read). attention_q: head sizes whose rows end inside a 16-byte chunk in every way
 * (the SIMD kernel's tail loads): hs 4 (1 byte at 2 bits), 8, 16, 28 (7, 14 and 28 bytes)
 * and 64; n = pos + 1 odd. kv_store_q: head sizes around the SIMD kernel's 16-value chunks,
 * 4, 8, 12 (all tail), 16, 20, 28 (a chunk and a tail) and 64, with k rotated first in
 * every other case of a power-of-two hs, and values of any magnitude; at 8 bits a head
 * size need not be even: hs 5 and 21 at k8v8.
 */
const KVQ_WIDTHS = {
  attention_q: {
    hs: [4, 8, 16, 28, 64], nH: 4, rot: false, mag: () => 1,
    layouts: [
      { name: 'no window', S: 10, pos: 8, W: 0, A: 0 },
      { name: 'w4, ring wrapped', S: 12, pos: 10, W: 4, A: 0 },
      { name: 'w3, 2 anchor slots read', S: 16, pos: 14, W: 3, A: 2 },
      { name: 'w4, K blocks of 2, 1 anchor slot', S: 17, pos: 14, W: 4, A: 1, G: 2 },
    ],
  },
  kv_store_q: {
    hs: [4, 8, 12, 16, 20, 28, 64], nH: 2, rot: true, mag: (r: Rng) => 10 ** r.gauss(),
    layouts: [
      { name: 'no window', S: 6, pos: 5, W: 0, A: 0 },
      { name: 'w3, ring wrapped', S: 10, pos: 9, W: 3, A: 0 },
      { name: 'w2, 2 anchor slots', S: 12, pos: 11, W: 2, A: 2 },
      { name: 'w4, K blocks of 4', S: 14, pos: 13, W: 4, A: 0, G: 4 },
    ],
  },
};
function kvqWidthCases(r: Rng, op: 'kv_store_q' | 'attention_q'): KernelCase[] {
  const w = KVQ_WIDTHS[op], out: KernelCase[] = [];
  KV_BITS.forEach((kBits, ki) => KV_BITS.forEach((vBits, vi) => w.hs.forEach((hs, hi) => {
    const l: { name: string; S: number; pos: number; W: number; A: number; G?: number } = w.layouts[(3 * ki + vi + hi) % w.layouts.length];
    const rot = w.rot && (hs & (hs - 1)) === 0 && (ki + vi + hi) % 2 === 0;
    out.push(kvqCase(op, `k${kBits}v${vBits}, hs ${hs}, ${l.name}${rot ? ', rot' : ''}, n ${l.pos + 1}`, r, w.nH, 2, hs, l.S, l.pos, kBits, vBits, l.W, w.mag(r), l.A, rot, l.G));
  })));
  if (op === 'kv_store_q') for (const hs of [5, 21]) out.push(kvqCase(op, `k8v8, hs ${hs}, w2, 1 anchor slot`, r, 2, 2, hs, 8, 7, 8, 8, 2, 1, 1));
  return out;
}

function requantizeCase(label: string, v: Int32Array, int8: boolean, frac = ACT_FRAC): KernelCase {
  const n = v.length;
  const [fn, q, qmax, invM, invE] = int8
    ? ['quantizeActI8', new Int8Array(n), QMAX8, INV_QMAX8_M, INV_QMAX8_E] as const
    : ['quantizeActI16', new Int16Array(n), ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E] as const;
  return {
    op: 'requantize', label, buffers: { q, v, sc: new Int32Array(4) },
    calls: [{ fn, args: ['q', 0, 'v', 0, n, frac, qmax, invM, invE, 'sc', 0] }], compare: ['q', 'sc'],
  };
}

/**
 * lut_tables then gemv_lut: the tables are private to each flavour's pair, so y is compared.
 * n need not be a multiple of gs: the matrix is stored as whole groups and the kernels run on
 * nPad = gs ceil(n / gs) columns, the tables' activations past n being 0.
 */
function lutCase(op: 'lut_tables' | 'gemv_lut', label: string, r: Rng, n: number, d: number, bits: number, gs: number, x: Int16Array | null, outFrac: number): KernelCase {
  const m = quantizeLowbit(gaussF32(r, n * d, 0.05), d, n, { bits, groupSize: gs, clip: false });
  const sc = scaleBuf(r), nPad = gs * Math.ceil(n / gs);
  return {
    op, label,
    buffers: { y: new Int32Array(d), x: x ?? i16(r, n, ACT_QMAX), planes: m.planes, groups: m.groups, wM: m.scaleM, wE: m.scaleE, t: new Int16Array(4 * nPad) },
    calls: [
      { fn: 'lutTables', args: ['t', 'x', n, nPad] },
      { fn: 'gemvLut', args: ['y', 'planes', 'groups', 'wM', 'wE', 't', sc[0], sc[1], nPad, d, bits, gs, outFrac] },
    ],
    compare: ['y'],
  };
}

/**
 * gemv_vq over a vq2 matrix: quantized by the compiler's quantizer from Gaussian weights, or
 * (`codes` given) arbitrary code bytes with the given codebook and scale.
 */
function vqCase(label: string, r: Rng, n: number, d: number, x: Int16Array | null, outFrac: number, raw?: { codebook: Int8Array; m: number; e: number }): KernelCase {
  const q = raw
    ? { codes: Uint8Array.from({ length: vq2CodeBytes(d, n) }, () => r.next() & 255), codebook: raw.codebook, scaleM: Int16Array.of(raw.m), scaleE: Int8Array.of(raw.e) }
    : quantizeVq2(gaussF32(r, n * d, 0.05 * 2 ** r.gauss()), d, n);
  const sc = scaleBuf(r);
  return {
    op: 'gemv_vq', label, buffers: { y: new Int32Array(d), codes: q.codes, codebook: q.codebook, x: x ?? i16(r, n, ACT_QMAX) },
    calls: [{ fn: 'gemvVq', args: ['y', 'codes', 'codebook', q.scaleM[0], q.scaleE[0], 'x', sc[0], sc[1], n, d, outFrac] }],
    compare: ['y'],
  };
}

type Maker = (r: Rng, i: number) => KernelCase;

/** Per op kind: fixed edge cases, and a maker of seeded random ones. */
const CORPUS: Record<string, { fixed: () => KernelCase[]; random: Maker }> = {
  embed: {
    fixed: () => {
      const r = new Rng(1, 'embed fixed'), V = 5, D = 16;
      const w = quantizeRows(gaussF32(r, V * D, 0.5), V, D);
      w.q.fill(0, 2 * D, 3 * D); // an all-zero row
      const mk = (label: string, tok: number) => ({
        op: 'embed' as const, label, buffers: { x: new Int32Array(D), e: w.q, m: w.m, ex: w.e },
        calls: [{ fn: 'embeddingLookup' as const, args: ['x', 'e', 'm', 'ex', tok, D] }], compare: ['x'],
      });
      return [mk('first token', 0), mk('zero row', 2), mk('last token', V - 1)];
    },
    random: (r, i) => {
      const V = int(r, 2, 40), D = int(r, 1, 96), w = quantizeRows(gaussF32(r, V * D, 2 ** r.gauss()), V, D);
      return {
        op: 'embed', label: `random ${i}: V ${V} D ${D}`, buffers: { x: new Int32Array(D), e: w.q, m: w.m, ex: w.e },
        calls: [{ fn: 'embeddingLookup', args: ['x', 'e', 'm', 'ex', int(r, 0, V - 1), D] }], compare: ['x'],
      };
    },
  },
  rmsnorm: {
    fixed: () => {
      const r = new Rng(1, 'rmsnorm fixed');
      return [
        rmsnormCase('all zero', r, 64, new Int32Array(64)),
        rmsnormCase('n = 1', r, 1, Int32Array.of(12345)),
        rmsnormCase('largest magnitudes', r, 48, extreme32(48)),
        rmsnormCase('one nonzero', r, 32, Int32Array.from({ length: 32 }, (_, i) => (i === 7 ? 3 : 0))),
      ];
    },
    random: (r, i) => { const n = int(r, 1, 300); return rmsnormCase(`random ${i}: n ${n}`, r, n, q16(r, n, 10 ** (r.gauss() * 2))); },
  },
  gemv: {
    fixed: () => {
      const r = new Rng(1, 'gemv fixed');
      return [
        gemvCase('gemv', 'zero input', r, 32, 8, new Int16Array(32), ACT_FRAC),
        gemvCase('gemv', 'max input', r, 64, 5, Int16Array.from({ length: 64 }, (_, i) => (i & 1 ? -ACT_QMAX : ACT_QMAX)), ACT_FRAC),
        gemvCase('gemv', '1 x 1', r, 1, 1, null, ACT_FRAC),
        gemvCase('gemv', 'n not a multiple of 16', r, 37, 19, null, ACT_FRAC),
      ];
    },
    random: (r, i) => { const n = int(r, 1, 200), d = int(r, 1, 40); return gemvCase('gemv', `random ${i}: ${d} x ${n}`, r, n, d, null, ACT_FRAC); },
  },
  classifier: {
    fixed: () => [gemvCase('classifier', 'logits', new Rng(1, 'cls fixed'), 64, 33, null, LOGIT_FRAC)],
    random: (r, i) => { const n = 16 * int(r, 1, 8), d = int(r, 2, 80); return gemvCase('classifier', `random ${i}: ${d} x ${n}`, r, n, d, null, LOGIT_FRAC); },
  },
  rope: {
    fixed: () => {
      const S = 16, hs = 8, t = ropeTables(S, hs), r = new Rng(1, 'rope fixed');
      const mk = (label: string, v: Int32Array, pos: number): KernelCase => ({
        op: 'rope', label, buffers: { v, cos: t.cos, sin: t.sin },
        calls: [{ fn: 'ropeQ16', args: ['v', v.length, hs, 'cos', 'sin', pos] }], compare: ['v'],
      });
      return [mk('position 0', q16(r, 32, 1), 0), mk('last position', q16(r, 32, 1), S - 1), mk('largest magnitudes', extreme32(16), 5)];
    },
    random: (r, i) => {
      const hs = 2 * int(r, 1, 32), heads = int(r, 1, 6), S = int(r, 1, 64), t = ropeTables(S, hs), n = hs * heads;
      return {
        op: 'rope', label: `random ${i}: ${heads} heads of ${hs}, S ${S}`, buffers: { v: q16(r, n, 10 ** r.gauss()), cos: t.cos, sin: t.sin },
        calls: [{ fn: 'ropeQ16', args: ['v', n, hs, 'cos', 'sin', int(r, 0, S - 1)] }], compare: ['v'],
      };
    },
  },
  kv_store: {
    fixed: () => {
      const r = new Rng(1, 'kv fixed');
      return [
        kvStoreCase('zeros at position 0', r, 2, 8, 4, 0, new Int32Array(16), new Int32Array(16)),
        kvStoreCase('largest magnitudes at the last position', r, 1, 16, 3, 2, extreme32(16), extreme32(16)),
        kvStoreCase('one head zero, one not', r, 2, 4, 2, 1, Int32Array.of(0, 0, 0, 0, 5, -9, 70000, 1), Int32Array.of(1, 2, 3, 4, 0, 0, 0, 0)),
      ];
    },
    random: (r, i) => {
      const nKv = int(r, 1, 4), hs = int(r, 1, 40), S = int(r, 1, 20);
      return kvStoreCase(`random ${i}: ${nKv} kv heads of ${hs}, S ${S}`, r, nKv, hs, S, int(r, 0, S - 1), q16(r, nKv * hs, 10 ** r.gauss()), q16(r, nKv * hs, 10 ** r.gauss()));
    },
  },
  attention: {
    fixed: () => {
      const r = new Rng(1, 'att fixed');
      return [
        attentionCase('position 0', r, 2, 2, 8, 8, 0, 1),
        attentionCase('grouped query, last position', r, 4, 2, 8, 6, 5, 1),
        attentionCase('zero query', r, 2, 1, 4, 4, 3, 0),
        attentionCase('large query', r, 2, 2, 16, 5, 4, 3000),
      ];
    },
    random: (r, i) => {
      const nKv = int(r, 1, 3), nH = nKv * int(r, 1, 3), hs = 2 * int(r, 1, 16), S = int(r, 1, 40);
      return attentionCase(`random ${i}: ${nH}/${nKv} heads of ${hs}, S ${S}`, r, nH, nKv, hs, S, int(r, 0, S - 1), 10 ** r.gauss());
    },
  },
  kv_store_q: {
    fixed: () => {
      const r = new Rng(1, 'kvq fixed');
      return [
        kvqCase('kv_store_q', 'k4v4, zero-magnitude values, position 0', r, 1, 1, 8, 4, 0, 4, 4, 0, 0),
        kvqCase('kv_store_q', 'k2v2 with a window of 2, ring wraps', r, 2, 2, 8, 6, 5, 2, 2, 2, 1),
        kvqCase('kv_store_q', 'k8v4, window = S', r, 1, 1, 4, 3, 2, 8, 4, 3, 100),
        kvqCase('kv_store_q', 'k2v2,w2 with 2 anchor slots: slots fill, then the weakest is evicted', r, 2, 2, 8, 16, 15, 2, 2, 2, 1, 2),
        kvqCase('kv_store_q', 'k4v4,w1 with 3 anchor slots, zero values: equal scores (ties)', r, 2, 1, 8, 10, 9, 4, 4, 1, 0, 3),
        kvqCase('kv_store_q', 'k4v4,w2 magnitudes the rotation saturates', r, 2, 2, 16, 6, 5, 4, 4, 2, 3000, 0, true),
        kvqCase('kv_store_q', 'k2v2,w4,kblock=4 zero values (the zero block scale)', r, 1, 1, 8, 12, 11, 2, 2, 4, 0, 0, false, 4),
        kvqCase('kv_store_q', 'k4v4,w8,kblock=2 large values, 2 anchor slots', r, 2, 2, 8, 24, 23, 4, 4, 8, 3000, 2, false, 2),
        kvqCase('kv_store_q', 'k8v8,w6,kblock=3 (odd S: the last block never complete)', r, 2, 2, 8, 13, 12, 8, 8, 6, 1, 0, false, 3),
        kvqCase('kv_store_q', 'k2v4,w1,kblock=1 tiny values', r, 1, 1, 16, 5, 4, 2, 4, 1, 1e-4, 0, false, 1),
        ...kvqWidthCases(r, 'kv_store_q'),
      ];
    },
    random: randomKvq('kv_store_q'),
  },
  attention_q: {
    fixed: () => {
      const r = new Rng(1, 'attq fixed');
      return [
        kvqCase('attention_q', 'k4v4 position 0', r, 2, 2, 8, 8, 0, 4, 4, 0, 1),
        kvqCase('attention_q', 'k2v2,w3 grouped query, last position, window wrapped', r, 4, 2, 8, 8, 7, 2, 2, 3, 1),
        kvqCase('attention_q', 'k4v8,w1 large values', r, 2, 1, 16, 5, 4, 4, 8, 1, 3000),
        kvqCase('attention_q', 'k8v2, zero values', r, 1, 1, 4, 4, 3, 8, 2, 0, 0),
        kvqCase('attention_q', 'k2v2,w3, 2 anchor slots, grouped query, anchors evicted and read', r, 4, 2, 8, 20, 19, 2, 2, 3, 1, 2),
        kvqCase('attention_q', 'k4v2,w2, every packed position an anchor (A = S)', r, 2, 1, 16, 9, 8, 4, 2, 2, 3000, 9),
        kvqCase('attention_q', 'k2v2,w8,kblock=8 grouped query, blocks read', r, 4, 2, 8, 32, 31, 2, 2, 8, 1, 0, false, 8),
        kvqCase('attention_q', 'k2v2,w4,kblock=2, 2 anchor slots, large values', r, 2, 1, 16, 20, 19, 2, 2, 4, 3000, 2, false, 2),
        kvqCase('attention_q', 'k4v4,w4,kblock=4 zero values', r, 1, 1, 8, 12, 11, 4, 4, 4, 0, 0, false, 4),
        // K blocks at real shapes (the SIMD kernel's block path over full 16-byte chunks and tails):
        // hs 48 (stories15M, the bench's shape) and 16 (babyllama936K), blocks of 32 and 8 in a window of 32.
        kvqCase('attention_q', 'k4v4,w32,kblock=32, hs 48, 2 blocks read', r, 2, 2, 48, 96, 95, 4, 4, 32, 1, 0, false, 32),
        kvqCase('attention_q', 'k2v2,w32,kblock=8, hs 48, grouped query, 2 anchor slots', r, 4, 2, 48, 64, 63, 2, 2, 32, 1, 2, false, 8),
        kvqCase('attention_q', 'k8v4,w32,kblock=16, hs 48, large values', r, 2, 2, 48, 80, 79, 8, 4, 32, 3000, 0, false, 16),
        kvqCase('attention_q', 'k4v2,w32,kblock=32, hs 16 (babyllama936K: 8 heads, 4 kv heads)', r, 8, 4, 16, 80, 79, 4, 2, 32, 1, 0, false, 32),
        ...kvqWidthCases(r, 'attention_q'),
      ];
    },
    random: randomKvq('attention_q'),
  },
  requantize: {
    fixed: () => [
      requantizeCase('zeros to int16', new Int32Array(8), false),
      requantizeCase('zeros to int8', new Int32Array(8), true),
      requantizeCase('largest magnitudes to int16', extreme32(9), false),
      requantizeCase('largest magnitudes to int8', extreme32(9), true),
      requantizeCase('a single element', Int32Array.of(-1), false),
    ],
    random: (r, i) => { const n = int(r, 1, 400); return requantizeCase(`random ${i}: n ${n}`, q16(r, n, 10 ** (r.gauss() * 2)), (r.next() & 1) === 1); },
  },
  swiglu: {
    fixed: () => {
      const r = new Rng(1, 'swiglu fixed');
      const mk = (label: string, h1: Int32Array, h3: Int32Array): KernelCase => ({
        op: 'swiglu', label, buffers: { h1, h3, silu: siluTable() },
        calls: [{ fn: 'swigluQ16', args: ['h1', 'h3', h1.length, 'silu'] }], compare: ['h1'],
      });
      return [mk('zeros', new Int32Array(8), q16(r, 8, 1)), mk('beyond the table (|x| large)', Int32Array.from({ length: 8 }, (_, i) => (i - 4) * 40 << 16), q16(r, 8, 1)),
        mk('largest magnitudes', extreme32(6), extreme32(6))];
    },
    random: (r, i) => {
      const n = int(r, 1, 300);
      return {
        op: 'swiglu', label: `random ${i}: n ${n}`, buffers: { h1: q16(r, n, 10 ** r.gauss()), h3: q16(r, n, 10 ** r.gauss()), silu: siluTable() },
        calls: [{ fn: 'swigluQ16', args: ['h1', 'h3', n, 'silu'] }], compare: ['h1'],
      };
    },
  },
  residual_add: {
    fixed: () => {
      const mk = (label: string, x: Int32Array, y: Int32Array): KernelCase => ({
        op: 'residual_add', label, buffers: { x, y }, calls: [{ fn: 'residualAdd', args: ['x', 'y', x.length] }], compare: ['x'],
      });
      return [mk('saturates both ways', extreme32(4), extreme32(4)), mk('opposite extremes cancel', extreme32(4), extreme32(5).subarray(1).slice()), mk('one element', Int32Array.of(1), Int32Array.of(-2))];
    },
    random: (r, i) => {
      const n = int(r, 1, 500);
      return { op: 'residual_add', label: `random ${i}: n ${n}`, buffers: { x: q16(r, n, 100), y: q16(r, n, 100) }, calls: [{ fn: 'residualAdd', args: ['x', 'y', n] }], compare: ['x'] };
    },
  },
  lut_tables: {
    fixed: () => {
      const r = new Rng(1, 'lut fixed');
      return [
        lutCase('lut_tables', 'zero input', r, 64, 16, 2, 64, new Int16Array(64), ACT_FRAC),
        lutCase('lut_tables', 'max input', r, 128, 8, 4, 32, Int16Array.from({ length: 128 }, (_, i) => (i % 3 ? ACT_QMAX : -ACT_QMAX)), ACT_FRAC),
        // Padded tables: n not a multiple of 4 (one table straddles n), and of G.
        lutCase('lut_tables', 'max input, n 50 padded to 64', r, 50, 8, 4, 32, Int16Array.from({ length: 50 }, (_, i) => (i % 3 ? ACT_QMAX : -ACT_QMAX)), ACT_FRAC),
        lutCase('lut_tables', 'n 1 padded to 32', r, 1, 8, 2, 32, null, ACT_FRAC),
      ];
    },
    random: (r, i) => {
      const f = GROUPED_FORMATS[int(r, 0, GROUPED_FORMATS.length - 1)], gs = f.groupSizes[0], n = Math.max(32, gs) * int(r, 1, 8);
      return lutCase('lut_tables', `random ${i}: n ${n}, ${f.bits} bits`, r, n, int(r, 1, 20), f.bits, gs, null, ACT_FRAC);
    },
  },
  gemv_lut: {
    fixed: () => {
      const r = new Rng(1, 'gemv_lut fixed');
      // Every grouped format of the registry, at its widest and its narrowest group size.
      // Then inputs no group size divides (a padded last group): stories260K's w2 (172 = 4·43
      // inputs) at every group size of every format, and 44.
      return GROUPED_FORMATS.flatMap(({ bits: b, groupSizes: gs }) => [
        lutCase('gemv_lut', `${b} bits, g${gs.at(-1)}, d not a multiple of 16`, r, 2 * gs.at(-1)!, 21, b, gs.at(-1)!, null, ACT_FRAC),
        lutCase('gemv_lut', `${b} bits, g${gs[0]}, a classifier`, r, 2 * gs[0], 40, b, gs[0], null, LOGIT_FRAC),
        ...gs.map((g) => lutCase('gemv_lut', `${b} bits, g${g}, 64 x 172 (w2 of stories260K): padded to ${g * Math.ceil(172 / g)}`, r, 172, 64, b, g, null, ACT_FRAC)),
        lutCase('gemv_lut', `${b} bits, g${gs[0]}, 17 x 44: padded to 64`, r, 44, 17, b, gs[0], null, ACT_FRAC),
      ]);
    },
    random: (r, i) => {
      const f = GROUPED_FORMATS[int(r, 0, GROUPED_FORMATS.length - 1)], bits = f.bits;
      // Every other case: a partial last group.
      const gs = f.groupSizes[int(r, 0, f.groupSizes.length - 1)], n = gs * int(r, 1, 4) - (i % 2 ? int(r, 1, gs - 1) : 0), d = int(r, 1, 48);
      return lutCase('gemv_lut', `random ${i}: ${d} x ${n}, ${bits} bits, g${gs}`, r, n, d, bits, gs, null, ACT_FRAC);
    },
  },
  gemv_vq: {
    fixed: () => {
      const r = new Rng(1, 'gemv_vq fixed');
      const maxX = (n: number) => Int16Array.from({ length: n }, (_, i) => (i % 3 ? ACT_QMAX : -ACT_QMAX));
      const ends = Int8Array.from({ length: 64 }, (_, i) => (i % 2 ? 127 : -127));
      return [
        vqCase('16 x 16, one block', r, 16, 16, null, ACT_FRAC),
        vqCase('d not a multiple of 16, a classifier', r, 48, 21, null, LOGIT_FRAC),
        vqCase('zero input', r, 32, 16, new Int16Array(32), ACT_FRAC),
        // |acc| up to 8256 · 2047 · 127 < 2^31: the longest admitted input at the extremes.
        vqCase('n = 8256, every |x| = 2047, codewords ±127, random codes', r, 8256, 17, maxX(8256), ACT_FRAC, { codebook: ends, m: 16384, e: 24 }),
        // A corrupted codebook (-128, never written) may wrap int32: the same wrap everywhere.
        vqCase('codebook of -128 (wraps modulo 2^32)', r, 8256, 16, Int16Array.from({ length: 8256 }, () => -ACT_QMAX), ACT_FRAC, { codebook: new Int8Array(64).fill(-128), m: 32767, e: 10 }),
      ];
    },
    random: (r, i) => {
      const n = 16 * int(r, 1, 24), d = int(r, 1, 40);
      return vqCase(`random ${i}: ${d} x ${n}`, r, n, d, null, ACT_FRAC);
    },
  },
  hadamard: {
    fixed: () => {
      const r = new Rng(1, 'hadamard fixed');
      const mk = (label: string, v: Int32Array, hs: number): KernelCase => ({
        op: 'hadamard', label, buffers: { v }, calls: [{ fn: 'hadamard', args: ['v', v.length, hs] }], compare: ['v'],
      });
      const oneHot = (hs: number) => Int32Array.from({ length: hs * hs }, (_, i) => (i % (hs + 1) === 0 ? 65536 : 0));
      return [
        mk('heads of 1 (identity)', q16(r, 5, 1), 1),
        mk('one-hot rows: the columns of H, 8 heads of 8', oneHot(8), 8),
        mk('largest magnitudes saturate, heads of 2', extreme32(8), 2),
        mk('largest magnitudes, one head of 256', Int32Array.from({ length: 256 }, (_, i) => (i % 3 ? I32_MAX : -I32_MAX)), 256),
        mk('int32 minimum and maximum', Int32Array.of(-2147483648, -2147483648, I32_MAX, -2147483648, 0, -2147483648, 1, -1), 4),
        mk('an outlier channel (x1000), 2 heads of 64', Int32Array.from(q16(r, 128, 1), (x, i) => (i % 64 === 5 ? x * 1000 : x)), 64),
      ];
    },
    random: (r, i) => {
      const hs = 1 << int(r, 0, 8), heads = int(r, 1, 4), n = hs * heads;
      return {
        op: 'hadamard', label: `random ${i}: ${heads} heads of ${hs}`, buffers: { v: q16(r, n, 10 ** (r.gauss() * 2)) },
        calls: [{ fn: 'hadamard', args: ['v', n, hs] }], compare: ['v'],
      };
    },
  },
};

/** Every case of `op` (fixed, then RANDOM_CASES seeded random ones); [] for a kind without a corpus. */
export function casesOf(op: string, seed = 1): KernelCase[] {
  const c = CORPUS[op];
  if (!c) return [];
  const r = new Rng(seed, `kernel corpus ${op}`);
  return [...c.fixed(), ...Array.from({ length: RANDOM_CASES }, (_, i) => c.random(r, i))];
}
