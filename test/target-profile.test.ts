import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadTarget, targetNames } from '../compiler/target/profile.ts';
import { EdgeqError } from '../compiler/util/errors.ts';

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

test.run();
