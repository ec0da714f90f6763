/**
 * Path keys of a router's `key-exchange: handshake` paths (docs/security.md "Key exchange"): one
 * PathKeyExchange over those paths, wired to the router.
 *   handshake messages  <- pathMessages$ (kind 'handshake'; they travel unsigned) / -> sendPathMessage
 *   keys               -> setPathKeys / dropPathKeys in every data path (between batches)
 *   rekey on count     <- every second, the packets each path's tx key signed (summed over data paths)
 * Paths are named, not numbered, here: a config change that keeps a path's name, peer key, pre-shared key,
 * metadata cipher and rekey interval keeps its keys; any other change starts a new exchange for all paths
 * (their keys are dropped, a new handshake follows within a round trip).
 * The router's private key comes from `identity.private-key-file` (or the embedder); the peer's public
 * key from its `identity.public-key`; the pre-shared key is the path's config-derived HMAC key, so the
 * exchanged keys also depend on the authority secret (WireGuard's optional PSK).
 */
import type { Observable, Subscription } from 'rxjs';
import { identity, peerKey } from '../crypto/handshake.js';
import { readPrivateKeyFile } from '../crypto/identity-file.js';
import { equalBytes, keyPairFromPrivate, type KeyPair } from '../crypto/noise.js';
import type { PathKeyMaterial, PathKeyStatus } from '../dataplane/path-keys.js';
import { ConfigError, isSvrError } from '../errors.js';
import type { KeyExchangeTimings } from '../machines/key-exchange.js';
import type { SvrConfig } from '../model/config.js';
import type { CompiledPath, ForwardingTables } from '../model/tables.js';
import { PathKeyExchange, type ExchangeCounter, type ExchangeInfo, type ExchangeLimits, type ExchangePath } from './key-exchange.js';
import { pathMessageKind, type PathMessage } from './messages.js';

/** What the key control needs of its router. */
export interface KeyControlHost {
  readonly tables: ForwardingTables;
  readonly runningConfig: SvrConfig;
  readonly routerName: string;
  readonly pathMessages$: Observable<PathMessage>;
  sendPathMessage(path: number, payload: Uint8Array): boolean;
  setPathKeys(path: number, keys: { tx?: PathKeyMaterial; rx?: PathKeyMaterial }, activeAt: number, overlapMs: number): void;
  dropPathKeys(path: number): void;
  /** the path's keys in each data path */
  pathKeys(path: number): PathKeyStatus[];
  /** a handshake message from a peer behind NAT (`from` set) proved to be the peer's (NAT traversal learns it) */
  peerAuthenticated?(m: PathMessage): void;
}

export interface KeyControlOptions {
  /** the router's X25519 private key (32 bytes); default: read from its `identity.private-key-file` */
  privateKey?: Uint8Array;
  /** timings over every path's (tests shorten them) */
  timings?: Partial<KeyExchangeTimings>;
  limits?: Partial<ExchangeLimits>;
  /** how often the data path's packet counts are read for rekey on count, ms (default 1000) */
  usageIntervalMs?: number;
  now?: () => number;
  log?: (event: string, fields: Record<string, string | number | boolean>) => void;
  /** alarm `key-exchange-failing` per path: active while a path that had keys has none (expired, or the
   *  exchange gave up), cleared when it has keys again */
  alarm?: (name: string, source: string, o: { active: boolean; detail?: string }) => void;
}

/** One path in `svr show security`. */
export interface PathKeyView {
  path: string;
  peer: string;
  keyExchange: 'static' | 'handshake';
  /** static: the config's key-version; handshake: the exchange's state */
  state: string;
  /** the key this router sends with: key id, Security ID (TLV 16), age, packets under it (every data path) */
  tx?: { keyId: number; securityId: number; ageMs: number; packets: number };
  /** the keys accepted, by key id, with their age and when a replaced one stops being accepted */
  rx: { keyId: number; ageMs: number; retiresInMs?: number }[];
  /** handshake: keys installed so far and rekeys among them */
  handshakes?: number;
  rekeys?: number;
  lastHandshakeAgoMs?: number;
  nextRekeyInMs?: number;
  /** handshake messages refused on this path, by reason (counter name without `handshake-`) */
  refused?: Record<string, number>;
}

