/**
 * Per-path HMAC keys. Both ends of a path derive the same 32-byte key on their own:
 *   key = HKDF-SHA256(ikm = policy `key` bytes, else `authority.secret` bytes,
 *                     salt = "svrouter-path-key-v1",
 *                     info = the two endpoints "router/interface", sorted, joined by "|")
 * The key lives in a private field: it never shows in JSON.stringify or util.inspect.
 */
import { hkdfSync } from 'node:crypto';
import { inspect } from 'node:util';
import type { HmacCipher, HmacMode } from './config.js';
import type { CompiledHmac } from './tables.js';

export const PATH_KEY_SALT = 'svrouter-path-key-v1';
export const PATH_KEY_BYTES = 32;

/** The HKDF info string of the path between two endpoints; the same from either end. */
export function pathKeyInfo(endpointA: string, endpointB: string): string {
  return [endpointA, endpointB].sort().join('|');
}

/** HKDF-SHA256 of the key material for the path between two `router/interface` endpoints. */
export function derivePathKey(material: Uint8Array, endpointA: string, endpointB: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', material, PATH_KEY_SALT, pathKeyInfo(endpointA, endpointB), PATH_KEY_BYTES));
}

/** Trailer bytes: sha256-128 16, sha256 32, sha1 20; 0 when HMAC is disabled. */
export function hmacTagLength(mode: HmacMode, cipher: HmacCipher): number {
  if (mode === 'disabled') return 0;
  return cipher === 'sha256' ? 32 : cipher === 'sha1' ? 20 : 16;
}

/** A path's HMAC settings; `key` is readable but hidden from serialization and inspection. */
export class PathHmac implements CompiledHmac {
  readonly mode: HmacMode;
  readonly cipher: HmacCipher;
  readonly tagLength: number;
  readonly keyVersion: number;
  readonly rekeyDelayMs: number;
  readonly #key: Uint8Array;

  constructor(mode: HmacMode, cipher: HmacCipher, keyVersion: number, rekeyDelayMs: number, key: Uint8Array) {
    this.mode = mode;
    this.cipher = cipher;
    this.tagLength = hmacTagLength(mode, cipher);
    this.keyVersion = keyVersion;
    this.rekeyDelayMs = rekeyDelayMs;
    this.#key = key;
  }

  /** 32 bytes (empty when HMAC is disabled). Never log it. */
  get key(): Uint8Array {
    return this.#key;
  }

  [inspect.custom](): string {
    return `PathHmac { mode: '${this.mode}', cipher: '${this.cipher}', tagLength: ${this.tagLength}, keyVersion: ${this.keyVersion}, key: <hidden> }`;
  }
}

export const PAYLOAD_KEY_SALT = 'svrouter-payload-key-v1';

/**
 * The end-to-end payload key of a security policy's key version: HKDF-SHA256(policy key or authority
 * secret, salt "svrouter-payload-key-v1", info "<policy>|<version>"). Every router derives the same one.
 */
export function derivePayloadKey(material: Uint8Array, policy: string, version: number, bytes: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', material, PAYLOAD_KEY_SALT, `${policy}|${version}`, bytes));
}

/** A service's payload security; `key` is readable but hidden from serialization and inspection. */
export class PayloadSecurity {
  readonly #key: Uint8Array;
  constructor(
    readonly policy: string,
    readonly cipher: 'aes-cbc-128' | 'aes-cbc-256' | 'aes-gcm-256',
    readonly adaptive: boolean,
    readonly keyVersion: number,
    readonly rekeyDelayMs: number,
    key: Uint8Array,
  ) {
    this.#key = key;
  }

  get key(): Uint8Array {
    return this.#key;
  }

  toJSON(): Record<string, unknown> {
    return { policy: this.policy, cipher: this.cipher, adaptive: this.adaptive, keyVersion: this.keyVersion };
  }

  [inspect.custom](): string {
    return `PayloadSecurity { policy: '${this.policy}', cipher: '${this.cipher}', keyVersion: ${this.keyVersion}, key: <hidden> }`;
  }
}

export const METADATA_KEY_SALT = 'svrouter-metadata-key-v1';

/** The metadata key of the path between two endpoints (per hop, like SSR's inter-router security). */
export function deriveMetadataKey(material: Uint8Array, endpointA: string, endpointB: string, bytes: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', material, METADATA_KEY_SALT, pathKeyInfo(endpointA, endpointB), bytes));
}

/** A path's metadata cipher; the key is hidden from serialization and inspection. */
export class MetadataCipher {
  readonly #key: Uint8Array;
  constructor(readonly cipher: 'aes-cbc-128' | 'aes-cbc-256' | 'aes-gcm-256', key: Uint8Array) {
    this.#key = key;
  }
  get key(): Uint8Array {
    return this.#key;
  }
  toJSON(): Record<string, unknown> {
    return { cipher: this.cipher };
  }
  [inspect.custom](): string {
    return `MetadataCipher { cipher: '${this.cipher}', key: <hidden> }`;
  }
}
