// Where the JavaScript API gets a bundle's files from: bytes the caller already has, or
// URLs fetched with progress. Browser-safe: fetch, streams, WebCrypto only (no Node
// built-ins), so the same code loads a bundle in a page, a Web Worker and Node.
import { EdgeqError } from '../util/errors.ts';
// The public types are declared in index.ts, so that dist/edgeq.d.ts is that one file.
// The public Source and LoadProgress types live in index.ts (so dist/edgeq.d.ts is one
// file); these are their shapes, spelled here so this module does not import index.ts
// (no import cycle). index.ts passes its types in, so the compiler checks they agree.
type SourceShape = Uint8Array | ArrayBuffer | URL | string;
interface ProgressShape { file: string; loaded: number; total: number | null }

export interface FetchOptions {
  /** Called as bytes arrive, for a progress bar. */
  onProgress?: (p: ProgressShape) => void;
  signal?: AbortSignal;
  /** The fetch to use (default: globalThis.fetch). */
  fetch?: typeof fetch;
}

/** `src` as a URL, relative strings against the page (or worker) address when there is one. */
export function sourceUrl(src: URL | string): URL {
  if (src instanceof URL) return src;
  const base = (globalThis as { location?: { href: string } }).location?.href;
  try {
    return base ? new URL(src, base) : new URL(src);
  } catch {
    throw new EdgeqError(`not a URL: ${JSON.stringify(src)} (outside a page, pass an absolute URL or the file's bytes; in Node, loadBundleDir reads a directory)`);
  }
}

/** The bytes of `src`: copied if given as bytes, fetched if a URL. `name` names it in errors and progress. */
export async function readSource(src: SourceShape, name: string, o: FetchOptions = {}): Promise<Uint8Array> {
  if (src instanceof Uint8Array) return src;
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  const bytes = await fetchBytes(sourceUrl(src), name, o);
  if (bytes === null) throw new EdgeqError(`${name}: not found (HTTP 404)`, { file: sourceUrl(src).href });
  return bytes;
}

/** The bytes at `url`, or null on 404 (for optional files); progress as they arrive. */
export async function fetchBytes(url: URL, name: string, o: FetchOptions = {}): Promise<Uint8Array | null> {
  const f = o.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await f(url, o.signal ? { signal: o.signal } : {});
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new EdgeqError(`${name}: could not fetch: ${(e as Error).message}`, { file: url.href });
  }
  if (res.status === 404) return null;
  if (!res.ok) throw new EdgeqError(`${name}: HTTP ${res.status} ${res.statusText}`, { file: url.href });
  const header = res.headers.get('content-length');
  const total = header !== null && /^\d+$/.test(header) ? Number(header) : null;
  if (!res.body) {
    const b = new Uint8Array(await res.arrayBuffer());
    o.onProgress?.({ file: name, loaded: b.length, total: b.length });
    return b;
  }
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = res.body.getReader();
  o.onProgress?.({ file: name, loaded, total });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    o.onProgress?.({ file: name, loaded, total });
  }
  return concatBytes(chunks);
}

export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** SHA-256 with WebCrypto (browsers on https or localhost, workers, Node >= 20). */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

/**
 * Checks an Ed25519 signature (manifest.sig: base64 of 64 bytes) of `data` by a public key
 * (the PEM SPKI file `edgeq keygen` writes, as text) with WebCrypto.
 */
export async function verifyEd25519(data: Uint8Array, signatureText: string, publicKeyPem: string): Promise<boolean> {
  const sigText = signatureText.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(sigText)) throw new EdgeqError('manifest.sig: not an Ed25519 signature (expected 64 bytes in base64)');
  const sig = Uint8Array.from(atob(sigText), (c) => c.charCodeAt(0));
  if (sig.length !== 64) throw new EdgeqError(`manifest.sig: ${sig.length} bytes, an Ed25519 signature has 64`);
  const m = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(publicKeyPem);
  if (!m) throw new EdgeqError('publicKey: not a PEM public key (make one with `edgeq keygen`)');
  const der = Uint8Array.from(atob(m[1].replace(/\s+/g, '')), (c) => c.charCodeAt(0));
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('spki', der, { name: 'Ed25519' }, false, ['verify']);
  } catch (e) {
    throw new EdgeqError(`publicKey: not an Ed25519 public key, or this JavaScript engine has no Ed25519 in WebCrypto (${(e as Error).message})`);
  }
  return crypto.subtle.verify({ name: 'Ed25519' }, key, sig, data as Uint8Array<ArrayBuffer>);
}
