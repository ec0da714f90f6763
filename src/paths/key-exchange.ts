/**
 * The key exchange of a router's peer paths (docs/security.md "Key exchange"): one keyExchange machine
 * per path (machines/key-exchange.ts), the handshake crypto (crypto/handshake.ts), and the checks that
 * keep an attacker from making it work or remember: mac1 before any Diffie-Hellman, a token bucket per
 * path, cookies (mac2) once the router is under load, the peer's static key must be the path's peer,
 * and an initiation must carry a newer timestamp than the last one accepted from that peer. Nothing
 * is stored for a message before it passed all of them; a refused message is only counted.
 *
 * The router side is a narrow driver (wave 2 wires it to the path control channel next to BFD):
 *   driver.send(path, bytes)                      a handshake message on the path (UDP 1280)
 *   exchange.onMessage(path, bytes, authenticated?)  a handshake message from the path (first byte 0xc8-0xcb);
 *                                                 `authenticated` runs once it proved to be the peer's
 *   driver.setKeys(path, {tx?, rx?}, activeAt, overlapMs)   keys for the data path (Dataplane.setPathKeys)
 *   driver.dropKeys(path)                         the path's keys expired (Dataplane.dropPathKeys)
 *   driver.now()                                  ms (TAI64N timestamps, rate limits, cookies)
 *   exchange.start(path) / usage(path, packets) / stop()
 */
import { createActor, type Actor, type ActorOptions } from 'xstate';
import { randomBytes } from 'node:crypto';
import {
  MSG_CONFIRM, MSG_COOKIE, MSG_INITIATION, MSG_RESPONSE, checkConfirm, checkMac1, checkMac2, consumeCookieReply, consumeInitiation, consumeResponse,
  cookieFor, createConfirm, createCookieReply, createInitiation, createResponse, dataPathKeys, messageType, receiverIndex,
  type Identity, type InitiatorState, type PeerKey, type SessionKeys,
} from '../crypto/handshake.js';
import { compareBytes, equalBytes } from '../crypto/noise.js';
import type { PathKeyMaterial } from '../dataplane/path-keys.js';
import { KEY_EXCHANGE_DEFAULTS, RESPONDER_REKEY_LAG_MS, keyExchangeMachine, type ExchangedKeys, type KeyExchangeTimings } from '../machines/key-exchange.js';

export interface KeyExchangeDriver {
  send(path: number, bytes: Uint8Array): void;
  setKeys(path: number, keys: { tx?: PathKeyMaterial; rx?: PathKeyMaterial }, activeAt: number, overlapMs: number): void;
  dropKeys(path: number): void;
  now(): number;
}

/** A peer path as the config describes it. */
export interface ExchangePath {
  path: number;
  /** path name (the cookie's source id) */
  name: string;
  peer: PeerKey;
  /** metadata key bytes of the path's policy (16 or 32), 0 when it does not encrypt metadata */
  metaLength: number;
  /** this path's timings (its policy's rekey interval), over the exchange's */
  timings?: Partial<KeyExchangeTimings>;
}

export interface ExchangeLimits {
  /** authenticated-looking initiations (mac1 ok) processed per path and second ... */
  perPathPerSecond: number;
  /** ... with this burst */
  burst: number;
  /** above this many handshake messages a second the router is under load: initiations need a cookie */
  underLoadPerSecond: number;
}

export const EXCHANGE_LIMITS: Readonly<ExchangeLimits> = Object.freeze({ perPathPerSecond: 20, burst: 5, underLoadPerSecond: 200 });

/** How long a cookie (ours or the peer's) is good for (WireGuard COOKIE_REFRESH_TIME). */
const COOKIE_MS = 120_000;

