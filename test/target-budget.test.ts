// Target budgets: a bundle that fits passes and reports its use; one that does not is
// refused with the numbers for every budget it exceeds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkTargetBudget } from '../compiler/target/budget.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { stories260KBundle } from './helpers/bundle.ts';

test('stories260K int8 fits the Cortex-M board; a smaller board refuses it with the numbers', async () => {
  const dir = await stories260KBundle();
  const artifact = new Uint8Array(readFileSync(join(dir, 'model.edgeq')));
  const runtime = new Uint8Array(readFileSync(join(dir, 'runtime.wasm')));
  const cm = loadTarget('cortex-m');
  const use = await checkTargetBudget(artifact, runtime, cm);
  assert.ok(use && use.flashBytes === artifact.length + runtime.length);
  assert.ok(use!.ramBytes > artifact.length, 'RAM holds the artifact copy plus arena and stack');
  try {
    await checkTargetBudget(artifact, runtime, { ...cm, name: 'tiny', flashBytes: 100_000, ramBytes: 200_000 });
    assert.unreachable('should refuse');
  } catch (e) {
    const m = (e as Error).message;
    assert.match(m, new RegExp(`flash needs at least ${use!.flashBytes} bytes .* but tiny has 100000`));
    assert.match(m, new RegExp(`RAM needs ${use!.ramBytes} bytes .* but tiny has 200000`));
  }
  assert.is(await checkTargetBudget(artifact, runtime, loadTarget('wasm32')), null, 'no budget, no check');
});

test.run();
