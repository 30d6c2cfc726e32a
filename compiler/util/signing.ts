// Ed25519 signatures (node:crypto) for bundles: `edgeq keygen` makes a key pair,
// `edgeq compile --sign` signs the bundle's manifest (which lists the sha256 of every
// file), and `--trust <public key>` checks the signature before anything is used.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { checkInputFile } from './input-file.ts';
import { EdgeqError } from './errors.ts';

export function generateKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function readKey(path: string, kind: 'private' | 'public'): KeyObject {
  let pem: string;
  if (existsSync(path)) checkInputFile(path, `a PEM ${kind} key`, { maxBytes: 1 << 16 }); // a FIFO or device: refused, not read
  try {
    pem = readFileSync(path, 'utf8');
  } catch {
    throw new EdgeqError(`cannot read the ${kind} key`, { file: path });
  }
  // createPublicKey would happily derive the public half of a private key: a private key
  // passed where a public one belongs (--trust) means it is being handed around. Refuse.
  if (kind === 'public' && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new EdgeqError('is a PRIVATE key; --trust takes the public key (<name>.pub from edgeq keygen). Keep the private key secret', { file: path });
  }
  let key: KeyObject;
  try {
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
  } catch {
    throw new EdgeqError(`not a PEM ${kind} key (make one with \`edgeq keygen\`)`, { file: path });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new EdgeqError(`expected an Ed25519 ${kind} key, got ${key.asymmetricKeyType}`, { file: path });
  return key;
}

/** Throws (exit 1, naming the file) unless `path` holds an Ed25519 public key (a private key is refused). */
export function checkPublicKeyFile(path: string): void {
  readKey(path, 'public');
}

export function signWithKeyFile(data: Uint8Array, privateKeyPath: string): Uint8Array {
  return new Uint8Array(sign(null, data, readKey(privateKeyPath, 'private')));
}

export function verifyWithKeyFile(data: Uint8Array, signature: Uint8Array, publicKeyPath: string): boolean {
  return verify(null, data, readKey(publicKeyPath, 'public'), signature);
}
