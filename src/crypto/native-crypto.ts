/**
 * Batch packet crypto: one call encrypts, decrypts, signs or verifies a whole batch of packet regions.
 * The work runs in native/crypto.c (Node's own OpenSSL, contexts keyed once per key) when the addon is
 * built, else in node:crypto with the same bytes out (batch-js.ts). Every decision (which key, which
 * cipher, which regions, what a failed status means) stays with the caller. Formats: docs/crypto.md.
 *
 *   const enc = BatchCipher.create('aes-256-cbc', key);
 *   enc.encryptBatch(data, offsets, lengths, count);            // regions grow by <= CIPHER_MAX_GROWTH
 *   const mac = BatchHmac.create('sha256-128', hmacKey);
 *   mac.signBatch(data, offsets, lengths, count, timeSlot(timed, now));
 *   ...
 *   mac.verifyBatch(data, offsets, lengths, count, timeSlot(timed, now), status); // 0 ok, trailer stripped
 *   enc.decryptBatch(data, offsets, lengths, count, status);    // DECRYPT_* per packet
 *
 * Keys are copied into the implementation at create() (the caller may wipe its buffer) and never appear
 * in errors, logs or util.inspect output. destroy() releases them now; it is safe to call twice.
 */
import type { HmacCipher } from '../model/config.js';
import { SvrError } from '../errors.js';
import {
  CIPHER_KINDS,
  GCM_GROWTH,
  CBC_MAX_GROWTH,
  ivLength,
  keyLength,
  type CipherBackend,
  type CipherKind,
  type CryptoImpl,
  type HmacBackend,
} from './batch-common.js';
import { JsCipher, JsHmac } from './batch-js.js';
import { tagLength } from './hmac.js';
import { loadNativeCrypto, mapNativeCryptoError, tryLoadNativeCrypto, type NativeCryptoHandle, type SvrNativeCrypto } from './native-binding.js';

export * from './batch-common.js';
export { nativeCryptoAvailable, seedTestIvs } from './native-binding.js';

export interface BatchCryptoOptions {
  /** 'auto' (default): the addon when it loads, else node:crypto. 'native' throws SVR_ERR_NATIVE_MISSING without it. */
  impl?: CryptoImpl | 'auto';
  /** Package root holding build/Release/svr_native.node (default: found from this file). */
  root?: string;
}

const HMAC_CIPHERS: readonly HmacCipher[] = ['sha256-128', 'sha256', 'sha1'];

/** The addon to use, or null for node:crypto. */
function pickNative(options: BatchCryptoOptions | undefined): SvrNativeCrypto | null {
  const impl = options?.impl ?? 'auto';
  if (impl === 'js') return null;
  if (impl === 'native') return loadNativeCrypto(options?.root);
  const r = tryLoadNativeCrypto(options?.root);
  return r instanceof SvrError ? null : r;
}

function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw mapNativeCryptoError(e);
  }
}

class NativeCipher implements CipherBackend {
  constructor(private readonly n: SvrNativeCrypto, readonly h: NativeCryptoHandle) {}
  encrypt(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, ivs?: Uint8Array): void {
    if (ivs === undefined) this.n.encryptBatch(this.h, data, offsets, lengths, count);
    else this.n.encryptBatch(this.h, data, offsets, lengths, count, ivs);
  }
  decrypt(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Uint8Array): number {
    return this.n.decryptBatch(this.h, data, offsets, lengths, count, status);
  }
  destroy(): void {
    this.n.cryptoDestroy(this.h);
  }
}

