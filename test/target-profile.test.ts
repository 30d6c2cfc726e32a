import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadTarget, runtimeTarget, targetNames } from '../compiler/target/profile.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { findOp } from '../compiler/ops/registry.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { parsePlan, planName } from '../compiler/plan/plan.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { isSimdRuntime } from '../compiler/engines/runtime-flavour.ts';

test('every target profile in targets/ loads and names itself', () => {
  const names = targetNames();
  for (const required of ['wasm32', 'aarch64-linux', 'riscv64-linux', 'cortex-m']) assert.ok(names.includes(required), required);
  for (const n of names) assert.is(loadTarget(n).name, n);
});

test('an unknown target is a usage error listing the known ones', () => {
  try {
    loadTarget('pdp11');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, EdgeqError);
    assert.is((e as EdgeqError).exitCode, 2);
    assert.match((e as Error).message, /unknown target "pdp11"; known targets: .*wasm32/);
  }
});

test('bare-metal targets carry RAM and flash budgets; SIMD only where the engine has it', () => {
  const m = loadTarget('cortex-m');
  assert.ok(m.ramBytes! > 0 && m.flashBytes! > 0);
  assert.is(m.simd, false);
  assert.is(loadTarget('wasm32').simd, true);
});

test('simdSlowerFor names op kinds of the registry, and a program with one of them gets the scalar runtime', () => {
  for (const n of targetNames()) {
    for (const k of loadTarget(n).simdSlowerFor ?? []) assert.ok(findOp(k), `${n}: simdSlowerFor names ${k}, not an op kind`);
  }
  const rv = loadTarget('riscv64-linux');
  assert.equal(rv.simdSlowerFor, ['gemv_lut', 'gemv_vq']);
  assert.is(runtimeTarget(rv, { ops: [{ kind: 'gemv' }, { kind: 'classifier' }] }).simd, true);
  const lut = runtimeTarget(rv, { ops: [{ kind: 'gemv' }, { kind: 'gemv_lut' }] });
  assert.is(lut.simd, false);
  assert.match(lut.why!, /scalar runtime: this target's SIMD build runs gemv_lut slower/);
  // Targets without the field are left alone, SIMD or not.
  assert.is(runtimeTarget(loadTarget('wasm32'), { ops: [{ kind: 'gemv_lut' }] }).simd, true);
  assert.is(runtimeTarget(loadTarget('cortex-m'), { ops: [{ kind: 'gemv' }] }).simd, false);
});

test('riscv64-linux bundles: an int8 plan carries the SIMD runtime, a 4-bit plan the scalar one (artifact, manifest and runtime.wasm agree)', async () => {
  const w = synthWeights({ ...SHAPES.stories260K }, 1);
  for (const [spec, simd] of [['uniform:8', true], ['uniform:4g32', false]] as const) {
    const plan = parsePlan(spec);
    const b = await bundleFromQuant({ model: quantizeInt8(w, { plan }), target: loadTarget('riscv64-linux'), plan, planName: planName(plan), sourceSha256: new Uint8Array(32), sourcePath: 'synthetic.bin', vectors: 0 });
    const manifest = JSON.parse(new TextDecoder().decode(b.files['manifest.json']));
    assert.is(manifest.simd, simd, spec);
    assert.is(b.contents.target.simd, simd, spec);
    assert.is(isSimdRuntime(b.files['runtime.wasm']), simd, spec);
  }
});

test.run();
