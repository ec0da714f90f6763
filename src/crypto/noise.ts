/**
 * The primitives of the path key exchange (docs/security.md "Key exchange"), on node:crypto:
 * X25519 (RFC 7748), SHA-256, HMAC-SHA256, the Noise HKDF (Noise spec §4.3: HMAC-based, 2 or 3 outputs),
 * ChaCha20-Poly1305 (RFC 8439) with Noise's nonce (4 zero bytes, then a little-endian u64 counter) and
 * TAI64N timestamps (WireGuard §5.4.2). Control-plane rate: these allocate freely.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, timingSafeEqual, type JsonWebKey, type KeyObject } from 'node:crypto';

export const KEY_LENGTH = 32;
export const TAG_LENGTH = 16;
export const TIMESTAMP_LENGTH = 12;

// raw keys go in and out as JWK: OpenSSL 3.0's DER decoders cost ~75 µs a key, JWK ~9 µs
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

function rawPublic(k: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url'));
}

/** An X25519 key pair; `publicKey` is the raw 32 bytes. */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
}

export function generateKeyPair(): KeyPair {
  // the public key comes out of the key generation as JWK: exporting it afterwards can deadlock Node 20 when a
  // garbage collection during the export finalizes the generation job holding the same key's lock
  // (@types/node has no overload for a JWK public key encoding)
  const { publicKey, privateKey } = generateKeyPairSync('x25519', { publicKeyEncoding: { format: 'jwk' } } as object) as unknown as { publicKey: JsonWebKey; privateKey: KeyObject };
  return { publicKey: new Uint8Array(Buffer.from(publicKey.x!, 'base64url')), privateKey };
}

/** A key pair from a raw 32-byte private key (RFC 7748 clamping is done by X25519 itself). */
export function keyPairFromPrivate(raw: Uint8Array): KeyPair {
  if (raw.length !== KEY_LENGTH) throw new RangeError(`an X25519 private key is ${KEY_LENGTH} bytes, got ${raw.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
  return { publicKey: rawPublic(createPublicKey(privateKey)), privateKey };
}

/** The raw private key (for writing a key file). */
export function privateKeyBytes(k: KeyPair): Uint8Array {
  return new Uint8Array(k.privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_X25519.length));
}

/** X25519(private, public); throws for a low-order public key (an all-zero shared secret, RFC 7748 §6.1). */
export function dh(own: KeyPair, peerPublic: Uint8Array): Uint8Array {
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peerPublic).toString('base64url') }, format: 'jwk' });
  return new Uint8Array(diffieHellman({ privateKey: own.privateKey, publicKey }));
}

export function hash(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Noise HKDF(chainingKey, input) -> n outputs of 32 bytes (n = 1..3). */
export function kdf(chainingKey: Uint8Array, input: Uint8Array, n: 1 | 2 | 3): Uint8Array[] {
  const temp = hmac(chainingKey, input);
  const out: Uint8Array[] = [];
  let prev: Uint8Array = new Uint8Array(0);
  for (let i = 1; i <= n; i++) {
    prev = hmac(temp, prev, Uint8Array.of(i));
    out.push(prev);
  }
  return out;
}

export const NONCE_LENGTH = 12;

/** Noise's nonce for a counter: 4 zero bytes, then the counter as a little-endian u64. */
export function counterNonce(counter: number): Uint8Array {
  const n = Buffer.alloc(NONCE_LENGTH);
  n.writeBigUInt64LE(BigInt(counter), 4);
  return n;
}

/** ChaCha20-Poly1305 seal: ciphertext || tag. */
export function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH });
  c.setAAD(ad, { plaintextLength: plaintext.length });
  return new Uint8Array(Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]));
}

/** ChaCha20-Poly1305 open; undefined when the tag does not match. */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array | undefined {
  if (sealed.length < TAG_LENGTH) return undefined;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH });
  d.setAAD(ad, { plaintextLength: sealed.length - TAG_LENGTH });
  d.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
  try {
    return new Uint8Array(Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG_LENGTH)), d.final()]));
  } catch {
    return undefined;
  }
}

/** TAI64N of a time in ms (label 2^62 + seconds, then nanoseconds), big-endian: compares as bytes. */
export function tai64n(ms: number): Uint8Array {
  const out = Buffer.alloc(TIMESTAMP_LENGTH);
  const s = Math.floor(ms / 1000);
  out.writeBigUInt64BE(0x4000000000000000n + BigInt(s), 0);
  out.writeUInt32BE(Math.floor((ms - s * 1000) * 1e6), 8);
  return new Uint8Array(out);
}

/** Byte-wise comparison of equal-length arrays: < 0, 0, > 0. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
