// QuantModel + Program (+ target, plan, tokenizer, provenance) -> the artifact's contents,
// with conformance vectors computed by the integer reference. Deterministic: the same
// inputs give the same ArtifactContents, hence the same model.edgeq bytes.
import { basename } from 'node:path';
import type {
  ArtifactContents, ArtifactPlan, ArtifactProgram, ArtifactTensor, ArtifactTokenizer, ArtifactConformanceCase,
} from './artifact-contents.ts';
import { writeArtifact } from './artifact.ts';
import { fnv1a64 } from './conformance-hash.ts';
import type { QuantModel, QDType } from '../quantize/quant-model.ts';
import { IntTransformer } from '../../runtime/reference/model.ts';
import type { Tokenizer } from '../import/tokenizer.ts';
import { BOS } from '../import/tokenizer.ts';
import { VERSION } from '../version.ts';
import { EdgeqError } from '../util/errors.ts';
import type { DTypeName } from './dtype.ts';

const DTYPE: Record<QDType, DTypeName> = { i8: 'int8', i16: 'int16', i32: 'int32' };

/** A precision plan named on the command line. Only uniform 8-bit exists yet. */
export interface PlanSpec { kind: 'uniform'; bits: 8 }

export const SUPPORTED_PLANS = ['uniform:8'];

/** Parses `--plan`; EdgeqError (usage, exit 2) naming what is supported otherwise. */
export function parsePlan(s: string): PlanSpec {
  if (s === 'uniform:8') return { kind: 'uniform', bits: 8 };
  const m = /^uniform:(\d+)$/.exec(s);
  const why = m ? `${m[1]}-bit weights are not implemented yet (low-bit LUT plans arrive with issue 5)` : 'unknown plan';
  throw new EdgeqError(`--plan ${JSON.stringify(s)}: ${why}; supported plans: ${SUPPORTED_PLANS.join(', ')}`, {}, 2);
}

const MATRICES = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'];

export function planContents(plan: PlanSpec, nLayers: number, gptq: boolean): ArtifactPlan {
  const rule = `uniform int8 per-row${gptq ? ', GPTQ' : ', round to nearest'}`;
  return {
    method: `uniform bits=${plan.bits}${gptq ? ' gptq' : ''}`,
    blocks: Array.from({ length: nLayers }, (_, l) => ({
      block: l, bits: 8, groupSize: 0, format: 'int8', rule,
      matrices: MATRICES.map((name) => ({ name, bits: 8, groupSize: 0, format: 'int8' as const })),
    })),
  };
}

/** The tokenizer as the artifact stores it (fixed-point scores; float scores for hosts). */
export function tokenizerContents(t: Tokenizer): ArtifactTokenizer {
  const lim = 2 ** 31 - 1;
  const fixed = (s: number) => Math.max(-lim, Math.min(lim, Math.round(s * 65536)));
  return {
    pieces: t.pieces.map((p) => p.slice()),
    scores: Array.from(t.scores, fixed),
    scoreFracBits: 16,
    hostScores: Array.from(t.scores),
    maxTokenLength: t.maxTokenLength,
    bosId: 1,
    eosId: 2,
  };
}

/**
 * The conformance case "greedy-bos": from BOS, feed the integer reference's own argmax
 * for `positions` steps; hashes are fnv1a64 of each step's int32 logits.
 */
export function greedyConformance(m: QuantModel, positions: number): ArtifactConformanceCase {
  const n = Math.min(positions, m.params.seqLen);
  const it = new IntTransformer(m);
  const tokens: number[] = [], hashes: bigint[] = [], argmax: number[] = [];
  let token = BOS;
  for (let pos = 0; pos < n; pos++) {
    tokens.push(token);
    const l = it.forward(token, pos);
    hashes.push(fnv1a64(new Uint8Array(l.buffer, l.byteOffset, l.byteLength)));
    token = it.argmax(l);
    argmax.push(token);
  }
  return { name: 'greedy-bos', tokens, positions: n, outputHashes: hashes, argmax };
}

export interface EmitOptions {
  model: QuantModel;
  program: ArtifactProgram;
  target: { name: string; simd: boolean };
  plan: PlanSpec;
  gptq?: boolean;
  tokenizer?: Tokenizer;
  /** SHA-256 of the checkpoint file (32 bytes) and its path (only the name is kept). */
  sourceSha256: Uint8Array;
  sourcePath: string;
  /** Conformance positions (default 32; 0: no vectors). */
  vectors?: number;
}

export function contentsFromQuant(o: EmitOptions): ArtifactContents {
  const p = o.model.params;
  if (o.tokenizer && o.tokenizer.vocabSize !== p.vocabSize) {
    throw new EdgeqError(`tokenizer has ${o.tokenizer.vocabSize} tokens but the model's vocabulary is ${p.vocabSize}`);
  }
  const tensors: ArtifactTensor[] = o.model.tensors.map((t) => ({
    name: t.name, dtype: DTYPE[t.dtype], shape: t.shape.slice(),
    data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    ...(t.params.frac !== undefined ? { quant: { params: [t.params.frac] } } : {}),
  }));
  const vectors = o.vectors ?? 32;
  const { arenaSize, slots, ops, outputs } = o.program;
  return {
    config: {
      dim: p.dim, hiddenDim: p.hiddenDim, nLayers: p.nLayers, nHeads: p.nHeads, nKvHeads: p.nKvHeads,
      vocabSize: p.vocabSize, seqLen: p.seqLen, sharedClassifier: p.sharedClassifier === 1, headSize: p.dim / p.nHeads,
    },
    tensors,
    program: { arenaSize, slots, ops, outputs },
    plan: planContents(o.plan, p.nLayers, !!o.gptq),
    target: { name: o.target.name, simd: o.target.simd },
    ...(o.tokenizer ? { tokenizer: tokenizerContents(o.tokenizer) } : {}),
    metadata: {
      sourceSha256: o.sourceSha256,
      sourceName: basename(o.sourcePath),
      compiler: 'edgeq',
      compilerVersion: VERSION,
      extra: [['plan', 'uniform:8'], ['weights', o.gptq ? 'gptq' : 'round-to-nearest'], ['integer-spec', `v${p.formatVersion}`]],
    },
    conformance: vectors > 0 ? [greedyConformance(o.model, vectors)] : [],
  };
}

/** model.edgeq bytes. */
export function emitArtifact(o: EmitOptions): Uint8Array {
  return writeArtifact(contentsFromQuant(o));
}
