// binaryen and the AssemblyScript compiler are large JavaScript packages: imported through
// tsx's TypeScript loader they take ~34 s to load, in plain Node ~2 s (TOOLCHAIN-NOTES).
// bin/edgeq.mjs and the test workers provide `edgeqImportPlain`, which imports a package
// with the TypeScript loader switched off; loading the packages through it first puts them
// in Node's module map, so the TypeScript modules that import them later get them at once.
// Without it (e.g. `node --import tsx`), the packages load the slow way when first imported.

/** The packages to load outside the TypeScript loader, in dependency order. */
export const HEAVY_PACKAGES = ['binaryen', 'assemblyscript/asc'] as const;

type PlainImport = (specifier: string) => Promise<unknown>;

let loaded: Promise<void> | undefined;

/** True when loading the packages is still to come (worth a progress line): false once loaded, or when they were preloaded. */
export function heavyPackagesPending(): boolean {
  return loaded === undefined && (globalThis as { edgeqImportPlain?: PlainImport }).edgeqImportPlain !== undefined;
}

/** Loads HEAVY_PACKAGES outside the TypeScript loader (once); a no-op when that is not available. */
export function loadHeavyPackages(): Promise<void> {
  const plain = (globalThis as { edgeqImportPlain?: PlainImport }).edgeqImportPlain;
  if (!plain) return Promise.resolve();
  loaded ??= (async () => { for (const p of HEAVY_PACKAGES) await plain(p); })();
  return loaded;
}