/** Counted outcomes of handshake messages. */
export const EXCHANGE_COUNTERS = [
  'handshake-initiations-sent', 'handshake-responses-sent', 'handshake-cookies-sent', 'handshake-confirms-sent', 'handshake-established',
  'handshake-rekeyed', 'handshake-gave-up', 'handshake-keys-expired', 'handshake-malformed', 'handshake-bad-mac1', 'handshake-bad-auth',
  'handshake-unknown-key', 'handshake-replayed', 'handshake-rate-limited', 'handshake-unknown-index', 'handshake-cookie-needed',
  'handshake-unconfirmed-replaced',
] as const;
export type ExchangeCounter = (typeof EXCHANGE_COUNTERS)[number];

const SENT: Record<number, ExchangeCounter> = {
  [MSG_INITIATION]: 'handshake-initiations-sent', [MSG_RESPONSE]: 'handshake-responses-sent',
  [MSG_COOKIE]: 'handshake-cookies-sent', [MSG_CONFIRM]: 'handshake-confirms-sent',
};

interface PathState {
  cfg: ExchangePath;
  actor: Actor<typeof keyExchangeMachine>;
  /** the latest initiation of ours on this path, waiting for its response */
  initiator?: InitiatorState;
  /** keys its response gave, until the machine installs them */
  initiated?: SessionKeys;
  /** keys of our latest response, waiting for the confirmation */
  responder?: SessionKeys;
  /** the key id of an earlier response's rx key that was never confirmed: the next rx key installed replaces it */
  unconfirmed?: number;
  /** the peer's cookie for us (mac2), when it sent one */
  cookie?: { value: Uint8Array; at: number };
  tokens: number;
  tokensAt: number;
  nextKeyId: number;
  /** hex of the peer's public key: timestamps are per peer, whichever path they come on */
  peerId: string;
  /** this path's share of the counters */
  counters: Record<ExchangeCounter, number>;
  /** when the current keys were installed (ms; -1: none yet) */
  keysAt: number;
  timings: KeyExchangeTimings;
}

/** A path's key exchange as `svr show security` shows it. */
export interface ExchangeInfo {
  /** the machine's state: exchange (idle, initiating, responding, current, backoff) and keys (none, live) */
  exchange: string;
  keys: string;
  /** keys installed so far (the first handshake, then one per rekey) */
  generations: number;
  /** when the current keys were installed (ms; -1: never) */
  keysAt: number;
  /** when the next rekey on time is due (ms; -1: no keys) */
  nextRekeyAt: number;
  counters: Record<ExchangeCounter, number>;
}

/** Per peer router: the newest timestamp accepted from it, and the one our last initiation to it carried. */
interface PeerClock {
  greatest: Uint8Array;
  initiatedAt: number;
}

export class PathKeyExchange {
  readonly counters = Object.fromEntries(EXCHANGE_COUNTERS.map((c) => [c, 0])) as Record<ExchangeCounter, number>;
  private readonly paths = new Map<number, PathState>();
  private readonly peers = new Map<string, PeerClock>();
  private readonly limits: ExchangeLimits;
  private cookieSecret = randomBytes(32);
  private cookieSecretAt = -Infinity;
  private loadWindowAt = 0;
  private loadCount = 0;

