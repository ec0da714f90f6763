/**
 * Crypto handles of one data path, rebuilt between batches when the tables change:
 * - per peer path: the key slots (path-keys.ts): HMAC and metadata cipher per key id, replay windows;
 * - per security policy: the payload ciphers of its key versions, by key id (§4.3). A new key version is
 *   accepted at once and used for sending only `rekeyDelayMs` later, and older versions stay accepted for
 *   a grace period, so keys rotate without dropping packets while routers reload one after another.
 * - key limits: AES-GCM with random 96-bit nonces may encrypt fewer than 2^32 packets under one key
 *   (NIST SP 800-38D §8.3); a key that reaches `limits.gcmPackets` (shared by the workers) is refused.
 * One-packet calls cost ~1–3 µs in native code (docs/crypto.md); no node:crypto object per packet.
 */
import { BatchCipher } from '../crypto/native-crypto.js';
import type { ForwardingTables } from '../model/tables.js';
import { CIPHER_KIND, PathKeys, keyId, type RxKey } from './path-keys.js';

const GRACE_MS = 120_000;

/** AES-GCM packets per key, all workers together: 2^32 less a margin for the packets in flight. */
export const GCM_KEY_PACKETS = 2 ** 32 - 2 ** 24;

export interface KeyLimits {
  /** packets one GCM key may encrypt in this data path (GCM_KEY_PACKETS / workers) */
  gcmPackets: number;
}

/** True when `c` is an AES-GCM key that reached its nonce budget. */
export function exhausted(c: BatchCipher, limits: KeyLimits): boolean {
  return c.kind === 'aes-256-gcm' && c.encryptedPackets >= limits.gcmPackets;
}

export interface PolicyKey {
  version: number;
  /** the key bytes it was made from (a reload with other bytes under the same version replaces it) */
  key: Uint8Array;
  cipher: BatchCipher;
  /** when this router starts sending with it */
  activeAt: number;
  /** when it stops being accepted (set when a newer version becomes active) */
  retireAt: number;
}

/** A security policy's payload keys by key id, and the one to send with from `from` until `until` (ms): sendKey looks at
 *  the keys again only when a key becomes active or reaches its retirement, or the keys changed (update), so a
 *  packet makes no iterator (they were most of r1's garbage in an encrypted TCP run). */
interface PolicyKeys {
  keys: Map<number, PolicyKey>;
  best: PolicyKey | undefined;
  from: number;
  until: number;
}

export class PathCrypto {
  /** key slots and replay windows of the peer paths */
  readonly keys = new PathKeys();
  readonly limits: KeyLimits = { gcmPackets: GCM_KEY_PACKETS };
  /** the rx key of the last packet verifyPacket accepted (its metadata cipher decrypts that packet) */
  matched: RxKey | null = null;
  private readonly policies = new Map<string, PolicyKeys>();
  /** per service id: its payload policy name, '' when it does not encrypt */
  private servicePolicy: string[] = [];
  /** HMAC tags a batch at a time (batch-tags.ts); SVR_BATCH_HMAC=0: one call per packet, to measure or compare */
  batchTags = process.env['SVR_BATCH_HMAC'] !== '0';
  /** payloads a frame at a time on receive (payload-open.ts); SVR_BATCH_OPEN=0: one call per packet, to measure or compare */
  batchOpen = process.env['SVR_BATCH_OPEN'] !== '0';
  // single-packet scratch for calls into the batch API
  readonly off = new Uint32Array(1);
  readonly len = new Uint32Array(1);
  readonly status = new Uint8Array(1);

  /** This data path is one of `workers` sharing each key's GCM budget; `index` is its sender id. */
  setWorker(index: number, workers: number): void {
    this.keys.sender = index;
    this.limits.gcmPackets = Math.floor(GCM_KEY_PACKETS / Math.max(1, workers));
  }

  update(t: ForwardingTables, now: number): void {
    this.keys.setTables(t, now);
    this.servicePolicy = t.services.map((s) => s.payload?.policy ?? '');
    for (const svc of t.services) {
      const sec = svc.payload;
      if (sec === undefined) continue;
      let policy = this.policies.get(sec.policy);
      if (policy === undefined) {
        policy = { keys: new Map(), best: undefined, from: Infinity, until: -Infinity };
        this.policies.set(sec.policy, policy);
      }
      policy.until = -Infinity; // looked at again by the next sendKey
      const keys = policy.keys;
      const kid = keyId(sec.keyVersion);
      const have = keys.get(kid);
      const sameVersion = have !== undefined && have.version === sec.keyVersion;
      if (sameVersion && Buffer.compare(have.key, sec.key) === 0) continue;
      have?.cipher.destroy();
      // new material under the same version (a new authority secret) replaces the key of its id: sent with at once
      const at = keys.size === 0 || sameVersion ? now : now + sec.rekeyDelayMs;
      keys.set(kid, { version: sec.keyVersion, key: sec.key, cipher: BatchCipher.create(CIPHER_KIND[sec.cipher], sec.key), activeAt: at, retireAt: Infinity });
    }
  }

  /** Key id and cipher to send with for service `svc` at `now`: the newest active version. */
  sendKey(svc: number, now: number): PolicyKey | undefined {
    const policy = this.policies.get(this.servicePolicy[svc] ?? '');
    if (policy === undefined) return undefined;
    if (now < policy.until && now >= policy.from) return policy.best;
    const keys = policy.keys;
    let best: PolicyKey | undefined;
    for (const k of keys.values()) if (k.activeAt <= now && (best === undefined || k.version > best.version)) best = k;
    if (best !== undefined) {
      for (const [kid, k] of keys) {
        if (k !== best && k.version < best.version && k.retireAt === Infinity) k.retireAt = now + GRACE_MS;
        if (k.retireAt < now) {
          k.cipher.destroy();
          keys.delete(kid);
        }
      }
    }
    let until = Infinity; // the next activation or retirement
    for (const k of keys.values()) until = Math.min(until, k.activeAt > now ? k.activeAt : Infinity, k.retireAt);
    policy.best = best;
    policy.from = now;
    policy.until = until;
    return best;
  }

  /** The cipher for a received key id of service `svc`'s policy, if still accepted. */
  receiveKey(svc: number, kid: number): BatchCipher | undefined {
    return this.policies.get(this.servicePolicy[svc] ?? '')?.keys.get(kid)?.cipher;
  }

  encrypts(svc: number): boolean {
    return (this.servicePolicy[svc] ?? '') !== '';
  }
}
