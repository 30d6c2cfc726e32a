// Bad input, table-driven, across the CLI: every malformed input gets a non-zero exit, an
// error line that names the problem (and the file, when there is one), and leaves no
// output file or directory behind (not even a temporary one).
// Plan-file rows use compiler/plan's JSON plans; the impossible-budget row compiles a
// synthetic stories15M for the 4 MiB Cortex-M board.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as flatbuffers from 'flatbuffers';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './helpers/cli.ts';
import { haveModels, model } from './helpers/models.ts';
import { restampManifest, stories260KBundle } from './helpers/bundle.ts';
import { asSchemaConstants } from './helpers/artifact-fixture.ts';
import { Model } from '../schemas/generated/edgeq/fb/model.ts';
import { signWithKeyFile } from '../compiler/util/signing.ts';
import { encodeSignature } from '../compiler/engines/trust.ts';

const tmp = mkdtempSync(join(tmpdir(), 'edgeq-bad-'));
const p = (name: string) => join(tmp, name);

interface Row {
  name: string;
  /** CLI arguments; `out` is this row's output path, which must not exist afterwards. */
  args: (out: string) => string[];
  /** Expected exit status (1 bad input, 2 usage error). */
  status: 1 | 2;
  /** What the error line must say. */
  says: RegExp;
  /** The file the message must name (a substring of the line), or null when no file is involved. */
  names: string | null;
}

let fixtures = false;
let bundle = '';
async function makeFixtures(): Promise<void> {
  if (fixtures) return;
  // A small synthetic checkpoint and its tokenizer, then broken variants.
  const s = await cli(['synth', '--shape', 'stories260K', '--seed', '3', '-o', p('syn.bin'), '--tokenizer', p('syntok.bin')]);
  assert.is(s.status, 0, s.stderr);
  const s15 = await cli(['synth', '--shape', 'stories15M', '--seed', '3', '-o', p('s15.bin')]);
  if (s15.status !== 0) throw new Error(`synth stories15M failed: ${s15.stderr}`);
  const syn = readFileSync(p('syn.bin'));
  writeFileSync(p('truncated.bin'), syn.subarray(0, 5000));
  let x = 7;
  writeFileSync(p('garbage.bin'), Uint8Array.from({ length: 4096 }, () => { x = (x * 1103515245 + 12345) >>> 0; return x >>> 24; }));
  const nan = Buffer.from(syn);
  nan.writeUInt32LE(0x7fc00000, 28 + 4 * 1234); // a NaN in the token embedding (v0 header: 7 int32)
  writeFileSync(p('nan.bin'), nan);
  writeFileSync(p('bad.txt'), Buffer.from([0x4f, 0x6e, 0x63, 0x65, 0x20, 0xff, 0xfe, 0x0a]));
  writeFileSync(p('plan-types.json'), JSON.stringify({ edgeqPlan: 1, default: { bits: 'four' } }));
  writeFileSync(p('plan-blocks.json'), JSON.stringify({ edgeqPlan: 1, default: { bits: 8 }, blocks: { 99: { bits: 8 } } }));
  writeFileSync(p('a-file'), 'not a directory\n');

  bundle = await stories260KBundle('wasm32', 16);
  // The manifest records the artifact's sha256 (checked before reading); the bad-version and
  // bad-ident rows test the reader behind it, so their manifest agrees with the changed artifact.
  const restamp = restampManifest;
  const copy = (name: string, change: (d: string) => void) => { const d = p(name); cpSync(bundle, d, { recursive: true }); change(d); };
  copy('no-runtime', (d) => unlinkSync(join(d, 'runtime.wasm')));
  copy('bad-version', (d) => {
    const a = readFileSync(join(d, 'model.edgeq'));
    const bb = new flatbuffers.ByteBuffer(a);
    const m = Model.getRootAsModel(bb);
    const at = m.bb_pos + bb.__offset(m.bb_pos, asSchemaConstants().ModelVT.formatVersion);
    a.writeUInt32LE(99, at);
    writeFileSync(join(d, 'model.edgeq'), a);
    restamp(d);
  });
  copy('bad-ident', (d) => {
    const a = readFileSync(join(d, 'model.edgeq'));
    a.write('EDQA', 4, 'latin1');
    writeFileSync(join(d, 'model.edgeq'), a);
    restamp(d);
  });
  const k = await cli(['keygen', '-o', p('k')]);
  assert.is(k.status, 0, k.stderr);
  copy('bad-sig', (d) => {
    const sig = signWithKeyFile(readFileSync(join(d, 'manifest.json')), p('k.key'));
    sig[3] ^= 0x10;
    writeFileSync(join(d, 'manifest.sig'), encodeSignature(sig));
  });
  fixtures = true;
}

