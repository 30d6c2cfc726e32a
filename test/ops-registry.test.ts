// The op registry (compiler/ops) is the one definition of each op kind: the spec's op
// table and the device's param indices (runtime/assembly/op-params.ts) are generated from
// it and fresh; every kind names kernel files that exist side by
// side under the same name and device functions that ops.ts/ops-simd.ts export; the
// lowering's programs carry params the registry admits, read back by name; out-of-range
// params are refused by the program interpreter at load.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpKind } from '../schemas/generated/edgeq/fb/op-kind.ts';
import { OP_DEFS, buildOp, checkParams, opDef, paramsOf, ruleOrder } from '../compiler/ops/registry.ts';
import { lowerInt8 } from '../compiler/lower/program.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { AS_PARAMS, ROOT, SPEC, renderAsParams, withFreshTable } from '../scripts/gen-ops.ts';
import { AS_OPS, AS_OPS_SIMD, AS_PARAM_CHECKS, renderOps, renderOpsSimd, renderParamChecks } from '../scripts/gen-ops-device.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { GROUPED_FORMATS, formatOfBits } from '../compiler/quantize/formats/registry.ts';
import { NO_BITS, NO_GROUP, literally } from './helpers/formats.ts';

test('docs/integer-spec.md §10 op table is fresh (run npm run gen:ops)', () => {
  const spec = readFileSync(join(ROOT, SPEC), 'utf8');
  assert.ok(withFreshTable(spec) === spec, `${SPEC}: the op table differs from the registry; run npm run gen:ops`);
});

test('runtime/assembly/op-params.ts is fresh (run npm run gen:ops) and names every param', () => {
  const have = readFileSync(join(ROOT, AS_PARAMS), 'utf8');
  assert.ok(have === renderAsParams(), `${AS_PARAMS} is stale: run npm run gen:ops`);
  assert.match(have, /export const RMSNORM_RMS_EPS_Q32: i32 = 2;/);
  assert.match(have, /export const ATTENTION_PARAMS: i32 = 5;/);
  assert.match(have, /export const GEMV_LUT_G: i32 = 4;/);
});

test('every OpKind but invalid and copy is defined, once, in OpKind order', () => {
  const kinds = OP_DEFS.map((d) => d.kind);
  assert.equal(new Set(kinds).size, kinds.length, 'a kind is defined twice');
  const enumKinds = Object.keys(OpKind).filter((k) => Number.isNaN(Number(k)) && k !== 'invalid' && k !== 'copy');
  assert.equal([...kinds].sort(), [...enumKinds].sort());
  const values = kinds.map((k) => OpKind[k as keyof typeof OpKind] as number);
  assert.equal(values, [...values].sort((a, b) => a - b), 'OP_DEFS is not in OpKind order');
});

test('the device code generated from the registry is fresh (run npm run gen:ops)', () => {
  for (const [rel, fresh] of [[AS_PARAM_CHECKS, renderParamChecks()], [AS_OPS, renderOps()], [AS_OPS_SIMD, renderOpsSimd()]]) {
    assert.ok(readFileSync(join(ROOT, rel), 'utf8') === fresh, `${rel} is stale: run npm run gen:ops`);
  }
  // The gemv_lut group-size rule comes from the weight-format registry, per format.
  for (const f of GROUPED_FORMATS) assert.ok(renderParamChecks().includes(`(bits == ${f.bits} && (${f.groupSizes.map((g) => `G == ${g}`).join(' || ')}))`), f.name);
});

test('each kind names kernel files that exist (reference and scalar, side by side); rules name existing params', () => {
  const ops = renderOps(), opsSimd = renderOpsSimd();
  const exported = (src: string, fn: string) => new RegExp(`export function ${fn}\\(r: usize\\)`).test(src);
  for (const d of OP_DEFS) {
    for (const flavour of ['reference', 'scalar']) {
      assert.ok(existsSync(join(ROOT, 'runtime/kernels', flavour, `${d.kernel}.ts`)), `${d.kind}: runtime/kernels/${flavour}/${d.kernel}.ts is missing`);
    }
    assert.ok(exported(ops, d.device.check), `${d.kind}: ops.ts exports no ${d.device.check}`);
    assert.ok(exported(ops, d.device.run), `${d.kind}: ops.ts exports no ${d.device.run}`);
    if (d.device.simdRun) {
      assert.ok(exported(opsSimd, d.device.simdRun), `${d.kind}: ops-simd.ts exports no ${d.device.simdRun}`);
      assert.ok(existsSync(join(ROOT, 'runtime/kernels/simd', `${d.kernel}.ts`)), `${d.kind}: a SIMD run function but no runtime/kernels/simd/${d.kernel}.ts`);
    }
    assert.ok(d.params.every((p, i) => d.params.findIndex((q) => q.name === p.name) === i), `${d.kind}: duplicate param name`);
    const names = new Set(d.params.map((p) => p.name));
    for (const { param, rule } of ruleOrder(d)) for (const ref of rule.refs) assert.ok(names.has(ref), `${d.kind}.${param}: a rule names "${ref}", no param of ${d.kind}`);
  }
});

