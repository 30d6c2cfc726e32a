// The float check must flag every way a float can hide in a module -- including SIMD
// float ops whose operands are plain v128 -- and pass a module that has none.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import binaryen from 'binaryen';
import { assertNoFloats, findFloats } from '../compiler/codegen/float-check.ts';
import { compileAssemblyScript } from '../compiler/codegen/asc.ts';
import { EdgeqError } from '../compiler/util/errors.ts';

/** Builds a module with binaryen directly, so the test controls every instruction. */
function build(make: (m: binaryen.Module) => void): Uint8Array {
  const m = new binaryen.Module();
  m.setFeatures(binaryen.Features.All);
  make(m);
  assert.ok(m.validate(), 'test module validates');
  // Keep the name section, so findings name functions and globals as written here.
  const debug = binaryen.getDebugInfo();
  binaryen.setDebugInfo(true);
  try { return m.emitBinary(); } finally { binaryen.setDebugInfo(debug); m.dispose(); }
}

const v128Zero = (m: binaryen.Module) => m.v128.const(new Array(16).fill(0));
const whats = (wasm: Uint8Array) => findFloats(wasm).map((f) => f.what);

test('flags a SIMD float op on v128 values (no float type anywhere)', () => {
  const wasm = build((m) => {
    m.addFunction('addf', binaryen.createType([binaryen.v128]), binaryen.v128, [],
      m.f32x4.add(m.local.get(0, binaryen.v128), v128Zero(m)));
    m.addFunctionExport('addf', 'addf');
  });
  const found = findFloats(wasm);
  assert.equal(found.map((f) => f.what), ['f32x4.add']);
  assert.match(found[0].func, /export "addf"/);
});

test('flags conversions hidden in an i32 -> i32 function', () => {
  const wasm = build((m) => {
    const x = m.local.get(0, binaryen.i32);
    m.addFunction('conv', binaryen.i32, binaryen.i32, [],
      m.i32.trunc_s.f32(m.f32.reinterpret(x)));
  });
  const w = whats(wasm);
  assert.ok(w.includes('i32.trunc_f32_s'), w.join());
  assert.ok(w.includes('f32.reinterpret_i32'), w.join());
});

test('flags float params, results, locals, globals, imports, loads and consts', () => {
  const wasm = build((m) => {
    m.addFunctionImport('ext', 'env', 'ext', binaryen.f64, binaryen.none);
    m.addGlobal('g', binaryen.f32, true, m.f32.const(1.5));
    m.setMemory(1, 1, null);
    m.addFunction('sig', binaryen.f64, binaryen.f32, [binaryen.f64, binaryen.i32],
      m.block(null, [
        m.local.set(1, m.local.get(0, binaryen.f64)),
        m.drop(m.f64.load(0, 8, m.i32.const(0))),
        m.return(m.f32.const(0)),
      ], binaryen.unreachable));
  });
  const found = findFloats(wasm);
  const text = found.map((f) => `${f.func}: ${f.what}`).join('\n');
  for (const re of [/import env\.ext .*param 0: f64/, /global \$g: type f32/, /global \$g: Const: f32/,
    /\$sig: param 0: f64/, /\$sig: result 0: f32/, /\$sig: local 1: f64/, /\$sig: Load: f64/]) {
    assert.match(text, re);
  }
});

test('passes an integer-only module, SIMD integer ops included', () => {
  const wasm = build((m) => {
    m.addFunction('dot', binaryen.createType([binaryen.v128, binaryen.v128]), binaryen.i32, [binaryen.i64],
      m.block(null, [
        m.local.set(2, m.i64.extend_s(m.i32.const(-1))),
        m.i32x4.extract_lane(m.i32x4.dot_i16x8_s(m.local.get(0, binaryen.v128),
          m.i8x16.swizzle(m.local.get(1, binaryen.v128), v128Zero(m))), 0),
      ], binaryen.i32));
    m.addFunction('trap', binaryen.none, binaryen.none, [], m.unreachable());
  });
  assert.equal(findFloats(wasm), []);
  assertNoFloats(wasm);
});

test('AssemblyScript: a float expression is caught with its export name; integer code passes', async () => {
  const floaty = await compileAssemblyScript({
    entries: ['f.ts'],
    sources: { 'f.ts': 'export function scale(x: i32): i32 { return <i32>(<f64>x * 1.5); }' },
  });
  try {
    assertNoFloats(floaty.wasm, 'f.wasm');
    assert.unreachable('a float module passed');
  } catch (e) {
    assert.instance(e, EdgeqError);
    assert.match((e as Error).message, /f\.wasm is not integer-only/);
    assert.match((e as Error).message, /export "scale".*f64/);
  }
  const ints = await compileAssemblyScript({
    entries: ['i.ts'],
    sources: { 'i.ts': 'export function mulshift(x: i32, m: i32, s: i32): i32 { return <i32>((<i64>x * <i64>m) >> s); }' },
  });
  assert.equal(findFloats(ints.wasm), []);
});

test.run();
