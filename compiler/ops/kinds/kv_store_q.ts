// kv_store_q: this position's K and V rows of one layer's quantized cache (8/4/2 bits,
// per (position, kv head) scales), and with a window W also at 8 bits in ring row
// position mod W, and with anchors (A > 0) promotes the position leaving the window to an
// int8 anchor slot when its attention score ranks among the top A (docs/integer-spec.md
// §3.7.1, docs/kv-cache.md); with kBlock = G > 0, K is quantized per channel over blocks
// of G positions, requantized from the ring when a block leaves the window (§3.7.3).
import { kvStoreQ } from '../../../runtime/kernels/reference/kv_store_q.ts';
import type { OpDef, ParamDef } from '../op-def.ts';
import { atMost, inRange, oneOf, positive, productMultipleOf, zeroOrDivides, zeroUnlessPositive } from '../param-rules.ts';

/** Largest head size of the quantized cache ops (the device's row scratch; int32 bounds). */
export const KVQ_MAX_HS = 256;

/** Value widths of the quantized cache; a row of hs values must fill whole bytes. */
const kvBitsParam = (name: string): ParamDef => ({ name, note: '8, 4 or 2; hs·bits a multiple of 8', rules: [oneOf(8, 4, 2), productMultipleOf('hs', 8)] });
export const KVQ_PARAMS: ParamDef[] = [
  { name: 'nKv', rules: [positive] },
  { name: 'hs', note: `≤ ${KVQ_MAX_HS}`, rules: [positive, atMost(KVQ_MAX_HS)] },
  kvBitsParam('kBits'), kvBitsParam('vBits'),
  // At most seq_len (≤ 4096): the device's operand check holds it to the model's seq_len.
  { name: 'window', note: '0 (none) to seq_len', rules: [inRange(0, 4096)] },
  // Anchor slots per kv head (A); they are filled from the window, so need one.
  { name: 'anchors', note: '0 (none) to seq_len; needs window > 0', rules: [inRange(0, 4096), zeroUnlessPositive('window')] },
  // K per channel over blocks of kBlock positions (0: per position); a block is requantized from the ring.
  { name: 'kBlock', note: '0 (per position) or a divisor of window', rules: [inRange(0, 4096), zeroOrDivides('window')] },
];

/** The cache operands (kv_store_q's outputs, attention_q's inputs 2..7). */
export const KVQ_CACHE = [
  { name: 'K', type: 'i8 [S·kvD·kBits/8 + (W + A)·kvD]' }, { name: 'K.m', type: 'i16 [R + W + A, nKv] + [2·nB·kvD] (R = S, or nB = floor(S / kBlock) with blocks)' }, { name: 'K.e', type: 'i8 [R + W + A, nKv]' },
  { name: 'V', type: 'i8 [S·kvD·vBits/8 + (W + A)·kvD]' }, { name: 'V.m', type: 'i16 [S + W + A, nKv]' }, { name: 'V.e', type: 'i8 [S + W + A, nKv]' },
];

/** The anchor state (kv_store_q's and attention_q's last output): scores, slot map, slot table; one unused element without anchors. */
export const KVQ_ANCHORS = { name: 'anchors', type: 'i32 [(2S + A)·nKv], or [1] when A = 0' };

/**
 * The device's proof that the six cache operands from `first` (outputs when `output`) and
 * the anchor state (output `state`) have that layout: an AssemblyScript expression over
 * the locals nKv, hs, kBits, vBits, window, anchors, kBlock, S and rows = (S + window + anchors)·nKv
 * (kv_store_q's and attention_q's operand checks share it). K's scale rows with blocks:
 * nB = floor(S / kBlock) instead of S, and m has 2·nB·kvD (lo, step) more (§3.7.3).
 */
export const kvqCacheOperands = (first: number, output: boolean, state: number): string => {
  const slot = (i: number, t: string, n: string) => `isSlot(r, ${first + i}, ${output}, ${t}, ${n})`;
  const nB = '(kBlock > 0 ? S / <i64>kBlock : <i64>0)', kRows = `((kBlock > 0 ? ${nB} : S) + window + anchors) * nKv`;
  return [
    'window <= S && anchors <= S',
    slot(0, 'I8', '((S * kvD * kBits) >> 3) + (window + anchors) * kvD'), slot(1, 'I16', `${kRows} + 2 * ${nB} * kvD`), slot(2, 'I8', kRows),
    slot(3, 'I8', '((S * kvD * vBits) >> 3) + (window + anchors) * kvD'), slot(4, 'I16', 'rows'), slot(5, 'I8', 'rows'),
    `isSlot(r, ${state}, true, I32, anchors > 0 ? (2 * S + anchors) * nKv : 1)`,
  ].join(' &&\n  ');
};

const run = `kvStoreQ(outp(r, 0), outp(r, 1), outp(r, 2), outp(r, 3), outp(r, 4), outp(r, 5), inp(r, 0), inp(r, 1),
  inPos, <i32>cfgSeqLen, nKv, hs, kBits, vBits, window, anchors, kBlock, outp(r, 6), scratch, scratch + ${KVQ_MAX_HS});`;

export const kv_store_q: OpDef = {
  kind: 'kv_store_q',
  kernel: 'kv_store_q',
  inputs: [{ name: 'k', type: 'i32 [kvD]' }, { name: 'v', type: 'i32 [kvD]' }, { name: 'input', type: 'position' }],
  outputs: [...KVQ_CACHE, KVQ_ANCHORS],
  params: KVQ_PARAMS,
  device: {
    // scratch: a row of hs ≤ 256 int8 values, then the kernel's four int32 of (m, e).
    check: 'checkKvStoreQ', run: 'runKvStoreQ', simdRun: 'runKvStoreQSimd', imports: ['kvStoreQ'], scratch: KVQ_MAX_HS + 16,
    operands: `const kvD = <i64>nKv * hs, S = <i64>cfgSeqLen, rows = (S + window + anchors) * nKv;
return isSlot(r, 0, false, I32, kvD) && isSlot(r, 1, false, I32, kvD) && isInput(r, 2, ProgramInput.position) &&
  ${kvqCacheOperands(0, true, 6)};`,
    body: run,
    simdBody: run,
  },
  interpret: (o, step) => {
    o.counts(3, 7, 7);
    const k = o.in<Int32Array>(0, 'int32'), v = o.in<Int32Array>(1, 'int32');
    o.input(2, 'position');
    const kc = o.out<Int8Array>(0, 'int8'), kM = o.out<Int16Array>(1, 'int16'), kE = o.out<Int8Array>(2, 'int8');
    const vc = o.out<Int8Array>(3, 'int8'), vM = o.out<Int16Array>(4, 'int16'), vE = o.out<Int8Array>(5, 'int8');
    const st = o.out<Int32Array>(6, 'int32');
    const [nKv, hs, kBits, vBits, window, anchors, kBlock] = o.op.params;
    const S = o.seqLen, row8 = new Int8Array(hs), sc = new Int32Array(4);
    return () => kvStoreQ(kc, kM, kE, vc, vM, vE, k, v, step.position, S, nKv, hs, kBits, vBits, window, anchors, kBlock, st, row8, sc);
  },
};
