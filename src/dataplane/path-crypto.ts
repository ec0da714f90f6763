/**
 * Crypto handles of one data path, rebuilt between batches when the tables change:
 * - per peer path: a native BatchHmac (reused OpenSSL context) for the HMAC trailer (fact sheet §4.1);
 * - per security policy: the payload ciphers of its key versions, by key id (§4.3). A new key version is
 *   accepted at once and used for sending only `rekeyDelayMs` later, and older versions stay accepted for
 *   a grace period, so keys rotate without dropping packets while routers reload one after another.
 * One-packet calls cost ~1–3 µs in native code (docs/crypto.md); no node:crypto object per packet.
 */
import { BatchCipher, BatchHmac } from '../crypto/native-crypto.js';
import type { ForwardingTables } from '../model/tables.js';

/** Key id on the wire (1..255) of a key version; 0 means "not encrypted". */
export function keyId(version: number): number {
  return (version % 255) + 1;
}

const GRACE_MS = 120_000;

/** config cipher names (SSR's) -> OpenSSL kinds */
const CIPHER_KIND = { 'aes-cbc-128': 'aes-128-cbc', 'aes-cbc-256': 'aes-256-cbc', 'aes-gcm-256': 'aes-256-gcm' } as const;

interface PolicyKey {
  version: number;
  cipher: BatchCipher;
  /** when this router starts sending with it */
  activeAt: number;
  /** when it stops being accepted (set when a newer version becomes active) */
  retireAt: number;
}

export class PathCrypto {
  /** per path id */
  hmac: (BatchHmac | null)[] = [];
  /** per path id: the metadata cipher (payload TLVs), when the path's policy encrypts */
  meta: (BatchCipher | null)[] = [];
  private readonly policies = new Map<string, Map<number, PolicyKey>>();
  /** per service id: its payload policy name, '' when it does not encrypt */
  private servicePolicy: string[] = [];
  // single-packet scratch for calls into the batch API
  readonly off = new Uint32Array(1);
  readonly len = new Uint32Array(1);
  readonly status = new Uint8Array(1);

  update(t: ForwardingTables, now: number): void {
    for (const h of this.hmac) h?.destroy();
    for (const m of this.meta) m?.destroy();
    this.hmac = t.paths.map((p) => (p.hmac.mode === 'disabled' ? null : BatchHmac.create(p.hmac.cipher, p.hmac.key)));
    this.meta = t.paths.map((p) => (p.metadataCipher === undefined ? null : BatchCipher.create(CIPHER_KIND[p.metadataCipher.cipher], p.metadataCipher.key)));
    this.servicePolicy = t.services.map((s) => s.payload?.policy ?? '');
    for (const svc of t.services) {
      const sec = svc.payload;
      if (sec === undefined) continue;
      let keys = this.policies.get(sec.policy);
      if (keys === undefined) {
        keys = new Map();
        this.policies.set(sec.policy, keys);
      }
      const kid = keyId(sec.keyVersion);
      const have = keys.get(kid);
      if (have !== undefined && have.version === sec.keyVersion) continue;
      have?.cipher.destroy();
      const first = keys.size === 0;
      keys.set(kid, { version: sec.keyVersion, cipher: BatchCipher.create(CIPHER_KIND[sec.cipher], sec.key), activeAt: first ? now : now + sec.rekeyDelayMs, retireAt: Infinity });
    }
  }

  /** Key id and cipher to send with for service `svc` at `now`: the newest active version. */
  sendKey(svc: number, now: number): PolicyKey | undefined {
    const keys = this.policies.get(this.servicePolicy[svc] ?? '');
    if (keys === undefined) return undefined;
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
    return best;
  }

  /** The cipher for a received key id of service `svc`'s policy, if still accepted. */
  receiveKey(svc: number, kid: number): BatchCipher | undefined {
    return this.policies.get(this.servicePolicy[svc] ?? '')?.get(kid)?.cipher;
  }

  encrypts(svc: number): boolean {
    return (this.servicePolicy[svc] ?? '') !== '';
  }
}
