// A compiled bundle on disk (<dir>/model.edgeq, runtime.wasm, manifest.json), opened for
// the host-side commands (run, eval, verify). Missing or unreadable parts are errors that
// name the file.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeqError, usageError } from '../util/errors.ts';
import { readArtifact } from '../emit/artifact-read.ts';
import type { ArtifactContents } from '../emit/artifact-contents.ts';
import { loadTokenizerFile } from '../import/tokenizers/load.ts';
import type { TextTokenizer } from '../import/tokenizers/text-tokenizer.ts';
import { tokenizerFromContents } from '../emit/tokenizer-contents.ts';
import { WasmRuntime } from './wasm-runtime.ts';
import { LOGIT_FRAC } from '../../runtime/kernels/reference/constants.ts';
import type { LogitsEngine } from '../eval/teacher-forced.ts';

export interface Bundle {
  dir: string;
  artifactPath: string;
  artifactBytes: Uint8Array;
  artifact: ArtifactContents;
  runtimePath: string;
  wasm: Uint8Array;
}

export const isBundleDir = (path: string): boolean => existsSync(path) && statSync(path).isDirectory();

export function openBundle(dir: string): Bundle {
  if (!isBundleDir(dir)) throw new EdgeqError('not a bundle directory (expected the output folder of `edgeq compile`)', { file: dir });
  const need = (name: string): string => {
    const p = join(dir, name);
    if (!existsSync(p)) throw new EdgeqError(`${dir} is not a bundle: ${p} is missing (write one with edgeq compile)`);
    return p;
  };
  const artifactPath = need('model.edgeq');
  const runtimePath = need('runtime.wasm');
  const artifactBytes = new Uint8Array(readFileSync(artifactPath));
  return {
    dir, artifactPath, artifactBytes,
    artifact: readArtifact(artifactBytes, artifactPath),
    runtimePath,
    wasm: new Uint8Array(readFileSync(runtimePath)),
  };
}

/** The bundle's runtime.wasm instantiated in V8 with its artifact loaded. */
export function bundleRuntime(b: Bundle): Promise<WasmRuntime> {
  return WasmRuntime.create(b.wasm, b.artifactBytes, b.artifact.config.vocabSize, b.artifactPath);
}

/**
 * The tokenizer for a bundle: `path` if given, else the one embedded in the artifact.
 * Its vocabulary must match the model's.
 */
export function bundleTokenizer(b: Bundle, path?: string): TextTokenizer {
  let tok: TextTokenizer;
  const t = b.artifact.tokenizer;
  if (path) tok = loadTokenizerFile(path);
  else if (t) tok = tokenizerFromContents(t);
  else {
    throw usageError(`bundle ${b.dir} has no embedded tokenizer: pass --tokenizer <tok.bin> (or compile with --tokenizer)`);
  }
  if (tok.vocabSize !== b.artifact.config.vocabSize) {
    throw new EdgeqError(`tokenizer ${path ?? '(embedded)'} has ${tok.vocabSize} tokens but bundle ${b.dir} has a vocabulary of ${b.artifact.config.vocabSize}`);
  }
  return tok;
}

/** The runtime as a float-logit engine for evaluation (value / 2^LOGIT_FRAC, host-side). */
export function runtimeLogitsEngine(rt: WasmRuntime): LogitsEngine {
  const out = new Float64Array(rt.vocabSize);
  const scale = 2 ** -LOGIT_FRAC;
  return {
    forward(token, pos) {
      rt.forward(token, pos);
      const l = rt.logits();
      for (let i = 0; i < l.length; i++) out[i] = l[i] * scale;
      return out;
    },
  };
}
