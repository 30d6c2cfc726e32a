// One vocabulary of engine names (compiler/engines/names.ts) across run, finetune and
// verify: a word verify accepts means there what it means in run and finetune.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ENGINE_NAMES, V8_BUILD_ENGINE } from '../compiler/engines/names.ts';
import { engineNames } from '../compiler/engines/index.ts';
import { selectEngines } from '../compiler/cli/commands/verify.ts';

test('every name of the shared vocabulary that verify knows is one of its conformance engines, and vice versa for the V8 builds', () => {
  const conformance = new Set(engineNames());
  for (const name of Object.values(V8_BUILD_ENGINE)) {
    assert.ok(conformance.has(name), `${name} is not a conformance engine (compiler/engines/index.ts: ${[...conformance].join(', ')})`);
    assert.ok(name in ENGINE_NAMES, `${name} has no entry in ENGINE_NAMES`);
  }
  // The shared names verify does not run are the references it compares with, and the v8
  // and wasm2c families.
  const notEngines = Object.keys(ENGINE_NAMES).filter((n) => !conformance.has(n)).sort();
  assert.equal(notEngines, ['reference-float', 'reference-int', 'v8', 'wasm2c']);
});

test('verify --engines v8 is the V8 family: both runtime builds and the threaded flavour, the one run --engine v8 uses among them', () => {
  assert.equal(selectEngines('v8').map((e) => e.name), [V8_BUILD_ENGINE.simd, V8_BUILD_ENGINE.scalar, V8_BUILD_ENGINE.threads]);
  assert.equal(selectEngines('v8-scalar').map((e) => e.name), [V8_BUILD_ENGINE.scalar]);
});

test('verify --engines wasm2c is the wasm2c family: scalar, SIMD and threaded builds on every ISA, among them what run --engine wasm2c runs', () => {
  const names = selectEngines('wasm2c').map((e) => e.name);
  for (const a of ['x86_64', 'aarch64', 'riscv64']) {
    for (const b of ['', '-simd', '-threads']) assert.ok(names.includes(`wasm2c-${a}${b}`), `wasm2c-${a}${b}`);
  }
});

test('an unknown name is refused naming every engine', () => {
  try {
    selectEngines('gpu');
    assert.unreachable('gpu was accepted');
  } catch (e) {
    assert.match((e as Error).message, /unknown engine "gpu"; known engines: v8-simd, v8-scalar, v8-threads, wasm-interp/);
  }
});

test.run();
