/**
 * NAT traversal (ssr-reference §1.6 "NAT traversal", docs/wan.md): a router whose neighborhood entry says
 * `peer-connectivity: outbound-only` sits behind NAT and opens its paths itself; its peer answers
 * wherever the NAT makes its packets come from.
 *
 * Hub side (a path whose peer is behind NAT):
 * 1. every control message from the peer arrives HMAC-verified with its source address and port
 *    (wan-verify; not a firewall-detector probe: TCP, which the NAT maps apart); a new source is learned at once: the data path sends there from now on (setPathPeer),
 *    the change is counted and logged. A forged or replayed packet never gets this far. Handshake messages
 *    (`key-exchange: handshake`) travel unsigned: one is learned from only once the key exchange proved
 *    it the peer's (authenticated);
 * 2. the peer is told where we see it (a NAT address message, 0xcc) on every change and every
 *    ANNOUNCE_MS, so that it notices its NAT rebinding.
 *
 * Spoke side (an `outbound-only` path):
 * 3. a NAT address different from the last one means the NAT rebound: the sessions on that path send
 *    their metadata again (resignal), so the hub re-keys them on their new translated ports;
 * 4. damping: each rebinding adds 1000 to the path's figure, which halves every 15 s; from 3000 on, the
 *    re-signal waits until the figure is below 1500 again (one re-signal for the latest binding, counted
 *    `nat-rebinds-damped`, logged `nat.rebind-damped`): a NAT that changes every few seconds does not make
 *    every session re-signal every few seconds.
 *
 * NAT address message (24 bytes): 0 type 0xcc | 1 version 0 | 2 family 4/6 | 3 zero | 4-5 port |
 * 6-7 zero | 8-23 address (an IPv4 address in the first 4 bytes, the rest zero).
 */
import type { Observable, Subscription } from 'rxjs';
import { formatAddress } from '../packet/addr.js';
import type { ForwardingTables } from '../model/tables.js';
import { NAT_ADDRESS, pathMessageKind, type PathMessage } from './messages.js';

export const NAT_ADDRESS_LENGTH = 24;
/** How often the hub repeats the NAT address while the peer talks to it. */
export const ANNOUNCE_MS = 5000;
const FIGURE_STEP = 1000;
const FIGURE_HALF_LIFE_MS = 15_000;
const SUPPRESS_AT = 3000;
const REUSE_BELOW = 1500;

export interface NatAddress {
  family: 4 | 6;
  address: Uint8Array;
  port: number;
}

export function encodeNatAddress(a: NatAddress): Uint8Array {
  const out = new Uint8Array(NAT_ADDRESS_LENGTH);
  out[0] = NAT_ADDRESS;
  out[2] = a.family;
  out[4] = a.port >>> 8;
  out[5] = a.port & 0xff;
  out.set(a.address.subarray(0, a.family === 6 ? 16 : 4), 8);
  return out;
}

/** undefined when the length, version, family or reserved bytes are wrong. */
export function decodeNatAddress(b: Uint8Array): NatAddress | undefined {
  if (b.length !== NAT_ADDRESS_LENGTH || b[0] !== NAT_ADDRESS || b[1] !== 0 || b[3] !== 0 || b[6] !== 0 || b[7] !== 0) return undefined;
  const family = b[2];
  if (family !== 4 && family !== 6) return undefined;
  if (family === 4 && b.subarray(12).some((x) => x !== 0)) return undefined;
  return { family, address: b.slice(8, family === 6 ? 24 : 12), port: (b[4]! << 8) | b[5]! };
}

const text = (a: NatAddress): string => (a.family === 6 ? `[${formatAddress(a.address, 0, 6)}]:${a.port}` : `${formatAddress(a.address, 0, 4)}:${a.port}`);

export interface NatTraversalDeps {
  tables(): ForwardingTables;
  messages$: Observable<PathMessage>;
  send(path: number, payload: Uint8Array): boolean;
  /** the data path sends to the peer of `path` at this address and control port from now on */
  setPathPeer(path: number, address: Uint8Array, controlPort: number): void;
  /** the sessions on `path` send their metadata again */
  resignal(path: number): void;
  now(): number;
  log(event: string, fields: Record<string, string | number | boolean>): void;
  count(name: NatCounter): void;
}

export type NatCounter = 'nat-peer-address-changes' | 'nat-rebinds' | 'nat-rebinds-damped' | 'nat-address-malformed';

/** What `svr show peers` shows of a path's NAT traversal. */
export interface NatView {
  /** hub: where the peer behind NAT was last seen (address:port of its control channel) */
  learned?: string;
  /** spoke: where the peer sees us (our NAT's public address:port) */
  seenAs?: string;
  /** changes of the above since start (the first sighting is not a change) */
  addressChanges: number;
  /** spoke: re-signals the damping held back */
  damped?: number;
  /** spoke: a re-signal is waiting for the damping figure to fall */
  suppressed?: boolean;
}

interface PathNat {
  learned?: NatAddress & { text: string };
  announcedAt: number;
  seenAs?: string;
  changes: number;
  figure: number;
  figureAt: number;
  damped: number;
  timer: NodeJS.Timeout | null;
}

export class NatTraversal {
  readonly #paths = new Map<string, PathNat>();
  #sub: Subscription | null = null;

