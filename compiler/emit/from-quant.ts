// QuantModel + Program (+ target, plan, tokenizer, provenance) -> the artifact's contents,
// with conformance vectors computed by the integer reference. Deterministic: the same
// inputs give the same ArtifactContents, hence the same model.edgeq bytes.
import type { gemvQ8 } from '../../runtime/kernels/reference/gemv_q8.ts';
import type {
  ArtifactConfig, ArtifactContents, ArtifactPlan, ArtifactProgram, ArtifactTensor, ArtifactConformanceCase,
} from './artifact-contents.ts';
import { writeArtifact } from './artifact.ts';
import { fnv1a64 } from './conformance-hash.ts';
import type { HostRopeSpec, QuantModel } from '../quantize/quant-model.ts';
import { IntTransformer } from '../../runtime/reference/model.ts';
import { isQuantizedKv, kvFormatName } from '../quantize/kv-cache.ts';
import type { TextTokenizer } from '../import/tokenizers/text-tokenizer.ts';
import { tokenizerContents } from './tokenizer-contents.ts';
import { BOS } from '../import/tokenizer.ts';
import { VERSION } from '../version.ts';
import { EdgeqError } from '../util/errors.ts';
import { planName, type PlanSpec } from '../plan/plan.ts';
import { ALL_GROUP_SIZES, GROUPED_FORMATS } from '../quantize/formats/registry.ts';
import { GPTQ_REFIT_ROUNDS } from '../quantize/gptq-lowbit.ts';


export { parsePlan, type PlanSpec } from '../plan/plan.ts';
const LOW = GROUPED_FORMATS.map((f) => f.bits).join('|'), GS = ALL_GROUP_SIZES.join('|');
export const SUPPORTED_PLANS = ['uniform:8', `uniform:<${LOW}>[g<${GS}>]`, `<uniform plan>,cls<${LOW}>[g<${GS}>] (low-bit classifier)`, 'a format by name: uniform:int8, uniform:q4_lut[g<G>], ...', '<plan>.json'];

const MATRICES = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'];

/**
 * The artifact's PrecisionPlan: what every block matrix was actually quantized to (the
 * plan after the fallbacks of compiler/plan/plan.ts, recorded by the quantizer in
 * `model.formats`). A block's own bits/group_size/format are its matrices' when they all
 * agree, else the widest matrix's with group size 0 and the rule "mixed: ...".
 */
export function planContents(plan: PlanSpec, nLayers: number, gptq: boolean, model?: QuantModel): ArtifactPlan {
  const rule8 = `uniform int8 per-row${gptq ? ', GPTQ' : ', round to nearest'}`;
  const f = model?.formats;
  return {
    method: model?.planMethod ?? `uniform bits=${plan.bits}${gptq ? ' gptq' : ''}`,
    ...(model?.kvCache && isQuantizedKv(model.kvCache) ? { kvCache: kvFormatName(model.kvCache) } : {}),
    blocks: Array.from({ length: nLayers }, (_, l) => {
      const matrices = MATRICES.map((name) => {
        const x = f?.[`blocks.${l}.${name}`];
        return x
          ? { name, bits: x.bits, groupSize: x.groupSize, format: x.format, rule: x.rule }
          : { name, bits: 8, groupSize: 0, format: 'int8' as const };
      });
      const same = matrices.every((m) => m.bits === matrices[0].bits && m.groupSize === matrices[0].groupSize);
      const widest = matrices.reduce((a, m) => (m.bits > a.bits ? m : a));
      return {
        block: l, bits: same ? matrices[0].bits : widest.bits, groupSize: same ? matrices[0].groupSize : 0,
        format: same ? matrices[0].format : widest.format,
        rule: !f ? rule8 : same ? (matrices[0].rule ?? rule8) : `mixed: ${matrices.map((m) => `${m.name} ${m.format}${m.groupSize ? ` g${m.groupSize}` : ''}`).join(', ')}`,
        matrices,
      };
    }),
  };
}

export { tokenizerContents } from './tokenizer-contents.ts';

/**
 * The conformance case "greedy-bos": from BOS, feed the integer reference's own argmax
 * for `positions` steps; hashes are fnv1a64 of each step's int32 logits.
 */
