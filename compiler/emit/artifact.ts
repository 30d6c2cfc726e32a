// model.edgeq: writing the FlatBuffers artifact (schemas/edgeq.fbs) from plain values.
// Same contents, same bytes: the builder is fed in one fixed order, nothing depends on
// time or machine, and vtables are deduplicated deterministically by the builder.
// Reading (with checks that name the file and the byte) is in artifact-read.ts.
import * as flatbuffers from 'flatbuffers';
import * as fb from '../../schemas/generated/edgeq/fb.ts';
import type {
  ArtifactContents, ArtifactMatrixPlan, ArtifactQuant, ArtifactRef, ArtifactTensor,
} from './artifact-contents.ts';
import { DType } from './dtype.ts';
import { validateContents } from './validate.ts';

import { DATA_ALIGN, FORMAT_VERSION } from './format.ts';

export { readArtifact } from './artifact-read.ts';
export { ARTIFACT_IDENTIFIER, DATA_ALIGN, FORMAT_VERSION } from './format.ts';
export type * from './artifact-contents.ts';

type Offset = flatbuffers.Offset;

export interface WriteArtifactOptions {
  /**
   * Called as soon as tensor `index`'s data is in the artifact, with its bytes there (a view
   * of the returned artifact's buffer, never moved later): a caller that swaps its own copy
   * for this view holds the weights once, not twice. The artifact is then returned as a view
   * of the builder's buffer too, not as a tight copy.
   */
  placed?: (index: number, bytes: Uint8Array) => void;
}

/** Serializes `a` (validated first: the writer never emits what the device would reject). */
export function writeArtifact(a: ArtifactContents, o: WriteArtifactOptions = {}): Uint8Array {
  validateContents(a);
  const b = new flatbuffers.Builder(builderBytes(a));

  // Children before parents (FlatBuffers builds bottom-up). Tensor data goes first, so
  // the big blobs sit at the end of the file and the small tables near its start.
  const tensors = a.tensors.map((t, i) => writeTensor(b, t, o.placed && ((bytes) => o.placed!(i, bytes))));
  const tensorVec = fb.Model.createTensorsVector(b, tensors);
  const program = writeProgram(b, a);
  const plan = writePlan(b, a);
  const target = fb.Target.createTarget(b, b.createString(a.target.name), a.target.simd);
  const tokenizer = a.tokenizer ? writeTokenizer(b, a.tokenizer) : 0;
  const metadata = writeMetadata(b, a);
  const conformance = fb.Model.createConformanceVector(b, a.conformance.map((k) => {
    const name = b.createString(k.name);
    const tokens = fb.ConformanceCase.createTokensVector(b, k.tokens);
    const hashes = fb.ConformanceCase.createOutputHashesVector(b, k.outputHashes);
    const argmax = k.argmax.length ? fb.ConformanceCase.createArgmaxVector(b, k.argmax) : 0;
    return fb.ConformanceCase.createConformanceCase(b, name, tokens, k.positions, fb.HashKind.fnv1a64, hashes, argmax);
  }));
  const c = a.config;
  const factors = c.ropeFreqFactors?.length ? fb.ModelConfig.createRopeFreqFactorsVector(b, c.ropeFreqFactors) : 0;
  // The spec fields are added only when present, so a llama2.c model's bytes stay as they were.
  fb.ModelConfig.startModelConfig(b);
  fb.ModelConfig.addDim(b, c.dim); fb.ModelConfig.addHiddenDim(b, c.hiddenDim); fb.ModelConfig.addNLayers(b, c.nLayers);
  fb.ModelConfig.addNHeads(b, c.nHeads); fb.ModelConfig.addNKvHeads(b, c.nKvHeads); fb.ModelConfig.addVocabSize(b, c.vocabSize);
  fb.ModelConfig.addSeqLen(b, c.seqLen); fb.ModelConfig.addSharedClassifier(b, c.sharedClassifier); fb.ModelConfig.addHeadSize(b, c.headSize);
  if (c.ropeTheta !== undefined) fb.ModelConfig.addRopeTheta(b, c.ropeTheta);
  if (c.rmsNormEps !== undefined) fb.ModelConfig.addRmsNormEps(b, c.rmsNormEps);
  if (factors) fb.ModelConfig.addRopeFreqFactors(b, factors);
  const config = fb.ModelConfig.endModelConfig(b);

  fb.Model.startModel(b);
  fb.Model.addFormatVersion(b, FORMAT_VERSION);
  fb.Model.addConfig(b, config);
  fb.Model.addTensors(b, tensorVec);
  fb.Model.addProgram(b, program);
  fb.Model.addPlan(b, plan);
  fb.Model.addTarget(b, target);
  if (tokenizer) fb.Model.addTokenizer(b, tokenizer);
  fb.Model.addMetadata(b, metadata);
  fb.Model.addConformance(b, conformance);
  fb.Model.finishModelBuffer(b, fb.Model.endModel(b));
  // A tight copy: asUint8Array() is a view into the builder's larger buffer (whose unused
  // front was never written, so it takes address space, not memory).
  return o.placed ? b.asUint8Array() : b.asUint8Array().slice();
}

