// The one place where the CLI checks the paths it is given, before any work starts:
//  - outputs never destroy what edgeq did not create: an existing -o directory is replaced
//    only if it is an edgeq bundle (its manifest says so, and it holds nothing else); never
//    the current directory or one of its parents, a directory holding an input, "" or an
//    input file itself; every output's directory must be writable before the expensive work;
//  - inputs must be what they claim (compiler/util/input-file.ts: a regular file of a
//    plausible size, or a bundle directory), so a FIFO or /dev/zero is refused at once.
// Refusals of a chosen path are usage errors (exit 2: pick another -o); I/O conditions
// (read-only, missing) are exit 1.
import { accessSync, constants, existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { EdgeqError } from '../util/errors.ts';
import { checkInputFile, fileKind, inputErrnoMessage } from '../util/input-file.ts';

import { BUNDLE_FILES } from '../bundle-files.ts';
/** What else edgeq writes into a bundle directory by default (edgeq flash's image and its manifest). */
const EDGEQ_EXTRAS = /^firmware-[\w.-]+\.(elf|manifest\.json)$/;

const refuse = (flag: string, path: string, why: string) => new EdgeqError(`${flag} ${JSON.stringify(path)}: ${why}`, {}, 2);

/** `path` with symlinks resolved as far as it exists (the rest appended as given). */
function realish(path: string): string {
  const abs = resolve(path);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try { return join(realpathSync(head), ...tail.reverse()); } catch { /* not there (yet) */ }
    const up = dirname(head);
    if (up === head) return abs;
    tail.push(head.slice(up.length).replace(/^[/\\]/, ''));
    head = up;
  }
}

/** True when `inner` is `outer` or lies inside it. */
export function isWithin(inner: string, outer: string): boolean {
  const r = relative(outer, inner);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r) && r.split(sep)[0] !== '..');
}

/** Throws (exit 1) unless the directory that will hold `path` is (or can be created) writable. */
export function checkWritableParent(path: string, flag: string): void {
  let dir = dirname(resolve(path));
  while (!existsSync(dir)) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  let s;
  try { s = statSync(dir); } catch (e) { throw new EdgeqError(`${flag}: ${inputErrnoMessage(e as NodeJS.ErrnoException, 'a directory')}`, { file: dir }); }
  if (!s.isDirectory()) throw new EdgeqError(`${flag}: is ${fileKind(s)}, not a directory, so nothing can be written under it`, { file: dir });
  try { accessSync(dir, constants.W_OK); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EdgeqError(`${flag}: cannot write here (${code === 'EROFS' ? 'read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code})`, { file: dir });
  }
}

function refuseEmptyOrDot(path: string, flag: string): void {
  if (path.trim() === '') throw refuse(flag, path, 'an empty path; name the output explicitly');
}

/**
 * Checks an output directory that will be replaced as a whole (compile's bundle). `inputs`
 * are the files the command reads: none may lie inside it.
 */
export function checkOutputBundleDir(path: string, flag: string, inputs: string[]): void {
  refuseEmptyOrDot(path, flag);
  const out = realish(path);
  const cwd = realish(process.cwd());
  if (isWithin(cwd, out)) throw refuse(flag, path, `is the current directory${out === cwd ? '' : ' or one of its parents'}; refusing to replace it (give a new directory name, e.g. -o out/bundle)`);
  for (const input of inputs) {
    if (isWithin(realish(input), out)) throw refuse(flag, path, `holds the input ${input}; refusing to replace it (give a new directory name)`);
  }
  let ls;
  try { ls = lstatSync(path); } catch { ls = undefined; }
  if (ls) {
    if (ls.isSymbolicLink()) throw refuse(flag, path, 'is a symbolic link; give the directory itself (or a new name)');
    if (!ls.isDirectory()) throw refuse(flag, path, `exists and is ${ls.isFile() ? 'a file' : fileKind(ls)}, not a bundle directory`);
    const names = readdirSync(path);
    if (names.length > 0) {
      const notOurs = names.filter((n) => !(BUNDLE_FILES as readonly string[]).includes(n) && !EDGEQ_EXTRAS.test(n));
      if (!isBundleManifest(join(path, 'manifest.json'))) {
        throw refuse(flag, path, 'exists and is not an edgeq bundle (no manifest.json with "format": "edgeq-bundle"); refusing to replace it — choose another -o or remove it yourself');
      }
      if (notOurs.length) {
        throw refuse(flag, path, `is an edgeq bundle but also holds ${notOurs.slice(0, 3).join(', ')}${notOurs.length > 3 ? ', …' : ''}, which edgeq did not write; refusing to replace it — move them out first`);
      }
    }
  }
  checkWritableParent(path, flag);
}

function isBundleManifest(p: string): boolean {
  try {
    const s = statSync(p);
    if (!s.isFile() || s.size > 1 << 20) return false;
    return JSON.parse(readFileSync(p, 'utf8'))?.format === 'edgeq-bundle';
  } catch { return false; }
}

/**
 * Checks an output file that will be replaced atomically: not "", not a directory, not one
 * of `inputs` (the same file under any name), and its directory writable. With
 * `mustNotExist`, an existing file is refused too (keys: use --force).
 */
export function checkOutputFile(path: string, flag: string, inputs: string[], o: { mustNotExist?: boolean } = {}): void {
  refuseEmptyOrDot(path, flag);
  if (/[/\\]$/.test(path)) throw refuse(flag, path, 'ends with a path separator; expected a file name');
  let s;
  try { s = statSync(path); } catch { s = undefined; }
  if (s) {
    if (s.isDirectory()) throw refuse(flag, path, 'is a directory; expected a file name');
    if (!s.isFile()) throw refuse(flag, path, `is ${fileKind(s)}; expected a regular file name`);
    for (const input of inputs) {
      let i;
      try { i = statSync(input); } catch { continue; }
      if (i.dev === s.dev && i.ino === s.ino) throw refuse(flag, path, `is also an input (${input}); refusing to write over it`);
    }
    if (o.mustNotExist) throw new EdgeqError('already exists (use --force to replace it)', { file: path });
  }
  checkWritableParent(path, flag);
}

/** The files of a bundle directory a command reads (to protect them as outputs). */
export function bundleInputs(dir: string): string[] {
  return BUNDLE_FILES.map((n) => join(dir, n));
}

/** Checks an input file (exit 1 naming it unless it is a regular file of at most maxBytes). */
export function checkInput(path: string, what: string, maxBytes?: number): void {
  checkInputFile(path, what, { maxBytes });
}
