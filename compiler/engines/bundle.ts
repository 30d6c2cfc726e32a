// A compiled bundle on disk (<dir>/model.edgeq, runtime.wasm, manifest.json, and train.wasm
// unless compiled with --no-train), opened for the host-side commands (run, eval, finetune,
// verify). Missing or unreadable parts are errors that name the file.
import { existsSync, statSync } from 'node:fs';
import { MAX_INPUT_BYTES, readInputFile } from '../util/input-file.ts';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
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
  /** The training module (train.wasm) when the bundle has one: fine-tuning and adapters without building it. */
  trainWasm?: Uint8Array;
  trainPath: string;
}

export { TRAIN_WASM } from '../bundle-files.ts';
import { TRAIN_WASM } from '../bundle-files.ts';

/** Far more than any generated runtime (tens of KiB): bounds the read of runtime.wasm. */
const MAX_RUNTIME_BYTES = 64 << 20;

/** A directory, unless it is a Hugging Face model (config.json and no model.edgeq): that is a source model. */
export const isBundleDir = (path: string): boolean => existsSync(path) && statSync(path).isDirectory() &&
  !(existsSync(join(path, 'config.json')) && !existsSync(join(path, 'model.edgeq')));

export function openBundle(dir: string): Bundle {
  if (!isBundleDir(dir)) throw new EdgeqError('not a bundle directory (expected the output folder of `edgeq compile`)', { file: dir });
  const need = (name: string, what: string, maxBytes: number): Uint8Array => {
    const p = join(dir, name);
    if (!existsSync(p)) throw new EdgeqError(`${dir} is not a bundle: ${p} is missing (write one with edgeq compile)`);
    return new Uint8Array(readInputFile(p, what, { maxBytes }));
  };
  const artifactPath = join(dir, 'model.edgeq');
  const runtimePath = join(dir, 'runtime.wasm');
  const trainPath = join(dir, TRAIN_WASM);
  const artifactBytes = need('model.edgeq', 'an edgeq artifact (model.edgeq)', MAX_INPUT_BYTES);
  const wasm = need('runtime.wasm', 'a WebAssembly runtime (runtime.wasm)', MAX_RUNTIME_BYTES);
  // Optional (compile --no-train, or a bundle from before it): without it the module is built when needed.
  const trainWasm = existsSync(trainPath) ? need(TRAIN_WASM, 'a WebAssembly training module (train.wasm)', MAX_RUNTIME_BYTES) : undefined;
  checkManifestHashes(dir, { 'model.edgeq': artifactBytes, 'runtime.wasm': wasm, ...(trainWasm ? { [TRAIN_WASM]: trainWasm } : {}) });
  return { dir, artifactPath, artifactBytes, artifact: readArtifact(artifactBytes, artifactPath), runtimePath, wasm, trainWasm, trainPath };
}

/**
 * Integrity by default (no key needed): when the bundle has a manifest.json listing a sha256
 * for a file, the bytes read must have it — a damaged or edited file is refused before use,
 * naming the file. A bundle without a manifest (hand-assembled) is read as it is; --trust
 * (compiler/engines/trust.ts) is what makes the manifest itself trustworthy.
 */
export function checkManifestHashes(dir: string, files: Record<string, Uint8Array>): void {
  const mp = join(dir, 'manifest.json');
  if (!existsSync(mp)) return;
  let listed: Record<string, { sha256?: unknown }> | undefined;
  try {
    listed = JSON.parse(readInputFile(mp, 'a bundle manifest (JSON)', { maxBytes: 1 << 20 }).toString('utf8'))?.files;
  } catch (e) {
    if (e instanceof EdgeqError) throw e;
    throw new EdgeqError(`not valid JSON: ${(e as Error).message}`, { file: mp });
  }
  for (const [name, bytes] of Object.entries(files)) {
    const want = listed?.[name]?.sha256;
    if (typeof want !== 'string') continue;
    const got = createHash('sha256').update(bytes).digest('hex');
    if (got !== want) {
      throw new EdgeqError(`sha256 ${got.slice(0, 16)}… differs from the ${want.slice(0, 16)}… that ${mp} lists: the file was changed or damaged after edgeq compile wrote it; recompile the bundle`, { file: join(dir, name) });
    }
  }
}

/** Refuses (exit 1, naming the file) a runtime.wasm that is not a WebAssembly module at all. */
export function checkRuntimeModule(wasm: Uint8Array, path: string): void {
  // An empty or damaged module is the user's file, not a bug: say so before any engine sees it.
  if (!WebAssembly.validate(wasm as Uint8Array<ArrayBuffer>)) {
    throw new EdgeqError(`not a valid WebAssembly module (${wasm.length} bytes: empty, truncated or damaged); recompile the bundle with edgeq compile`, { file: path });
  }
}

/** The bundle's runtime.wasm instantiated in V8 with its artifact loaded. */
export function bundleRuntime(b: Bundle): Promise<WasmRuntime> {
  checkRuntimeModule(b.wasm, b.runtimePath);
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