class NativeHmac implements HmacBackend {
  #id = 0;
  constructor(private readonly n: SvrNativeCrypto, readonly h: NativeCryptoHandle, private readonly tagLen: number) {}
  /** hmacKeyId's id (asked once), or -1 with an addon without it */
  get id(): number {
    if (this.#id === 0) this.#id = this.n.hmacKeyId === undefined ? -1 : this.n.hmacKeyId(this.h);
    return this.#id;
  }
  sign(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, slot: number): void {
    this.n.hmacSignBatch(this.h, data, offsets, lengths, count, this.tagLen, slot);
  }
  verify(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, slot: number, status: Uint8Array): number {
    return this.n.hmacVerifyBatch(this.h, data, offsets, lengths, count, this.tagLen, slot, status);
  }
  destroy(): void {
    this.n.cryptoDestroy(this.h);
  }
}

function destroyedError(what: string): Error {
  return Object.assign(new Error(`the ${what} was destroyed`), { code: 'SVR_CRYPTO_HANDLE' as const });
}

/** A keyed AES cipher for batches: AES-128/256-CBC (IV || CBC(plaintext || PKCS#7)) or AES-256-GCM (nonce || ciphertext || tag). */
export class BatchCipher {
  readonly kind: CipherKind;
  readonly impl: CryptoImpl;
  /** IV (CBC, 16) or nonce (GCM, 12) length in front of each encrypted region. */
  readonly ivLength: number;
  /** The most a region grows on encryption (CBC 32, GCM 28): the tailroom each region needs. */
  readonly maxGrowth: number;
  #backend: CipherBackend | null;
  #encrypted = 0;

  private constructor(kind: CipherKind, impl: CryptoImpl, backend: CipherBackend) {
    this.kind = kind;
    this.impl = impl;
    this.ivLength = ivLength(kind);
    this.maxGrowth = kind === 'aes-256-gcm' ? GCM_GROWTH : CBC_MAX_GROWTH;
    this.#backend = backend;
  }

  /** The addon's handle (native/fwd.c seals with it), or null: the JS implementation, or destroyed. */
  get nativeHandle(): NativeCryptoHandle | null {
    return this.#backend instanceof NativeCipher ? this.#backend.h : null;
  }

  /** Throws SvrError SVR_ERR_CONFIG_INVALID for an unknown kind or a wrong key length. */
  static create(kind: CipherKind, key: Uint8Array, options?: BatchCryptoOptions): BatchCipher {
    if (!CIPHER_KINDS.includes(kind)) {
      throw new SvrError('SVR_ERR_CONFIG_INVALID', `unknown cipher kind "${String(kind)}" (aes-128-cbc, aes-256-cbc or aes-256-gcm)`);
    }
    if (!(key instanceof Uint8Array) || key.length !== keyLength(kind)) {
      const got = key instanceof Uint8Array ? `${key.length} bytes` : 'not a Uint8Array';
      throw new SvrError('SVR_ERR_CONFIG_INVALID', `${kind} needs a ${keyLength(kind)}-byte key, got ${got}`);
    }
    const n = pickNative(options);
    if (n === null) return new BatchCipher(kind, 'js', new JsCipher(kind, key));
    return new BatchCipher(kind, 'native', new NativeCipher(n, callNative(() => n.cipherCreate(kind, key))));
  }

  private live(): CipherBackend {
    if (this.#backend === null) throw destroyedError('cipher');
    return this.#backend;
  }

  /** Packets encrypted with this key so far. With GCM's random 96-bit nonces, rekey well before 2^32. */
  get encryptedPackets(): number {
    return this.#encrypted;
  }

  get destroyed(): boolean {
    return this.#backend === null;
  }

  /** Encrypts each region in place with a fresh random IV; lengths[i] grows (see cipherGrowth). */
  encryptBatch(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    this.live().encrypt(data, offsets, lengths, count);
    this.#encrypted += count;
  }

  /** Tests only: encryptBatch with the IVs ivs[i * ivLength, (i + 1) * ivLength). Never reuse an IV with a key. */
  encryptBatchWithIvs(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, ivs: Uint8Array): void {
    this.live().encrypt(data, offsets, lengths, count, ivs);
    this.#encrypted += count;
  }

  /** Decrypts each region in place; status[i] is DECRYPT_OK (lengths[i] updated) or a DECRYPT_* failure. Returns the ok count. */
  decryptBatch(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Uint8Array): number {
    return this.live().decrypt(data, offsets, lengths, count, status);
  }

  /** Releases the key now. Safe to call twice; any later use throws. */
  destroy(): void {
    const b = this.#backend;
    this.#backend = null;
    b?.destroy();
  }
}

/** A keyed HMAC for batches, with the tags of src/crypto/hmac.ts (sha256-128, sha256, sha1). */
export class BatchHmac {
  readonly cipher: HmacCipher;
  readonly impl: CryptoImpl;
  /** Trailer length: 16 (sha256-128), 32 (sha256), 20 (sha1). */
  readonly tagLength: number;
  #backend: HmacBackend | null;

