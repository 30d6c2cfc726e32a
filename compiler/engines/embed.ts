// The *embedded* build of a runtime (docs/runtime-abi.md, "Embedded build"): the artifact
// becomes part of the module, so a host with no file access at all (wasm-interp, a board)
// only calls `selftest_embedded()`.
//
// A post-processing step on runtime.wasm with binaryen, nothing recompiled:
// - an active data segment holds the artifact at a fixed address P: the first 64 KiB page
//   boundary above every existing data segment (16-byte aligned, as the artifact needs,
//   and well clear of the runtime's static data);
// - the initial memory grows to hold it (the maximum too, if one is set and too small);
// - `selftest_embedded() -> i32` calls `load_at(P, len)` then `selftest()`; it returns the
//   mismatch count, or -(error code) when `load_at` refuses the artifact.
// A runtime without `load_at` (older ABI) gets the artifact as a passive segment instead,
// copied with `memory.init` to the address `reserve(len)` returns, then `load(len)`.
import binaryen from 'binaryen';
import { EdgeqError } from '../util/errors.ts';

export interface EmbedOptions {
  /** Keep only `selftest_embedded` (and memory) exported, for `wasm-interp --run-all-exports`. */
  onlySelftestExport?: boolean;
}

export interface Embedded {
  wasm: Uint8Array;
  /** Where the artifact sits in linear memory (0 for the passive-segment fallback). */
  address: number;
  mode: 'load_at' | 'reserve+memory.init';
}

const PAGE = 65536;

export function embedArtifact(runtimeWasm: Uint8Array, artifact: Uint8Array, opts: EmbedOptions = {}): Embedded {
  const mod = binaryen.readBinaryWithFeatures(runtimeWasm, binaryen.Features.All);
  try {
    mod.setFeatures(mod.getFeatures() | binaryen.Features.BulkMemory);
    const exports = new Map<string, { kind: number; value: string }>();
    for (let i = 0; i < mod.getNumExports(); i++) {
      const e = binaryen.getExportInfo(mod.getExportByIndex(i));
      exports.set(e.name, { kind: e.kind, value: e.value });
    }
    const fn = (name: string) => {
      const e = exports.get(name);
      return e && e.kind === binaryen.ExternalFunction ? e.value : null;
    };
    const memExport = exports.get('memory');
    if (!mod.hasMemory() || !memExport || memExport.kind !== binaryen.ExternalMemory) throw new EdgeqError('runtime.wasm exports no memory; cannot embed the artifact');
    const selftest = fn('selftest');
    if (!selftest) throw new EdgeqError('runtime.wasm has no selftest export (docs/runtime-abi.md)');
    const loadAt = fn('load_at');
    const reserve = fn('reserve'), load = fn('load');
    if (!loadAt && !(reserve && load)) throw new EdgeqError('runtime.wasm exports neither load_at nor reserve+load');

    // Existing segments (setMemory replaces them all, so they are passed back unchanged).
    const mem = mod.getMemoryInfo();
    const segments: binaryen.MemorySegment[] = [];
    let dataEnd = 0;
    const nSeg = (mod as unknown as { getNumDataSegments(): number }).getNumDataSegments();
    for (let i = 0; i < nSeg; i++) {
      const info = (mod as unknown as { getDataSegmentInfo(r: number): { name: string; offset: number | null; data: ArrayBuffer; passive: boolean } })
        .getDataSegmentInfo(mod.getDataSegmentByIndex(i));
      const data = new Uint8Array(info.data);
      if (!info.passive) {
        if (info.offset === null) throw new EdgeqError('runtime.wasm has a data segment at a non-constant address; cannot place the artifact');
        dataEnd = Math.max(dataEnd, info.offset + data.length);
      }
      segments.push({ offset: info.passive ? 0 : mod.i32.const(info.offset!), data, passive: info.passive });
    }
    const memName = memExport.value;
    const len = artifact.length;
    let address = 0;
    let initial = mem.initial;
    let body: binaryen.ExpressionRef;
    if (loadAt) {
      address = Math.ceil(Math.max(dataEnd, 1) / PAGE) * PAGE;
      segments.push({ offset: mod.i32.const(address), data: artifact, passive: false });
      initial = Math.max(initial, Math.ceil((address + len) / PAGE));
      body = mod.block(null, [
        mod.local.set(0, mod.call(loadAt, [mod.i32.const(address), mod.i32.const(len)], binaryen.i32)),
        mod.if(mod.local.get(0, binaryen.i32), mod.return(mod.i32.sub(mod.i32.const(0), mod.local.get(0, binaryen.i32)))),
        mod.return(mod.call(selftest, [], binaryen.i32)),
      ], binaryen.i32);
    } else {
      const seg = segments.length;
      segments.push({ offset: 0, data: artifact, passive: true });
      body = mod.block(null, [
        mod.local.set(1, mod.call(reserve!, [mod.i32.const(len)], binaryen.i32)),
        mod.if(mod.i32.eqz(mod.local.get(1, binaryen.i32)), mod.return(mod.i32.const(-1))),
        mod.memory.init(String(seg), mod.local.get(1, binaryen.i32), mod.i32.const(0), mod.i32.const(len), memName),
        mod.data.drop(String(seg)),
        mod.local.set(0, mod.call(load!, [mod.i32.const(len)], binaryen.i32)),
        mod.if(mod.local.get(0, binaryen.i32), mod.return(mod.i32.sub(mod.i32.const(0), mod.local.get(0, binaryen.i32)))),
        mod.return(mod.call(selftest, [], binaryen.i32)),
      ], binaryen.i32);
    }
    const max = mem.max === undefined ? undefined : Math.max(mem.max, initial);
    mod.removeExport('memory');
    mod.setMemory(initial, max ?? -1 /* no maximum, as before */, 'memory', segments, mem.shared, mem.is64, memName);
    mod.addFunction('selftest_embedded', binaryen.none, binaryen.i32, [binaryen.i32, binaryen.i32], body);
    if (opts.onlySelftestExport) {
      for (const name of exports.keys()) if (name !== 'memory') mod.removeExport(name);
    }
    mod.addFunctionExport('selftest_embedded', 'selftest_embedded');
    if (!mod.validate()) throw new EdgeqError('internal: the embedded runtime does not validate');
    return { wasm: mod.emitBinary(), address, mode: loadAt ? 'load_at' : 'reserve+memory.init' };
  } finally {
    mod.dispose();
  }
}