export interface SecurityView {
  paths: PathKeyView[];
  /** every handshake counter of the router (messages sent, outcomes, refusals) */
  counters: Record<string, number>;
}

/** Counters that are refusals of a message (shown by reason per path). */
const REFUSALS: readonly ExchangeCounter[] = [
  'handshake-malformed', 'handshake-bad-mac1', 'handshake-bad-auth', 'handshake-unknown-key', 'handshake-replayed',
  'handshake-rate-limited', 'handshake-unknown-index', 'handshake-cookie-needed',
];

/** Rekey and expiry of a path whose policy rekeys every `intervalMs` (WireGuard: 120 s, then reject after 180 s). */
function pathTimings(p: CompiledPath): Partial<KeyExchangeTimings> {
  return { rekeyAfterMs: p.rekeyIntervalMs, rejectAfterMs: p.rekeyIntervalMs + 60_000 };
}

export class PathKeyControl {
  private exchange: PathKeyExchange | null = null;
  /** exchange index -> path name, and the signature of the paths it was built for */
  private names: string[] = [];
  private signature = '';
  private readonly byName = new Map<string, number>();
  private sub: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly now: () => number;
  private keys: KeyPair | null = null;

  constructor(private readonly host: KeyControlHost, private readonly opts: KeyControlOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.build();
  }

  /**
   * What the exchange of tables t (config `config`, from `source`) would run: its paths with their peers' keys,
   * and the router's key pair. Throws SVR_ERR_IDENTITY_KEY when a handshake path cannot run (no private key, a
   * key that is not the router's, a peer without a public key), with the field's path as the config validator
   * gives it (`data.problems`): the router checks a new config with it first.
   */
  plan(t: ForwardingTables, config: SvrConfig, source = 'the running config'): { entries: (ExchangePath & { key: string })[]; keys: KeyPair | null } {
    const paths = t.paths.filter((p) => p.keyExchange === 'handshake' && p.hmac.mode !== 'disabled');
    const routers = config.authority.routers;
    const entries = paths.map((p): ExchangePath & { key: string } => {
      const peerName = t.peers[p.peer]!.name;
      const peer = routers.findIndex((r) => r.name === peerName);
      const publicKey = routers[peer]?.identity?.publicKey;
      if (publicKey === undefined) throw identityRefusal(source, `authority.routers[${peer}].identity.public-key`, `path ${p.name}: router ${peerName} has none, for key-exchange: handshake`);
      const metaLength = p.metadataCipher?.key.length ?? 0;
      const timings = { ...pathTimings(p), ...this.opts.timings };
      const psk = Buffer.from(p.hmac.key).toString('hex');
      return {
        path: 0, name: p.name, peer: peerKey(Buffer.from(publicKey, 'base64'), p.hmac.key), metaLength, timings,
        key: JSON.stringify([p.name, publicKey, psk, metaLength, p.hmac.cipher, p.metadataCipher?.cipher ?? '', timings]),
      };
    });
    return { entries, keys: entries.length === 0 ? null : this.keyPair(config, paths, source) };
  }

