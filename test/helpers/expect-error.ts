// One assertion for "this input is refused properly": fn throws an EdgeqError (anything
// else is rethrown: a bug, not a refusal) naming `file`, in one line, matching every pattern.
import * as assert from 'uvu/assert';
import { EdgeqError } from '../../compiler/util/errors.ts';

function expectEdgeqError(fn: () => unknown, file: string, offset: { at: number | undefined } | null, patterns: RegExp[]): void {
  try { fn(); } catch (e) {
    if (!(e instanceof EdgeqError)) throw e;
    assert.is(e.file, file, e.message);
    if (offset) assert.is(e.offset, offset.at, e.message);
    for (const re of patterns) assert.match(e.message, re);
    assert.not.match(e.message, /\n/);
    return;
  }
  assert.unreachable('expected an EdgeqError');
}

/** fn is refused with an EdgeqError naming `file` whose one-line text matches every pattern. */
export const fails = (fn: () => unknown, file: string, ...patterns: RegExp[]): void => expectEdgeqError(fn, file, null, patterns);

/** The same, and the error names byte `offset` of the file (undefined: no offset). */
export const failsAt = (fn: () => unknown, file: string, offset: number | undefined, ...patterns: RegExp[]): void =>
  expectEdgeqError(fn, file, { at: offset }, patterns);