/**
 * A capacity the builder never outgrows: growing doubles the buffer and copies it (with
 * the weights in it, twice the artifact in memory), and would leave `placed` views on the
 * old one. The data, plus four times the JSON text of everything else, which bounds its
 * FlatBuffers encoding (a JSON value takes at least 2 characters where FlatBuffers takes at
 * most 8 bytes; strings and tables cost less in FlatBuffers than in JSON). Rounded to
 * DATA_ALIGN, so that data aligned from the buffer's end is aligned in memory too. Bytes
 * written do not depend on the capacity: FlatBuffers aligns relative to the end.
 */
function builderBytes(a: ArtifactContents): number {
  const dataBytes = a.tensors.reduce((n, t) => n + t.data.length + DATA_ALIGN, 0);
  const rest = JSON.stringify(a, (k, v: unknown) => (typeof v === 'bigint' ? v.toString()
    : ArrayBuffer.isView(v) ? (k === 'data' ? 0 : Array.from(v as Uint8Array)) : v)).length;
  return Math.ceil((dataBytes + 4 * rest + (1 << 16)) / DATA_ALIGN) * DATA_ALIGN;
}

/** A [ubyte] vector whose first byte is DATA_ALIGN-aligned in the finished buffer. */
export function alignedBytes(b: flatbuffers.Builder, data: Uint8Array): Offset {
  // The builder writes back to front and aligns relative to the buffer's end; finish()
  // pads the total to the largest alignment used (16), so aligned-from-the-end is also
  // aligned-from-the-start. Bytes are copied in one set() instead of addInt8 per byte
  // (createByteVector does the same, but only with alignment 1).
  b.startVector(1, data.length, DATA_ALIGN);
  const inner = b as unknown as { bb: flatbuffers.ByteBuffer; space: number };
  inner.space -= data.length;
  inner.bb.bytes().set(data, inner.space);
  return b.endVector();
}

function writeTensor(b: flatbuffers.Builder, t: ArtifactTensor, placed?: (bytes: Uint8Array) => void): Offset {
  const data = alignedBytes(b, t.data);
  if (placed) {
    // endVector() wrote the length prefix in front of the bytes: they start 4 bytes on.
    const inner = b as unknown as { bb: flatbuffers.ByteBuffer; space: number };
    placed(inner.bb.bytes().subarray(inner.space + 4, inner.space + 4 + t.data.length));
  }
  const name = b.createString(t.name);
  const shape = fb.Tensor.createShapeVector(b, t.shape);
  const quant = t.quant ? writeQuant(b, t.quant) : 0;
  fb.Tensor.startTensor(b);
  fb.Tensor.addName(b, name);
  fb.Tensor.addDtype(b, DType[t.dtype]);
  fb.Tensor.addShape(b, shape);
  if (quant) fb.Tensor.addQuant(b, quant);
  fb.Tensor.addData(b, data);
  return fb.Tensor.endTensor(b);
}

function writeQuant(b: flatbuffers.Builder, q: ArtifactQuant): Offset {
  const vec = (xs: number[] | undefined, make: (b: flatbuffers.Builder, d: number[]) => Offset) =>
    xs && xs.length ? make(b, xs) : 0;
  const multipliers = vec(q.multipliers, fb.Quant.createMultipliersVector);
  const shifts = vec(q.shifts, fb.Quant.createShiftsVector);
  const params = vec(q.params, fb.Quant.createParamsVector);
  const hostScales = vec(q.hostScales, fb.Quant.createHostScalesVector);
  return fb.Quant.createQuant(
    b, multipliers, shifts, q.zeroPoint ?? 0, q.groupSize ?? 0, params, q.scalesTensor ?? -1, hostScales,
  );
}

const REF_KIND = { tensor: fb.RefKind.tensor, slot: fb.RefKind.slot, input: fb.RefKind.input } as const;

function refVector(b: flatbuffers.Builder, refs: ArtifactRef[]): Offset {
  // Structs are written back to front, so the last ref first.
  b.startVector(fb.Ref.sizeOf(), refs.length, 4);
  for (let i = refs.length - 1; i >= 0; i--) fb.Ref.createRef(b, REF_KIND[refs[i].kind], refs[i].index);
  return b.endVector();
}

