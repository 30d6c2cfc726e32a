// Node conveniences over the JavaScript API: a bundle directory on disk (what `edgeq
// compile` writes) as the API's sources. Not part of dist/edgeq.js (browsers have no
// files); the CLI (run, eval, finetune) and Node programs that have the bundle on disk use it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadBundle, modelFromParts, type BundleSources, type EdgeqModel, type LoadOptions, type ModelInternals, type RuntimeMaker } from './index.ts';
import { checkThreads, threadedRuntime } from '../engines/threaded-runtime.ts';
import { TRAIN_WASM, bundleTokenizer, checkRuntimeModule, type Bundle } from '../engines/bundle.ts';
import type { TextTokenizer } from '../import/tokenizers/text-tokenizer.ts';
import { loadHeavyPackages } from '../util/heavy.ts';
import { EdgeqError } from '../util/errors.ts';

/** The files of the bundle in `dir` as bytes (manifest, signature and training module when present). */
export function bundleDirSources(dir: string, extra: Partial<BundleSources> = {}): BundleSources {
  const read = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
  for (const name of ['model.edgeq', 'runtime.wasm']) {
    if (!existsSync(join(dir, name))) throw new EdgeqError(`${dir} is not a bundle: ${join(dir, name)} is missing (write one with edgeq compile)`);
  }
  const optional = (name: string) => (existsSync(join(dir, name)) ? read(name) : undefined);
  const manifest = optional('manifest.json'), signature = optional('manifest.sig'), trainRuntime = optional(TRAIN_WASM);
  return {
    model: read('model.edgeq'), runtime: read('runtime.wasm'),
    ...(manifest ? { manifest } : {}), ...(signature ? { signature } : {}), ...(trainRuntime ? { trainRuntime } : {}), ...extra,
  };
}

/** What Node adds to loadBundle's options. */
export interface NodeLoadOptions {
  /**
   * Threads to decode on (default 1): more than one runs the runtime's threaded flavour
   * (built on first use, seconds to a minute, then cached), each GEMV's rows split between
   * them; the bytes are the same as on one thread. model.close() ends the threads.
   */
  threads?: number;
  /** Told when a module has to be built (the threaded flavour, a training module: seconds to a minute, then cached). */
  say?: (msg: string) => void;
}

/** The runtime maker for `threads` (undefined for one thread: the bundle's runtime.wasm as is). */
function threadedMaker(o: NodeLoadOptions): RuntimeMaker | undefined {
  const threads = checkThreads(o.threads ?? 1);
  if (threads === 1) return undefined;
  return (p) => threadedRuntime({ runtimeWasm: p.runtimeWasm, contents: p.artifact }, p.artifactBytes, threads, p.file, o.say);
}

/** loadBundle for a bundle directory on disk. */
export function loadBundleDir(dir: string, opts: LoadOptions & NodeLoadOptions & { extra?: Partial<BundleSources> } = {}): Promise<EdgeqModel> {
  const { extra, threads, say, ...rest } = opts;
  return loadBundle(bundleDirSources(dir, extra), { ...rest, makeRuntime: threadedMaker({ threads, say }) });
}

export interface OpenModelOptions extends NodeLoadOptions {
  /** The tokenizer (e.g. from --tokenizer); default: the bundle's own, when it has one. */
  tokenizer?: TextTokenizer;
  /**
   * What fine-tunes and runs adapters: 'v8' the training module (the bundle's train.wasm, or
   * built now and cached when the bundle has none), 'reference-int' the TypeScript integer
   * reference (same bytes, slower). Default: the bundle's train.wasm if it has one, else the reference.
   */
  training?: 'v8' | 'reference-int';
}

/**
 * The API's model for a bundle the CLI opened (compiler/engines/bundle.ts: files read and
 * checked against the manifest, with messages naming them): `edgeq run`, `eval` and
 * `finetune` drive the same model object as a page does.
 */
export async function openBundleModel(b: Bundle, o: OpenModelOptions = {}): Promise<ModelInternals> {
  checkRuntimeModule(b.wasm, b.runtimePath);
  let trainWasm: Uint8Array | undefined;
  if (o.training !== 'reference-int') trainWasm = b.trainWasm;
  if (trainWasm) checkRuntimeModule(trainWasm, b.trainPath);
  else if (o.training === 'v8') {
    o.say?.(`${b.dir} has no ${TRAIN_WASM} (compiled with --no-train, or by an older edgeq): building the training module (cached for next time)`);
    await loadHeavyPackages();
    const { buildTrainRuntime } = await import('../codegen/train-runtime.ts');
    const a = b.artifact;
    trainWasm = (await buildTrainRuntime(a, { name: a.target.name, simd: a.target.simd })).wasm;
  }
  const tokenizer = o.tokenizer ?? (b.artifact.tokenizer ? bundleTokenizer(b) : undefined);
  return modelFromParts({
    artifact: b.artifact, artifactBytes: b.artifactBytes, runtimeWasm: b.wasm, tokenizer, trainWasm, artifactPath: b.artifactPath, makeRuntime: threadedMaker(o),
  });
}
