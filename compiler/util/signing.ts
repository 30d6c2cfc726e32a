// Ed25519 signatures (node:crypto) for bundles: `edgeq keygen` makes a key pair,
// `edgeq compile --sign` signs the bundle's manifest (which lists the sha256 of every
// file), and `--trust <public key>` checks the signature before anything is used.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { EdgeqError } from './errors.ts';
import { requireRegularFile } from './input-file.ts';

export function generateKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function readKey(path: string, kind: 'private' | 'public'): KeyObject {
  if (existsSync(path)) requireRegularFile(path, `the ${kind} key`, 1 << 16); // a FIFO or /dev/zero would hang
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch {
    throw new EdgeqError(`cannot read the ${kind} key`, { file: path });
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

export function signWithKeyFile(data: Uint8Array, privateKeyPath: string): Uint8Array {
  return new Uint8Array(sign(null, data, readKey(privateKeyPath, 'private')));
}

export function verifyWithKeyFile(data: Uint8Array, signature: Uint8Array, publicKeyPath: string): boolean {
  return verify(null, data, readKey(publicKeyPath, 'public'), signature);
}
