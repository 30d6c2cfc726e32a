// The one WABT every engine uses: the npm package `wabt` (1.0.39, a dependency in
// package.json), whose emscripten-built tools run in this Node. Its wasm2c translates
// SIMD (into SIMDe calls), which Debian bookworm's wabt 1.0.32 cannot; its wasm-interp
// runs the same modules as Debian's and prints the same lines. Resolved here by path,
// never through PATH, so `npm test` (node_modules/.bin first) and a plain shell run the
// same binaries.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const WABT_VERSION = '1.0.39';

function wabtDir(): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve('wabt/package.json'));
  } catch {
    return null;
  }
}

/** [command, leading args] for a WABT tool (wasm2c, wasm-interp), or null when absent. */
export function wabtTool(name: 'wasm2c' | 'wasm-interp'): { cmd: string; args: string[]; id: string } | null {
  const dir = wabtDir();
  if (!dir) return null;
  const script = join(dir, 'bin', name);
  if (!existsSync(script)) return null;
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version as string;
  return { cmd: process.execPath, args: [script], id: `npm wabt ${version} ${name}` };
}

/** null when the npm wabt this project pins is installed, else why not. */
export function wabtMissing(): string | null {
  const dir = wabtDir();
  if (!dir) return `missing the npm package wabt ${WABT_VERSION} (npm install)`;
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version as string;
  if (version !== WABT_VERSION) return `npm package wabt is ${version}, expected ${WABT_VERSION} (npm install)`;
  return null;
}

/** SIMDe's wasm SIMD header (Debian libsimde-dev), which wasm2c's SIMD output includes. */
export const SIMDE_DIR = '/usr/include/simde';
export function simdeMissing(): string | null {
  return existsSync(join(SIMDE_DIR, 'wasm/simd128.h')) ? null : `missing ${SIMDE_DIR}/wasm/simd128.h (Debian package libsimde-dev); scripts/setup-deps.sh installs it`;
}
