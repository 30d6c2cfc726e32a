// The files of a bundle directory, named once: what `edgeq compile` writes, what `-o` may
// replace (compiler/cli/paths.ts), what `edgeq serve` serves and what run/finetune read.
// (A light module on purpose: the CLI's path checks run before anything heavy loads.)

/** The training module (compiler/codegen/train-runtime.ts), written by edgeq compile since issue 19. */
export const TRAIN_WASM = 'train.wasm';

/** Every file `edgeq compile` (and `--sign`) writes into a bundle directory. */
export const BUNDLE_FILES = ['manifest.json', 'model.edgeq', 'runtime.wasm', TRAIN_WASM, 'manifest.sig'] as const;
