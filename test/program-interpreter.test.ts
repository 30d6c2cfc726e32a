// The program interpreter (compiler/engines/program-interpreter.ts): the artifact's
// Program run op by op with the reference kernels over the program's own arena layout
// gives IntTransformer's logits byte for byte on both real checkpoints (int8, and 2-bit
// LUT weights); an op kind it does not implement is refused by name. (Op-by-op agreement
// with the runtime: test/conformance/layers.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveModels, model } from './helpers/models.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { lowerInt8 } from '../compiler/lower/program.ts';
import { emitArtifact, parsePlan } from '../compiler/emit/from-quant.ts';
import { readArtifact } from '../compiler/emit/artifact-read.ts';
import { IntTransformer } from '../runtime/reference/model.ts';
import { ProgramInterpreter, UnsupportedOpKind } from '../compiler/engines/program-interpreter.ts';
import type { ArtifactContents } from '../compiler/emit/artifact-contents.ts';

const contentsCache = new Map<string, { contents: ArtifactContents; it: IntTransformer }>();
function load(name: string) {
  let c = contentsCache.get(name);
  if (!c) {
    const q = quantizeInt8(loadWeights(openModel(model(`${name}.bin`))));
    const bytes = emitArtifact({
      model: q, program: lowerInt8(q), target: { name: 'wasm32', simd: true }, plan: parsePlan('uniform:8'),
      sourceSha256: new Uint8Array(32), sourcePath: `${name}.bin`, vectors: 0,
    });
    c = { contents: readArtifact(bytes), it: new IntTransformer(q) };
    contentsCache.set(name, c);
  }
  return c;
}

for (const [name, positions] of [['stories260K', 32], ['babyllama936K', 32]] as const) {
  test(`${name}: the interpreter's logits equal IntTransformer's byte for byte (${positions} greedy positions)`, () => {
    if (!haveModels) return;
    const { contents, it } = load(name);
    const interp = new ProgramInterpreter(contents);
    let token = 1;
    for (let pos = 0; pos < positions; pos++) {
      const want = it.forward(token, pos);
      const got = interp.forward(token, pos);
      assert.equal(Array.from(got), Array.from(want), `position ${pos}`);
      token = it.argmax(want);
    }
  });
}

test('stories260K at 2 bits (lut_tables + gemv_lut): the interpreter\'s logits equal IntTransformer\'s (16 positions)', () => {
  if (!haveModels) return;
  const plan = parsePlan('uniform:2');
  const q = quantizeInt8(loadWeights(openModel(model('stories260K.bin'))), { plan });
  const contents = readArtifact(emitArtifact({
    model: q, program: lowerInt8(q), target: { name: 'wasm32', simd: true }, plan,
    sourceSha256: new Uint8Array(32), sourcePath: 'stories260K.bin', vectors: 0,
  }));
  assert.ok(contents.program.ops.some((o) => o.kind === 'gemv_lut'));
  const it = new IntTransformer(q), interp = new ProgramInterpreter(contents);
  let token = 1;
  for (let pos = 0; pos < 16; pos++) {
    const want = it.forward(token, pos);
    assert.equal(Array.from(interp.forward(token, pos)), Array.from(want), `position ${pos}`);
    token = it.argmax(want);
  }
});

test('an op kind without an interpreter function is refused by name', () => {
  if (!haveModels) return;
  const { contents } = load('stories260K');
  const ops = contents.program.ops.slice();
  const k = ops.findIndex((o) => o.kind === 'swiglu');
  ops[k] = { ...ops[k], kind: 'copy' };
  const bad = { ...contents, program: { ...contents.program, ops } };
  try {
    new ProgramInterpreter(bad);
    assert.unreachable('accepted an unsupported op kind');
  } catch (e) {
    assert.instance(e, UnsupportedOpKind);
    assert.match((e as Error).message, `op kind copy is not supported by the program interpreter (op #${k} ${ops[k].name}`);
  }
});

test('a malformed op (operand of the wrong dtype) is refused with the op named', () => {
  if (!haveModels) return;
  const { contents } = load('stories260K');
  const ops = contents.program.ops.slice();
  const k = ops.findIndex((o) => o.kind === 'gemv');
  ops[k] = { ...ops[k], inputs: [ops[k].inputs[1], ...ops[k].inputs.slice(1)] };
  assert.throws(() => new ProgramInterpreter({ ...contents, program: { ...contents.program, ops } }),
    new RegExp(`op #${k} ${ops[k].name!.replace(/\./g, '\\.')} \\(gemv\\): input 0: slot .* is int32, expected int16`));
});

test('params out of the registry\'s ranges are refused at load, naming the op and the param', () => {
  if (!haveModels) return;
  const { contents } = load('stories260K');
  for (const [kind, at, value, want] of [
    ['requantize', 2, 100, /param qmax = 100 must be one of 127, 2047/],
    ['rmsnorm', 3, 31, /param rmsSqShift = 31 must be <= 28/],
    ['rmsnorm', 3, 5, /param rmsSqShift = 5 must be ceil\(log2 n\) = 6/],
    ['rope', 1, 1, /param hs = 1 must be even/],
  ] as const) {
    const ops = contents.program.ops.slice();
    const k = ops.findIndex((o) => o.kind === kind);
    const params = ops[k].params.slice();
    params[at] = value;
    ops[k] = { ...ops[k], params };
    assert.throws(() => new ProgramInterpreter({ ...contents, program: { ...contents.program, ops } }),
      (e: Error) => e.message.includes(`op #${k} ${ops[k].name} (${kind})`) && want.test(e.message), kind);
  }
});

test.run();