test('lowered programs: every op has admissible params; paramsOf reads them back by name', () => {
  for (const gqa of [false, true]) {
    const shape = { ...SHAPES.stories260K, nLayers: 1, seqLen: 16, ...(gqa ? { nKvHeads: 4 } : {}) };
    const qm = quantizeInt8(synthWeights(shape, 5));
    const prog = lowerInt8(qm);
    for (const op of prog.ops) assert.is(checkParams(op), null, `${op.name} (${op.kind})`);
    const norm = paramsOf(prog.ops.find((o) => o.kind === 'rmsnorm')!);
    assert.equal([norm.n, norm.rmsEpsQ32, norm.rmsSqShift], [qm.params.dim, qm.params.rmsEpsQ32, qm.params.rmsSqShift]);
    const att = paramsOf(prog.ops.find((o) => o.kind === 'attention')!);
    assert.equal([att.nHeads, att.nKv, att.attScaleM, att.attScaleE], [qm.params.nHeads, qm.params.nKvHeads, qm.params.attScaleM, qm.params.attScaleE]);
  }
});

test('buildOp orders params by the definition and refuses unknown or missing names', () => {
  const op = buildOp('requantize', 'r', [], [], { qmax: 127, n: 8, frac: 16 });
  assert.equal(op.params, [8, 16, 127]);
  assert.throws(() => buildOp('requantize', 'r', [], [], { n: 8, frac: 16 }), (e: Error) => e instanceof EdgeqError && /"qmax" missing/.test(e.message));
  assert.throws(() => buildOp('requantize', 'r', [], [], { n: 8, frac: 16, qmax: 127, x: 1 }), (e: Error) => /no param "x"/.test(e.message));
  assert.throws(() => opDef('copy'), (e: Error) => /no op kind "copy"/.test(e.message));
});

test('checkParams: an op with a param missing (a bundle from before the kind grew) names the params and says to compile again', () => {
  const op = buildOp('requantize', 'r', [], [], { qmax: 127, n: 8, frac: 16 });
  const old = { ...op, params: op.params.slice(0, 2) };
  assert.is(checkParams(old), '2 params, expected 3 (n, frac, qmax); a bundle compiled by an older edgeq: compile it again');
  assert.is(checkParams(op), null);
});

test('checkParams names the first param out of its range', () => {
  const cases: Array<[string, Record<string, number>, RegExp]> = [
    ['requantize', { n: 8, frac: 16, qmax: 100 }, /qmax = 100 must be one of 127, 2047/],
    ['rope', { n: 10, hs: 4 }, /n = 10 must be a multiple of hs/],
    ['rope', { n: 12, hs: 3 }, /hs = 3 must be even/],
    ['rmsnorm', { n: 64, gainFrac: 12, rmsEpsQ32: 0, rmsSqShift: 7, rmsDimScaleM: 1, rmsDimScaleE: 0 }, /rmsSqShift = 7 must be ceil\(log2 n\) = 6/],
    ['gemv_lut', { n: 96, d: 16, outFrac: 16, bits: 2, G: 64 }, /G = 64 must divide n/],
    ['gemv_lut', { n: 128, d: 16, outFrac: 16, bits: NO_BITS, G: 64 }, literally(`bits = ${NO_BITS} must be the bits of a grouped weight format`)],
    ['gemv_lut', { n: 128, d: 16, outFrac: 16, bits: 6, G: 64 }, literally(`G = 64 must be a group size of q6 (${formatOfBits(6).groupSizes.join(', ')})`)],
    ['gemv_lut', { n: 128, d: 16, outFrac: 16, bits: 2, G: NO_GROUP }, literally(`G = ${NO_GROUP} must be a group size of q2_lut (${formatOfBits(2).groupSizes.join(', ')})`)],
    ['rmsnorm', { n: 64, gainFrac: 12, rmsEpsQ32: 2 ** 26, rmsSqShift: 6, rmsDimScaleM: 1, rmsDimScaleE: 0 }, /rmsEpsQ32 = 67108864 must keep rmsEpsQ32 · n < 2\^31/],
    ['lut_tables', { n: 60, nPad: 60 }, /nPad = 60 must be a multiple of 32/],
    ['lut_tables', { n: 60, nPad: 32 }, /nPad = 32 must be n <= nPad < n \+ 128/],
    ['lut_tables', { n: 60, nPad: 192 }, /nPad = 192 must be n <= nPad < n \+ 128/],
    ['attention', { nHeads: 6, nKv: 4, hs: 8, attScaleM: 1, attScaleE: 0 }, /nHeads = 6 must be a multiple of nKv/],
  ];
  for (const [kind, params, want] of cases) {
    const d = opDef(kind);
    const why = checkParams({ kind: d.kind, name: 'x', params: d.params.map((p) => params[p.name]) });
    assert.ok(why && want.test(why), `${kind}: ${why}`);
  }
});

test.run();
