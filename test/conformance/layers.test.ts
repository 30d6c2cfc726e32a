// `edgeq verify --layers` (compiler/engines/layers.ts): a traced runtime and the program
// interpreter (reference kernels) run in lockstep and every op's output slots are
// compared. Unperturbed, both flavours equal the reference op by op (so the interpreter
// equals the runtime on every op, not only the logits); a byte flipped in one op's output,
// or a weight byte only the runtime sees, is named at exactly that op; a wrong embedded
// hash is reported as such; verify's JSON carries the finding.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedHashes, readBundle, type Engine } from '../../compiler/engines/engine.ts';
import { locateFirstDifference } from '../../compiler/engines/layers.ts';
import { verifyBundles } from '../../compiler/cli/commands/verify.ts';
import { restampManifest, stories260KBundle } from '../helpers/bundle.ts';
import { cli } from '../helpers/cli.ts';

const t = suite('conformance: verify --layers');
let dir = '';
t.before(async () => { dir = await stories260KBundle('wasm32', 16); });

t('unperturbed: both builds equal the program interpreter op by op, and the embedded hash', async () => {
  const r = await locateFirstDifference(readBundle(dir), 'greedy-bos', 3, { engine: 'wasm-interp', simd: true });
  assert.is(r.firstDifferingOp, null, r.note);
  assert.is(r.traced, 'v8-simd (traced)');
  assert.match(r.standIn ?? '', /^wasm-interp runs the SIMD build of the runtime; the V8 SIMD traced build/);
  assert.is(r.other?.firstDifferingOp, null);
  assert.is(r.stepHashes[0], r.expected);
  assert.is(r.stepHashes[1], r.expected);
  assert.is(r.other?.stepHash, r.expected);
  assert.match(r.note, /the difference is in wasm-interp's translation or execution .* not in the runtime's kernels/);
});

t('a perturbed op output on the scalar build is named against the reference; SIMD is clean there', async () => {
  const b = readBundle(dir);
  const ops = b.contents.program.ops;
  const k = ops.findIndex((o) => o.kind === 'gemv') + 2;
  const r = await locateFirstDifference(b, 'greedy-bos', 2, { engine: 'v8-scalar', simd: false, perturb: { perturbOp: k } });
  const d = r.firstDifferingOp;
  assert.ok(d, r.note);
  assert.is(d!.index, k);
  assert.is(d!.position, 2);
  assert.is(d!.name, ops[k].name);
  assert.is(d!.kind, ops[k].kind);
  assert.is(d!.slot, b.contents.program.slots[ops[k].outputs[0].index].name);
  assert.is(d!.byteOffset, 0);
  assert.is(d!.runtime ^ d!.reference, 1);
  assert.is(r.traced, 'v8-scalar (traced)');
  assert.is(r.standIn, null);
  assert.is(r.other?.firstDifferingOp, null);
  assert.match(r.note, new RegExp(`^op #${k} ${ops[k].name!.replace(/\./g, '\\.')} \\(gemv\\), slot `));
  assert.match(r.note, /a scalar-only difference/);
});

t('a weight byte only the runtime sees: the gemv reading it is named; the V8 scalar build stands in for wasm2c', async () => {
  const b = readBundle(dir);
  const c = b.contents;
  const ti = c.tensors.findIndex((x) => x.name === 'blocks.1.w3');
  assert.ok(ti >= 0, c.tensors.map((x) => x.name).join(' '));
  const at = c.tensors[ti].data.byteOffset - b.artifact.byteOffset;
  const patched = b.artifact.slice();
  for (let j = 0; j < 16; j++) patched[at + j] ^= 0x40; // row 0: 16 weights
  const r = await locateFirstDifference(b, 'greedy-bos', 1, { engine: 'wasm2c-x86_64', simd: false, other: false, perturb: { runtimeArtifact: patched } });
  const d = r.firstDifferingOp;
  assert.ok(d, r.note);
  const k = c.program.ops.findIndex((o) => o.inputs.some((x) => x.kind === 'tensor' && x.index === ti));
  assert.is(d!.index, k);
  assert.is(d!.name, 'blocks.1.w3');
  assert.is(d!.position, 0);
  assert.is(d!.element, 0);
  assert.is(r.other, null);
  assert.match(r.standIn ?? '', /wasm2c-x86_64 runs the scalar build .* the V8 scalar traced build .* stands in/);
  assert.match(r.note, /stands in/);
});

t('verify --layers: the finding is in the JSON report', async () => {
  const b = readBundle(dir);
  const k = b.contents.program.ops.findIndex((o) => o.kind === 'attention');
  // An engine that reports the scalar runtime with a wrong hash at position 3; the traced
  // scalar build gets the matching kernel bug (a flipped byte in op k's output).
  const fake: Engine = {
    name: 'v8-scalar', about: 'test double', available: () => null,
    run: async () => ({
      hashes: expectedHashes(b.contents).map((h) => ({ position: h.position, hash: h.position === 3 ? h.hash ^ 1n : h.hash })),
      mismatches: 1, runtime: { simd: false, sha256: '', origin: 'test' }, buildMs: 0, runMs: 0,
    }),
  };
  const rep = await verifyBundles([dir], [fake], { layers: true, layersOptions: { other: false, perturb: { perturbOp: k } } });
  assert.is(rep.ok, false);
  const l = JSON.parse(JSON.stringify(rep)).bundles[0].layers;
  assert.is(l.engine, 'v8-scalar');
  assert.is(l.position, 3);
  assert.is(l.firstDifferingOp.index, k);
  assert.is(l.firstDifferingOp.kind, 'attention');
  assert.is(l.firstDifferingOp.name, b.contents.program.ops[k].name);
  assert.is(l.firstDifferingOp.slot, b.contents.program.slots[b.contents.program.ops[k].outputs[0].index].name);
  assert.equal(l.compared, ['program interpreter (reference kernels)', 'v8-scalar (traced)']);
});

t('verify --layers on a wrong expectation: no op differs, the conformance table is blamed', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'edgeq-layers-'));
  try {
    cpSync(dir, tmp, { recursive: true });
    const bytes = new Uint8Array(readFileSync(join(tmp, 'model.edgeq')));
    const h = readBundle(tmp).contents.conformance[0].outputHashes[4];
    const le = Buffer.alloc(8);
    le.writeBigUInt64LE(h);
    bytes[Buffer.from(bytes).indexOf(le)] ^= 1;
    writeFileSync(join(tmp, 'model.edgeq'), bytes);
    restampManifest(tmp); // past the integrity check, to the engines' hashes
    const r = await cli(['verify', tmp, '--engines', 'v8-simd', '--layers', '--json']);
    assert.is(r.status, 1, r.stderr);
    const l = JSON.parse(r.stdout).bundles[0].layers;
    assert.is(l.position, 4);
    assert.is(l.engine, 'v8-simd');
    assert.is(l.firstDifferingOp, null);
    assert.is(l.other.firstDifferingOp, null);
    assert.match(l.note, /both differ from the embedded hash .* conformance table disagrees with IntTransformer/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

t.run();