  /** The router's key pair (checked against its public key in the config). */
  private keyPair(config: SvrConfig, paths: readonly CompiledPath[], source: string): KeyPair {
    const i = config.authority.routers.findIndex((r) => r.name === this.host.routerName);
    const me = config.authority.routers[i];
    const at = `authority.routers[${i}].identity`;
    const uses = paths.map((p) => p.name).join(', ');
    if (me?.identity === undefined) throw identityRefusal(source, at, `router ${this.host.routerName} uses key-exchange: handshake on ${uses} but has no identity`);
    let keys = this.keys;
    if (keys === null || !equalBytes(keys.publicKey, Buffer.from(me.identity.publicKey, 'base64'))) {
      const file = me.identity.privateKeyFile;
      if (this.opts.privateKey !== undefined) keys = keyPairFromPrivate(this.opts.privateKey);
      else if (file !== undefined) keys = readKeyFile(file, source, `${at}.private-key-file`);
      else {
        throw identityRefusal(source, `${at}.private-key-file`, `router ${this.host.routerName} uses key-exchange: handshake on ${uses} but its identity has none `
          + '(set it to the file `svr identity new --out FILE` wrote)');
      }
    }
    if (!equalBytes(keys.publicKey, Buffer.from(me.identity.publicKey, 'base64'))) {
      throw identityRefusal(source, `${at}.private-key-file`, `router ${this.host.routerName}: its private key does not belong to identity.public-key ${me.identity.publicKey} `
        + `(\`svr identity show FILE\` prints the key's public key)`);
    }
    this.keys = keys;
    return keys;
  }

  /** (Re)builds the exchange when the handshake paths changed; keeps it (remapping ids) otherwise. */
  private build(): void {
    const { entries, keys } = this.plan(this.host.tables, this.host.runningConfig);
    const signature = JSON.stringify(entries.map((e) => e.key));
    this.byName.clear();
    for (const p of this.host.tables.paths) this.byName.set(p.name, p.id);
    if (signature === this.signature) return;
    const wasRunning = this.running;
    this.stopExchange();
    this.signature = signature;
    this.names = entries.map((e) => e.name);
    if (keys === null) return;
    this.exchange = new PathKeyExchange(identity(keys), entries.map(({ key: _, ...e }, i) => ({ ...e, path: i })), {
      send: (i, bytes) => this.withId(i, (id) => this.host.sendPathMessage(id, bytes)),
      setKeys: (i, k, activeAt, overlapMs) => this.withId(i, (id) => this.host.setPathKeys(id, k, activeAt, overlapMs)),
      dropKeys: (i) => this.withId(i, (id) => this.host.dropPathKeys(id)),
      now: this.now,
    }, this.opts.limits ? { limits: this.opts.limits } : {});
    this.opts.log?.('keys.exchange', { paths: this.names.join(',') });
    if (wasRunning) this.startExchange();
  }

  private withId(i: number, call: (id: number) => void): void {
    const id = this.byName.get(this.names[i] ?? '');
    if (id !== undefined) call(id);
  }

  private startExchange(): void {
    const ex = this.exchange;
    this.running = true;
    if (ex === null) return;
    this.names.forEach((_, i) => ex.start(i));
  }

  private stopExchange(): void {
    this.exchange?.stop(); // drops their keys in the data path
    this.exchange = null;
  }