  private constructor(cipher: HmacCipher, impl: CryptoImpl, backend: HmacBackend) {
    this.cipher = cipher;
    this.impl = impl;
    this.tagLength = tagLength(cipher);
    this.#backend = backend;
  }

  /** The addon's handle (native/fwd.c signs with it), or null: the JS implementation, or destroyed. */
  get nativeHandle(): NativeCryptoHandle | null {
    return this.#backend instanceof NativeHmac ? this.#backend.h : null;
  }

  /** The addon's id of this key for the many-key calls (HmacMany with ids), or -1: JS, destroyed, or an addon without ids. */
  get nativeId(): number {
    return this.#backend instanceof NativeHmac ? this.#backend.id : -1;
  }

  /** Throws SvrError SVR_ERR_CONFIG_INVALID for an unknown cipher or an empty key. */
  static create(cipher: HmacCipher, key: Uint8Array, options?: BatchCryptoOptions): BatchHmac {
    if (!HMAC_CIPHERS.includes(cipher)) {
      throw new SvrError('SVR_ERR_CONFIG_INVALID', `unknown HMAC cipher "${String(cipher)}" (sha256-128, sha256 or sha1)`);
    }
    if (!(key instanceof Uint8Array) || key.length === 0) {
      throw new SvrError('SVR_ERR_CONFIG_INVALID', 'an HMAC key must be a non-empty Uint8Array');
    }
    const n = pickNative(options);
    if (n === null) return new BatchHmac(cipher, 'js', new JsHmac(cipher, key));
    const alg = cipher === 'sha1' ? 'sha1' : 'sha256';
    return new BatchHmac(cipher, 'native', new NativeHmac(n, callNative(() => n.hmacCreate(alg, key)), tagLength(cipher)));
  }

  private live(): HmacBackend {
    if (this.#backend === null) throw destroyedError('HMAC');
    return this.#backend;
  }

  get destroyed(): boolean {
    return this.#backend === null;
  }

  /**
   * Appends the tag of each region (and of `slot` as 4 big-endian bytes when slot >= 0, see timeSlot in
   * hmac.ts) right after it; lengths[i] += tagLength. Each region needs tagLength bytes of tailroom.
   */
  signBatch(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, slot: number): void {
    this.live().sign(data, offsets, lengths, count, slot);
  }

  /**
   * Checks the trailer of each region (time-based: slot, slot-1 and slot+1 accepted). status[i] is
   * VERIFY_OK (trailer stripped, lengths[i] -= tagLength) or VERIFY_FAILED (region untouched). Returns the ok count.
   */
  verifyBatch(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, slot: number, status: Uint8Array): number {
    return this.live().verify(data, offsets, lengths, count, slot, status);
  }

  /** Releases the key now. Safe to call twice; any later use throws. */
  destroy(): void {
    const b = this.#backend;
    this.#backend = null;
    b?.destroy();
  }
}

/** Tags of regions under many keys in one native call (native/hmac-many.c): region i under keys[i], a handle or its
 *  BatchHmac.nativeId (ids: no N-API call per region). */
export interface HmacMany {
  sign(keys: readonly NativeCryptoHandle[] | Uint32Array, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, tagLengths: Uint8Array, slots: Float64Array): void;
  verify(keys: readonly NativeCryptoHandle[] | Uint32Array, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, tagLengths: Uint8Array, slots: Float64Array, status: Uint8Array): number;
}

/** The addon's many-key HMAC calls, or null (no addon or an older one, or SVR_HMAC_MANY=0: one call per key as before). */
export function hmacMany(): HmacMany | null {
  if (process.env['SVR_HMAC_MANY'] === '0') return null;
  const n = pickNative(undefined);
  const sign = n?.hmacSignMany, verify = n?.hmacVerifyMany;
  if (n === null || sign === undefined || verify === undefined) return null;
  return { sign: sign.bind(n), verify: verify.bind(n) };
}