const CKPT = () => model('stories260K.bin');
const ROWS: Row[] = [
  { name: 'truncated checkpoint', args: (o) => ['compile', p('truncated.bin'), '--target', 'wasm32', '-o', o], status: 1, says: /truncated|too short|expected \d+ bytes|ends/i, names: 'truncated.bin' },
  { name: 'garbage checkpoint', args: (o) => ['compile', p('garbage.bin'), '--target', 'wasm32', '-o', o], status: 1, says: /header|not a llama2\.c|dim|invalid|implausible/i, names: 'garbage.bin' },
  { name: 'garbage checkpoint (inspect)', args: () => ['inspect', p('garbage.bin')], status: 1, says: /header|not a llama2\.c|dim|invalid|implausible/i, names: 'garbage.bin' },
  { name: 'NaN weights', args: (o) => ['compile', p('nan.bin'), '--target', 'wasm32', '-o', o], status: 1, says: /NaN|not finite|non-finite/i, names: 'nan.bin' },
  { name: 'missing checkpoint path', args: (o) => ['compile', p('nope.bin'), '--target', 'wasm32', '-o', o], status: 1, says: /no such file|cannot (open|read)|not found|does not exist/i, names: 'nope.bin' },
  { name: 'unknown target', args: (o) => ['compile', CKPT(), '--target', 'pdp11', '-o', o], status: 2, says: /unknown target "pdp11"; known targets: .*wasm32/, names: null },
  { name: 'unknown plan string', args: (o) => ['compile', CKPT(), '--target', 'wasm32', '--plan', 'uniform:9', '-o', o], status: 2, says: /--plan "uniform:9": 9-bit weights are not supported/, names: null },
  { name: 'plan JSON with a wrong type', args: (o) => ['compile', CKPT(), '--target', 'wasm32', '--plan', p('plan-types.json'), '-o', o], status: 1, says: /\$\.default\.bits: expected one of .*got string "four"/, names: 'plan-types.json' },
  { name: 'plan JSON naming a block the model lacks', args: (o) => ['compile', CKPT(), '--target', 'wasm32', '--plan', p('plan-blocks.json'), '-o', o], status: 1, says: /\$\.blocks\["99"\]: the model has 5 blocks/, names: 'plan-blocks.json' },
  { name: 'tokenizer vocabulary differs from the model', args: (o) => ['compile', CKPT(), '--target', 'wasm32', '--tokenizer', model('tok105.bin'), '-o', o], status: 1, says: /has 105 tokens but model .* has a vocabulary of 512/, names: 'tok105.bin' },
  { name: 'output path is a file', args: () => ['compile', CKPT(), '--target', 'wasm32', '-o', p('a-file')], status: 2, says: /exists and is a file, not a bundle directory/, names: 'a-file' },
  { name: '--vectors not a number', args: (o) => ['compile', CKPT(), '--target', 'wasm32', '--vectors', 'many', '-o', o], status: 2, says: /--vectors expects an integer, got "many"/, names: null },
  { name: 'bundle with a missing file', args: () => ['run', p('no-runtime'), '--positions', '4'], status: 1, says: /runtime\.wasm is missing/, names: 'no-runtime' },
  { name: 'bundle with a missing file (verify)', args: () => ['verify', p('no-runtime'), '--engines', 'v8-simd'], status: 1, says: /runtime\.wasm is missing/, names: 'no-runtime' },
  { name: 'artifact with a wrong version', args: () => ['run', p('bad-version'), '--positions', '4'], status: 1, says: /version 99|format version|unsupported version/i, names: 'model.edgeq' },
  { name: 'artifact with a wrong identifier', args: () => ['run', p('bad-ident'), '--positions', '4'], status: 1, says: /identifier|EDGQ/, names: 'model.edgeq' },
  { name: 'eval text that is not UTF-8', args: () => ['eval', bundle, '--reference', CKPT(), '--text', p('bad.txt'), '--tokens', '10'], status: 1, says: /UTF-8/, names: 'bad.txt' },
  { name: 'run --positions not a number', args: () => ['run', bundle, '--positions', 'ten'], status: 2, says: /--positions expects an integer, got "ten"/, names: null },
  { name: 'run negative temperature', args: () => ['run', bundle, '--temperature', '-0.5'], status: 2, says: /--temperature must be in \[0, Infinity\], got -0\.5/, names: null },
  { name: 'run --topp above 1', args: () => ['run', bundle, '--topp', '1.5'], status: 2, says: /--topp must be in \[0, 1\], got 1\.5/, names: null },
  { name: 'run unknown engine', args: () => ['run', CKPT(), '--tokenizer', model('tok512.bin'), '--engine', 'gpu'], status: 2, says: /--engine: unknown engine "gpu"; known engines: reference/, names: null },
  { name: 'verify unknown engine', args: () => ['verify', bundle, '--engines', 'tpu'], status: 2, says: /--engines: unknown engine "tpu"/, names: null },
  { name: 'flash to an unknown board', args: (o) => ['flash', bundle, '--board', 'arduino-uno', '-o', o], status: 2, says: /--board: unknown board "arduino-uno"; known boards: mps2-an386/, names: null },
  { name: 'corrupted signature', args: () => ['run', p('bad-sig'), '--trust', p('k.pub'), '--positions', '4'], status: 1, says: /invalid signature/, names: 'manifest.sig' },
  { name: 'trust key that is not a key', args: () => ['run', p('bad-sig'), '--trust', p('bad.txt'), '--positions', '4'], status: 1, says: /not a PEM public key/, names: 'bad.txt' },
  // The weights are read in place from flash on a board (xip.h), so stories15M's arena and KV cache fit the RAM; only flash is over.
  { name: 'bundle over the target\'s flash budget', args: (o) => ['compile', p('s15.bin'), '--target', 'cortex-m', '--vectors', '0', '-o', o], status: 1, says: /does not fit target cortex-m: flash needs at least \d+ bytes \(\d+\.\d KiB: model\.edgeq \d+ \+ runtime\.wasm \d+\) but cortex-m has 4194304 \(4096\.0 KiB\), \d+ bytes over\. Use a lower-bit --plan or a larger target\./, names: null },
  { name: 'synth unknown shape', args: (o) => ['synth', '--shape', 'gpt5', '-o', o], status: 2, says: /gpt5/, names: null },
];

