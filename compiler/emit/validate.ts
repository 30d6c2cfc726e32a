// The artifact's consistency rules on the host: the writer refuses to emit what the device
// verifier would reject, and the reader reports a corrupt file in words. The rules are the
// device verifier's (runtime/assembly/verify.ts), stated on plain values.
import type { ArtifactContents, ArtifactRef } from './artifact-contents.ts';
import { DTYPE_NAMES, MAX_RANK, tensorBytes, type DTypeName } from './dtype.ts';
import { LIMITS } from './limits.ts';
import { formatNamed } from '../quantize/formats/registry.ts';
import { EdgeqError } from '../util/errors.ts';
import { ProgramInput } from '../../schemas/generated/edgeq/fb/program-input.ts';

const U32_MAX = 2 ** 32 - 1;
/** Per-step scalar inputs (token, position): RefKind.input indices. */
const N_INPUTS = Object.values(ProgramInput).filter((v) => typeof v === 'number').length;
const isU32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= U32_MAX;
const isI32 = (v: number) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31;

/** Throws an EdgeqError naming `file` (when given) and the first rule `a` breaks. */
export function validateContents(a: ArtifactContents, file?: string): void {
  const fail = (msg: string): never => { throw new EdgeqError(`invalid artifact: ${msg}`, { file }); };
  const count = (what: string, n: number, max: number) => {
    if (n > max) fail(`${n} ${what}, more than the device verifier accepts (${max})`);
  };
  const ints = (what: string, xs: readonly number[], ok: (v: number) => boolean) => {
    const bad = xs.findIndex((v) => !ok(v));
    if (bad >= 0) fail(`${what}[${bad}] = ${xs[bad]} is not a ${ok === isI32 ? 'int32' : 'uint32'}`);
  };
  const shape = (what: string, dtype: DTypeName, s: readonly number[]) => {
    if (!DTYPE_NAMES.includes(dtype)) fail(`${what}: unknown dtype ${JSON.stringify(dtype)}`);
    if (s.length < 1 || s.length > MAX_RANK) fail(`${what}: shape [${s}] must have 1 to ${MAX_RANK} dims`);
    if (!s.every((d) => isU32(d) && d >= 1)) fail(`${what}: shape [${s}] needs whole dims >= 1`);
    if (s.reduce((x, y) => x * y, 1) > LIMITS.MAX_ELEMENTS) fail(`${what}: shape [${s}] has more than 2^32-1 elements`);
  };

  const c = a.config;
  const { ropeTheta, rmsNormEps, ropeFreqFactors, ...shapeFields } = c;
  for (const [k, v] of Object.entries(shapeFields)) {
    if (typeof v === 'number' && !(isU32(v) && v >= 1)) fail(`config.${k} = ${v} must be a whole number >= 1`);
  }
  // The host fields of the model spec (model-spec.ts's ranges).
  if (ropeTheta !== undefined && !(ropeTheta > 1 && Number.isFinite(ropeTheta))) fail(`config.ropeTheta = ${ropeTheta} must be a finite number > 1`);
  if (rmsNormEps !== undefined && !(rmsNormEps > 0 && rmsNormEps < 1e-3)) fail(`config.rmsNormEps = ${rmsNormEps} must be in (0, 1e-3)`);
  if (ropeFreqFactors !== undefined && (ropeFreqFactors.length !== c.headSize / 2 || !ropeFreqFactors.every((x) => x > 0 && Number.isFinite(x)))) {
    fail(`config.ropeFreqFactors must be headSize / 2 = ${c.headSize / 2} finite numbers > 0`);
  }
  if (c.headSize * c.nHeads !== c.dim) fail(`config: headSize ${c.headSize} * nHeads ${c.nHeads} != dim ${c.dim}`);
  if (c.nHeads % c.nKvHeads !== 0) fail(`config: nHeads ${c.nHeads} is not a multiple of nKvHeads ${c.nKvHeads}`);
  count('vocabulary entries', c.vocabSize, LIMITS.MAX_VOCAB);

  count('tensors', a.tensors.length, LIMITS.MAX_TENSORS);
  a.tensors.forEach((t, i) => {
    const what = `tensor ${i} (${t.name})`;
    if (t.name.length === 0) fail(`tensor ${i} has no name`);
    shape(what, t.dtype, t.shape);
    // A LUT values tensor's size depends on its group size (columns padded to whole groups).
    const f = formatNamed(t.dtype), G = f?.padsToGroup ? (t.quant?.groupSize ?? 0) : 0;
    if (f && G !== 0 && !f.groupSizes.includes(G)) fail(`${what}: group size ${G} is not one of ${t.dtype}'s (${f.groupSizes.join(', ')})`);
    const want = tensorBytes(t.dtype, t.shape, G);
    if (t.data.length !== want) fail(`${what}: data is ${t.data.length} bytes, ${t.dtype} [${t.shape}]${G ? ` g${G}` : ''} needs ${want}`);
    const q = t.quant;
    if (!q) return;
    const m = q.multipliers ?? [], s = q.shifts ?? [];
    ints(`${what} multipliers`, m, isI32);
    ints(`${what} shifts`, s, isI32);
    ints(`${what} params`, q.params ?? [], isI32);
    if (m.length !== s.length) fail(`${what}: ${m.length} multipliers but ${s.length} shifts`);
    if (m.length > 1 && m.length !== t.shape[0]) fail(`${what}: ${m.length} multipliers, expected 1 or ${t.shape[0]} (one per row)`);
    count(`${what} quant params`, (q.params ?? []).length, LIMITS.MAX_PARAMS);
    const st = q.scalesTensor ?? -1;
    if (!(Number.isInteger(st) && st >= -1 && st < a.tensors.length && st !== i)) {
      fail(`${what}: scalesTensor ${st} is not another tensor's index`);
    }
    if (!isI32(q.zeroPoint ?? 0) || !isU32(q.groupSize ?? 0)) fail(`${what}: zeroPoint/groupSize out of range`);
  });

  const p = a.program;
  if (!isU32(p.arenaSize) || p.arenaSize % 16 !== 0) fail(`arena size ${p.arenaSize} must be a multiple of 16`);
  count('slots', p.slots.length, LIMITS.MAX_SLOTS);
  p.slots.forEach((s, i) => {
    const what = `slot ${i}${s.name ? ` (${s.name})` : ''}`;
    shape(what, s.dtype, s.shape);
    const want = tensorBytes(s.dtype, s.shape);
    if (s.size !== want) fail(`${what}: size ${s.size}, ${s.dtype} [${s.shape}] needs ${want}`);
    if (!isU32(s.offset) || s.offset % 16 !== 0) fail(`${what}: offset ${s.offset} must be a multiple of 16`);
    if (s.offset + s.size > p.arenaSize) fail(`${what}: bytes ${s.offset}..${s.offset + s.size} pass the arena's end (${p.arenaSize})`);
  });
  const ref = (what: string, r: ArtifactRef, output: boolean) => {
    const n = r.kind === 'tensor' ? a.tensors.length : r.kind === 'slot' ? p.slots.length : r.kind === 'input' ? N_INPUTS : -1;
    if (n < 0) fail(`${what}: unknown operand kind ${JSON.stringify(r.kind)}`);
    if (!(Number.isInteger(r.index) && r.index >= 0 && r.index < n)) fail(`${what}: no ${r.kind} ${r.index} (there are ${n})`);
    if (output && r.kind !== 'slot') fail(`${what}: outputs must be arena slots, not ${r.kind}s`);
  };
  count('ops', p.ops.length, LIMITS.MAX_OPS);
  p.ops.forEach((op, i) => {
    const what = `op ${i} (${op.kind}${op.name ? ` ${op.name}` : ''})`;
    count(`${what} inputs`, op.inputs.length, LIMITS.MAX_REFS);
    count(`${what} outputs`, op.outputs.length, LIMITS.MAX_REFS);
    count(`${what} params`, op.params.length, LIMITS.MAX_PARAMS);
    ints(`${what} params`, op.params, isI32);
    op.inputs.forEach((r, j) => ref(`${what} input ${j}`, r, false));
    op.outputs.forEach((r, j) => ref(`${what} output ${j}`, r, true));
  });
  if (p.outputs.length === 0) fail('the program has no outputs (the logits slot comes first)');
  count('program outputs', p.outputs.length, LIMITS.MAX_REFS);
  p.outputs.forEach((r, j) => ref(`program output ${j}`, r, true));

  count('plan blocks', a.plan.blocks.length, LIMITS.MAX_PLAN_BLOCKS);
  for (const b of a.plan.blocks) {
    if (!DTYPE_NAMES.includes(b.format) || !b.matrices.every((m) => DTYPE_NAMES.includes(m.format))) {
      fail(`plan block ${b.block}: unknown format`);
    }
  }

  const tk = a.tokenizer;
  if (tk) {
    if (tk.pieces.length !== c.vocabSize) fail(`tokenizer has ${tk.pieces.length} pieces, vocabSize is ${c.vocabSize}`);
    for (const [k, xs] of [['scores', tk.scores], ['hostScores', tk.hostScores]] as const) {
      if (xs.length !== 0 && xs.length !== c.vocabSize) fail(`tokenizer has ${xs.length} ${k}, expected 0 or ${c.vocabSize}`);
    }
    ints('tokenizer scores', tk.scores, isI32);
    for (const [k, id] of [['bos', tk.bosId], ['eos', tk.eosId]] as const) {
      if (tk.general && id !== 0xffffffff && id >= c.vocabSize) fail(`tokenizer ${k} id ${id} is outside the vocabulary of ${c.vocabSize}`);
    }
    const g = tk.general;
    if (g) {
      if (g.texts.length !== c.vocabSize) fail(`tokenizer has ${g.texts.length} texts, vocabSize is ${c.vocabSize}`);
      if (g.tokenTypes.length !== 0 && g.tokenTypes.length !== c.vocabSize) fail(`tokenizer has ${g.tokenTypes.length} token types, expected 0 or ${c.vocabSize}`);
      if (g.kind === 'spm' && tk.hostScores.length !== c.vocabSize) fail('an spm tokenizer needs a score per token');
    }
  }

  if (a.metadata.sourceSha256.length !== 32) fail(`source sha256 is ${a.metadata.sourceSha256.length} bytes, expected 32`);
  count('metadata entries', a.metadata.extra.length, LIMITS.MAX_KEY_VALUES);

  count('conformance cases', a.conformance.length, LIMITS.MAX_CONFORMANCE_CASES);
  for (const k of a.conformance) {
    const what = `conformance case ${JSON.stringify(k.name)}`;
    if (!(isU32(k.positions) && k.positions >= 1 && k.positions <= k.tokens.length && k.positions <= c.seqLen)) {
      fail(`${what}: positions ${k.positions} must be 1..min(tokens ${k.tokens.length}, seqLen ${c.seqLen})`);
    }
    const badTok = k.tokens.findIndex((t) => !(isU32(t) && t < c.vocabSize));
    if (badTok >= 0) fail(`${what}: token ${k.tokens[badTok]} at ${badTok} is outside the vocabulary (${c.vocabSize})`);
    if (k.outputHashes.length !== k.positions) fail(`${what}: ${k.outputHashes.length} hashes for ${k.positions} positions`);
    if (!k.outputHashes.every((h) => typeof h === 'bigint' && h >= 0n && h < 1n << 64n)) fail(`${what}: hashes must be uint64 bigints`);
    if (k.argmax.length !== 0 && k.argmax.length !== k.positions) fail(`${what}: ${k.argmax.length} argmax values for ${k.positions} positions`);
    if (!k.argmax.every((t) => isU32(t) && t < c.vocabSize)) fail(`${what}: argmax outside the vocabulary`);
  }
}
