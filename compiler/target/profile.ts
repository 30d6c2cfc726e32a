// Target profiles: data in targets/<name>.json (ISA, SIMD, RAM/flash budgets, the engine
// used on the device, the host template). The compiler reads them here and nowhere else.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { usageError, EdgeqError } from '../util/errors.ts';

export const TARGETS_DIR = resolve(import.meta.dirname, '../../targets');

export interface TargetProfile {
  name: string;
  description: string;
  isa: string;
  /** Whether the device's engine runs WebAssembly SIMD (selects the SIMD kernels). */
  simd: boolean;
  /** wasm engine on the device: v8 | wasm2c | wasm2c-baremetal. */
  engine: string;
  /** RAM and flash budgets in bytes; null: no budget (a host with plenty). */
  ramBytes: number | null;
  flashBytes: number | null;
  /** Host template: node | linux | baremetal (targets/hosts/<host>). */
  host: string;
  /** Cross compiler, emulator and board where the target has them. */
  cc?: string;
  emulator?: string;
  board?: string;
}

export function targetNames(): string[] {
  return readdirSync(TARGETS_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

export function loadTarget(name: string): TargetProfile {
  const names = targetNames();
  if (!names.includes(name)) throw usageError(`unknown target "${name}"; known targets: ${names.join(', ')}`);
  const file = join(TARGETS_DIR, `${name}.json`);
  let t: TargetProfile;
  try {
    t = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EdgeqError(`not valid JSON: ${(e as Error).message}`, { file });
  }
  for (const [k, type] of [['name', 'string'], ['isa', 'string'], ['simd', 'boolean'], ['engine', 'string'], ['host', 'string']] as const) {
    if (typeof t[k] !== type) throw new EdgeqError(`field "${k}" must be a ${type}`, { file });
  }
  for (const k of ['ramBytes', 'flashBytes'] as const) {
    if (t[k] !== null && !(Number.isInteger(t[k]) && (t[k] as number) > 0)) throw new EdgeqError(`field "${k}" must be a positive integer or null`, { file });
  }
  if (t.name !== name) throw new EdgeqError(`field "name" is "${t.name}" but the file is ${name}.json`, { file });
  return t;
}
