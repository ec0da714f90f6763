/**
 * A router's private key file (`identity.private-key-file`, made by `svr identity new`): 32 raw bytes, or
 * their base64 on one line. Read by the router's own node only (docs/security.md "Identities").
 */
import { readFileSync } from 'node:fs';
import { SvrError } from '../errors.js';
import { keyPairFromPrivate, type KeyPair } from './noise.js';

/** Reads a private key file: 32 raw bytes, or their base64 on one line. */
export function readPrivateKeyFile(file: string): KeyPair {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new SvrError('SVR_ERR_IDENTITY_KEY', `cannot read the private key file ${file}: ${(e as Error).message}`);
  }
  const text = bytes.toString('utf8').trim();
  const raw = bytes.length === 32 ? bytes : /^[A-Za-z0-9+/]{43}=$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (raw === undefined) {
    throw new SvrError('SVR_ERR_IDENTITY_KEY', `${file} is not an X25519 private key (32 bytes, or their base64 on one line); make one with \`svr identity new --out ${file}\``);
  }
  return keyPairFromPrivate(raw);
}
