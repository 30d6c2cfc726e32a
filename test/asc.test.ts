// The AssemblyScript build: deterministic bytes, SIMD on/off per target, no imports,
// exported memory, in-memory sources.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileAssemblyScript } from '../compiler/codegen/asc.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { compileVerifier } from './helpers/artifact-fixture.ts';

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const instance = (wasm: Uint8Array<ArrayBuffer>) => new WebAssembly.Instance(new WebAssembly.Module(wasm), {});

test('deterministic: same sources, same bytes, whatever the working directory', async () => {
  const first = await compileVerifier();
  // cache: false: each compile runs asc afresh (a cached build would trivially be equal).
  const again = await compileAssemblyScript({ entries: ['runtime/assembly/verify-entry.ts'], cache: false });
  assert.ok(same(first, again.wasm), 'second compile differs');
  const cwd = process.cwd();
  process.chdir(tmpdir());
  try {
    const elsewhere = await compileAssemblyScript({ entries: ['runtime/assembly/verify-entry.ts'], cache: false });
    assert.ok(same(first, elsewhere.wasm), 'compile from another cwd differs');
  } finally {
    process.chdir(cwd);
  }
});

test('the module imports nothing and exports its memory (or not, on request)', async () => {
  const src = { 'm.ts': 'export function f(p: usize): u32 { return load<u32>(p); }' };
  const withMem = await compileAssemblyScript({ entries: ['m.ts'], sources: src });
  const mod = new WebAssembly.Module(withMem.wasm);
  assert.equal(WebAssembly.Module.imports(mod), []);
  assert.ok(WebAssembly.Module.exports(mod).some((e) => e.name === 'memory' && e.kind === 'memory'));
  const noMem = await compileAssemblyScript({ entries: ['m.ts'], sources: src, exportMemory: false });
  assert.not.ok(WebAssembly.Module.exports(new WebAssembly.Module(noMem.wasm)).some((e) => e.kind === 'memory'));
});

test('SIMD is a per-build switch: v128 needs simd: true; ASC_FEATURE_SIMD follows it', async () => {
  const vec = { 'v.ts': 'export function twice(a: i32): i32 { return i32x4.extract_lane(i32x4.add(i32x4.splat(a), i32x4.splat(a)), 0); }' };
  try {
    await compileAssemblyScript({ entries: ['v.ts'], sources: vec });
    assert.unreachable('v128 compiled without SIMD');
  } catch (e) {
    assert.instance(e, EdgeqError);
    assert.match((e as Error).message, /Feature 'simd' is not enabled/);
  }
  const simd = await compileAssemblyScript({ entries: ['v.ts'], sources: vec, simd: true });
  assert.is((instance(simd.wasm).exports.twice as (a: number) => number)(21), 42);
  assert.ok(simd.argv.includes('--enable'));

  const lanes = { 'l.ts': 'export function lanes(): i32 { return ASC_FEATURE_SIMD ? 4 : 1; }' };
  const scalar = await compileAssemblyScript({ entries: ['l.ts'], sources: lanes });
  const vector = await compileAssemblyScript({ entries: ['l.ts'], sources: lanes, simd: true });
  assert.is((instance(scalar.wasm).exports.lanes as () => number)(), 1);
  assert.is((instance(vector.wasm).exports.lanes as () => number)(), 4);
});

test('compile errors are EdgeqErrors with asc diagnostics', async () => {
  try {
    await compileAssemblyScript({ entries: ['bad.ts'], sources: { 'bad.ts': 'export function f(): i32 { return nope; }' } });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, EdgeqError);
    assert.match((e as Error).message, /bad\.ts failed:[\s\S]*nope/);
  }
});


test('the build cache returns an earlier build only while every file it read is unchanged', async () => {
  const root = mkdtempSync(join(tmpdir(), 'edgeq-asc-cache-'));
  const saved = process.env.EDGEQ_CACHE;
  process.env.EDGEQ_CACHE = join(root, 'cache');
  try {
    writeFileSync(join(root, 'm.ts'), "import { K } from './dep';\nexport function f(): i32 { return K; }\n");
    const dep = (k: number) => writeFileSync(join(root, 'dep.ts'), `export const K: i32 = ${k};\n`);
    const build = () => compileAssemblyScript({ entries: ['m.ts'], root });
    const value = (wasm: Uint8Array<ArrayBuffer>) => (instance(wasm).exports.f as () => number)();
    dep(7);
    const first = await build();
    assert.is(value(first.wasm), 7);
    assert.is(readdirSync(join(root, 'cache', 'asc')).length, 1, 'the build was stored');
    dep(8); // a file the compile read from disk changed: the entry must not be used
    assert.is(value((await build()).wasm), 8);
    dep(7);
    const again = await build();
    assert.is(value(again.wasm), 7);
    assert.ok(same(first.wasm, again.wasm));
    // A damaged entry is a miss, not an error.
    for (const f of readdirSync(join(root, 'cache', 'asc'))) writeFileSync(join(root, 'cache', 'asc', f), '{"wasm": 1');
    assert.is(value((await build()).wasm), 7);
  } finally {
    if (saved === undefined) delete process.env.EDGEQ_CACHE; else process.env.EDGEQ_CACHE = saved;
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
