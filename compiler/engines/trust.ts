// `--trust <public key>` (run, verify, flash): a bundle is used only if its manifest.json
// carries a valid Ed25519 signature (manifest.sig, written by `edgeq compile --sign`) by
// that key, and every file the manifest lists is present with the size and sha256 it
// states. The signature covers the exact bytes of manifest.json, and the manifest covers
// the bytes of model.edgeq and runtime.wasm, so one signature covers the whole bundle.
// One function, used by every command that takes --trust.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readInputFile } from '../util/input-file.ts';
import { join } from 'node:path';
import { EdgeqError } from '../util/errors.ts';
import { checkPublicKeyFile, verifyWithKeyFile } from '../util/signing.ts';

export const MANIFEST = 'manifest.json';
export const SIGNATURE = 'manifest.sig';
/** Files a bundle must list in its manifest: what run / verify / flash read. */
export const REQUIRED_FILES = ['model.edgeq', 'runtime.wasm'];

/** The text of manifest.sig for `manifest` bytes: the base64 Ed25519 signature and a newline. */
export function encodeSignature(sig: Uint8Array): string {
  return `${Buffer.from(sig).toString('base64')}\n`;
}

/** What was checked, for a note on stderr. */
export interface TrustReport { files: Array<{ name: string; size: number; sha256: string }> }

/**
 * Throws EdgeqError (exit 1, naming the file) unless the bundle in `dir` is signed by the
 * Ed25519 public key in `publicKeyPath` and matches its manifest byte for byte.
 */
export function checkTrust(dir: string, publicKeyPath: string): TrustReport {
  const mp = join(dir, MANIFEST), sp = join(dir, SIGNATURE);
  checkPublicKeyFile(publicKeyPath); // the key first: a private or broken key is the first thing to hear about
  if (!existsSync(mp)) throw new EdgeqError('missing: a trusted bundle needs its signed manifest (compile with --sign)', { file: mp });
  if (!existsSync(sp)) throw new EdgeqError(`missing: the bundle is not signed (compile with --sign <key>), refused by --trust ${publicKeyPath}`, { file: sp });
  const manifestBytes = new Uint8Array(readInputFile(mp, 'a bundle manifest (JSON)', { maxBytes: 1 << 20 }));
  const sigText = readInputFile(sp, 'a bundle signature (base64)', { maxBytes: 1 << 12 }).toString('utf8').trim();
  const sig = Buffer.from(sigText, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(sigText) || sig.length !== 64) {
    throw new EdgeqError('not an Ed25519 signature (expected 64 bytes in base64)', { file: sp });
  }
  if (!verifyWithKeyFile(manifestBytes, sig, publicKeyPath)) {
    throw new EdgeqError(`invalid signature: ${MANIFEST} was not signed by ${publicKeyPath}, or was changed after signing`, { file: sp });
  }
  // The manifest is authentic; now every file must be what it says.
  let manifest: { files?: Record<string, { size?: unknown; sha256?: unknown }> };
  try { manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(manifestBytes)); } catch (e) {
    throw new EdgeqError(`not valid JSON: ${(e as Error).message}`, { file: mp });
  }
  const files = manifest?.files;
  if (!files || typeof files !== 'object') throw new EdgeqError('has no "files" table (name → size, sha256)', { file: mp });
  for (const name of REQUIRED_FILES) {
    if (!Object.hasOwn(files, name)) throw new EdgeqError(`does not list ${name}`, { file: mp });
  }
  const report: TrustReport = { files: [] };
  for (const [name, want] of Object.entries(files)) {
    // Names are plain file names inside the bundle: nothing can point outside it.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new EdgeqError(`lists a file with a bad name: ${JSON.stringify(name)}`, { file: mp });
    if (typeof want?.size !== 'number' || typeof want?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(want.sha256)) {
      throw new EdgeqError(`entry for ${name} needs a numeric size and a 64-hex-digit sha256`, { file: mp });
    }
    const p = join(dir, name);
    if (!existsSync(p)) throw new EdgeqError(`missing: listed in the signed ${MANIFEST} but not in the bundle`, { file: p });
    const bytes = readInputFile(p, `the bundle file ${name}`);
    if (bytes.length !== want.size) throw new EdgeqError(`size ${bytes.length} differs from the signed ${MANIFEST} (${want.size})`, { file: p });
    const got = createHash('sha256').update(bytes).digest('hex');
    if (got !== want.sha256) throw new EdgeqError(`sha256 ${got} differs from the signed ${MANIFEST} (${want.sha256})`, { file: p });
    report.files.push({ name, size: bytes.length, sha256: got });
  }
  return report;
}
