/**
 * The node:crypto fallback of the batch crypto: the same formats, statuses, checks and byte layout as
 * native/crypto.c, one createCipheriv / createHmac per packet (about 10× slower, see docs/crypto.md).
 * Used when the addon is not built, and by the tests as the reference the addon must match byte for byte.
 * HMAC goes through src/crypto/hmac.ts (signInto / verifyTrailer), so its tags are the dataplane's tags.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync, type KeyObject } from 'node:crypto';
import type { HmacCipher } from '../model/config.js';
import {
  CBC_IV_LENGTH,
  DECRYPT_BAD_PADDING,
  DECRYPT_BAD_TAG,
  DECRYPT_OK,
  DECRYPT_SHORT,
  GCM_NONCE_LENGTH,
  GCM_TAG_LENGTH,
  VERIFY_FAILED,
  VERIFY_OK,
  checkCount,
  checkRegions,
  checkSlot,
  checkStatus,
  cipherGrowth,
  cryptoRangeError,
  ivLength,
  type CipherBackend,
  type CipherKind,
  type HmacBackend,
} from './batch-common.js';
import { signInto, tagLength, verifyTrailer } from './hmac.js';

const noGrowth = (): number => 0;

/** PKCS#7 padding length of the 16-byte block at data[at, at + 16), or 0 when invalid. */
export function pkcs7Padding(data: Uint8Array, at: number): number {
  const pad = data[at + 15]!;
  let diff = 0;
  for (let j = 0; j < 16; j++) diff |= (j < pad ? 0xff : 0) & (data[at + 15 - j]! ^ pad);
  return diff === 0 && pad >= 1 && pad <= 16 ? pad : 0;
}

export class JsCipher implements CipherBackend {
  #key: KeyObject | null;
  private readonly ivLen: number;
  private scratch = new Uint8Array(0);
  private readonly growth: (length: number) => number;

  constructor(private readonly kind: CipherKind, key: Uint8Array) {
    this.#key = createSecretKey(Buffer.from(key)); // a copy: the caller may wipe its key
    this.ivLen = ivLength(kind);
    this.growth = (length) => cipherGrowth(kind, length);
  }