  constructor(
    private readonly identity: Identity,
    paths: readonly ExchangePath[],
    private readonly driver: KeyExchangeDriver,
    opts: { timings?: Partial<KeyExchangeTimings>; limits?: Partial<ExchangeLimits>; clock?: ActorOptions<typeof keyExchangeMachine>['clock'] } = {},
  ) {
    this.limits = { ...EXCHANGE_LIMITS, ...opts.limits };
    for (const cfg of paths) {
      const machine = keyExchangeMachine.provide({
        actions: {
          initiate: (_, p) => this.initiate(p.path),
          send: (_, p) => this.send(p.path, p.bytes),
          installKeys: (_, p) => this.install(p.path, p.keys, p.activate, p.overlapMs),
          activateTx: (_, p) => this.activate(p.path, p.localIndex, p.overlapMs),
          dropKeys: (_, p) => {
            const st = this.paths.get(p.path);
            if (st !== undefined) st.keysAt = -1;
            this.driver.dropKeys(p.path);
          },
          record: (_, p) => {
            const name = p.outcome === 'expired' ? 'handshake-keys-expired' : `handshake-${p.outcome}` as const;
            this.count(this.paths.get(cfg.path)!, name);
          },
        },
      });
      const timings = { ...KEY_EXCHANGE_DEFAULTS, ...opts.timings, ...cfg.timings };
      // crossed handshakes: the router with the lower public key counts as their initiator (rekeys first)
      const rekeysFirst = compareBytes(identity.keys.publicKey, cfg.peer.publicKey) < 0;
      const actor = createActor(machine, { input: { path: cfg.path, timings, rekeysFirst }, ...(opts.clock ? { clock: opts.clock } : {}) });
      const peerId = Buffer.from(cfg.peer.publicKey).toString('hex');
      if (!this.peers.has(peerId)) this.peers.set(peerId, { greatest: new Uint8Array(12), initiatedAt: 0 });
      this.paths.set(cfg.path, {
        cfg, actor, tokens: this.limits.burst, tokensAt: driver.now(), nextKeyId: 1 + (randomBytes(1)[0]! % 255), peerId,
        counters: Object.fromEntries(EXCHANGE_COUNTERS.map((c) => [c, 0])) as Record<ExchangeCounter, number>, keysAt: -1, timings,
      });
      actor.start();
    }
  }

  /** The path is up: get keys if it has none. */
  start(path: number): void {
    this.paths.get(path)?.actor.send({ type: 'start' });
  }

  /** Packets sent under the path's current keys (the data path's count): a rekey when they reach the limit. */
  usage(path: number, packets: number): void {
    this.paths.get(path)?.actor.send({ type: 'usage', packets });
  }

  stop(): void {
    for (const p of this.paths.values()) {
      p.actor.send({ type: 'stop' });
      p.actor.stop();
    }
  }

  /** The state of a path's machine (tests, `svr show security`). */
  state(path: number): unknown {
    return this.paths.get(path)?.actor.getSnapshot().value;
  }

  /** A path's exchange for `svr show security`: machine state, key generations and times, its counters. */
  info(path: number): ExchangeInfo | undefined {
    const p = this.paths.get(path);
    if (p === undefined) return undefined;
    const snap = p.actor.getSnapshot();
    const v = snap.value as string | { running?: { keys?: string; exchange?: string } };
    const running = typeof v === 'string' ? undefined : v.running;
    const lag = snap.context.initiatedCurrent ? 0 : RESPONDER_REKEY_LAG_MS;
    return {
      exchange: running?.exchange ?? String(v),
      keys: running?.keys ?? 'none',
      generations: snap.context.generations,
      keysAt: p.keysAt,
      nextRekeyAt: p.keysAt < 0 ? -1 : p.keysAt + p.timings.rekeyAfterMs + lag,
      counters: { ...p.counters },
    };
  }

  /**
   * A handshake message that arrived on `path`. Never throws for a bad message: it is counted.
   * `authenticated` runs when the message proved to come from the path's peer (an initiation that passed
   * every check, a response or a confirmation to ours), before anything is sent back: a peer behind NAT
   * is learned at the address it came from (docs/wan.md), so the answer goes there.
   */
  onMessage(path: number, msg: Uint8Array, authenticated: () => void = () => {}): void {
    const p = this.paths.get(path);
    if (p === undefined) return;
    const type = messageType(msg);
    if (type === MSG_INITIATION) this.onInitiation(p, msg, authenticated);
    else if (type === MSG_RESPONSE) this.onResponse(p, msg, authenticated);
    else if (type === MSG_COOKIE) this.onCookie(p, msg);
    else if (type === MSG_CONFIRM) this.onConfirm(p, msg, authenticated);
    else this.count(p, 'handshake-malformed');
  }

