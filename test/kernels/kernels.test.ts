// The kernel corpus (issue 13 item 5): every op kind of the registry (compiler/ops) has
// cases (test/kernels/cases.ts: fixed edge cases + seeded random shapes and values), and
// each case runs through one harness (harness.ts) on the reference kernels, the scalar
// AssemblyScript kernels and the SIMD build; every compared output must be byte-identical.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OP_DEFS } from '../../compiler/ops/registry.ts';
import { assertNoFloats } from '../../compiler/codegen/float-check.ts';
import { RANDOM_CASES, casesOf } from './cases.ts';
import { buildFlavour, entrySource, firstDifference, runReference, type FlavourModule, type KernelCase } from './harness.ts';

const flavours: FlavourModule[] = [];

test.before(async () => {
  flavours.push(await buildFlavour('scalar'), await buildFlavour('simd'));
});

test('every op kind of the registry has fixed and random cases', () => {
  for (const d of OP_DEFS) {
    const cases = casesOf(d.kind);
    assert.ok(cases.length > RANDOM_CASES, `${d.kind}: ${cases.length} cases (no fixed edge cases?)`);
    assert.ok(cases.every((c) => c.op === d.kind), `${d.kind}: a case labelled with another op`);
  }
});

test('the kernel modules are integer-only', () => {
  for (const f of flavours) assertNoFloats(f.wasm, `kernel corpus (${f.flavour})`);
});

test('the SIMD flavour runs the SIMD kernel file of every op kind that has a SIMD run function', () => {
  const entry = entrySource('simd');
  const kinds = OP_DEFS.filter((d) => d.device.simdRun);
  assert.ok(kinds.some((d) => d.kind === 'attention_q'), 'attention_q has a SIMD run function');
  for (const d of kinds) assert.ok(entry.includes(`/kernels/simd/${d.kernel}"`), `${d.kind}: the SIMD entry imports runtime/kernels/simd/${d.kernel}.ts`);
});

test('random cases are determined by the seed, and differ between seeds', () => {
  const json = (cs: KernelCase[]) => JSON.stringify(cs.map((c) => [c.label, Object.values(c.buffers).map((b) => Array.from(b))]));
  assert.is(json(casesOf('gemv', 7)), json(casesOf('gemv', 7)));
  assert.is.not(json(casesOf('gemv', 7)), json(casesOf('gemv', 8)));
});

for (const d of OP_DEFS) {
  test(`${d.kind}: reference = scalar = SIMD on every case`, () => {
    const failures: string[] = [];
    for (const c of casesOf(d.kind)) {
      const want = runReference(c);
      for (const f of flavours) {
        const diff = firstDifference(want, f.run(c));
        if (diff) failures.push(`${d.kind} / ${c.label} / ${f.flavour}: ${diff}`);
      }
    }
    assert.equal(failures, [], failures.slice(0, 8).join('\n'));
  });
}

test.run();
