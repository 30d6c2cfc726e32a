// Low-bit weights in whole models (issue 5): plans (uniform:<b>[g<G>], plan files with
// errors naming the file and JSON path, the group-size fallback rule), the integer
// reference running LUT matrices, the lowering (lut_tables + gemv_lut, one table slot per
// GEMV input), load-time operand checks, and whole-model logits byte-identical between
// IntTransformer and the generated runtime (SIMD and scalar) on stories260K and
// babyllama936K at 4 and 2 bits and a mixed plan file.
//
// Runtime builds are shared: the generated source depends only on the config, the op
// kinds and the op count, so one SIMD and one scalar build serve 4- and 2-bit bundles of a model.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveModels, model, ROOT } from './helpers/models.ts';
import { formatOfBits } from '../compiler/quantize/formats/registry.ts';
import { BITS_LIST, FORMATS_LIST, GROUP_SIZES_LIST, NO_BITS, NO_FORMAT, NO_GROUP, literally } from './helpers/formats.ts';
import { loadCode } from './helpers/bundles.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights, type FloatWeights } from '../compiler/import/graph.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import type { QuantModel } from '../compiler/quantize/quant-model.ts';
import { parsePlan, planFromJson, planMethod, planName, readPlanFile, resolveMatrix, resolveStored, type PlanSpec } from '../compiler/plan/plan.ts';
import { bundleFromQuant, type QuantBundle } from '../compiler/bundle.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { generateRuntimeSource, type RuntimeBuild } from '../compiler/codegen/runtime.ts';
import { lowerInt8 } from '../compiler/lower/program.ts';
import { findFloats } from '../compiler/codegen/float-check.ts';
import { readArtifact } from '../compiler/emit/artifact-read.ts';
import { writeArtifact } from '../compiler/emit/artifact.ts';
import { WasmRuntime } from '../compiler/engines/wasm-runtime.ts';
import { IntTransformer } from '../runtime/reference/model.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { cli } from './helpers/cli.ts';
import { existsSync } from 'node:fs';

const bytesOf = (l: Int32Array) => Buffer.from(l.buffer, l.byteOffset, l.byteLength);
const tmp = mkdtempSync(join(tmpdir(), 'edgeq-lowbit-'));

// ---- plans ------------------------------------------------------------------------------