  private onInitiation(p: PathState, msg: Uint8Array, authenticated: () => void): void {
    const now = this.driver.now();
    const loaded = this.underLoad(now); // every initiation counts toward the load, valid or not
    if (!checkMac1(this.identity, msg)) {
      this.count(p, 'handshake-bad-mac1'); // cheap: no Diffie-Hellman for what is not even addressed to us
      return;
    }
    if (loaded && !checkMac2(this.cookie(p, now), msg)) {
      this.count(p, 'handshake-cookie-needed');
      this.send(p.cfg.path, createCookieReply(this.identity, msg, this.cookie(p, now)));
      return;
    }
    if (!this.take(p, now)) {
      this.count(p, 'handshake-rate-limited');
      return;
    }
    const accepted = consumeInitiation(this.identity, msg, (key) => (equalBytes(key, p.cfg.peer.publicKey) ? p.cfg.peer : undefined));
    if (typeof accepted === 'string') {
      this.count(p, `handshake-${accepted}`);
      return;
    }
    const clock = this.peers.get(p.peerId)!;
    if (compareBytes(accepted.timestamp, clock.greatest) <= 0) {
      this.count(p, 'handshake-replayed'); // WireGuard §5.1: only a newer initiation counts (from that peer, on any path)
      return;
    }
    clock.greatest = accepted.timestamp;
    authenticated();
    const { message, keys } = createResponse(accepted, this.nextIndex(p));
    if (p.responder !== undefined) {
      // our previous response was never confirmed (e.g. the initiator refused it: a one-sided secret change): its rx
      // key gives way to this one, so initiations that keep failing hold one rx slot, not all of them
      p.unconfirmed = p.responder.localIndex & 0xff;
      this.count(p, 'handshake-unconfirmed-replaced');
    }
    p.responder = keys;
    p.actor.send({ type: 'initiation.accepted', keys: exchanged(keys), response: message });
  }

  private onResponse(p: PathState, msg: Uint8Array, authenticated: () => void): void {
    if (!checkMac1(this.identity, msg)) {
      this.count(p, 'handshake-bad-mac1');
      return;
    }
    const state = p.initiator;
    if (state === undefined || receiverIndex(msg) !== state.localIndex) {
      this.count(p, 'handshake-unknown-index'); // not an answer to our latest initiation
      return;
    }
    const keys = consumeResponse(this.identity, state, msg);
    if (typeof keys === 'string') {
      this.count(p, `handshake-${keys}`);
      return;
    }
    p.initiator = undefined;
    p.initiated = keys;
    authenticated();
    p.actor.send({ type: 'response.accepted', keys: exchanged(keys), confirm: createConfirm(keys) });
  }

  private onCookie(p: PathState, msg: Uint8Array): void {
    const cookie = p.initiator === undefined ? undefined : consumeCookieReply(p.initiator, msg);
    if (cookie === undefined) {
      this.count(p, 'handshake-unknown-index');
      return;
    }
    p.cookie = { value: cookie, at: this.driver.now() }; // the next retry carries it in mac2
  }

  private onConfirm(p: PathState, msg: Uint8Array, authenticated: () => void): void {
    if (p.responder === undefined || !checkConfirm(p.responder, msg)) {
      this.count(p, 'handshake-unknown-index');
      return;
    }
    authenticated();
    p.actor.send({ type: 'confirm.accepted', localIndex: p.responder.localIndex });
    p.responder = undefined; // confirmed (also after crossed handshakes, where the machine moved on): nothing to replace
  }

  private initiate(path: number): void {
    const p = this.paths.get(path)!;
    const now = this.driver.now();
    const cookie = p.cookie !== undefined && now - p.cookie.at < COOKIE_MS ? p.cookie.value : undefined;
    const clock = this.peers.get(p.peerId)!;
    clock.initiatedAt = Math.max(now, clock.initiatedAt + 0.001); // TAI64N has ns: a microsecond later at least
    const { message, state } = createInitiation(this.identity, p.cfg.peer, this.nextIndex(p), clock.initiatedAt, cookie);
    p.initiator = state; // only the latest initiation is answered
    this.send(path, message);
  }

