// Signed bundles: `edgeq compile --sign` writes manifest.sig (Ed25519 over the exact bytes of
// manifest.json, which lists the size and sha256 of every file), and `--trust <key.pub>` on
// run, verify and flash refuses, with one line naming the file, a bundle that is unsigned,
// signed by another key, or whose manifest or files changed after signing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './helpers/cli.ts';
import { haveModels, model } from './helpers/models.ts';
import { checkTrust } from '../compiler/engines/trust.ts';
import { EdgeqError } from '../compiler/util/errors.ts';

const tmp = mkdtempSync(join(tmpdir(), 'edgeq-trust-'));
const signed = join(tmp, 'signed');
const key = join(tmp, 'release'), other = join(tmp, 'other');
let ready = false;

async function setup(): Promise<void> {
  if (ready) return;
  for (const k of [key, other]) assert.is((await cli(['keygen', '-o', k, '--force'])).status, 0);
  const r = await cli(['compile', model('stories260K.bin'), '--target', 'wasm32', '--tokenizer', model('tok512.bin'), '--vectors', '4', '--sign', `${key}.key`, '-o', signed]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /signed \(manifest\.sig\)/);
  ready = true;
}

/** A copy of the signed bundle with `change` applied. */
function variant(name: string, change: (dir: string) => void): string {
  const d = join(tmp, name);
  cpSync(signed, d, { recursive: true });
  change(d);
  return d;
}
const flipByte = (file: string, at: (len: number) => number) => {
  const b = readFileSync(file);
  b[at(b.length)] ^= 0x01;
  writeFileSync(file, b);
};

test('compile --sign: manifest.sig verifies the exact manifest bytes; the manifest lists size and sha256 of every file', async () => {
  if (!haveModels) return;
  await setup();
  assert.equal(readdirSync(signed).sort(), ['manifest.json', 'manifest.sig', 'model.edgeq', 'runtime.wasm', 'train.wasm']);
  assert.equal(readdirSync(tmp).filter((n) => n.startsWith('.')), [], 'temporary directories left behind');
  const m = JSON.parse(readFileSync(join(signed, 'manifest.json'), 'utf8'));
  for (const f of readdirSync(signed).filter((n) => !n.startsWith('manifest.'))) {
    const b = readFileSync(join(signed, f));
    assert.equal(m.files[f], { size: b.length, sha256: createHash('sha256').update(b).digest('hex') }, f);
  }
  const rep = checkTrust(signed, `${key}.pub`);
  // The signature covers the training module too (the manifest lists it).
  assert.equal(rep.files.map((f) => f.name).sort(), ['model.edgeq', 'runtime.wasm', 'train.wasm']);
});

test('--trust accepts the signed bundle on run and verify', async () => {
  if (!haveModels) return;
  await setup();
  const r = await cli(['run', signed, '--trust', `${key}.pub`, '--temperature', '0', '--positions', '16']);
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.stdout.startsWith('Once upon a time'), r.stdout);
  const v = await cli(['verify', signed, '--engines', 'v8-simd', '--trust', `${key}.pub`]);
  assert.is(v.status, 0, v.stderr + v.stdout);
});