function writeProgram(b: flatbuffers.Builder, a: ArtifactContents): Offset {
  const p = a.program;
  const slots = fb.Program.createSlotsVector(b, p.slots.map((s) => {
    const name = s.name !== undefined ? b.createString(s.name) : 0;
    const shape = fb.Slot.createShapeVector(b, s.shape);
    return fb.Slot.createSlot(b, name, DType[s.dtype], shape, s.offset, s.size);
  }));
  const ops = fb.Program.createOpsVector(b, p.ops.map((op) => {
    const inputs = refVector(b, op.inputs);
    const outputs = refVector(b, op.outputs);
    const params = fb.Op.createParamsVector(b, op.params);
    const name = op.name !== undefined ? b.createString(op.name) : 0;
    return fb.Op.createOp(b, fb.OpKind[op.kind], inputs, outputs, params, name);
  }));
  const outputs = refVector(b, p.outputs);
  return fb.Program.createProgram(b, p.arenaSize, slots, ops, outputs);
}

function writeMatrixPlan(b: flatbuffers.Builder, m: ArtifactMatrixPlan): Offset {
  const name = b.createString(m.name);
  const rule = m.rule !== undefined ? b.createString(m.rule) : 0;
  return fb.MatrixPlan.createMatrixPlan(b, name, m.bits, m.groupSize, DType[m.format], m.entropy ?? null, rule);
}

function writePlan(b: flatbuffers.Builder, a: ArtifactContents): Offset {
  const blocks = fb.PrecisionPlan.createBlocksVector(b, a.plan.blocks.map((bp) => {
    const matrices = fb.BlockPlan.createMatricesVector(b, bp.matrices.map((m) => writeMatrixPlan(b, m)));
    const rule = bp.rule !== undefined ? b.createString(bp.rule) : 0;
    return fb.BlockPlan.createBlockPlan(
      b, bp.block, bp.bits, bp.groupSize, DType[bp.format], bp.entropy ?? null, rule, matrices,
    );
  }));
  // k12v8 writes no kv_cache field: such artifacts keep their bytes.
  const kv = a.plan.kvCache !== undefined && a.plan.kvCache !== 'k12v8' ? b.createString(a.plan.kvCache) : 0;
  return fb.PrecisionPlan.createPrecisionPlan(b, b.createString(a.plan.method), blocks, kv);
}

function writeTokenizer(b: flatbuffers.Builder, t: NonNullable<ArtifactContents['tokenizer']>): Offset {
  const pieces = fb.Tokenizer.createPiecesVector(b, t.pieces.map((p) => b.createString(p)));
  const scores = t.scores.length ? fb.Tokenizer.createScoresVector(b, t.scores) : 0;
  const hostScores = t.hostScores.length ? fb.Tokenizer.createHostScoresVector(b, t.hostScores) : 0;
  const g = t.general;
  const strings = (xs: string[], create: (b: flatbuffers.Builder, d: Offset[]) => Offset) => (xs.length ? create(b, xs.map((x) => b.createString(x))) : 0);
  // A llama2c tokenizer writes none of the general fields, so its bytes are what they were.
  const texts = g ? strings(g.texts, fb.Tokenizer.createTextsVector) : 0;
  const types = g && g.tokenTypes.length ? fb.Tokenizer.createTokenTypesVector(b, g.tokenTypes) : 0;
  const merges = g ? strings(g.merges, fb.Tokenizer.createMergesVector) : 0;
  const pre = g ? strings(g.prePatterns, fb.Tokenizer.createPrePatternsVector) : 0;
  const preName = g?.preName ? b.createString(g.preName) : 0;
  const kind = g ? fb.TokenizerKind[g.kind] : fb.TokenizerKind.llama2c;
  return fb.Tokenizer.createTokenizer(
    b, pieces, scores, t.scoreFracBits, hostScores, t.maxTokenLength, t.bosId, t.eosId,
    kind, texts, types, merges, pre, preName, g?.options ?? 0,
  );
}

function writeMetadata(b: flatbuffers.Builder, a: ArtifactContents): Offset {
  const m = a.metadata;
  const sha = fb.Metadata.createSourceSha256Vector(b, m.sourceSha256);
  const sourceName = b.createString(m.sourceName);
  const compiler = b.createString(m.compiler);
  const compilerVersion = b.createString(m.compilerVersion);
  const extra = fb.Metadata.createExtraVector(b, m.extra.map(([k, v]) =>
    fb.KeyValue.createKeyValue(b, b.createString(k), b.createString(v))));
  return fb.Metadata.createMetadata(b, sha, sourceName, compiler, compilerVersion, extra);
}
