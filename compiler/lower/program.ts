// Lowering: QuantModel -> Program, the ordered kernel calls of one forward step over a
// static arena (schemas/edgeq.fbs: Program, Slot, Op). The op sequence is exactly the
// integer reference's forward pass (runtime/reference/model.ts, docs/integer-spec.md
// §3.13); each op's operands and params follow the layouts of docs/integer-spec.md §9,
// which the runtime checks at load (runtime/assembly/ops.ts).
//
// Slots: per-layer temporaries are separate slots (q, k, v, attention output, FFN hidden,
// quantized inputs and their scales), so their lifetimes are short and the arena layout
// (arena.ts) folds them onto each other; the residual stream `x` lives through the step;
// the KV cache (per layer: K int16, V int8, and their per-head scales) and the logits
// persist across steps.
import type { ArtifactOp, ArtifactProgram, ArtifactRef, ArtifactSlot } from '../emit/artifact-contents.ts';
import { tensorBytes, type DTypeName } from '../emit/dtype.ts';
import type { QuantModel } from '../quantize/quant-model.ts';
import { formatNamed } from '../quantize/formats/registry.ts';
import { paddedCols } from '../quantize/lowbit-format.ts';
import { matrixNames, tensorParam } from '../quantize/quant-model.ts';
import { EdgeqError } from '../util/errors.ts';
import {
  ACT_FRAC, ACT_QMAX, LOGIT_FRAC,
} from '../../runtime/kernels/reference/constants.ts';
import { layoutArena } from './arena.ts';
import { buildOp } from '../ops/registry.ts';
import { anchorSlots, anchorStateElems, isQuantizedKv, kvScoreScale, kvWindow } from '../quantize/kv-cache.ts';
import { kvKScaleBase, kvKScaleMElems } from '../../runtime/kernels/reference/kv_kblock.ts';

export interface LoweredProgram extends ArtifactProgram {
  /** Op kinds in the order of first use (for reports). */
  readonly opKinds: string[];
}

/** Bits of a matrix whose format the LUT kernels consume (compiler/quantize/formats/); undefined: gemv. */
const lutBits = (dtype: string): number | undefined => { const f = formatNamed(dtype); return f?.kernels.op === 'gemv_lut' ? f.bits : undefined; };

/** int32 [4]: (m, e) of an activation scale, padded to 16 bytes. */
const SCALE_SHAPE = [4];

/** Lowers any QuantModel: int8 matrices to gemv, low-bit ones to lut_tables + gemv_lut, vq2 ones to gemv_vq. */
export const lower = (m: QuantModel): LoweredProgram => lowerInt8(m);