  /** Starts every handshake path's exchange (they need no usable path: BFD waits for their keys). */
  start(): void {
    if (this.sub !== null) return;
    this.sub = this.host.pathMessages$.subscribe((m) => {
      if (pathMessageKind(m.payload) !== 'handshake') return;
      const i = this.names.indexOf(m.pathName);
      // from a peer behind NAT: once the message proved to be the peer's, it is learned where it came from
      const from = m.from;
      if (i >= 0) this.exchange?.onMessage(i, m.payload, from === undefined ? undefined : () => this.host.peerAuthenticated?.(m));
    });
    this.startExchange();
    this.timer = setInterval(() => this.reportUsage(), this.opts.usageIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** After a config change (the router checked it with `plan` first). */
  refresh(): void {
    this.build();
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopExchange();
    this.running = false;
    this.signature = '';
  }

  /** Packets signed under each path's tx key, summed over data paths: the exchange rekeys on count. Also
   *  the alarm of a path left without keys. */
  private reportUsage(): void {
    const ex = this.exchange;
    if (ex === null) return;
    this.names.forEach((name, i) => {
      this.withId(i, (id) => ex.usage(i, this.host.pathKeys(id).reduce((n, k) => n + k.sent, 0)));
      const info = ex.info(i)!;
      const failing = info.keys === 'none' && (info.generations > 0 || info.counters['handshake-gave-up'] > 0);
      this.opts.alarm?.('key-exchange-failing', name, { active: failing, ...(failing ? { detail: `state ${info.exchange}, ${info.counters['handshake-initiations-sent']} initiations sent` } : {}) });
    });
  }

  /** A path's exchange (tests). */
  info(pathName: string): ExchangeInfo | undefined {
    const i = this.names.indexOf(pathName);
    return i < 0 ? undefined : this.exchange?.info(i);
  }

  /** Every handshake counter of the router. */
  counters(): Record<string, number> {
    return this.exchange === null ? {} : { ...this.exchange.counters };
  }

  /** `svr show security`: key status per path. */
  view(): SecurityView {
    const now = this.now();
    const t = this.host.tables;
    const paths = t.paths.map((p): PathKeyView => {
      const workers = this.host.pathKeys(p.id);
      const first = workers.find((k) => k.tx !== 0);
      const rx = new Map<number, { keyId: number; ageMs: number; retiresInMs?: number }>();
      for (const w of workers) {
        for (const k of w.rx) {
          if (rx.has(k.keyId)) continue;
          rx.set(k.keyId, { keyId: k.keyId, ageMs: Math.max(0, now - k.since), ...(Number.isFinite(k.retireAt) ? { retiresInMs: Math.max(0, k.retireAt - now) } : {}) });
        }
      }
      const view: PathKeyView = {
        path: p.name, peer: t.peers[p.peer]!.name, keyExchange: p.keyExchange,
        state: p.hmac.mode === 'disabled' ? 'unsigned (hmac-mode disabled)' : p.keyExchange === 'static' ? `static key-version ${p.hmac.keyVersion}` : 'no exchange',
        ...(first !== undefined ? { tx: { keyId: first.tx, securityId: first.securityId, ageMs: Math.max(0, now - first.txSince), packets: workers.reduce((n, k) => n + (k.tx === first.tx ? k.sent : 0), 0) } } : {}),
        rx: [...rx.values()],
      };
      const i = this.names.indexOf(p.name);
      const info = i < 0 ? undefined : this.exchange?.info(i);
      if (info === undefined) return view;
      view.state = `${info.exchange}, keys ${info.keys}`;
      view.handshakes = info.generations;
      view.rekeys = Math.max(0, info.generations - 1);
      if (info.keysAt >= 0) view.lastHandshakeAgoMs = Math.max(0, now - info.keysAt);
      if (info.nextRekeyAt >= 0) view.nextRekeyInMs = Math.max(0, info.nextRekeyAt - now);
      view.refused = Object.fromEntries(REFUSALS.map((c) => [c.slice('handshake-'.length), info.counters[c]]));
      return view;
    });
    return { paths, counters: this.counters() };
  }
}

/**
 * SVR_ERR_IDENTITY_KEY at the field `path` of the config from `source`. Paths are a file's (kebab-case keys):
 * the identity's fields are read from files (svr node start, a conductor's version).
 */
function identityRefusal(source: string, path: string, message: string): ConfigError {
  return new ConfigError('SVR_ERR_IDENTITY_KEY', `${source}: ${path}: ${message}`, { source, problems: [{ path, message }] });
}

/** The private key file at config field `path` (a file that cannot be read or is not a key: refused at that path). */
function readKeyFile(file: string, source: string, path: string): KeyPair {
  try {
    return readPrivateKeyFile(file);
  } catch (e) {
    if (!isSvrError(e, 'SVR_ERR_IDENTITY_KEY')) throw e;
    throw identityRefusal(source, path, e.message);
  }
}
