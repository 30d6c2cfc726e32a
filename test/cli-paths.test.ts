// Issue 12: outputs never destroy what edgeq did not create, special files are refused at
// once (no hang, no unbounded read), and ordinary I/O problems are exit 1, not 70. Every
// -o case runs in a scratch directory (the working directory is switched to it for "" and
// "."), with a sentinel file that must survive.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './helpers/cli.ts';
import { checkOutputBundleDir } from '../compiler/cli/paths.ts';
import { describe, ioErrorLine } from '../compiler/cli/main.ts';

const scratch = mkdtempSync(join(tmpdir(), 'edgeq-paths-'));
const p = (...names: string[]) => join(scratch, ...names);
const SENTINEL = 'user data that must survive\n';

/** A fresh directory in the scratch area holding a sentinel file and a (synthetic) checkpoint. */
let n = 0;
async function workdir(): Promise<{ dir: string; ckpt: string; sentinel: string }> {
  const dir = p(`w${n++}`);
  mkdirSync(dir);
  const sentinel = join(dir, 'notes.txt');
  writeFileSync(sentinel, SENTINEL);
  const ckpt = join(dir, 'model.bin');
  const r = await cli(['synth', '--shape', 'stories260K', '--seed', '1', '-o', ckpt]);
  assert.is(r.status, 0, r.stderr);
  return { dir, ckpt, sentinel };
}

/** Runs `args` with the working directory `cwd` (the CLI is in-process). */
async function inDir(cwd: string, args: string[]) {
  const back = process.cwd();
  process.chdir(cwd);
  try { return await cli(args); } finally { process.chdir(back); }
}

const intact = (file: string) => assert.ok(existsSync(file) && readFileSync(file, 'utf8') === SENTINEL, `${file} was destroyed`);

test('compile -o "" and -o . refuse to replace the working directory (exit 2)', async () => {
  for (const o of ['', '.', './', '..']) {
    const w = await workdir();
    const sub = join(w.dir, 'sub');
    mkdirSync(sub);
    const r = await inDir(o === '..' ? sub : w.dir, ['compile', w.ckpt, '--target', 'wasm32', '-o', o]);
    assert.is(r.status, 2, `-o ${JSON.stringify(o)}: ${r.stderr}`);
    assert.match(r.stderr, o === '' ? /empty path/ : /current directory/);
    intact(w.sentinel);
    assert.ok(existsSync(w.ckpt));
  }
});

test('compile -o <the folder holding the checkpoint> refuses (the input would be deleted)', async () => {
  const w = await workdir();
  const r = await cli(['compile', w.ckpt, '--target', 'wasm32', '-o', w.dir]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /holds the input .*model\.bin/);
  intact(w.sentinel);
  assert.ok(existsSync(w.ckpt));
});

test('compile -o <an existing folder that is not a bundle> refuses, naming it', async () => {
  const w = await workdir();
  const other = p('photos');
  mkdirSync(other);
  writeFileSync(join(other, 'holiday.jpg'), SENTINEL);
  const r = await cli(['compile', w.ckpt, '--target', 'wasm32', '-o', other]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /photos.*not an edgeq bundle/);
  intact(join(other, 'holiday.jpg'));
});

test('compile -o <a bundle folder that also holds other files> refuses; a pure bundle folder is accepted', async () => {
  const w = await workdir();
  const b = p('old-bundle');
  mkdirSync(b);
  writeFileSync(join(b, 'manifest.json'), JSON.stringify({ format: 'edgeq-bundle' }));
  writeFileSync(join(b, 'model.edgeq'), 'x');
  writeFileSync(join(b, 'my-notes.txt'), SENTINEL);
  const r = await cli(['compile', w.ckpt, '--target', 'wasm32', '-o', b]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /also holds my-notes\.txt/);
  intact(join(b, 'my-notes.txt'));
  rmSync(join(b, 'my-notes.txt'));
  writeFileSync(join(b, 'firmware-mps2-an386.elf'), 'x'); // edgeq flash's default output
  checkOutputBundleDir(b, '-o', [w.ckpt]); // no throw: this directory is edgeq's to replace
  checkOutputBundleDir(p('does-not-exist-yet'), '-o', [w.ckpt]);
});

