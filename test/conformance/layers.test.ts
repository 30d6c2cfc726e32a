// `edgeq verify --layers` (compiler/engines/layers.ts): traced SIMD and scalar runtimes
// compared op by op. A byte flipped in one op's output on one build is found at exactly
// that op; identical builds report no differing op and say where the difference must be.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBundle } from '../../compiler/engines/engine.ts';
import { locateFirstDifference } from '../../compiler/engines/layers.ts';
import { stories260KBundle } from '../helpers/bundle.ts';
import { cli } from '../helpers/cli.ts';

const t = suite('conformance: verify --layers');
let dir = '';
t.before(async () => { dir = await stories260KBundle('wasm32', 16); });

t('a perturbed op output on the scalar build is named as the first differing op', async () => {
  const b = readBundle(dir);
  const k = b.contents.program.ops.findIndex((o) => o.kind === 'gemv');
  const r = await locateFirstDifference(b, 'greedy-bos', 2, k + 2);
  assert.ok(r.firstDifferingOp, r.note);
  assert.is(r.firstDifferingOp!.index, k + 2);
  assert.is(r.firstDifferingOp!.name, b.contents.program.ops[k + 2].name ?? `op ${k + 2}`);
  assert.match(r.note, new RegExp(`^op #${k + 2} `));
});

t('unperturbed: the builds agree op by op and match the embedded hash', async () => {
  const r = await locateFirstDifference(readBundle(dir), 'greedy-bos', 3);
  assert.is(r.firstDifferingOp, null);
  assert.is(r.stepHashes[0], r.expected);
  assert.is(r.stepHashes[1], r.expected);
  assert.match(r.note, /not in the runtime's kernels/);
});

t('verify --layers on a wrong expectation: reported in the JSON, both builds agree', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'edgeq-layers-'));
  try {
    cpSync(dir, tmp, { recursive: true });
    const bytes = new Uint8Array(readFileSync(join(tmp, 'model.edgeq')));
    const h = readBundle(tmp).contents.conformance[0].outputHashes[4];
    const le = Buffer.alloc(8);
    le.writeBigUInt64LE(h);
    bytes[Buffer.from(bytes).indexOf(le)] ^= 1;
    writeFileSync(join(tmp, 'model.edgeq'), bytes);
    const r = await cli(['verify', tmp, '--engines', 'v8-simd', '--layers', '--json']);
    assert.is(r.status, 1, r.stderr);
    const l = JSON.parse(r.stdout).bundles[0].layers;
    assert.is(l.position, 4);
    assert.is(l.firstDifferingOp, null);
    assert.match(l.note, /both differ from the integer reference/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

t.run();
