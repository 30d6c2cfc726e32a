// The one interface every conformance engine implements (compiler/engines/<name>.ts),
// and what they share: reading a bundle, and matching the "selftest <pos> <hash>" lines an
// engine printed against the hashes the compiler embedded in the artifact.
//
// An engine runs the bundle's embedded conformance vectors (the runtime's `selftest`
// export, docs/runtime-abi.md) on one WebAssembly engine and returns the hash each
// position produced. Everything an engine builds (wasm2c output, executables, firmware)
// goes to the content-addressed cache (./cache.ts), so a second run builds nothing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRuntimeModule, openBundle } from './bundle.ts';
import type { ArtifactContents } from '../emit/artifact-contents.ts';
import { EdgeqError } from '../util/errors.ts';

export interface Bundle {
  dir: string;
  artifactPath: string;
  runtimePath: string;
  artifact: Uint8Array;
  runtimeWasm: Uint8Array;
  /** manifest.json, when the bundle has one (not needed by any engine). */
  manifest: Record<string, unknown> | null;
  /** The artifact, parsed and validated once (for the expected hashes and the config). */
  contents: ArtifactContents;
}

/** Reads `<dir>/model.edgeq`, `<dir>/runtime.wasm` and (optionally) `<dir>/manifest.json`. */
export function readBundle(dir: string): Bundle {
  const b = openBundle(dir);
  checkRuntimeModule(b.wasm, b.runtimePath);
  const mp = join(dir, 'manifest.json');
  let manifest: Record<string, unknown> | null = null;
  if (existsSync(mp)) {
    try { manifest = JSON.parse(readFileSync(mp, 'utf8')); } catch (e) { throw new EdgeqError(`not valid JSON: ${(e as Error).message}`, { file: mp }); }
  }
  return { dir, artifactPath: b.artifactPath, runtimePath: b.runtimePath, artifact: b.artifactBytes, runtimeWasm: b.wasm, manifest, contents: b.artifact };
}

/** One position an engine reported. */
export interface PositionHash { position: number; hash: bigint }

export interface EngineRunOptions {
  /** Wall-clock limit for running (not building), ms. Each engine has its own default. */
  timeoutMs?: number;
  /** Progress notes (what is being built), e.g. to stderr. */
  log?: (line: string) => void;
}

export interface EngineRun {
  /** Hashes in the order the runtime printed them. */
  hashes: PositionHash[];
  /** What the runtime's selftest() returned: positions differing from the embedded hashes. */
  mismatches: number;
  /** Which runtime build ran: the bundle's own, or the other SIMD flavour rebuilt. */
  runtime: { simd: boolean; sha256: string; origin: string };
  /** Time spent building (0 when everything came from the cache) and running, ms. */
  buildMs: number;
  runMs: number;
}

export interface Engine {
  name: string;
  /** One line: what runs the module, on what ISA. */
  about: string;
  /** null when the engine can run here; otherwise why not (a missing tool, by name). */
  available(): string | null;
  run(bundle: Bundle, opts?: EngineRunOptions): Promise<EngineRun>;
}

/** An engine that cannot run this bundle here for a reason outside the bundle (no tool, no API). */
export class EngineUnavailable extends EdgeqError {
  constructor(message: string) { super(message); this.name = 'EngineUnavailable'; }
}

/** Expected hashes, in selftest order: every conformance case, positions 0..n-1 each. */
export function expectedHashes(contents: ArtifactContents): Array<{ caseName: string; position: number; hash: bigint }> {
  const out: Array<{ caseName: string; position: number; hash: bigint }> = [];
  for (const c of contents.conformance) {
    for (let p = 0; p < c.positions; p++) out.push({ caseName: c.name, position: p, hash: BigInt.asUintN(64, c.outputHashes[p]) });
  }
  return out;
}

/** "selftest <pos> <16 hex digits>" lines (the C hosts' and node host's common format). */
export function parseSelftestLines(text: string): PositionHash[] {
  const out: PositionHash[] = [];
  for (const m of text.matchAll(/^selftest (\d+) ([0-9a-f]{16})$/gm)) out.push({ position: Number(m[1]), hash: BigInt(`0x${m[2]}`) });
  return out;
}

export function formatHash(h: bigint): string { return BigInt.asUintN(64, h).toString(16).padStart(16, '0'); }
