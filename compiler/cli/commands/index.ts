// Every CLI command, in the order `edgeq --help` lists them. Add a command by writing
// ./<name>.ts exporting `register(program)` and listing it here with its one-line summary.
// Modules are loaded only when their command runs: some pull in binaryen and the
// AssemblyScript compiler, which take seconds to start, and `edgeq run` should not wait.
import type { Command } from 'commander';

export interface CommandEntry {
  name: string;
  /** One line for `edgeq --help`; the module's own description is shown by `edgeq <name> --help`. */
  summary: string;
  load: () => Promise<{ register(program: Command): void }>;
  /** The module imports binaryen/AssemblyScript at load: main loads them first, outside the TypeScript loader (compiler/util/heavy.ts). */
  heavy?: boolean;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'inspect', summary: "show a checkpoint's format, shape, parameter counts and sizes", load: () => import('./inspect.ts') },
  { name: 'synth', summary: 'write a synthetic (seeded random) llama2.c checkpoint of a known shape', load: () => import('./synth.ts') },
  { name: 'plan', summary: 'write a precision plan (EWQ: per-block bits from weight entropy, optionally fitted to a byte budget)', load: () => import('./plan.ts'), heavy: true },
  { name: 'compile', summary: 'compile a checkpoint into a device bundle: model.edgeq + runtime.wasm + manifest.json', load: () => import('./compile.ts') },
  { name: 'run', summary: 'generate text from a checkpoint or a bundle, printed as llama2.c prints it', load: () => import('./run.ts') },
  { name: 'eval', summary: 'measure a bundle against the float reference on a text (top-1, KL, perplexity)', load: () => import('./eval.ts') },
  { name: 'finetune', summary: "train a LoRA adapter for a bundle's int8 model on a text, integers only (.edqa, for run/eval --adapter)", load: () => import('./finetune.ts') },
  { name: 'verify', summary: "run a bundle's conformance vectors (or, with --train, a few training steps) on every engine and compare hashes", load: () => import('./verify.ts'), heavy: true },
  { name: 'flash', summary: "build a bundle's firmware image for a board, check its budget, boot it", load: () => import('./flash.ts'), heavy: true },
  { name: 'keygen', summary: 'make an Ed25519 key pair for signing bundles', load: () => import('./keygen.ts') },
  { name: 'serve', summary: 'serve the example web page with a bundle on 127.0.0.1: generate and fine-tune in the browser', load: () => import('./serve.ts') },
];