  private liveKey(): KeyObject {
    if (this.#key === null) throw new Error('the cipher was destroyed');
    return this.#key;
  }

  encrypt(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, ivs?: Uint8Array): void {
    const key = this.liveKey();
    checkCount(offsets, lengths, count);
    checkRegions('encryptBatch', data, offsets, lengths, count, this.growth);
    if (count === 0) return;
    const n = count * this.ivLen;
    let all: Uint8Array;
    if (ivs !== undefined) {
      if (ivs.length < n) throw cryptoRangeError(`ivs has ${ivs.length} bytes, ${count} packets need ${n}`);
      all = ivs;
    } else {
      if (this.scratch.length < n) this.scratch = new Uint8Array(n);
      all = randomFillSync(this.scratch, 0, n);
    }
    for (let i = 0; i < count; i++) {
      const off = offsets[i]!;
      const iv = all.subarray(i * this.ivLen, (i + 1) * this.ivLen);
      lengths[i] = this.encryptOne(key, data, off, lengths[i]!, iv);
    }
  }

  /** data[off, off + len) := IV || ciphertext (|| tag); returns the new length. */
  private encryptOne(key: KeyObject, data: Uint8Array, off: number, len: number, iv: Uint8Array): number {
    const plain = data.subarray(off, off + len);
    let parts: Buffer[];
    if (this.kind === 'aes-256-gcm') {
      const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_LENGTH });
      parts = [c.update(plain), c.final()];
      parts.push(c.getAuthTag());
    } else {
      const c = createCipheriv(this.kind, key, iv);
      parts = [c.update(plain), c.final()];
    }
    data.set(iv, off);
    let at = off + iv.length;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    return at - off;
  }

  decrypt(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Uint8Array): number {
    const key = this.liveKey();
    checkCount(offsets, lengths, count);
    checkStatus(status, count);
    checkRegions('decryptBatch', data, offsets, lengths, count, noGrowth);
    let ok = 0;
    for (let i = 0; i < count; i++) {
      const s = this.kind === 'aes-256-gcm' ? this.gcmOne(key, data, offsets[i]!, lengths, i) : this.cbcOne(key, data, offsets[i]!, lengths, i);
      status[i] = s;
      if (s === DECRYPT_OK) ok++;
    }
    return ok;
  }

  private cbcOne(key: KeyObject, data: Uint8Array, off: number, lengths: Uint32Array, i: number): number {
    const len = lengths[i]!;
    if (len < CBC_IV_LENGTH + 16 || len % 16 !== 0) return DECRYPT_SHORT;
    const d = createDecipheriv(this.kind, key, data.subarray(off, off + CBC_IV_LENGTH));
    d.setAutoPadding(false);
    const body = d.update(data.subarray(off + CBC_IV_LENGTH, off + len));
    const n = len - CBC_IV_LENGTH;
    const pad = pkcs7Padding(body, n - 16);
    if (pad === 0) {
      data.fill(0, off, off + len);
      return DECRYPT_BAD_PADDING;
    }
    data.set(body.subarray(0, n - pad), off);
    lengths[i] = n - pad;
    return DECRYPT_OK;
  }

  private gcmOne(key: KeyObject, data: Uint8Array, off: number, lengths: Uint32Array, i: number): number {
    const len = lengths[i]!;
    if (len < GCM_NONCE_LENGTH + GCM_TAG_LENGTH) return DECRYPT_SHORT;
    const end = off + len - GCM_TAG_LENGTH;
    const d = createDecipheriv('aes-256-gcm', key, data.subarray(off, off + GCM_NONCE_LENGTH), { authTagLength: GCM_TAG_LENGTH });
    d.setAuthTag(data.subarray(end, off + len));
    const body = d.update(data.subarray(off + GCM_NONCE_LENGTH, end));
    try {
      d.final();
    } catch {
      data.fill(0, off, off + len);
      return DECRYPT_BAD_TAG;
    }
    data.set(body, off);
    lengths[i] = body.length;
    return DECRYPT_OK;
  }

  destroy(): void {
    this.#key = null;
    this.scratch = new Uint8Array(0);
  }
}

export class JsHmac implements HmacBackend {
  #key: Uint8Array | null;
  private readonly tagLen: number;
  private readonly growth: (length: number) => number;

  constructor(private readonly cipher: HmacCipher, key: Uint8Array) {
    this.#key = key.slice(); // a copy: the caller may wipe its key
    this.tagLen = tagLength(cipher);
    this.growth = () => this.tagLen;
  }

  private liveKey(): Uint8Array {
    if (this.#key === null) throw new Error('the HMAC was destroyed');
    return this.#key;
  }

  sign(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, slot: number): void {
    const key = this.liveKey();
    checkCount(offsets, lengths, count);
    checkSlot(slot);
    checkRegions('hmacSignBatch', data, offsets, lengths, count, this.growth);
    for (let i = 0; i < count; i++) {
      const off = offsets[i]!;
      lengths[i] = lengths[i]! + signInto(this.cipher, key, data, off, off + lengths[i]!, slot);
    }
  }

  verify(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, slot: number, status: Uint8Array): number {
    const key = this.liveKey();
    checkCount(offsets, lengths, count);
    checkSlot(slot);
    checkStatus(status, count);
    checkRegions('hmacVerifyBatch', data, offsets, lengths, count, noGrowth);
    let ok = 0;
    for (let i = 0; i < count; i++) {
      const off = offsets[i]!;
      const len = lengths[i]!;
      if (len >= this.tagLen && verifyTrailer(this.cipher, key, data, off, off + len, slot)) {
        lengths[i] = len - this.tagLen;
        status[i] = VERIFY_OK;
        ok++;
      } else {
        status[i] = VERIFY_FAILED;
      }
    }
    return ok;
  }

  destroy(): void {
    this.#key?.fill(0);
    this.#key = null;
  }
}
