// Parsers for option values, shared by all commands, so that every bad value gives
// the same kind of one-line message and exit code 2.
import { Option, type Command } from 'commander';
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

/**
 * `--positions <n>` (positions a model runs, prompt included) with `--steps <n>` as its
 * deprecated spelling: `--steps` means optimizer steps in finetune and `verify --train`, so
 * run and flash name positions by their own word. The old flag still works, with a
 * deprecation line on stderr; giving both is a usage error.
 */
export function addPositionsOption(cmd: Command, command: string, about: string, fallback: number): Command {
  return cmd
    .option('--positions <n>', about, intOption('--positions', 0))
    .addOption(new Option('--steps <n>', 'deprecated spelling of --positions').argParser(intOption('--steps', 0)).hideHelp())
    .hook('preAction', (_this, action) => {
      const o = action.opts() as { positions?: number; steps?: number };
      if (o.steps !== undefined) {
        if (o.positions !== undefined) throw usageError('--steps is the old spelling of --positions: give only --positions');
        process.stderr.write(`edgeq ${command}: warning: --steps is deprecated here; it means --positions (use that name)\n`);
        action.setOptionValue('positions', o.steps);
      } else if (o.positions === undefined) action.setOptionValue('positions', fallback);
    });
}
