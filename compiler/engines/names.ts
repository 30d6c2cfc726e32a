// One vocabulary of engine names for every command that takes --engine (run, eval,
// finetune) and --engines (verify): the same word means the same engine everywhere. Help
// texts and validation are derived from this list. Spellings from earlier versions are
// still accepted, per command (they meant different things in different commands), with a
// deprecation line naming the new word.
import { usageError } from '../util/errors.ts';

export const ENGINE_NAMES = {
  'reference-float': 'the float32 TypeScript reference (llama2.c forward pass)',
  'reference-int': 'the TypeScript integer reference (int8 round-to-nearest: the semantics every bundle reproduces)',
  v8: "the bundle's runtime.wasm in V8 (its own build: SIMD on wasm32 targets)",
  'v8-simd': 'the SIMD runtime build in V8 (verify; also a conformance engine)',
  'v8-scalar': 'the scalar runtime build in V8 (verify; also a conformance engine)',
  'v8-threads': "the threaded flavour of the bundle's runtime build in V8, on 3 threads (verify; run --threads runs it)",
  wasm2c: "the bundle's runtime through wasm2c in the Linux host, as a Linux board runs it: its target's ISA for aarch64-linux and riscv64-linux bundles (under qemu-user here), this machine's x86-64 for the others; --threads N runs it on N pthreads",
} as const;

export type EngineName = keyof typeof ENGINE_NAMES;

/**
 * The V8 engines' names by runtime build. `v8` is the family: in run and finetune it is the
 * bundle's own build, in `verify --engines v8` every build (the threaded flavour too) (verify's conformance engines,
 * compiler/engines/index.ts, take their names from here: compiler/engines/v8.ts).
 */
export const V8_BUILD_ENGINE: { readonly simd: 'v8-simd'; readonly scalar: 'v8-scalar'; readonly threads: 'v8-threads' } = { simd: 'v8-simd', scalar: 'v8-scalar', threads: 'v8-threads' };

/** Old spellings, per command: old word → the engine it meant there. */
export const DEPRECATED_ENGINE_NAMES: Record<string, Record<string, EngineName>> = {
  run: { reference: 'reference-float', 'int-reference': 'reference-int', wasm: 'v8' },
  finetune: { reference: 'reference-int' },
};

/** "name (about), …" for a command's --engine help, from ENGINE_NAMES. */
export function describeEngines(names: readonly EngineName[]): string {
  return names.map((n) => `${n} (${ENGINE_NAMES[n]})`).join(', ');
}

/**
 * An option parser for `--engine` of `command` accepting `allowed` (and the command's old
 * spellings, with a deprecation line on stderr).
 */
export function engineOption(command: string, allowed: readonly EngineName[]) {
  return (value: string): EngineName => {
    const old = DEPRECATED_ENGINE_NAMES[command]?.[value];
    if (old !== undefined && allowed.includes(old)) {
      process.stderr.write(`edgeq ${command}: warning: --engine ${value} is deprecated; it means ${old} (use that name)\n`);
      return old;
    }
    if (!(allowed as readonly string[]).includes(value)) throw usageError(`--engine: unknown engine "${value}"; known engines: ${allowed.join(', ')}`);
    return value as EngineName;
  };
}
