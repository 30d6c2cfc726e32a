// tier: slow
// vq2 in whole models (docs/integer-spec.md §9.7): the lowering (one gemv_vq per vq2 matrix,
// no tables op), whole-model logits byte-identical between IntTransformer, the program
// interpreter and the generated runtime (SIMD and scalar) on babyllama936K and stories260K
// (with a vq2 classifier), and the load-time checks of gemv_vq.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveModels, model } from './helpers/models.ts';
import { loadCode } from './helpers/bundles.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import type { QuantModel } from '../compiler/quantize/quant-model.ts';
import { parsePlan, planName } from '../compiler/plan/plan.ts';
import { bundleFromQuant, type QuantBundle } from '../compiler/bundle.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { findFloats } from '../compiler/codegen/float-check.ts';
import { readArtifact } from '../compiler/emit/artifact-read.ts';
import { writeArtifact } from '../compiler/emit/artifact.ts';
import { WasmRuntime } from '../compiler/engines/wasm-runtime.ts';
import { ProgramInterpreter } from '../compiler/engines/program-interpreter.ts';
import { IntTransformer } from '../runtime/reference/model.ts';

const bytesOf = (l: Int32Array) => Buffer.from(l.buffer, l.byteOffset, l.byteLength);
const quantized = new Map<string, QuantModel>();

async function bundle(name: string, plan: string, target: 'wasm32' | 'cortex-m'): Promise<{ m: QuantModel; b: QuantBundle }> {
  const p = parsePlan(plan), key = `${name}/${plan}`;
  let m = quantized.get(key);
  if (!m) { m = quantizeInt8(loadWeights(openModel(model(`${name}.bin`))), { plan: p }); quantized.set(key, m); }
  const b = await bundleFromQuant({ model: m, target: loadTarget(target), plan: p, planName: planName(p), sourceSha256: new Uint8Array(32), sourcePath: `${name}.bin`, vectors: 4 });
  return { m, b };
}

/** Runtime logits = IntTransformer's = the program interpreter's, greedy with a few forced tokens. */
async function agree(m: QuantModel, b: QuantBundle, positions: number, what: string) {
  const rt = await WasmRuntime.create(b.files['runtime.wasm'], b.files['model.edgeq'], m.params.vocabSize);
  const it = new IntTransformer(m), pi = new ProgramInterpreter(readArtifact(b.files['model.edgeq']));
  let token = 1;
  for (let pos = 0; pos < positions; pos++) {
    rt.forward(token, pos);
    const want = it.forward(token, pos);
    assert.ok(bytesOf(rt.logits()).equals(bytesOf(want)), `${what}: runtime logits differ at position ${pos}`);
    assert.ok(bytesOf(pi.forward(token, pos)).equals(bytesOf(want)), `${what}: interpreter logits differ at position ${pos}`);
    token = pos % 5 === 2 ? (token * 31 + 7) % m.params.vocabSize : it.argmax(want);
  }
  assert.equal(findFloats(b.files['runtime.wasm']), [], `${what}: floats in runtime.wasm`);
  assert.is(rt.selftest().mismatches, 0, `${what}: selftest`);
}

for (const target of ['wasm32', 'cortex-m'] as const) {
  const flavour = target === 'wasm32' ? 'SIMD' : 'scalar';
  test(`babyllama936K uniform:vq2: ${flavour} runtime = interpreter = IntTransformer (24 positions); every block matrix is gemv_vq`, async () => {
    if (!haveModels) return;
    const { m, b } = await bundle('babyllama936K', 'uniform:vq2', target);
    const ops = b.contents.program.ops;
    assert.is(ops.filter((o) => o.kind === 'gemv_vq').length, 7 * m.params.nLayers);
    assert.not.ok(ops.some((o) => o.kind === 'gemv_lut' || o.kind === 'lut_tables'));
    assert.ok(b.runtime.functions.includes(target === 'wasm32' ? 'runGemvVqSimd' : 'runGemvVq'));
    assert.equal(readArtifact(b.files['model.edgeq']).plan.blocks[0].matrices.map((x) => x.format), Array(7).fill('vq2'));
    await agree(m, b, 24, `babyllama936K vq2 ${target}`);
  });
  test(`stories260K uniform:4g64,clsvq2: ${flavour} runtime = interpreter = IntTransformer (24 positions); w2 (172 inputs) a padded gemv_lut, the classifier is gemv_vq`, async () => {
    if (!haveModels) return;
    const { m, b } = await bundle('stories260K', 'uniform:4g64,clsvq2', target);
    const last = b.contents.program.ops.at(-1)!;
    assert.equal([last.kind, last.name, last.params], ['gemv_vq', 'wcls', [64, 512, 16]]);
    // w2's 172 inputs: its last group padded (192 columns; an int8 gemv before the padded layout).
    const w2 = b.contents.program.ops.find((o) => o.name === 'blocks.0.w2')!;
    assert.equal([w2.kind, w2.params[0]], ['gemv_lut', 192]);
    await agree(m, b, 24, `stories260K clsvq2 ${target}`);
  });
}

test('load-time checks: a gemv_vq whose params or operands do not fit its kernel is refused (bad_program, 68)', async () => {
  if (!haveModels) return;
  const { b } = await bundle('babyllama936K', 'uniform:vq2', 'cortex-m');
  const wasm = b.files['runtime.wasm'];
  assert.is(loadCode(wasm, b.files['model.edgeq']).code, 0);
  const c = readArtifact(b.files['model.edgeq']);
  const at = c.program.ops.findIndex((o) => o.kind === 'gemv_vq');
  const mutate = (f: (op: (typeof c.program.ops)[number]) => void) => {
    const ops = c.program.ops.map((o) => ({ ...o, params: o.params.slice(), inputs: o.inputs.map((r) => ({ ...r })) }));
    f(ops[at]);
    return writeArtifact({ ...c, program: { ...c.program, ops } });
  };
  const cases: Array<[string, Uint8Array]> = [
    ['n not a multiple of 16', mutate((o) => { o.params[0] -= 8; })],
    ['n 16 too long for the codes', mutate((o) => { o.params[0] += 16; })],
    ['d one row too many', mutate((o) => { o.params[1] += 1; })],
    ['outFrac 31', mutate((o) => { o.params[2] = 31; })],
    ['codebook operand is the scale_m tensor', mutate((o) => { o.inputs[3] = { ...o.inputs[4] }; })],
    ['codes operand is the codebook', mutate((o) => { o.inputs[2] = { ...o.inputs[3] }; })],
  ];
  for (const [what, art] of cases) assert.is(loadCode(wasm, art).code, 68, what);
});

test.run();
