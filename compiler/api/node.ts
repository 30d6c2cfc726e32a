// Node conveniences over the JavaScript API: a bundle directory on disk (what `edgeq
// compile` writes) as the API's sources. Not part of dist/edgeq.js (browsers have no
// files); the CLI and Node programs that have the bundle on disk use it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadBundle, type BundleSources, type EdgeqModel, type LoadOptions } from './index.ts';
import { EdgeqError } from '../util/errors.ts';

/** The files of the bundle in `dir` as bytes (manifest and signature when present). */
export function bundleDirSources(dir: string, extra: Partial<BundleSources> = {}): BundleSources {
  const read = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
  for (const name of ['model.edgeq', 'runtime.wasm']) {
    if (!existsSync(join(dir, name))) throw new EdgeqError(`${dir} is not a bundle: ${join(dir, name)} is missing (write one with edgeq compile)`);
  }
  const optional = (name: string) => (existsSync(join(dir, name)) ? read(name) : undefined);
  const manifest = optional('manifest.json'), signature = optional('manifest.sig');
  return {
    model: read('model.edgeq'), runtime: read('runtime.wasm'),
    ...(manifest ? { manifest } : {}), ...(signature ? { signature } : {}), ...extra,
  };
}

/** loadBundle for a bundle directory on disk. */
export function loadBundleDir(dir: string, opts: LoadOptions & { extra?: Partial<BundleSources> } = {}): Promise<EdgeqModel> {
  const { extra, ...rest } = opts;
  return loadBundle(bundleDirSources(dir, extra), rest);
}