  /** Keys of a completed handshake into the data path: rx at once, tx now (initiator) or after the confirmation. */
  private install(path: number, ex: ExchangedKeys, activate: boolean, overlapMs: number): void {
    const p = this.paths.get(path)!;
    const keys = ex.initiator ? p.initiated : p.responder;
    if (keys === undefined || keys.localIndex !== ex.localIndex) return;
    if (ex.initiator) p.initiated = undefined;
    const replaces = ex.initiator ? undefined : p.unconfirmed;
    if (!ex.initiator) p.unconfirmed = undefined;
    const rx = { ...pathKeyMaterial(keys.localIndex, keys.receive, p.cfg.metaLength), ...(replaces !== undefined ? { replaces } : {}) };
    const tx = activate ? { tx: pathKeyMaterial(keys.remoteIndex, keys.send, p.cfg.metaLength) } : {};
    const now = this.driver.now();
    this.driver.setKeys(path, { ...tx, rx }, now, overlapMs);
    if (activate) p.keysAt = now; // keys of our own initiation: we send with them now
  }

  private activate(path: number, localIndex: number, overlapMs: number): void {
    const p = this.paths.get(path)!;
    const keys = p.responder;
    if (keys === undefined || keys.localIndex !== localIndex) return;
    p.responder = undefined;
    const now = this.driver.now();
    this.driver.setKeys(path, { tx: pathKeyMaterial(keys.remoteIndex, keys.send, p.cfg.metaLength) }, now, overlapMs);
    p.keysAt = now;
  }

  private send(path: number, bytes: Uint8Array): void {
    const p = this.paths.get(path);
    if (p !== undefined) this.count(p, SENT[bytes[0]!] ?? 'handshake-malformed');
    this.driver.send(path, bytes);
  }

  private count(p: PathState, name: ExchangeCounter): void {
    this.counters[name]++;
    p.counters[name]++;
  }


  /** The next local index: a random u32 whose low byte is the path's next key id (1..255). */
  private nextIndex(p: PathState): number {
    const id = p.nextKeyId;
    p.nextKeyId = (id % 255) + 1;
    return ((randomBytes(3).readUIntBE(0, 3) << 8) | id) >>> 0;
  }

  private underLoad(now: number): boolean {
    if (now - this.loadWindowAt >= 1000) {
      this.loadWindowAt = now;
      this.loadCount = 0;
    }
    return ++this.loadCount > this.limits.underLoadPerSecond;
  }

  private cookie(p: PathState, now: number): Uint8Array {
    if (now - this.cookieSecretAt >= COOKIE_MS) {
      this.cookieSecret = randomBytes(32);
      this.cookieSecretAt = now;
    }
    return cookieFor(this.cookieSecret, new TextEncoder().encode(p.cfg.name));
  }

  private take(p: PathState, now: number): boolean {
    p.tokens = Math.min(this.limits.burst, p.tokens + ((now - p.tokensAt) * this.limits.perPathPerSecond) / 1000);
    p.tokensAt = now;
    if (p.tokens < 1) return false;
    p.tokens -= 1;
    return true;
  }
}

function exchanged(k: SessionKeys): ExchangedKeys {
  return { initiator: k.initiator, localIndex: k.localIndex, remoteIndex: k.remoteIndex };
}

/** Data-path keys of one direction: key id = the receiver's index's low byte, Security ID = the index. */
export function pathKeyMaterial(index: number, traffic: Uint8Array, metaLength: number): PathKeyMaterial {
  const { hmacKey, metaKey } = dataPathKeys(traffic, metaLength);
  return { keyId: index & 0xff, securityId: index, hmacKey, ...(metaKey !== undefined ? { metaKey } : {}) };
}