test('compile -o over its own earlier bundle replaces it (every file compile writes, train.wasm included)', async () => {
  const w = await workdir();
  const b = p('rebuilt-bundle');
  const first = await cli(['compile', w.ckpt, '--target', 'wasm32', '--vectors', '0', '-o', b]);
  assert.is(first.status, 0, first.stderr);
  assert.ok(existsSync(join(b, 'train.wasm')), 'compile writes train.wasm');
  checkOutputBundleDir(b, '-o', [w.ckpt]); // no throw: every file in it is one edgeq wrote
  const again = await cli(['compile', w.ckpt, '--target', 'wasm32', '--vectors', '0', '-o', b]);
  assert.is(again.status, 0, again.stderr);
});

test('compile -o <a file> and -o <a symlink> refuse', async () => {
  const w = await workdir();
  const r = await cli(['compile', w.ckpt, '--target', 'wasm32', '-o', w.sentinel]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /exists and is a file/);
  intact(w.sentinel);
  const link = p('link-to-workdir');
  symlinkSync(w.dir, link);
  const s = await cli(['compile', w.ckpt, '--target', 'wasm32', '-o', link]);
  assert.is(s.status, 2, s.stderr);
  intact(w.sentinel);
});

/** A directory that looks like a bundle to the path checks (its content is never read by them). */
function fakeBundle(name: string): string {
  const b = p(name);
  mkdirSync(b);
  for (const f of ['model.edgeq', 'runtime.wasm']) writeFileSync(join(b, f), SENTINEL);
  writeFileSync(join(b, 'manifest.json'), JSON.stringify({ format: 'edgeq-bundle' }));
  return b;
}

test('finetune -o <bundle>/model.edgeq and flash -o <bundle>/model.edgeq refuse to write over their input', async () => {
  const b = fakeBundle('fb1');
  writeFileSync(p('fb1-data.txt'), 'Once upon a time.\n');
  const f = await cli(['finetune', b, '--data', p('fb1-data.txt'), '--steps', '1', '-o', join(b, 'model.edgeq')]);
  assert.is(f.status, 2, f.stderr);
  assert.match(f.stderr, /is also an input/);
  intact(join(b, 'model.edgeq'));
  const d = await cli(['finetune', b, '--data', p('fb1-data.txt'), '--steps', '1', '-o', p('fb1-data.txt')]);
  assert.is(d.status, 2, d.stderr);
  const g = await cli(['flash', b, '--board', 'mps2-an386', '--no-boot', '-o', join(b, 'model.edgeq')]);
  assert.is(g.status, 2, g.stderr);
  assert.match(g.stderr, /is also an input/);
  intact(join(b, 'model.edgeq'));
});

test('finetune checks -o before any work: a directory or an unwritable place is refused at once', async () => {
  const b = fakeBundle('fb2');
  writeFileSync(p('fb2-data.txt'), 'Once upon a time.\n');
  const r = await cli(['finetune', b, '--data', p('fb2-data.txt'), '--steps', '1', '-o', p()]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /is a directory/);
  const u = await cli(['finetune', b, '--data', p('fb2-data.txt'), '--steps', '1', '-o', join(p('fb2-data.txt'), 'a.edqa')]);
  assert.is(u.status, 1, u.stderr);
  assert.match(u.stderr, /is a regular file, not a directory/);
});

test('plan <ckpt> -o <ckpt> refuses to write over its checkpoint', async () => {
  const w = await workdir();
  const before = readFileSync(w.ckpt);
  const r = await cli(['plan', w.ckpt, '-o', w.ckpt]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /is also an input/);
  assert.ok(readFileSync(w.ckpt).equals(before));
});