  constructor(private readonly deps: NatTraversalDeps) {}

  start(): void {
    this.#sub = this.deps.messages$.subscribe((m) => this.#onMessage(m));
  }

  stop(): void {
    this.#sub?.unsubscribe();
    this.#sub = null;
    for (const p of this.#paths.values()) if (p.timer !== null) clearTimeout(p.timer);
  }

  /** Per path name (paths with NAT on either end only). */
  view(pathName: string): NatView | undefined {
    const p = this.#paths.get(pathName);
    if (p === undefined) return undefined;
    return {
      ...(p.learned !== undefined ? { learned: p.learned.text } : {}),
      ...(p.seenAs !== undefined ? { seenAs: p.seenAs, damped: p.damped, suppressed: p.timer !== null } : {}),
      addressChanges: p.changes,
    };
  }

  #state(name: string): PathNat {
    let p = this.#paths.get(name);
    if (p === undefined) {
      p = { announcedAt: -Infinity, changes: 0, figure: 0, figureAt: 0, damped: 0, timer: null };
      this.#paths.set(name, p);
    }
    return p;
  }

  #onMessage(m: PathMessage): void {
    const path = this.deps.tables().paths[m.path];
    if (path === undefined || path.name !== m.pathName) return;
    // a firewall-detector probe is TCP (1283): the NAT maps it apart from the control channel's UDP binding;
    // a handshake message travels unsigned: learned only once the key exchange proved it (authenticated)
    const kind = pathMessageKind(m.payload);
    if (path.peerBehindNat && m.from !== undefined && kind !== 'fw-probe' && kind !== 'handshake') this.#heard(m.path, m.pathName, { family: m.from.address.length === 16 ? 6 : 4, address: m.from.address, port: m.from.port });
    if (path.outboundOnly && kind === 'nat-address') {
      const a = decodeNatAddress(m.payload);
      if (a === undefined) this.#count('nat-address-malformed');
      else this.#seenAs(m.path, m.pathName, text(a));
    }
  }

  /**
   * Hub: a handshake message from the peer behind NAT that the key exchange proved to be the peer's
   * (`key-exchange: handshake`: before the first keys nothing else from the peer verifies, so this is how
   * the hub first learns where the peer is; the handshake's answer then goes there).
   */
  authenticated(m: PathMessage): void {
    const path = this.deps.tables().paths[m.path];
    if (path === undefined || path.name !== m.pathName || !path.peerBehindNat || m.from === undefined) return;
    this.#heard(m.path, m.pathName, { family: m.from.address.length === 16 ? 6 : 4, address: m.from.address, port: m.from.port });
  }

  /** Hub: an authenticated message from the peer behind NAT, from `from`. */
  #heard(id: number, name: string, from: NatAddress): void {
    const p = this.#state(name);
    const t = text(from);
    const now = this.deps.now();
    if (p.learned?.text !== t) {
      const before = p.learned?.text;
      p.learned = { ...from, address: from.address.slice(), text: t };
      this.deps.setPathPeer(id, p.learned.address, from.port);
      if (before !== undefined) {
        p.changes++;
        this.#count('nat-peer-address-changes');
      }
      this.deps.log(before === undefined ? 'nat.peer-learned' : 'nat.peer-moved', { path: name, address: t, ...(before !== undefined ? { was: before } : {}) });
      p.announcedAt = -Infinity;
    }
    if (now - p.announcedAt >= ANNOUNCE_MS && this.deps.send(id, encodeNatAddress(p.learned))) p.announcedAt = now;
  }

  /** Spoke: the peer tells us where it sees us. */
  #seenAs(id: number, name: string, seen: string): void {
    const p = this.#state(name);
    if (p.seenAs === seen) return;
    const before = p.seenAs;
    p.seenAs = seen;
    if (before === undefined) {
      this.deps.log('nat.seen-as', { path: name, address: seen });
      return;
    }
    p.changes++;
    this.#count('nat-rebinds');
    const now = this.deps.now();
    p.figure = this.#decayed(p, now) + FIGURE_STEP;
    p.figureAt = now;
    if (p.figure < SUPPRESS_AT && p.timer === null) {
      this.deps.log('nat.rebound', { path: name, address: seen, was: before });
      this.deps.resignal(id);
      return;
    }
    p.damped++;
    this.#count('nat-rebinds-damped');
    this.deps.log('nat.rebind-damped', { path: name, address: seen, was: before, figure: Math.round(p.figure) });
    if (p.timer !== null) clearTimeout(p.timer);
    const waitMs = Math.max(0, FIGURE_HALF_LIFE_MS * Math.log2(p.figure / REUSE_BELOW));
    p.timer = setTimeout(() => {
      p.timer = null;
      const current = this.deps.tables().paths.find((q) => q.name === name);
      if (current === undefined) return;
      this.deps.log('nat.rebound', { path: name, address: p.seenAs ?? '', afterDampingMs: Math.round(waitMs) });
      this.deps.resignal(current.id);
    }, waitMs);
    p.timer.unref();
  }

  #decayed(p: PathNat, now: number): number {
    return p.figure * 0.5 ** ((now - p.figureAt) / FIGURE_HALF_LIFE_MS);
  }

  #count(name: NatCounter): void {
    this.deps.count(name);
  }
}