export function greedyConformance(m: QuantModel, positions: number, gemv?: typeof gemvQ8): ArtifactConformanceCase {
  const n = Math.min(positions, m.params.seqLen);
  const it = new IntTransformer(m, { gemvQ8: gemv });
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
  /** The float weights were AWQ-folded before quantization (compiler/quantize/awq.ts). */
  awq?: boolean;
  tokenizer?: TextTokenizer;
  /** SHA-256 of the checkpoint file (32 bytes) and its path (only the name is kept). */
  sourceSha256: Uint8Array;
  sourcePath: string;
  /** Conformance positions (default 32; 0: no vectors). */
  vectors?: number;
  /** The int8 GEMV of the conformance passes (conformance-pool.ts: two threads, same results); default gemvQ8. */
  gemvQ8?: typeof gemvQ8;
}

/**
 * How the weights were chosen (artifact metadata and manifest `weights`): round to nearest
 * (clip search) or GPTQ (its LUT grids refit GPTQ_REFIT_ROUNDS times), after AWQ if it ran.
 */
export const weightsMethod = (o: { gptq?: boolean; awq?: boolean }): string =>
  `${o.awq ? 'awq+' : ''}${o.gptq ? `gptq; LUT grids refit ${GPTQ_REFIT_ROUNDS}x` : 'round-to-nearest'}`;

export function contentsFromQuant(o: EmitOptions): ArtifactContents {
  const p = o.model.params;
  if (o.tokenizer && o.tokenizer.vocabSize !== p.vocabSize) {
    throw new EdgeqError(`tokenizer has ${o.tokenizer.vocabSize} tokens but the model's vocabulary is ${p.vocabSize}`);
  }
  const index = new Map(o.model.tensors.map((t, i) => [t.name, i]));
  const tensors: ArtifactTensor[] = o.model.tensors.map((t) => ({
    name: t.name, dtype: t.dtype, shape: t.shape.slice(),
    data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    ...(t.params.frac !== undefined ? { quant: { params: [t.params.frac] } } : {}),
    // Low-bit bit-planes: the group size, and the `.groups` tensor (docs/integer-spec.md §9.1).
    ...(t.params.groupSize !== undefined ? { quant: { groupSize: t.params.groupSize, scalesTensor: index.get(`${t.name}.groups`) ?? -1 } } : {}),
  }));
  const vectors = o.vectors ?? 32;
  const { arenaSize, slots, ops, outputs } = o.program;
  return {
    config: {
      dim: p.dim, hiddenDim: p.hiddenDim, nLayers: p.nLayers, nHeads: p.nHeads, nKvHeads: p.nKvHeads,
      vocabSize: p.vocabSize, seqLen: p.seqLen, sharedClassifier: p.sharedClassifier === 1, headSize: p.dim / p.nHeads,
      ...artifactRope(o.model.rope),
    },
    tensors,
    program: { arenaSize, slots, ops, outputs },
    plan: planContents(o.plan, p.nLayers, !!o.gptq, o.model),
    target: { name: o.target.name, simd: o.target.simd },
    ...(o.tokenizer ? { tokenizer: tokenizerContents(o.tokenizer) } : {}),
    metadata: {
      sourceSha256: o.sourceSha256,
      // Empty: the bytes of a bundle must not depend on what the checkpoint file was called
      // (source_sha256 identifies it); manifest.json records the name.
      sourceName: '',
      compiler: 'edgeq',
      compilerVersion: VERSION,
      extra: [['plan', planName(o.plan)], ['weights', weightsMethod(o)], ['integer-spec', `v${p.formatVersion}`]],
    },
    conformance: vectors > 0 ? [greedyConformance(o.model, vectors, o.gemvQ8)] : [],
  };
}

/** model.edgeq bytes. */
export function emitArtifact(o: EmitOptions): Uint8Array {
  return writeArtifact(contentsFromQuant(o));
}

/** The model's non-default RoPE/norm constants as ArtifactConfig fields (schemas/edgeq.fbs ModelConfig). */
export function artifactRope(r: HostRopeSpec | undefined): Pick<ArtifactConfig, 'ropeTheta' | 'rmsNormEps' | 'ropeFreqFactors'> {
  return {
    ...(r?.ropeTheta !== undefined ? { ropeTheta: r.ropeTheta } : {}),
    ...(r?.normEps !== undefined ? { rmsNormEps: r.normEps } : {}),
    ...(r?.ropeFreqFactors ? { ropeFreqFactors: r.ropeFreqFactors } : {}),
  };
}
