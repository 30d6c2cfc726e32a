// Parsers for option values, shared by all commands, so that every bad value gives
// the same kind of one-line message and exit code 2.
import { usageError } from '../util/errors.ts';

export function intOption(flag: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw usageError(`${flag} expects an integer, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max) throw usageError(`${flag} must be in [${min}, ${max}], got ${n}`);
    return n;
  };
}

export function floatOption(flag: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw usageError(`${flag} expects a number, got "${value}"`);
    if (n < min || n > max) throw usageError(`${flag} must be in [${min}, ${max}], got ${n}`);
    return n;
  };
}

/** One of a fixed set of words, e.g. `--format v0|v1`. */
export function choiceOption<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw usageError(`${flag} must be one of ${choices.join(', ')}, got "${value}"`);
    return value as T;
  };
}