export function lowerInt8(m: QuantModel): LoweredProgram {
  const p = m.params;
  const { dim: D, hiddenDim: H, nLayers: L, nHeads, nKvHeads, vocabSize: V, seqLen: S } = p;
  const hs = D / nHeads, kvD = hs * nKvHeads, kv = m.kvCache;
  if (!Number.isInteger(hs)) throw new EdgeqError(`lowering: dim ${D} is not a multiple of ${nHeads} heads`);
  const quantized = kv !== undefined && isQuantizedKv(kv), rot = quantized && kv.rot;
  // A rotated cache's scores: attScale / hs (§3.7.2); refuses a head size that is not a power of two.
  const scoreScale = kvScoreScale(quantized ? kv : undefined, hs, p.attScaleM, p.attScaleE);
  const tensorIndex = new Map(m.tensors.map((t, i) => [t.name, i]));
  const T = (name: string): ArtifactRef => {
    const i = tensorIndex.get(name);
    if (i === undefined) throw new EdgeqError(`lowering: the integer model has no tensor ${name}`);
    return { kind: 'tensor', index: i };
  };
  const gainFrac = (name: string) => tensorParam(m.tensors[tensorIndex.get(name)!], 'frac');

  const slots: Array<{ name: string; dtype: DTypeName; shape: number[]; first: number; last: number; persistent: boolean }> = [];
  const ops: ArtifactOp[] = [];
  const slot = (name: string, dtype: DTypeName, shape: number[], persistent = false): ArtifactRef => {
    slots.push({ name, dtype, shape, first: Infinity, last: -Infinity, persistent });
    return { kind: 'slot', index: slots.length - 1 };
  };
  const TOKEN: ArtifactRef = { kind: 'input', index: 0 };
  const POS: ArtifactRef = { kind: 'input', index: 1 };
  // Ops are built by the registry (compiler/ops): params by name, in the kind's order.
  const op = (kind: ArtifactOp['kind'], name: string, inputs: ArtifactRef[], outputs: ArtifactRef[], params: Record<string, number>) => {
    const at = ops.length;
    for (const r of [...inputs, ...outputs]) {
      if (r.kind !== 'slot') continue;
      const s = slots[r.index];
      s.first = Math.min(s.first, at);
      s.last = Math.max(s.last, at);
    }
    ops.push(buildOp(kind, name, inputs, outputs, params));
  };
  const mat = (base: string) => { const n = matrixNames(base); return [T(n.q), T(n.m), T(n.e)]; };
  const norm = (gain: string, x: ArtifactRef, q: ArtifactRef, sc: ArtifactRef, u: ArtifactRef, name: string) =>
    op('rmsnorm', name, [x, T(gain), u], [q, sc],
      { n: D, gainFrac: gainFrac(gain), rmsEpsQ32: p.rmsEpsQ32, rmsSqShift: p.rmsSqShift, rmsDimScaleM: p.rmsDimScaleM, rmsDimScaleE: p.rmsDimScaleE });
  // Low-bit matrices (docs/integer-spec.md §9): one lut_tables op per GEMV input vector and
  // padded length, its table slot shared by every LUT matrix reading that input (wq/wk/wv,
  // w1/w3). A matrix is stored as whole groups, nPad = G ceil(n / G) columns (lowbit-format.ts
  // paddedCols), and its gemv_lut runs on nPad; the plan's rule (plan.ts resolveMatrix) gives
  // every LUT matrix of an input the same nPad (32 ceil(n / 32)), so one table per input. A
  // low-bit classifier (wcls, the plan's opt-in, §11) is a gemv_lut with outFrac LOGIT_FRAC.
  const lutTablesOf = new Map<string, ArtifactRef>();
  const gemv = (w: string, x: ArtifactRef, sc: ArtifactRef, out: ArtifactRef, n: number, d: number, kind: 'gemv' | 'classifier' = 'gemv', outFrac = ACT_FRAC) => {
    const t = m.tensors[tensorIndex.get(w) ?? -1];
    const nm = matrixNames(w);
    // vq2 (§9.7): one gemv_vq reading x directly; its codebook is its own.
    if (t && formatNamed(t.dtype)?.kernels.op === 'gemv_vq') return op('gemv_vq', w, [x, sc, T(nm.q), T(nm.codebook), T(nm.m), T(nm.e)], [out], { n, d, outFrac });
    const bits = t ? lutBits(t.dtype) : undefined;
    if (bits === undefined) return op(kind, w, [x, sc, ...mat(w)], [out], { n, d, outFrac });
    const gs = tensorParam(t, 'groupSize'), nPad = paddedCols(n, gs);
    if (nPad / gs > 1024) throw new EdgeqError(`lowering: ${w}: ${n} columns are more than 1024 groups of ${gs}`);
    const key = `${x.index}:${nPad}`;
    let tables = lutTablesOf.get(key);
    if (!tables) {
      // A second padded length of the same input (not from today's plans) gets its own name.
      const again = [...lutTablesOf.keys()].some((k) => k.startsWith(`${x.index}:`));
      const name = `${slots[x.index].name}.lut${again ? nPad : ''}`;
      tables = slot(name, 'int16', [4 * nPad]);
      op('lut_tables', name, [x], [tables], { n, nPad });
      lutTablesOf.set(key, tables);
    }
    op('gemv_lut', w, [tables, sc, T(nm.q), T(nm.groups), T(nm.m), T(nm.e)], [out], { n: nPad, d, outFrac, bits, G: gs });
  };

  const x = slot('x', 'int32', [D]);
  const u = slot('rmsnorm.u', 'int32', [D]);
  const logits = slot('logits', 'int32', [V], true);
  const exp2 = T('exp2'), silu = T('silu'), cos = T('rope.cos'), sin = T('rope.sin');

  const [E, Em, Ee] = mat('tok_embeddings');
  op('embed', 'tok_embeddings', [E, Em, Ee, TOKEN], [x], { D });
  for (let l = 0; l < L; l++) {
    const b = (n: string) => `blocks.${l}.${n}`;
    // Attention block.
    const xq = slot(b('xq'), 'int16', [D]), xs = slot(b('xq.scale'), 'int32', SCALE_SHAPE);
    norm(b('rms_att'), x, xq, xs, u, b('rms_att'));
    const q = slot(b('q'), 'int32', [D]), k = slot(b('k'), 'int32', [kvD]), v = slot(b('v'), 'int32', [kvD]);
    gemv(b('wq'), xq, xs, q, D, D);
    gemv(b('wk'), xq, xs, k, D, kvD);
    gemv(b('wv'), xq, xs, v, D, kvD);
    op('rope', b('rope.q'), [q, POS, cos, sin], [q], { n: D, hs });
    op('rope', b('rope.k'), [k, POS, cos, sin], [k], { n: kvD, hs });
    if (rot) {
      op('hadamard', b('hadamard.q'), [q], [q], { n: D, hs });
      op('hadamard', b('hadamard.k'), [k], [k], { n: kvD, hs });
    }
    // The cache (persistent), then attention's output and scratch: slots in this order
    // (the arena layout, hence the bytes of k12v8 bundles, depends on it).
    const W = quantized ? kvWindow(kv, S) : 0, A = quantized ? anchorSlots(kv, S) : 0, G = quantized ? kv.kBlock : 0;
    // k12v8: K int16 [S, kvD], V int8 [S, kvD]; quantized (§3.7.1): packed rows, then the
    // window's int8 ring rows, then the anchor rows.
    const cacheRows = quantized ? S + W + A : S;
    const kc = quantized ? slot(b('k_cache'), 'int8', [((S * kvD * kv.kBits) >> 3) + (W + A) * kvD], true) : slot(b('k_cache'), 'int16', [S, kvD], true);
    // K blocks (§3.7.3): a scale row per block instead of per position, then (lo, step) per block and channel.
    const kM = G > 0 ? slot(b('k_cache.scale_m'), 'int16', [kvKScaleMElems(S, nKvHeads, hs, G, W + A)], true) : slot(b('k_cache.scale_m'), 'int16', [cacheRows, nKvHeads], true);
    const kE = slot(b('k_cache.scale_e'), 'int8', [G > 0 ? kvKScaleBase(S, G) + W + A : cacheRows, nKvHeads], true);
    const vc = quantized ? slot(b('v_cache'), 'int8', [((S * kvD * kv.vBits) >> 3) + (W + A) * kvD], true) : slot(b('v_cache'), 'int8', [S, kvD], true);
    const vM = slot(b('v_cache.scale_m'), 'int16', [cacheRows, nKvHeads], true);
    const vE = slot(b('v_cache.scale_e'), 'int8', [cacheRows, nKvHeads], true);
    // The anchor state (scores, slot map, slot table); one unused element without anchors
    // (the ops' operand counts are fixed), named so the cache's bytes leave it out.
    const st = quantized ? [slot(b(A > 0 ? 'kv_anchors' : 'kv_anchors.none'), 'int32', [anchorStateElems(S, nKvHeads, A)], true)] : [];
    const bitsW: Record<string, number> = quantized ? { kBits: kv.kBits, vBits: kv.vBits, window: W, anchors: A, kBlock: G } : {};
    op(quantized ? 'kv_store_q' : 'kv_store', b('kv_store'), [k, v, POS], [kc, kM, kE, vc, vM, vE, ...st], { nKv: nKvHeads, hs, ...bitsW });
    const att = slot(b('attention'), 'int32', [D]);
    const q12 = slot(b('attention.q12'), 'int16', [hs]);
    const scores = slot(b('attention.scores'), 'int32', [S]);
    const weights = slot(b('attention.weights'), 'int32', [S]);
    op(quantized ? 'attention_q' : 'attention', b('attention'), [q, POS, kc, kM, kE, vc, vM, vE, exp2, q12, scores, weights], [att, ...st],
      { nHeads, nKv: nKvHeads, hs, attScaleM: scoreScale.m, attScaleE: scoreScale.e, ...bitsW });
    const aq = slot(b('attention.q'), 'int16', [D]), as = slot(b('attention.q.scale'), 'int32', SCALE_SHAPE);
    op('requantize', b('attention.requantize'), [att], [aq, as], { n: D, frac: ACT_FRAC, qmax: ACT_QMAX });
    const o = slot(b('wo.out'), 'int32', [D]);
    gemv(b('wo'), aq, as, o, D, D);
    op('residual_add', b('residual.att'), [x, o], [x], { n: D });
    // Feed-forward block.
    const fq = slot(b('ffn.xq'), 'int16', [D]), fs = slot(b('ffn.xq.scale'), 'int32', SCALE_SHAPE);
    norm(b('rms_ffn'), x, fq, fs, u, b('rms_ffn'));
    const h1 = slot(b('h1'), 'int32', [H]), h3 = slot(b('h3'), 'int32', [H]);
    gemv(b('w1'), fq, fs, h1, D, H);
    gemv(b('w3'), fq, fs, h3, D, H);
    op('swiglu', b('swiglu'), [h1, h3, silu], [h1], { n: H });
    const hq = slot(b('hq'), 'int16', [H]), hsc = slot(b('hq.scale'), 'int32', SCALE_SHAPE);
    op('requantize', b('ffn.requantize'), [h1], [hq, hsc], { n: H, frac: ACT_FRAC, qmax: ACT_QMAX });
    const f = slot(b('w2.out'), 'int32', [D]);
    gemv(b('w2'), hq, hsc, f, H, D);
    op('residual_add', b('residual.ffn'), [x, f], [x], { n: D });
  }
  const fq = slot('final.xq', 'int16', [D]), fs = slot('final.xq.scale', 'int32', SCALE_SHAPE);
  norm('rms_final', x, fq, fs, u, 'rms_final');
  gemv(p.sharedClassifier ? 'tok_embeddings' : 'wcls', fq, fs, logits, D, V, 'classifier', LOGIT_FRAC);

  const n = ops.length;
  const lives = slots.map((s) => {
    const size = tensorBytes(s.dtype, s.shape);
    return s.persistent ? { size, first: 0, last: n } : { size, first: s.first, last: s.last };
  });
  const { offsets, arenaSize } = layoutArena(lives);
  const outSlots: ArtifactSlot[] = slots.map((s, i) => ({
    name: s.name, dtype: s.dtype, shape: s.shape, offset: offsets[i], size: lives[i].size,
  }));
  const opKinds = [...new Set(ops.map((o) => o.kind))];
  return { arenaSize, slots: outSlots, ops, outputs: [logits], opKinds };
}
