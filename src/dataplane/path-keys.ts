/**
 * Key slots of the peer paths, per data path (docs/security.md "Key slots"):
 * - tx: the key this router signs (HMAC) and encrypts metadata with on the path, its key id (in every
 *   signed packet's replay block), its Security ID (TLV 16) and its counter (one counter space per
 *   sending data path: `sender`);
 * - rx: up to RX_SLOTS keys accepted on the path, found by key id, each with a replay window per sender.
 * Keys come from the config (static: derived from the policy key or authority secret, one key id per
 * key-version) or from the key exchange (`install`, paths/key-control.ts). A new rx key is accepted at
 * once; the tx key switches at `activeAt`. Older rx keys stay accepted until `overlapMs` after the peer
 * showed it moved on: the first packet that authenticates under a newer rx key (WireGuard's "next" keypair
 * confirmed by data). So a rekey drops nothing, also when both routers initiated at once and each uses the
 * keys of its own handshake to send. Everything here runs between batches except tx/rx/window/used (a
 * scan of <= RX_SLOTS slots and a flag per packet).
 */
import { BatchCipher, BatchHmac } from '../crypto/native-crypto.js';
import type { HmacCipher } from '../model/config.js';
import type { CompiledPath, ForwardingTables } from '../model/tables.js';
import { ReplayWindows } from './replay-window.js';
import { keyHash, type ReplayFloor, type ReplayMarks } from './replay-marks.js';

/** Keys accepted per path at once: the current one, the one it replaced, the next one (and one more for
 *  crossed handshakes, when both routers initiated at once and each installed the keys of both). */
export const RX_SLOTS = 4;
/** How long a replaced rx key stays accepted (SSR's SVRv2 waits 30 s before it uses a new key). */
export const OVERLAP_MS = 30_000;
/** How long a replaced tx key's handles outlive it (ms): held control packets (originate.ts) queue their tags and
 *  sign them when the hold ends, so a key replaced by a later packet of the same hold must still sign (destroyed at
 *  once, it had r2 throw "the HMAC was destroyed" at a rekey in e2e key-exchange). */
export const TX_RELEASE_MS = 1000;

/** config cipher names (SSR's) -> OpenSSL kinds */
export const CIPHER_KIND = { 'aes-cbc-128': 'aes-128-cbc', 'aes-cbc-256': 'aes-256-cbc', 'aes-gcm-256': 'aes-256-gcm' } as const;
export type ConfigCipher = keyof typeof CIPHER_KIND;

/** Key id on the wire (1..255) of a config key version. */
export function keyId(version: number): number {
  return (version % 255) + 1;
}

/** One direction's keys on a path. */
export interface PathKeyMaterial {
  /** 1..255: the receiver's slot (the receiver chooses it in the key exchange) */
  keyId: number;
  /** TLV 16 on metadata packets */
  securityId: number;
  /** HMAC key (32 bytes) */
  hmacKey: Uint8Array;
  /** metadata key, when the path's policy encrypts metadata */
  metaKey?: Uint8Array;
  /** rx only: the key id of an earlier rx key that an unconfirmed response installed; this one replaces it (it is
   *  retired now unless a packet authenticated under it), so initiations that never complete hold one slot */
  replaces?: number;
}

export class TxKey {
  /** counter of the next packet, u64 as two words [hi, lo], then the packets native/fwd.c signed, in memory of its
   *  own: native/fwd.c advances it too (same thread; native-forward.ts) */
  readonly counter = new Uint32Array(new ArrayBuffer(12));
  get hi(): number {
    return this.counter[0]!;
  }
  set hi(v: number) {
    this.counter[0] = v;
  }
  get lo(): number {
    return this.counter[1]!;
  }
  set lo(v: number) {
    this.counter[1] = v;
  }
  /** packets signed with this key in JS (`sent` adds native/fwd.c's) */
  private jsSent = 0;
  get sent(): number {
    return this.jsSent + this.counter[2]!;
  }
  constructor(
    readonly keyId: number,
    readonly securityId: number,
    readonly hmac: BatchHmac,
    readonly meta: BatchCipher | null,
    readonly fingerprint: string,
    /** when it was installed (ms) */
    readonly installedAt: number,
  ) {
    const now = installedAt;
    // starts at the time in ms << 22: a restarted sender continues above its old counters (docs/security.md)
    const ms = Math.max(0, Math.floor(now));
    this.hi = Math.floor(ms / 1024) >>> 0;
    this.lo = ((ms % 1024) * 4194304) >>> 0;
  }