for (const [i, row] of ROWS.entries()) {
  test(`bad input: ${row.name}`, async () => {
    if (!haveModels) return;
    await makeFixtures();
    const outName = `out-${i}`;
    const out = p(outName);
    const before = new Set(readdirSync(tmp));
    const r = await cli(row.args(out));
    if (process.env.EDGEQ_SHOW) console.log(`[${row.name}] ${r.status} ${r.stderr.trim()}`);
    assert.is(r.status, row.status, `exit status; stderr: ${r.stderr}`);
    const err = r.stderr.trim();
    assert.ok(err.length > 0, 'says something');
    const line = err.split('\n').find((l) => l.startsWith('edgeq: error:'));
    assert.ok(line, `an "edgeq: error:" line: ${err}`);
    assert.match(line!, row.says, `the message: ${err}`);
    if (row.names) assert.ok(line!.includes(row.names), `names ${row.names}: ${line}`);
    assert.not.match(err, /internal error/);
    // Nothing written: the output path, temporary files, anything new in the folder.
    assert.not.ok(existsSync(out), `${outName} left behind`);
    const added = readdirSync(tmp).filter((n) => !before.has(n));
    assert.equal(added, [], 'new files left behind');
  });
}

test('cleanup', () => { rmSync(tmp, { recursive: true, force: true }); });

test.run();
