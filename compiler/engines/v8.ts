// V8 (this Node process): the runtime instantiated through WasmRuntime, the same host
// `edgeq run` uses. Three engines share this file's code: v8-simd, v8-scalar, and
// v8-threads (the threaded flavour of the bundle's own build, `edgeq run --threads`).
import { sha256 } from './cache.ts';
import type { Bundle, Engine, EngineRun, EngineRunOptions } from './engine.ts';
import { isSimdRuntime, runtimeFlavour } from './runtime-flavour.ts';
import { WasmRuntime } from './wasm-runtime.ts';
import { VERIFY_THREADS, threadedRuntime } from './threaded-runtime.ts';
import { V8_BUILD_ENGINE } from './names.ts';

export function v8Engine(simd: boolean): Engine {
  return {
    name: simd ? V8_BUILD_ENGINE.simd : V8_BUILD_ENGINE.scalar,
    about: `V8 ${process.versions.v8} in Node ${process.version}, ${simd ? 'SIMD' : 'scalar'} runtime build`,
    available: () => (simd && !WebAssembly.validate(SIMD_PROBE) ? 'this V8 has no WebAssembly SIMD' : null),
    async run(bundle: Bundle, opts: EngineRunOptions = {}): Promise<EngineRun> {
      const t0 = performance.now();
      const rt = await runtimeFlavour(bundle, simd);
      const t1 = performance.now();
      const host = await WasmRuntime.create(rt.wasm as Uint8Array<ArrayBuffer>, bundle.artifact, bundle.contents.config.vocabSize, bundle.artifactPath);
      const r = host.selftest();
      void opts;
      return {
        hashes: r.hashes.map(([position, hash]) => ({ position, hash })),
        mismatches: r.mismatches,
        runtime: { simd: rt.simd, sha256: rt.sha256 ?? sha256(rt.wasm), origin: rt.origin },
        buildMs: t1 - t0,
        runMs: performance.now() - t1,
      };
    },
  };
}

/** The threaded flavour (SIMD kernels when the bundle's runtime has them) on VERIFY_THREADS threads. */
export function v8ThreadsEngine(): Engine {
  return {
    name: V8_BUILD_ENGINE.threads,
    about: `V8 ${process.versions.v8} in Node ${process.version}, the threaded flavour of the bundle's runtime build on ${VERIFY_THREADS} threads`,
    available: () => null,
    async run(bundle: Bundle): Promise<EngineRun> {
      const t0 = performance.now();
      const simd = isSimdRuntime(bundle.runtimeWasm);
      const rt = await runtimeFlavour(bundle, simd, 'v8');
      const t1 = performance.now();
      const host = await threadedRuntime(bundle, bundle.artifact, VERIFY_THREADS, bundle.artifactPath);
      try {
        const r = host.selftest();
        return {
          hashes: r.hashes.map(([position, hash]) => ({ position, hash })),
          mismatches: r.mismatches,
          runtime: { simd, sha256: rt.sha256, origin: rt.origin },
          buildMs: t1 - t0,
          runMs: performance.now() - t1,
        };
      } finally {
        await host.close();
      }
    },
  };
}

/** A module with one v128 instruction: (func (result v128) (v128.const i32x4 0 0 0 0)). */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
]);
