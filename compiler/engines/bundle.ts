// A compiled bundle on disk (<dir>/model.edgeq, runtime.wasm, manifest.json), opened for
// the host-side commands (run, eval, verify). Missing or unreadable parts are errors that
// name the file.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeqError } from '../util/errors.ts';
import { readArtifact } from '../emit/artifact-read.ts';
import type { ArtifactContents } from '../emit/artifact-contents.ts';
import { Tokenizer } from '../import/tokenizer.ts';
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
    if (!existsSync(p)) throw new EdgeqError(`bundle is missing ${name}; recompile it with \`edgeq compile\``, { file: dir });
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
export function bundleTokenizer(b: Bundle, path?: string): Tokenizer {
  let tok: Tokenizer;
  if (path) tok = Tokenizer.load(path);
  else if (b.artifact.tokenizer && b.artifact.tokenizer.hostScores.length === b.artifact.tokenizer.pieces.length) {
    const t = b.artifact.tokenizer;
    tok = new Tokenizer(t.pieces, Float32Array.from(t.hostScores), t.maxTokenLength);
  } else {
    throw new EdgeqError('bundle has no embedded tokenizer: pass --tokenizer <tok.bin> (or compile with --tokenizer)', { file: b.artifactPath });
  }
  if (tok.vocabSize !== b.artifact.config.vocabSize) {
    throw new EdgeqError(`tokenizer has ${tok.vocabSize} tokens but the model's vocabulary is ${b.artifact.config.vocabSize}`, { file: path ?? b.artifactPath });
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