// name, how the bundle is changed (or the key used), the file the error must name, what it must say.
const CASES: Array<{ name: string; change?: (d: string) => void; pub?: string; file: string; says: RegExp }> = [
  { name: 'a byte of model.edgeq flipped', change: (d) => flipByte(join(d, 'model.edgeq'), (n) => n >> 1), file: 'model.edgeq', says: /sha256 [0-9a-f]{64} differs from the signed manifest\.json/ },
  { name: 'the last byte of model.edgeq flipped', change: (d) => flipByte(join(d, 'model.edgeq'), (n) => n - 1), file: 'model.edgeq', says: /sha256 .* differs/ },
  { name: 'a byte of runtime.wasm flipped', change: (d) => flipByte(join(d, 'runtime.wasm'), (n) => n - 7), file: 'runtime.wasm', says: /sha256 .* differs/ },
  { name: 'a byte of train.wasm flipped', change: (d) => flipByte(join(d, 'train.wasm'), (n) => n - 3), file: 'train.wasm', says: /sha256 .* differs/ },
  { name: 'model.edgeq truncated', change: (d) => writeFileSync(join(d, 'model.edgeq'), readFileSync(join(d, 'model.edgeq')).subarray(0, 1000)), file: 'model.edgeq', says: /size 1000 differs from the signed manifest\.json \(\d+\)/ },
  { name: 'a byte of manifest.json changed', change: (d) => writeFileSync(join(d, 'manifest.json'), readFileSync(join(d, 'manifest.json'), 'utf8').replace('"uniform:8"', '"uniform:4"')), file: 'manifest.sig', says: /invalid signature: manifest\.json was not signed by .*release\.pub, or was changed after signing/ },
  { name: 'manifest re-hashed to match a tampered artifact', change: (d) => {
    flipByte(join(d, 'model.edgeq'), (n) => n >> 1);
    const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8'));
    m.files['model.edgeq'].sha256 = createHash('sha256').update(readFileSync(join(d, 'model.edgeq'))).digest('hex');
    writeFileSync(join(d, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
  }, file: 'manifest.sig', says: /invalid signature/ },
  { name: 'signed by another key', pub: `${other}.pub`, file: 'manifest.sig', says: /invalid signature: manifest\.json was not signed by .*other\.pub/ },
  { name: 'unsigned bundle', change: (d) => unlinkSync(join(d, 'manifest.sig')), file: 'manifest.sig', says: /missing: the bundle is not signed \(compile with --sign <key>\)/ },
  { name: 'signature not base64 / wrong length', change: (d) => writeFileSync(join(d, 'manifest.sig'), 'not a signature\n'), file: 'manifest.sig', says: /not an Ed25519 signature \(expected 64 bytes in base64\)/ },
  { name: 'signature with one bit flipped', change: (d) => {
    const s = Buffer.from(readFileSync(join(d, 'manifest.sig'), 'utf8').trim(), 'base64');
    s[10] ^= 4;
    writeFileSync(join(d, 'manifest.sig'), `${s.toString('base64')}\n`);
  }, file: 'manifest.sig', says: /invalid signature/ },
  { name: 'a listed file missing', change: (d) => unlinkSync(join(d, 'runtime.wasm')), file: 'runtime.wasm', says: /missing: listed in the signed manifest\.json but not in the bundle/ },
  { name: 'manifest.json missing', change: (d) => unlinkSync(join(d, 'manifest.json')), file: 'manifest.json', says: /missing: a trusted bundle needs its signed manifest/ },
];

for (const c of CASES) {
  test(`--trust refuses (run, verify, flash): ${c.name}`, async () => {
    if (!haveModels) return;
    await setup();
    const d = c.change ? variant(c.name.replace(/\W+/g, '-'), c.change) : signed;
    const pub = c.pub ?? `${key}.pub`;
    for (const args of [['run', d, '--temperature', '0', '--positions', '4'], ['verify', d, '--engines', 'v8-simd'], ['flash', d, '--board', 'mps2-an386', '--no-boot', '-o', join(tmp, 'fw.elf')]]) {
      const r = await cli([...args, '--trust', pub]);
      assert.is(r.status, 1, `${args[0]}: ${r.stderr}`);
      assert.is(r.stdout, '', `${args[0]} printed something`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.is(lines.length, 1, `${args[0]}: one line: ${r.stderr}`);
      assert.match(lines[0], new RegExp(`^edgeq: error: \\S*${c.file.replace('.', '\\.')}: `), `${args[0]} names ${c.file}`);
      assert.match(lines[0], c.says, args[0]);
      assert.not.ok(existsSync(join(tmp, 'fw.elf')), 'flash wrote an image');
    }
  });
}

test('checkTrust throws EdgeqError (exit 1); --trust on a checkpoint is a usage error; a manifest file name cannot leave the bundle', async () => {
  if (!haveModels) return;
  await setup();
  try { checkTrust(join(tmp, 'nope'), `${key}.pub`); assert.unreachable(); } catch (e) { assert.instance(e, EdgeqError); assert.is((e as EdgeqError).exitCode, 1); }
  const r = await cli(['run', model('stories260K.bin'), '--tokenizer', model('tok512.bin'), '--trust', `${key}.pub`]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /--trust checks a signed bundle directory/);
  // A (validly signed) manifest naming ../something is refused before anything is read.
  const { signWithKeyFile } = await import('../compiler/util/signing.ts');
  const { encodeSignature } = await import('../compiler/engines/trust.ts');
  const d = variant('traversal', (dir) => {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.files['../escape'] = { size: 1, sha256: '0'.repeat(64) };
    const bytes = Buffer.from(JSON.stringify(m));
    writeFileSync(join(dir, 'manifest.json'), bytes);
    writeFileSync(join(dir, 'manifest.sig'), encodeSignature(signWithKeyFile(bytes, `${key}.key`)));
  });
  try { checkTrust(d, `${key}.pub`); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /lists a file with a bad name: "\.\.\/escape"/); }
});

test('compile --sign with a bad key fails before compiling and writes nothing', async () => {
  if (!haveModels) return;
  await setup();
  for (const [k, says] of [[join(tmp, 'none.key'), /none\.key: cannot read the private key/], [`${key}.pub`, /release\.pub: not a PEM private key/]] as const) {
    const out = join(tmp, 'never');
    const r = await cli(['compile', model('stories260K.bin'), '--target', 'wasm32', '--sign', k, '-o', out]);
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, says);
    assert.not.match(r.stderr, /quantizing/);
    assert.not.ok(existsSync(out));
  }
});

test('cleanup', () => { rmSync(tmp, { recursive: true, force: true }); });

test.run();