function planError(json: unknown, why: RegExp) {
  const file = join(tmp, `plan-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
  assert.throws(() => readPlanFile(file), (e: Error) => e instanceof EdgeqError && e.message.startsWith(`plan file ${file}: `) && why.test(e.message), `${JSON.stringify(json)} should fail with ${why}`);
}

test('plan files: every error names the file and the JSON path', () => {
  const ok = { edgeqPlan: 1, default: { bits: 4 } };
  planError('{"edgeqPlan": 1,', /not valid JSON/);
  planError([1], /\$: expected a plan object, got an array/);
  planError({ default: { bits: 4 } }, /\$\.edgeqPlan: expected 1 \(the plan format version\), got undefined/);
  planError({ edgeqPlan: 1 }, /\$: missing "default"/);
  planError({ ...ok, colour: 1 }, /\$\.colour: unknown key \(allowed: edgeqPlan, default, blocks, embedding, classifier, comment, method, bytes, blockBpw\)/);
  planError({ edgeqPlan: 1, default: { bits: '4' } }, literally(`$.default.bits: expected one of ${BITS_LIST}, got string "4"`));
  planError({ edgeqPlan: 1, default: { bits: NO_BITS } }, literally(`$.default.bits: expected one of ${BITS_LIST}, got number ${NO_BITS}`));
  planError({ edgeqPlan: 1, default: { bits: 4, groupSize: NO_GROUP } }, literally(`$.default.groupSize: expected one of ${GROUP_SIZES_LIST}, got number ${NO_GROUP}`));
  planError({ edgeqPlan: 1, default: { bits: 4, format: 'q2_lut' } }, /\$\.default\.format: 4-bit weights have format "q4_lut", got string "q2_lut"/);
  planError({ ...ok, blocks: [] }, /\$\.blocks: expected an object keyed by block index, got an array/);
  planError({ ...ok, blocks: { first: { bits: 8 } } }, /\$\.blocks\.first: block keys are block indices/);
  planError({ ...ok, blocks: { 1: 8 } }, /\$\.blocks\["1"\]: expected an object, got number 8/);
  planError({ ...ok, blocks: { 1: { bits: 2, matrices: { wx: { bits: 2 } } } } }, /\$\.blocks\["1"\]\.matrices\.wx: unknown matrix \(block matrices: wq, wk, wv, wo, w1, w2, w3\)/);
  planError({ ...ok, blocks: { 1: { matrices: { w2: { bits: 2, groupSize: 'big' } } } } }, literally(`$.blocks["1"].matrices.w2.groupSize: expected one of ${GROUP_SIZES_LIST}, got string "big"`));
  planError({ ...ok, blocks: { 1: { matrices: { w2: { groupSize: 32 } } } } }, /\$\.blocks\["1"\]\.matrices\.w2: missing "bits"/);
  planError({ ...ok, embedding: { bits: 4 } }, /\$\.embedding\.bits: the embedding stays int8/);
  planError({ ...ok, classifier: { bits: NO_BITS } }, literally(`$.classifier.bits: expected one of ${BITS_LIST}, got number ${NO_BITS}`));
  planError({ ...ok, classifier: { bits: 2, groupSize: NO_GROUP } }, literally(`$.classifier.groupSize: expected one of ${GROUP_SIZES_LIST}, got number ${NO_GROUP}`));
  assert.throws(() => parsePlan(join(tmp, 'missing.json')), /missing\.json: no such file or directory \(expected a plan file/);
  // Unknown blocks are only known against a model.
  const p = planFromJson({ ...ok, blocks: { 7: { bits: 8 } } }, 'p.json');
  const w = synthWeights({ ...SHAPES.stories260K, nLayers: 2, seqLen: 8 }, 1);
  assert.throws(() => quantizeInt8(w, { plan: p }), /plan file p\.json: \$\.blocks\["7"\]: the model has 2 blocks \(0\.\.1\)/);
});

test('edgeq compile --plan <file>: a bad plan fails (exit 1) naming the file and JSON path; a bad plan string exits 2', async () => {
  if (!haveModels) return;
  const f = join(tmp, 'nine.json');
  writeFileSync(f, JSON.stringify({ edgeqPlan: 1, default: { bits: 4 }, blocks: { 9: { bits: 2 } } }));
  const r = await cli(['compile', model('stories260K.bin'), '--target', 'wasm32', '--plan', f, '-o', join(tmp, 'o')]);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /plan file .*nine\.json: \$\.blocks\["9"\]: the model has 5 blocks \(0\.\.4\)/);
  assert.not.ok(existsSync(join(tmp, 'o')));
  const u = await cli(['compile', model('stories260K.bin'), '--target', 'wasm32', '--plan', `uniform:4g${NO_GROUP}`, '-o', join(tmp, 'o')]);
  assert.is(u.status, 2);
  assert.match(u.stderr, literally(`group size ${NO_GROUP} is not supported; group sizes: ${GROUP_SIZES_LIST}`));
});

test('plan strings: uniform:<b>[g<G>][,cls<b>[g<G>]], canonical names, and errors (exit 2)', () => {
  const ok = (s: string, cls: unknown, name: string) => {
    const p = parsePlan(s);
    assert.equal(p.classifier, cls, s);
    assert.is(planName(p), name, s);
  };
  ok('uniform:4', undefined, 'uniform:4g64');
  ok('uniform:4g64,cls4', { format: 'q4_lut', bits: 4, groupSize: 64 }, 'uniform:4g64,cls4g64');
  ok('uniform:2,cls4', { format: 'q4_lut', bits: 4, groupSize: 64 }, 'uniform:2g64,cls4g64');
  ok('uniform:4g32,cls2', { format: 'q2_lut', bits: 2, groupSize: 32 }, 'uniform:4g32,cls2g32'); // G inherited from the uniform part
  ok('uniform:8,cls4g128', { format: 'q4_lut', bits: 4, groupSize: 128 }, 'uniform:8,cls4g128');
  ok('uniform:4,cls8', undefined, 'uniform:4g64'); // an int8 classifier is the default: same plan
  // A format's name spells it as well as its bits; the canonical name stays the bits spelling.
  ok('uniform:q4_lutg32,clsq2_lut', { format: 'q2_lut', bits: 2, groupSize: 32 }, 'uniform:4g32,cls2g32');
  ok('uniform:int8,clsq3g128', { format: 'q3', bits: 3, groupSize: 128 }, 'uniform:8,cls3g128');
  const bad = (s: string, why: RegExp) => assert.throws(() => parsePlan(s), (e: Error) => e instanceof EdgeqError && e.exitCode === 2 && why.test(e.message), `${s} should fail with ${why}`);
  bad(`uniform:4,cls${NO_BITS}`, literally(`"uniform:4,cls${NO_BITS}": ${NO_BITS}-bit classifier weights are not supported; bits: ${BITS_LIST}`));
  bad(`uniform:4,cls4g${NO_GROUP}`, literally(`classifier group size ${NO_GROUP} is not supported; group sizes: ${GROUP_SIZES_LIST}`));
  bad('uniform:4,cls8g64', /int8 classifier weights have per-row scales, no group size/);
  bad('uniform:4,clf4', /unknown plan; use uniform:<bits>\[g<group size>\]\[,cls<bits>\[g<group size>\]\]/);
  bad('uniform:4,cls4,cls2', /unknown plan/);
  bad(`uniform:${NO_FORMAT}`, literally(`"${NO_FORMAT}" is not a weight format; formats: ${FORMATS_LIST} (or their bits: ${BITS_LIST})`));
  bad('uniform:int8g64', /int8 weights have per-row scales, no group size/);
  // A plan file opts in with "classifier"; its groupSize inherits from "default".
  const f = planFromJson({ edgeqPlan: 1, default: { bits: 2, groupSize: 32 }, classifier: { bits: 4 } }, 'c.json');
  assert.equal(f.classifier, { format: 'q4_lut', bits: 4, groupSize: 32 });
  assert.match(planMethod(f), / default bits=2 group=32 classifier bits=4 group=32$/);
  assert.is(planFromJson({ edgeqPlan: 1, default: { bits: 2 }, classifier: { bits: 8 } }, 'c.json').classifier, undefined);
});

test('plan files: inheritance (default -> block -> matrix) and the example plan parses', () => {
  const p = readPlanFile(join(ROOT, 'examples/mixed-plan.json'));
  assert.is(p.bits, 4);
  assert.equal(p.blocks![0].choice, { format: 'int8', bits: 8, groupSize: 0 });
  assert.equal(p.blocks![2].choice, { format: 'q2_lut', bits: 2, groupSize: 32 });
  assert.equal(p.blocks![2].matrices.wo, { format: 'q3', bits: 3, groupSize: 32 });
  assert.equal(p.blocks![2].matrices.w1, { format: 'q1', bits: 1, groupSize: 64 });
  assert.equal(p.blocks![4].matrices.wv, { format: 'int8', bits: 8, groupSize: 0 });
});

test('group rule: the largest group size <= the asked one dividing n; else the least padding; int8 past the input limit', () => {
  assert.equal(resolveMatrix({ bits: 4, groupSize: 64 }, 288), { bits: 4, groupSize: 32, format: 'q4_lut', rule: '4-bit g32 (asked g64; input size 288 is not a multiple of it)' });
  assert.is(resolveMatrix({ bits: 2, groupSize: 128 }, 768).groupSize, 128);
  assert.is(resolveMatrix({ bits: 2, groupSize: 128 }, 64).groupSize, 64);
  // stories260K's w2 (n = 172 = 4·43, no group size divides it; an int8 fallback before
  // padding): the last group padded, 192 columns at g32 or g64, 256 at g128 (so not g128).
  assert.equal(resolveMatrix({ bits: 3, groupSize: 64 }, 172), { bits: 3, groupSize: 64, format: 'q3', rule: '3-bit g64, 172 columns stored as 192 (last group padded)' });
  assert.equal(resolveMatrix({ bits: 4, groupSize: 32 }, 172), { bits: 4, groupSize: 32, format: 'q4_lut', rule: '4-bit g32, 172 columns stored as 192 (last group padded)' });
  assert.equal(resolveMatrix({ bits: 4, groupSize: 128 }, 172), { bits: 4, groupSize: 64, format: 'q4_lut', rule: '4-bit g64, 172 columns stored as 192 (last group padded) (asked g128: 256 columns at it)' });
  // q6 takes g32 only.
  assert.equal(resolveMatrix({ bits: 6, groupSize: 64 }, 44), { bits: 6, groupSize: 32, format: 'q6', rule: '6-bit g32, 44 columns stored as 64 (last group padded) (asked g64; q6 takes 32)' });
  // The input limit (§5.4) is on the stored columns: 8259 pads to 8288 > 8260.
  const r = resolveStored({ bits: 4, groupSize: 64 }, 8259);
  assert.equal([r.bits, r.format, r.groupSize], [8, 'int8', 0]);
  assert.match(r.rule, literally('asked 4-bit; input size 8259 (8288 stored) > 8260 (§5.4): int8 fallback'));
  assert.is(resolveStored({ bits: 4, groupSize: 64 }, 8256).format, 'q4_lut');
});

// ---- whole models -----------------------------------------------------------------------

const weights = new Map<string, FloatWeights>();
const w = (name: string) => {
  let x = weights.get(name);
  if (!x) { x = loadWeights(openModel(model(`${name}.bin`))); weights.set(name, x); }
  return x;
};
const runtimes = new Map<string, RuntimeBuild>();
const quantized = new Map<string, QuantModel>();

async function bundle(name: string, plan: PlanSpec, target: 'wasm32' | 'cortex-m', vectors = 8): Promise<{ m: QuantModel; b: QuantBundle }> {
  const qk = `${name}/${plan.name}`;
  let m = quantized.get(qk);
  if (!m) { m = quantizeInt8(w(name), { plan }); quantized.set(qk, m); }
  const prog = lowerInt8(m);
  const key = `${name}/${target}/${prog.ops.length}/${[...new Set(prog.ops.map((o) => o.kind))].sort()}`;
  const b = await bundleFromQuant({
    model: m, target: loadTarget(target), plan, planName: planName(plan), sourceSha256: new Uint8Array(32),
    sourcePath: `${name}.bin`, vectors, runtime: runtimes.get(key),
  });
  runtimes.set(key, b.runtime);
  return { m, b };
}

async function agree(m: QuantModel, b: QuantBundle, positions: number, what: string) {
  const rt = await WasmRuntime.create(b.files['runtime.wasm'], b.files['model.edgeq'], m.params.vocabSize);
  const it = new IntTransformer(m);
  let token = 1;
  for (let pos = 0; pos < positions; pos++) {
    rt.forward(token, pos);
    const want = it.forward(token, pos);
    assert.ok(bytesOf(rt.logits()).equals(bytesOf(want)), `${what}: logits differ at position ${pos}`);
    token = pos % 5 === 2 ? (token * 31 + 7) % m.params.vocabSize : it.argmax(want);
  }
  assert.equal(findFloats(b.files['runtime.wasm']), [], `${what}: floats in runtime.wasm`);
  assert.is(rt.selftest().mismatches, 0, `${what}: selftest`);
}

for (const name of ['stories260K', 'babyllama936K']) {
  for (const bits of [4, 2]) {
    for (const target of ['wasm32', 'cortex-m'] as const) {
      test(`${name} uniform:${bits}: ${target === 'wasm32' ? 'SIMD' : 'scalar'} runtime logits byte-identical to IntTransformer (40 positions)`, async () => {
        if (!haveModels) return;
        const { m, b } = await bundle(name, parsePlan(`uniform:${bits}`), target);
        const kinds = b.runtime.kinds;
        assert.ok(kinds.includes('gemv_lut') && kinds.includes('lut_tables'));
        assert.ok(b.runtime.functions.includes(target === 'wasm32' ? 'runGemvLutSimd' : 'runGemvLut'));
        assert.not.ok(b.runtime.functions.includes(target === 'wasm32' ? 'runGemvLut' : 'runGemvLutSimd'));
        await agree(m, b, 40, `${name} ${bits}-bit ${target}`);
      });
    }
  }
}

// The opt-in low-bit classifier (docs/integer-spec.md §11): stories260K's classifier is its
// embedding; with cls4 it is split off as a q4_lut wcls, run by gemv_lut with outFrac 16.
for (const target of ['wasm32', 'cortex-m'] as const) {
  test(`stories260K uniform:4g64,cls4: ${target === 'wasm32' ? 'SIMD' : 'scalar'} runtime logits byte-identical to IntTransformer (40 positions)`, async () => {
    if (!haveModels) return;
    const { m, b } = await bundle('stories260K', parsePlan('uniform:4g64,cls4'), target);
    await agree(m, b, 40, `stories260K cls4 ${target}`);
    const last = b.contents.program.ops.at(-1)!;
    assert.equal([last.kind, last.name, last.params], ['gemv_lut', 'wcls', [64, 512, 16, 4, 64]]);
  });
}

test('stories260K uniform:4g64,cls4: wcls split off the int8 embedding; the plan and manifest record it', async () => {
  if (!haveModels) return;
  const { m, b } = await bundle('stories260K', parsePlan('uniform:4g64,cls4'), 'wasm32');
  const { m: m4 } = await bundle('stories260K', parsePlan('uniform:4'), 'wasm32');
  assert.is(m4.params.sharedClassifier, 1);
  assert.is(m.params.sharedClassifier, 0);
  const t = (x: QuantModel, n: string) => x.tensors.find((y) => y.name === n);
  // The embedding lookup is unchanged: the same int8 rows and scales as without cls4.
  for (const n of ['tok_embeddings', 'tok_embeddings.scale_m', 'tok_embeddings.scale_e']) {
    assert.is(t(m, n)!.dtype, t(m4, n)!.dtype, n);
    assert.ok(Buffer.from(t(m, n)!.data.buffer).equals(Buffer.from(t(m4, n)!.data.buffer)), n);
  }
  assert.equal([t(m, 'wcls')!.dtype, t(m, 'wcls')!.shape, t(m, 'wcls')!.params], ['q4_lut', [512, 64], { bits: 4, groupSize: 64 }]);
  assert.is(t(m4, 'wcls'), undefined);
  // Its own table slot, of the final norm's output.
  const c = readArtifact(b.files['model.edgeq']);
  const ops = c.program.ops, cls = ops.at(-1)!;
  const tables = ops.find((o) => o.kind === 'lut_tables' && o.outputs[0].index === cls.inputs[0].index)!;
  assert.is(c.program.slots[tables.inputs[0].index].name, 'final.xq');
  assert.is(c.config.sharedClassifier, false);
  assert.is(c.plan.method, 'uniform bits=4 group=64 classifier bits=4 group=64');
  const man = JSON.parse(new TextDecoder().decode(b.files['manifest.json']));
  assert.equal([man.plan, man.precision.embedding, man.precision.classifier], ['uniform:4g64,cls4g64', 'int8', 'q4_lut g64']);
  // Bytes: the int8 classifier (shared, so no bytes of its own) becomes 512 x 64 at 4 bits:
  // planes 16384 + groups 1024 + row scales 1536.
  const bytes = (x: QuantModel) => x.tensors.reduce((s, y) => s + y.data.byteLength, 0);
  assert.is(bytes(m) - bytes(m4), 16384 + 1024 + 1536);
});

test('stories260K uniform:4: the program shares one table slot per GEMV input; the plan is recorded (w2 falls back to int8)', async () => {
  if (!haveModels) return;
  const { b } = await bundle('stories260K', parsePlan('uniform:4'), 'wasm32');
  const c = readArtifact(b.files['model.edgeq']);
  const kinds = c.program.ops.map((o) => o.kind);
  // Per block: tables of the attention input (wq, wk, wv), of wo's input, of the FFN input
  // (w1, w3) and of w2's (172 activations, tables for 192: its last group is padded).
  assert.is(kinds.filter((k) => k === 'lut_tables').length, 4 * 5);
  assert.is(kinds.filter((k) => k === 'gemv_lut').length, 7 * 5);
  assert.is(kinds.filter((k) => k === 'gemv').length, 0);
  const ops = c.program.ops, wq = ops.find((o) => o.name === 'blocks.0.wq')!, wv = ops.find((o) => o.name === 'blocks.0.wv')!;
  assert.equal(wq.inputs[0], wv.inputs[0]);
  assert.equal(wq.params, [64, 64, 16, 4, 64]);
  assert.is(c.plan.method, 'uniform bits=4 group=64');
  const m0 = c.plan.blocks[0].matrices;
  assert.equal(m0.find((x) => x.name === 'wq'), { name: 'wq', bits: 4, groupSize: 64, format: 'q4_lut', rule: '4-bit g64, clip search' });
  assert.equal(m0.find((x) => x.name === 'w2'), { name: 'w2', bits: 4, groupSize: 64, format: 'q4_lut', rule: '4-bit g64, 172 columns stored as 192 (last group padded), clip search' });
  const w2 = ops.find((o) => o.name === 'blocks.0.w2')!, t2 = ops.find((o) => o.name === 'blocks.0.hq.lut')!;
  assert.equal(t2.params, [172, 192], 'lut_tables: n, nPad');
  assert.equal(w2.params, [192, 64, 16, 4, 64], 'gemv_lut on the padded columns');
  assert.equal(w2.inputs[0], t2.outputs[0]);
  const q = c.tensors.find((t) => t.name === 'blocks.0.wq')!;
  assert.is(q.dtype, 'q4_lut');
  assert.is(q.quant?.groupSize, 64);
  assert.is(c.tensors[q.quant!.scalesTensor!].name, 'blocks.0.wq.groups');
  const man = JSON.parse(new TextDecoder().decode(b.files['manifest.json']));
  assert.is(man.plan, 'uniform:4g64');
  assert.is(man.precision.blocks[0].wq, 'q4_lut g64');
  assert.is(man.precision.blocks[0].w2, 'q4_lut g64');
  // Weight bytes per block: wq/wo 64 x 64 (planes 2048 + groups 128), wk/wv 32 x 64 (1024 + 64),
  // w1/w3 172 x 64 (11 tiles: planes 5632 + groups 352) and w2 64 x 172 stored as 64 x 192
  // (planes 4 tiles x 16 rows x 4 planes x 24 bytes = 6144, groups 4 x 3 x 32 = 384) instead
  // of 4096, 2048, 11008, 11008 int8 bytes.
  assert.is(c.tensors.find((t) => t.name === 'blocks.0.w2')!.data.length, 6144);
  assert.is(c.tensors.find((t) => t.name === 'blocks.0.w2.groups')!.data.length, 384);
  const c8 = readArtifact((await bundle('stories260K', parsePlan('uniform:8'), 'wasm32')).b.files['model.edgeq']);
  const bytes = (x: typeof c) => x.tensors.reduce((s, t) => s + t.data.length, 0);
  assert.is(bytes(c8) - bytes(c), 5 * (2 * (4096 - 2176) + 2 * (2048 - 1088) + 2 * (11008 - 5984) + (11008 - 6528)));
});

/** The program interpreter (reference kernels over the program) gives IntTransformer's logits for 8 greedy positions. */
async function interpreterAgrees(name: string, plan: string): Promise<void> {
  const { ProgramInterpreter } = await import('../compiler/engines/program-interpreter.ts');
  const { m, b } = await bundle(name, parsePlan(plan), 'cortex-m');
  const pi = new ProgramInterpreter(readArtifact(b.files['model.edgeq']));
  const it = new IntTransformer(m);
  let token = 1;
  for (let pos = 0; pos < 8; pos++) {
    const want = it.forward(token, pos);
    assert.ok(bytesOf(pi.forward(token, pos)).equals(bytesOf(want)), `${name} ${plan}: position ${pos}`);
    token = it.argmax(want);
  }
}

test('the program interpreter (reference kernels over the program) agrees with IntTransformer on a 2-bit babyllama936K', async () => {
  if (!haveModels) return;
  await interpreterAgrees('babyllama936K', 'uniform:2');
});

test('the program interpreter agrees with IntTransformer on stories260K with a 4-bit classifier', async () => {
  if (!haveModels) return;
  await interpreterAgrees('stories260K', 'uniform:4g64,cls4');
});

test('mixed plan file (examples/mixed-plan.json) on babyllama936K: scalar runtime byte-identical; the plan recorded per matrix', async () => {
  if (!haveModels) return;
  const plan = parsePlan(join(ROOT, 'examples/mixed-plan.json'));
  const { m, b } = await bundle('babyllama936K', plan, 'cortex-m');
  await agree(m, b, 24, 'babyllama936K mixed scalar');
  const c = readArtifact(b.files['model.edgeq']);
  const fmt = (l: number, n: string) => { const x = c.plan.blocks[l].matrices.find((y) => y.name === n)!; return `${x.format}${x.groupSize ? ` g${x.groupSize}` : ''}`; };
  assert.equal(c.plan.blocks[0].matrices.map((x) => x.format), Array(7).fill('int8'));
  assert.is(c.plan.blocks[0].format, 'int8');
  assert.equal([fmt(1, 'wq'), fmt(1, 'w2')], ['q4_lut g64', 'q4_lut g32']); // hidden 352: g64 -> g32
  assert.equal([fmt(2, 'wq'), fmt(2, 'wo'), fmt(2, 'w1'), fmt(2, 'w2')], ['q2_lut g32', 'q3 g32', 'q1 g64', 'q2_lut g32']);
  assert.equal([fmt(4, 'wq'), fmt(4, 'wv')], ['q4_lut g64', 'int8']);
  assert.match(c.plan.blocks[2].rule!, /^mixed: /);
  assert.match(c.plan.method, /^file mixed-plan\.json sha256:[0-9a-f]{16} default bits=4 group=64$/);
  assert.is(JSON.parse(new TextDecoder().decode(b.files['manifest.json'])).plan, 'mixed-plan.json');
});

test('load-time checks: a gemv_lut whose params or operands do not fit its kernel is refused (bad_program, 68)', async () => {
  if (!haveModels) return;
  const { b } = await bundle('stories260K', parsePlan('uniform:4'), 'cortex-m');
  const wasm = b.files['runtime.wasm'];
  assert.is(loadCode(wasm, b.files['model.edgeq']).code, 0);
  const c = readArtifact(b.files['model.edgeq']);
  const at = c.program.ops.findIndex((o) => o.kind === 'gemv_lut');
  const tablesAt = c.program.ops.findIndex((o) => o.kind === 'lut_tables');
  const mutate = (f: (op: (typeof c.program.ops)[number], all: typeof c.program.ops) => void) => {
    const ops = c.program.ops.map((o) => ({ ...o, params: o.params.slice(), inputs: o.inputs.map((r) => ({ ...r })) }));
    f(ops[at], ops);
    return writeArtifact({ ...c, program: { ...c.program, ops } });
  };
  const cases: Array<[string, Uint8Array]> = [
    ['bits 3 for a q4_lut tensor', mutate((o) => { o.params[3] = 3; })],
    ['bits 5', mutate((o) => { o.params[3] = 5; })],
    ['group size 32 vs a g64 groups tensor', mutate((o) => { o.params[4] = 32; })],
    ['group size 48', mutate((o) => { o.params[4] = 48; })],
    ['d one row too many', mutate((o) => { o.params[1] += 1; })],
    ['tables operand not a table slot', mutate((o) => { o.inputs[0] = { ...o.inputs[1] }; })],
    ['groups operand is the row scales', mutate((o) => { o.inputs[3] = { ...o.inputs[4] }; })],
    ['lut_tables n not a multiple of 32', mutate((_, all) => { all[tablesAt].params[0] = 60; })],
  ];
  for (const [what, art] of cases) assert.is(loadCode(wasm, art).code, 68, what);
});

test('codegen: LUT kernels only when the program uses them', () => {
  const tiny = { ...SHAPES.stories260K, nLayers: 1, seqLen: 16 };
  const m8 = quantizeInt8(synthWeights(tiny, 2));
  const p = m8.params;
  const config = { dim: p.dim, hiddenDim: p.hiddenDim, nLayers: 1, nHeads: p.nHeads, nKvHeads: p.nKvHeads, vocabSize: p.vocabSize, seqLen: 16, sharedClassifier: true, headSize: p.dim / p.nHeads };
  const g8 = generateRuntimeSource(config, lowerInt8(m8), { name: 'wasm32', simd: true });
  assert.not.match(g8.source, /Lut/);
  const m4 = quantizeInt8(synthWeights(tiny, 2), { plan: parsePlan('uniform:3g32') });
  const s = generateRuntimeSource(config, lowerInt8(m4), { name: 'cortex-m', simd: false });
  assert.ok(s.functions.includes('runGemvLut') && s.functions.includes('runLutTables') && s.functions.includes('checkGemvLut'));
  assert.not.match(s.source, /ops-simd/);
});

test.run();