test('keygen -o "" and -o <dir>/ refuse (no .key/.pub in the working directory)', async () => {
  const w = await workdir();
  for (const o of ['', 'keys/', '.']) {
    const r = await inDir(w.dir, ['keygen', '-o', o]);
    assert.is(r.status, 2, `-o ${JSON.stringify(o)}: ${r.stderr}`);
  }
  assert.equal(readdirSync(w.dir).filter((f) => f.endsWith('.key') || f.endsWith('.pub')), []);
});

test('synth -o <a directory> is a usage error (was exit 70)', async () => {
  const r = await cli(['synth', '--shape', 'stories260K', '-o', scratch]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /is a directory/);
  assert.not.match(r.stderr, /internal error|\n\s+at /);
});

// ---- special files: refused at once, exit 1, naming the file --------------------------
const fifo = p('a-fifo');
execFileSync('mkfifo', [fifo]);
const loop = p('loop');
symlinkSync(loop, loop);

for (const [name, path, says] of [
  ['a FIFO', fifo, /FIFO/], ['\/dev\/zero', '/dev/zero', /character device/], ['a directory', scratch, /is a directory/],
  ['a symlink loop', loop, /symbolic links/],
] as const) {
  test(`${name} as checkpoint: inspect, plan, compile, run exit 1 at once`, async () => {
    for (const args of [['inspect', path], ['plan', path, '-o', p('x.json')], ['compile', path, '--target', 'wasm32', '-o', p('xb')], ['run', path, '--tokenizer', path]]) {
      if (args[0] === 'run' && path === scratch) continue; // a directory is a bundle to run
      const r = await cli(args);
      assert.is(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, says);
      assert.ok(r.stderr.includes(path), r.stderr);
    }
  });
}

test('a FIFO as --tokenizer, --data, --trust, --text or a bundle file exits 1 at once', async () => {
  const w = await workdir();
  const t = await cli(['compile', w.ckpt, '--target', 'wasm32', '--tokenizer', fifo, '-o', p('xt')]);
  assert.is(t.status, 1, t.stderr);
  assert.match(t.stderr, /FIFO/);
  const b = fakeBundle('fb3');
  const d = await cli(['finetune', b, '--data', fifo, '--steps', '1', '-o', p('fb3.edqa')]);
  assert.is(d.status, 1, d.stderr);
  assert.match(d.stderr, /FIFO/);
  const tr = await cli(['run', b, '--trust', fifo]);
  assert.is(tr.status, 1, tr.stderr);
  const m = p('fb4');
  mkdirSync(m);
  execFileSync('mkfifo', [join(m, 'model.edgeq')]);
  writeFileSync(join(m, 'runtime.wasm'), 'x');
  const r = await cli(['run', m]);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /model\.edgeq.*FIFO/);
  symlinkSync('/dev/zero', join(b, 'zero'));
  rmSync(join(b, 'model.edgeq'));
  symlinkSync('/dev/zero', join(b, 'model.edgeq'));
  const z = await cli(['run', b]);
  assert.is(z.status, 1, z.stderr);
  assert.match(z.stderr, /character device/);
});

// ---- exit codes ------------------------------------------------------------------------
test('I/O conditions are exit-1 lines, not bugs; a thrown non-Error is described, not "[object Object]"', () => {
  const e = (code: string, path?: string) => Object.assign(new Error(`${code}: x`), { code, path, syscall: 'open' });
  assert.is(ioErrorLine(e('EROFS', '/m/out')), '/m/out: read-only file system (open)');
  assert.match(ioErrorLine(e('ENOSPC', '/m/out'))!, /no space left/);
  for (const c of ['EACCES', 'ENOENT', 'EISDIR', 'ELOOP', 'ENOTDIR', 'EPERM']) assert.ok(ioErrorLine(e(c)), c);
  assert.is(ioErrorLine(new TypeError('x')), null);
  assert.is(describe({ kind: 'odd' }), '{"kind":"odd"}');
});

test('--debug shows a stack trace; without it an I/O error is one line', async () => {
  const w = await workdir();
  const r = await cli(['synth', '--shape', 'stories260K', '-o', join(w.sentinel, 'x.bin')]);
  assert.is(r.status, 1, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));
test.run();
