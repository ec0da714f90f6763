/**
 * What the native batch crypto (native/crypto.c) and its node:crypto fallback (batch-js.ts) share:
 * kinds, formats, status codes, and the argument checks, so both behave the same on every input.
 *
 * Batch layout as everywhere in svrouter: one Uint8Array `data`, region i is
 * data[offsets[i], offsets[i] + lengths[i]), `count` regions. Every call checks all regions before it
 * touches any byte: a RangeError (code SVR_CRYPTO_RANGE) leaves the batch unchanged.
 */

export type CipherKind = 'aes-128-cbc' | 'aes-256-cbc' | 'aes-256-gcm';
export const CIPHER_KINDS: readonly CipherKind[] = ['aes-128-cbc', 'aes-256-cbc', 'aes-256-gcm'];

/** Which implementation runs the crypto. */
export type CryptoImpl = 'native' | 'js';

export const CBC_IV_LENGTH = 16;
export const GCM_NONCE_LENGTH = 12;
export const GCM_TAG_LENGTH = 16;
/** CBC grows a region by IV (16) + PKCS#7 padding (1..16): at most 32 bytes. */
export const CBC_MAX_GROWTH = 32;
/** GCM grows a region by nonce (12) + tag (16). */
export const GCM_GROWTH = GCM_NONCE_LENGTH + GCM_TAG_LENGTH;
/** The tailroom every region needs in front of the next one (or the end of `data`) for any kind. */
export const CIPHER_MAX_GROWTH = CBC_MAX_GROWTH;
/** Largest region the batch functions accept (1 GiB). */
export const MAX_REGION = 2 ** 30;

/** decryptBatch status values. */
export const DECRYPT_OK = 0;
/** Shorter than IV + one block (CBC) or nonce + tag (GCM), or not IV + whole blocks. Region untouched. */
export const DECRYPT_SHORT = 1;
/** CBC padding is not valid PKCS#7. The region is zeroed. */
export const DECRYPT_BAD_PADDING = 2;
/** GCM tag mismatch. The region is zeroed. */
export const DECRYPT_BAD_TAG = 3;

/** hmacVerifyBatch status values. */
export const VERIFY_OK = 0;
/** Shorter than the tag, or no accepted slot gives this tag. Region untouched. */
export const VERIFY_FAILED = 1;

export function keyLength(kind: CipherKind): number {
  return kind === 'aes-128-cbc' ? 16 : 32;
}

export function ivLength(kind: CipherKind): number {
  return kind === 'aes-256-gcm' ? GCM_NONCE_LENGTH : CBC_IV_LENGTH;
}

/** Exact growth of a region of `plaintextLength` bytes when encrypted with `kind`. */
export function cipherGrowth(kind: CipherKind, plaintextLength: number): number {
  return kind === 'aes-256-gcm' ? GCM_GROWTH : CBC_IV_LENGTH + (16 - (plaintextLength % 16));
}

/** Error codes of the addon's crypto functions (thrown as the `code` of an Error or RangeError). */
export type NativeCryptoCode =
  | 'SVR_CRYPTO_KIND'
  | 'SVR_CRYPTO_KEY'
  | 'SVR_CRYPTO_RANGE'
  | 'SVR_CRYPTO_HANDLE'
  | 'SVR_CRYPTO_OPENSSL';

/** A misuse of the batch API (a caller bug, not a bad packet). */
export interface CryptoRangeError extends RangeError {
  code: 'SVR_CRYPTO_RANGE';
}

export function cryptoRangeError(message: string): CryptoRangeError {
  const e = new RangeError(message) as CryptoRangeError;
  e.code = 'SVR_CRYPTO_RANGE';
  return e;
}

/** Throws unless `count` fits both index arrays (same rule as the addon). */
export function checkCount(offsets: Uint32Array, lengths: Uint32Array, count: number): void {
  if (!Number.isInteger(count) || count < 0 || count > 0x7fffffff) throw new TypeError('count must be a non-negative integer');
  if (count > offsets.length || count > lengths.length) {
    throw cryptoRangeError(`count ${count} exceeds offsets (${offsets.length}) or lengths (${lengths.length})`);
  }
}

/** Throws unless every region, grown by growth(length) bytes, lies inside data. */
export function checkRegions(
  what: string,
  data: Uint8Array,
  offsets: Uint32Array,
  lengths: Uint32Array,
  count: number,
  growth: (length: number) => number,
): void {
  for (let i = 0; i < count; i++) {
    const off = offsets[i]!;
    const len = lengths[i]!;
    const grow = growth(len);
    if (len > MAX_REGION || off + len + grow > data.length) {
      throw cryptoRangeError(
        `${what}: region ${i} (offset ${off}, length ${len}) plus ${grow} bytes of growth does not fit in data (${data.length} bytes)`,
      );
    }
  }
}

export function checkStatus(status: Uint8Array, count: number): void {
  if (status.length < count) throw cryptoRangeError(`status has ${status.length} entries, count is ${count}`);
}

/** slot: -1 (none) or an integer 0..2^32-1 (see timeSlot in hmac.ts). */
export function checkSlot(slot: number): void {
  if (!Number.isInteger(slot) || slot < -1 || slot > 0xffffffff) {
    throw cryptoRangeError('slot must be -1 (none) or an integer 0..2^32-1');
  }
}

/** One keyed cipher, native or node:crypto (the public wrapper is BatchCipher in native-crypto.ts). */
export interface CipherBackend {
  encrypt(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, ivs?: Uint8Array): void;
  decrypt(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Uint8Array): number;
  destroy(): void;
}

/** One keyed HMAC, native or node:crypto (the public wrapper is BatchHmac in native-crypto.ts). */
export interface HmacBackend {
  sign(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, slot: number): void;
  verify(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, slot: number, status: Uint8Array): number;
  destroy(): void;
}