  /** Raises the counter to at least `now` ms << 22 (a node taking over its partner's sessions: above what
   *  the partner sent, as long as it sent fewer than 4 M packets per ms since its key was installed). */
  raiseTo(now: number): void {
    const ms = Math.max(0, Math.floor(now));
    const hi = Math.floor(ms / 1024) >>> 0;
    const lo = ((ms % 1024) * 4194304) >>> 0;
    if (hi > this.hi || (hi === this.hi && lo > this.lo)) {
      this.hi = hi;
      this.lo = lo;
    }
  }

  /** Moves to the next counter (after writing the current one into a packet). */
  advance(): void {
    this.lo = (this.lo + 1) >>> 0;
    if (this.lo === 0) this.hi = (this.hi + 1) >>> 0;
    this.jsSent++;
  }

  destroy(): void {
    this.hmac.destroy();
    this.meta?.destroy();
  }
}

export class RxKey {
  /** replay window per sender (-1: none yet) */
  readonly windows = new Int32Array(256).fill(-1);
  /** no longer accepted after this (ms); Infinity while current */
  retireAt = Infinity;
  /** a packet authenticated under this key: the peer sends with it (older keys then retire) */
  used = false;
  /** its windows' marks (replay-marks.ts): hash of the path's name, hash of the fingerprint */
  readonly markPath: number;
  readonly markKey: number;
  constructor(
    readonly keyId: number,
    readonly hmac: BatchHmac,
    readonly meta: BatchCipher | null,
    readonly fingerprint: string,
    /** when it was installed (ms) */
    readonly installedAt: number,
    pathName = '',
  ) {
    this.markPath = keyHash(pathName);
    this.markKey = keyHash(fingerprint);
  }
}

/** One path's keys in one data path (`svr show security`, the key exchange's rekey on count). */
export interface PathKeyStatus {
  /** key id of the tx key (0: none) and its Security ID */
  tx: number;
  securityId: number;
  /** when the tx key was installed (ms; 0: none) */
  txSince: number;
  /** packets signed with the tx key */
  sent: number;
  /** key id of a tx key waiting for its activation time (0: none) */
  pending: number;
  rx: { keyId: number; since: number; retireAt: number; senders: number }[];
}

interface PathSlots {
  name: string;
  hmacCipher: HmacCipher;
  metaKind: ConfigCipher | null;
  /** keys from the key exchange (none until it completes), not from the config */
  exchanged: boolean;
  tx: TxKey | null;
  pending: TxKey | null;
  activeAt: number;
  /** rx keys in the order they were installed */
  rx: RxKey[];
  /** how long an older rx key stays accepted once a newer one is used (the installer's overlapMs) */
  overlapMs: number;
}

