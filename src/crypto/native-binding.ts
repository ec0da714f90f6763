/**
 * The batch-crypto part of the svr_native addon (native/crypto.c documents each function). Loaded from
 * the same build/Release/svr_native.node as the TUN functions; unlike loadNative() in src/io/tun/native.ts
 * this does not need TUN support, so it also works where tun.c is not built.
 */
import { join } from 'node:path';
import { SvrError } from '../errors.js';
import { NATIVE_ADDON_RELATIVE_PATH, findPackageRoot, tryLoadAddon } from '../native/addon.js';
import type { NativeCryptoCode } from './batch-common.js';

declare const cryptoHandleBrand: unique symbol;
/** Opaque handle of a keyed cipher or HMAC context in the addon. */
export interface NativeCryptoHandle {
  readonly [cryptoHandleBrand]: true;
}

export interface SvrNativeCrypto {
  cipherCreate(kind: string, key: Uint8Array): NativeCryptoHandle;
  encryptBatch(h: NativeCryptoHandle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, ivs?: Uint8Array): void;
  decryptBatch(h: NativeCryptoHandle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Uint8Array): number;
  hmacCreate(alg: string, key: Uint8Array): NativeCryptoHandle;
  hmacSignBatch(
    h: NativeCryptoHandle,
    data: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    tagLength: number,
    slot: number,
  ): void;
  hmacVerifyBatch(
    h: NativeCryptoHandle,
    data: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    tagLength: number,
    slot: number,
    status: Uint8Array,
  ): number;
  /** hmacSignBatch for regions of many keys (region i under keys[i]: handles, or their hmacKeyId ids) in one call (native/hmac-many.c). */
  hmacSignMany?(
    keys: readonly NativeCryptoHandle[] | Uint32Array,
    data: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    tagLengths: Uint8Array,
    slots: Float64Array,
  ): void;
  /** hmacVerifyBatch for regions of many keys in one call (native/hmac-many.c). */
  hmacVerifyMany?(
    keys: readonly NativeCryptoHandle[] | Uint32Array,
    data: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    tagLengths: Uint8Array,
    slots: Float64Array,
    status: Uint8Array,
  ): number;
  /** An HMAC key's id for the many-key calls (>= 1; given once, returned when the key is destroyed). */
  hmacKeyId?(h: NativeCryptoHandle): number;
  /** Frees the contexts now; twice is a no-op. */
  cryptoDestroy(h: NativeCryptoHandle): void;
  /** The version of the OpenSSL the addon calls (Node's own), e.g. "3.0.19". */
  cryptoOpensslVersion(): string;
  /** whether SHA-256 tags of a batch are computed 16 at a time on this CPU (AVX-512; native/hmac-lanes.c) */
  cryptoHmacLanes(): boolean;
  /** whether SHA-256 tags of a batch are hashed with the SHA extensions, messages interleaved (native/hmac-shani.c) */
  cryptoHmacShani(): boolean;
  /** whether AES-CBC decryption runs four blocks per instruction on this CPU (VAES, AVX-512; native/aes-cbc-vaes.c) */
  cryptoAesVaes(): boolean;
  /** Tests only: ciphers created from now on draw their IVs from a stream of `seed` (0: RAND_bytes again). */
  cryptoTestIvs(seed: number): void;
}

/** An error thrown by the addon's crypto functions. */
export interface NativeCryptoError extends Error {
  code: NativeCryptoCode;
}

export function isNativeCryptoError(e: unknown, code?: NativeCryptoCode): e is NativeCryptoError {
  if (!(e instanceof Error)) return false;
  const c = (e as Partial<NativeCryptoError>).code;
  return typeof c === 'string' && c.startsWith('SVR_CRYPTO_') && (code === undefined || c === code);
}

/**
 * Turns the addon's configuration errors (unknown kind, bad key length) into SvrError
 * SVR_ERR_CONFIG_INVALID (keys and kinds come from security policies); the native code is kept in `data`.
 * Other errors (range, handle, OpenSSL) are caller bugs or internal failures and are returned unchanged.
 */
export function mapNativeCryptoError(e: unknown): unknown {
  if (isNativeCryptoError(e, 'SVR_CRYPTO_KIND') || isNativeCryptoError(e, 'SVR_CRYPTO_KEY')) {
    return new SvrError('SVR_ERR_CONFIG_INVALID', e.message, { nativeCode: e.code, cause: e });
  }
  return e;
}

/** The addon's crypto functions, or the SvrError (SVR_ERR_NATIVE_MISSING) saying why they are missing. */
export function tryLoadNativeCrypto(root?: string): SvrNativeCrypto | SvrError {
  const mod = tryLoadAddon(root);
  if (mod instanceof SvrError) return mod;
  if (typeof mod['cipherCreate'] !== 'function' || typeof mod['cryptoOpensslVersion'] !== 'function') {
    return new SvrError(
      'SVR_ERR_NATIVE_MISSING',
      `the native addon ${join(root ?? findPackageRoot(), NATIVE_ADDON_RELATIVE_PATH)} has no batch crypto (built from older sources?): rebuild it with npm run build:native`,
    );
  }
  return mod as unknown as SvrNativeCrypto;
}

/** The addon's crypto functions. Throws SvrError SVR_ERR_NATIVE_MISSING. */
export function loadNativeCrypto(root?: string): SvrNativeCrypto {
  const r = tryLoadNativeCrypto(root);
  if (r instanceof SvrError) throw r;
  return r;
}

export function nativeCryptoAvailable(root?: string): boolean {
  return !(tryLoadNativeCrypto(root) instanceof SvrError);
}

/**
 * Tests only: ciphers created from now on take their IVs from a stream of `seed` of their own (1..2^32-1), the same
 * for two ciphers created alike, so two runs seal the same bytes; 0: random again. False without the addon.
 */
export function seedTestIvs(seed: number): boolean {
  const n = tryLoadNativeCrypto();
  if (n instanceof SvrError) return false;
  n.cryptoTestIvs(seed);
  return true;
}