function fingerprint(m: PathKeyMaterial): string {
  const hex = (b: Uint8Array | undefined) => (b === undefined ? '-' : Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex'));
  return `${m.keyId}/${m.securityId}/${hex(m.hmacKey)}/${hex(m.metaKey)}`;
}

/** Static keys of a path from the config, both directions (none for an unsigned path or one whose keys are exchanged). */
export function configKeys(p: CompiledPath): PathKeyMaterial | null {
  if (p.hmac.mode === 'disabled' || p.keyExchange === 'handshake') return null;
  const m: PathKeyMaterial = { keyId: keyId(p.hmac.keyVersion), securityId: p.hmac.keyVersion, hmacKey: p.hmac.key };
  if (p.metadataCipher !== undefined) m.metaKey = p.metadataCipher.key;
  return m;
}

/** The config's keys keep the key id of the installed tx key but are other keys (the secret changed, not the key-version). */
function sameIdNewKey(s: PathSlots, m: PathKeyMaterial): boolean {
  const current = s.pending ?? s.tx;
  return current !== null && current.keyId === m.keyId && current.fingerprint !== fingerprint(m);
}

export class PathKeys {
  readonly windows = new ReplayWindows();
  /** this data path's sender id in replay blocks (its worker index) */
  sender = 0;
  private paths: PathSlots[] = [];
  /** marks of the windows' tops for the worker host, and the floors a dead predecessor left (replay-marks.ts) */
  private marks: ReplayMarks | null = null;
  private floors: ReplayFloor[] = [];
  /** [0]: bumped when the accepted keys change (installed, retired, a retirement brought forward): svr-in's native
   *  marks name an rx key and its window (native-receive.ts; native/tun-pass.c reads the word) */
  readonly changeWord = new Uint32Array(1);
  /** tx keys replaced or dropped, and when: destroyed TX_RELEASE_MS later, at the next key change */
  private released: { key: TxKey; at: number }[] = [];
  get changes(): number {
    return this.changeWord[0]!;
  }

  /**
   * A worker thread: every window's top is marked in `marks`; a key installed with a window in `floors`
   * (the thread this one replaces) starts that window at its floor. Before the first tables.
   */
  useMarks(marks: ReplayMarks, floors: readonly ReplayFloor[]): void {
    this.marks = marks;
    this.windows.marks = marks;
    this.floors = [...floors];
  }

  /** Between batches: every tx key's counter raised to the time (TxKey.raiseTo; a router pair's takeover). */
  raiseCounters(now: number): void {
    for (const s of this.paths) {
      s.tx?.raiseTo(now);
      s.pending?.raiseTo(now);
    }
  }

  /**
   * Between batches: slots for tables t; a path that keeps its name and settings keeps its keys, counters
   * and windows (exchanged keys too: the key exchange replaces them).
   */
  setTables(t: ForwardingTables, now: number): void {
    const old = new Map(this.paths.map((s) => [s.name, s]));
    this.paths = t.paths.map((p) => {
      const metaKind = p.metadataCipher?.cipher ?? null;
      const exchanged = p.keyExchange === 'handshake' && p.hmac.mode !== 'disabled';
      let s = old.get(p.name);
      old.delete(p.name);
      if (s !== undefined && (s.hmacCipher !== p.hmac.cipher || s.metaKind !== metaKind || s.exchanged !== exchanged)) {
        this.drop(s, now);
        s = undefined;
      }
      s ??= { name: p.name, hmacCipher: p.hmac.cipher, metaKind, exchanged, tx: null, pending: null, activeAt: 0, rx: [], overlapMs: OVERLAP_MS };
      if (exchanged) return s;
      const m = configKeys(p);
      // a new key version: accepted at once, signed with after the policy's rekey-delay (the peer reloads too);
      // new material under the same key id (a new authority secret or policy key) replaces the rx key at once,
      // so the old tx key is worth nothing to the peer either: signed with at once
      if (m === null) this.drop(s, now);
      else this.installSlots(s, m, m, now, s.tx === null || sameIdNewKey(s, m) ? now : now + p.hmac.rekeyDelayMs);
      return s;
    });
    for (const s of old.values()) this.drop(s, now);
    this.destroyReleased(now);
  }

  /**
   * Installs keys on path p (between batches; the key exchange's setKeys): `rx` is accepted at once, `tx`
   * is sent with from `activeAt`. Keys equal to the installed ones change nothing. The rx keys installed
   * before stay accepted `overlapMs` after the tx switch.
   */
  install(p: number, keys: { tx?: PathKeyMaterial; rx?: PathKeyMaterial }, now: number, activeAt = now, overlapMs = OVERLAP_MS): void {
    const s = this.paths[p];
    if (s !== undefined) this.installSlots(s, keys.tx, keys.rx, now, activeAt, overlapMs);
    this.destroyReleased(now);
  }

  /** Drops every key of path p (expired keys): nothing is sent or accepted on it until new keys come. */
  dropKeys(p: number, now: number): void {
    const s = this.paths[p];
    if (s !== undefined) this.drop(s, now);
    this.destroyReleased(now);
  }

  private installSlots(s: PathSlots, tx: PathKeyMaterial | undefined, rx: PathKeyMaterial | undefined, now: number, activeAt: number, overlapMs = OVERLAP_MS): void {
    s.overlapMs = overlapMs;
    if (rx !== undefined) {
      const fp = fingerprint(rx);
      const same = s.rx.find((k) => k.keyId === rx.keyId);
      if (same === undefined || same.fingerprint !== fp) {
        if (same !== undefined) this.retire(s, same);
        const replaced = rx.replaces === undefined ? undefined : s.rx.find((k) => k.keyId === rx.replaces && !k.used);
        if (replaced !== undefined) this.retire(s, replaced);
        const k = new RxKey(rx.keyId, BatchHmac.create(s.hmacCipher, rx.hmacKey), this.cipher(s, rx), fp, now, s.name);
        this.startFromFloors(k);
        s.rx.push(k);
        this.changeWord[0]++;
        while (s.rx.length > RX_SLOTS) this.retire(s, s.rx[0]!);
      }
    }
    if (tx !== undefined) {
      const fp = fingerprint(tx);
      if ((s.pending ?? s.tx)?.fingerprint === fp) return;
      s.pending?.destroy();
      s.pending = new TxKey(tx.keyId, tx.securityId, BatchHmac.create(s.hmacCipher, tx.hmacKey), this.cipher(s, tx), fp, now);
      s.activeAt = activeAt;
      this.txKey(s, now);
    }
  }

  /** tx key k no longer sends; its handles stay TX_RELEASE_MS for tags queued under it (a held batch's) */
  private release(k: TxKey | null, now: number): void {
    if (k !== null) this.released.push({ key: k, at: now });
  }

  /** Destroys the tx keys released TX_RELEASE_MS or longer before `now` (a key change: control's pace). */
  private destroyReleased(now: number): void {
    if (this.released.length === 0) return;
    this.released = this.released.filter((r) => {
      if (now - r.at < TX_RELEASE_MS) return true;
      r.key.destroy();
      return false;
    });
  }

  private cipher(s: PathSlots, m: PathKeyMaterial): BatchCipher | null {
    return s.metaKind === null || m.metaKey === undefined ? null : BatchCipher.create(CIPHER_KIND[s.metaKind], m.metaKey);
  }

  private retire(s: PathSlots, k: RxKey): void {
    this.changeWord[0]++;
    for (const w of k.windows) if (w >= 0) this.windows.release(w);
    k.hmac.destroy();
    k.meta?.destroy();
    s.rx.splice(s.rx.indexOf(k), 1);
  }

  private drop(s: PathSlots, now: number): void {
    this.release(s.tx, now);
    s.pending?.destroy();
    s.tx = s.pending = null;
    while (s.rx.length > 0) this.retire(s, s.rx[0]!);
  }

  private txKey(s: PathSlots, now: number): TxKey | null {
    if (s.pending !== null && s.activeAt <= now) {
      this.release(s.tx, now);
      s.tx = s.pending;
      s.pending = null;
    }
    return s.tx;
  }

  /** The key to send with on path p now, or null (HMAC disabled, or no key yet). */
  tx(p: number, now: number): TxKey | null {
    const s = this.paths[p];
    return s === undefined ? null : this.txKey(s, now);
  }

  /** The Security ID (TLV 16) of the key path p sends with, `fallback` when it has none. */
  securityId(p: number, fallback: number): number {
    return this.paths[p]?.tx?.securityId ?? fallback;
  }

  /** The accepted key with this key id on path p, or null (unknown or retired). */
  rx(p: number, id: number, now: number): RxKey | null {
    const s = this.paths[p];
    if (s === undefined) return null;
    for (let i = 0; i < s.rx.length; i++) {
      const k = s.rx[i]!;
      if (k.keyId !== id) continue;
      if (k.retireAt >= now) return k;
      this.retire(s, k);
      return null;
    }
    return null;
  }

  /**
   * Rx key k of path p authenticated a packet. The first time, the keys installed before it retire
   * `overlapMs` later: the peer sends with k now (packets under an older key still in flight pass).
   */
  used(p: number, k: RxKey, now: number): void {
    if (k.used) return;
    k.used = true;
    this.changeWord[0]++;
    const s = this.paths[p]!;
    for (const old of s.rx) {
      if (old === k) break;
      old.retireAt = Math.min(old.retireAt, now + s.overlapMs);
    }
  }

  /** Windows of rx key k that a dead predecessor left floors for: made now, starting at them. */
  private startFromFloors(k: RxKey): void {
    if (this.floors.length === 0) return;
    this.floors = this.floors.filter((f) => {
      if (f.path !== k.markPath || f.key !== k.markKey || k.windows[f.sender]! >= 0) return true;
      const w = k.windows[f.sender] = this.windows.allocFrom(f.hi, f.lo);
      this.marks?.describe(w, k.markPath, k.markKey, f.sender, f);
      return false;
    });
  }

  /** The replay window of `sender` under rx key k (created on the first authenticated packet). */
  window(k: RxKey, sender: number): number {
    let w = k.windows[sender]!;
    if (w < 0) {
      w = k.windows[sender] = this.windows.alloc();
      this.marks?.describe(w, k.markPath, k.markKey, sender);
    }
    return w;
  }

  /** Key ids of path p, their ages and the packets sent under its tx key, or null for an unknown path. */
  status(p: number): PathKeyStatus | null {
    const s = this.paths[p];
    if (s === undefined) return null;
    return {
      tx: s.tx?.keyId ?? 0,
      securityId: s.tx?.securityId ?? 0,
      txSince: s.tx?.installedAt ?? 0,
      sent: s.tx?.sent ?? 0,
      pending: s.pending?.keyId ?? 0,
      rx: s.rx.map((k) => ({ keyId: k.keyId, since: k.installedAt, retireAt: k.retireAt, senders: k.windows.filter((w) => w >= 0).length })),
    };
  }
}
