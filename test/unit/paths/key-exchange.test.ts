/**
 * The key exchange between two routers' drivers over memory (src/paths/key-exchange.ts): handshakes,
 * refusals that keep no state, rate limits and cookies under load, rekeys on time and on count. A
 * simulated clock drives the machines' timers; the wire is a queue flushed by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimulatedClock } from 'xstate';
import { createInitiation, identity, peerKey, type Identity } from '../../../src/crypto/handshake.js';
import { generateKeyPair, hmac } from '../../../src/crypto/noise.js';
import type { PathKeyMaterial } from '../../../src/dataplane/path-keys.js';
import { PathKeyExchange, type ExchangeLimits, type KeyExchangeDriver } from '../../../src/paths/key-exchange.js';

const BASE = 1_700_000_000_000;
const hex = (b: Uint8Array | undefined) => (b === undefined ? '-' : Buffer.from(b).toString('hex'));

interface Install { keys: { tx?: PathKeyMaterial; rx?: PathKeyMaterial }; activeAt: number; overlapMs: number }

class Side {
  readonly installs: Install[] = [];
  dropped = 0;
  exchange!: PathKeyExchange;
  /** what this side sent, in order */
  readonly sent: Uint8Array[] = [];
  constructor(readonly id: Identity) {}
  get tx(): PathKeyMaterial | undefined {
    return this.installs.filter((i) => i.keys.tx !== undefined).at(-1)?.keys.tx;
  }
  get rx(): PathKeyMaterial | undefined {
    return this.installs.filter((i) => i.keys.rx !== undefined).at(-1)?.keys.rx;
  }
}

function pair(opts: { limits?: Partial<ExchangeLimits>; psk?: Uint8Array } = {}) {
  const clock = new SimulatedClock();
  const now = () => BASE + clock.now();
  const a = new Side(identity(generateKeyPair()));
  const b = new Side(identity(generateKeyPair()));
  const queue: { to: Side; bytes: Uint8Array }[] = [];
  let drop: ((from: Side, bytes: Uint8Array) => boolean) | null = null;
  const driver = (self: Side, other: Side): KeyExchangeDriver => ({
    send: (_path, bytes) => {
      self.sent.push(bytes);
      if (drop === null || !drop(self, bytes)) queue.push({ to: other, bytes });
    },
    setKeys: (_path, keys, activeAt, overlapMs) => self.installs.push({ keys, activeAt, overlapMs }),
    dropKeys: () => self.dropped++,
    now,
  });
  const psk = opts.psk ?? new Uint8Array(32).fill(9);
  const make = (self: Side, other: Side) => new PathKeyExchange(
    self.id, [{ path: 0, name: 'wan0->peer/wan0', peer: peerKey(other.id.keys.publicKey, psk), metaLength: 16 }], driver(self, other),
    { clock, ...(opts.limits ? { limits: opts.limits } : {}) },
  );
  a.exchange = make(a, b);
  b.exchange = make(b, a);
  const flush = () => {
    while (queue.length > 0) {
      const m = queue.shift()!;
      m.to.exchange.onMessage(0, m.bytes);
    }
  };
  const advance = (ms: number) => {
    clock.increment(ms);
    flush();
  };
  return { a, b, clock, flush, advance, setDrop: (f: typeof drop) => (drop = f), close: () => { a.exchange.stop(); b.exchange.stop(); } };
}

/** Same keys both ways: a's tx is b's rx and the other way round, key ids from the receivers' indexes. */
function agreed(a: Side, b: Side): void {
  assert.ok(a.tx !== undefined && b.rx !== undefined && b.tx !== undefined && a.rx !== undefined, 'keys on both sides');
  assert.equal([hex(a.tx!.hmacKey), hex(a.tx!.metaKey), a.tx!.keyId], [hex(b.rx!.hmacKey), hex(b.rx!.metaKey), b.rx!.keyId]);
  assert.equal([hex(b.tx!.hmacKey), hex(b.tx!.metaKey), b.tx!.keyId], [hex(a.rx!.hmacKey), hex(a.rx!.metaKey), a.rx!.keyId]);
  assert.is.not(hex(a.tx!.hmacKey), hex(a.rx!.hmacKey), 'one key per direction');
  assert.is(a.tx!.metaKey!.length, 16);
}

test('a handshake over memory: keys agree per direction; the responder sends with them only after the confirmation', () => {
  const { a, b, flush, close } = pair();
  a.exchange.start(0);
  flush();
  agreed(a, b);
  assert.equal(a.installs.map((i) => Object.keys(i.keys).sort()), [['rx', 'tx']], 'the initiator: both at once');
  assert.equal(b.installs.map((i) => Object.keys(i.keys).sort()), [['rx'], ['tx']], 'the responder: rx with its response, tx on the confirmation');
  assert.equal(a.sent.map((m) => m[0]), [0xc8, 0xcb]);
  assert.equal(b.sent.map((m) => m[0]), [0xc9]);
  assert.is(a.exchange.counters['handshake-established'], 1);
  assert.is(b.exchange.counters['handshake-established'], 1);
  assert.equal(a.exchange.state(0), { running: { keys: 'live', exchange: 'current' } });
  assert.is(a.installs[0]!.overlapMs, 30_000);
  close();
});

test('authenticated (a peer behind NAT is learned from it) runs for an accepted initiation, response and confirmation before the answer goes out; never for a replayed or a stranger\'s initiation', () => {
  const { a, b, close } = pair();
  const seen: string[] = [];
  const deliver = (to: Side, bytes: Uint8Array, who: string) => to.exchange.onMessage(0, bytes, () => void seen.push(`${who} ${to.sent.length}`));
  a.exchange.start(0);
  const initiation = a.sent[0]!;
  deliver(b, initiation, 'initiation'); // b has sent nothing yet when it runs: its response goes where it was learned
  assert.equal(seen, ['initiation 0']);
  assert.equal(b.sent.map((m) => m[0]), [0xc9]);
  deliver(a, b.sent[0]!, 'response');
  assert.equal(seen, ['initiation 0', 'response 1']);
  deliver(b, a.sent[1]!, 'confirmation');
  assert.is(seen.length, 3);
  deliver(b, initiation, 'replay');
  const stranger = identity(generateKeyPair());
  deliver(b, createInitiation(stranger, peerKey(b.id.keys.publicKey), 7, Date.now()).message, 'stranger');
  assert.is(seen.length, 3, 'a replayed or foreign initiation proves nothing');
  assert.is(b.exchange.counters['handshake-replayed'], 1);
  close();
});

test('a lost initiation is retried 5 s later; a replayed one, garbage and unknown keys change nothing and are counted', () => {
  const { a, b, flush, advance, setDrop, close } = pair();
  let first = true;
  setDrop((from, bytes) => {
    if (from === a && bytes[0] === 0xc8 && first) return !(first = false);
    return false;
  });
  a.exchange.start(0);
  flush();
  assert.is(b.installs.length, 0, 'lost');
  advance(5000);
  agreed(a, b);
  assert.is(a.exchange.counters['handshake-initiations-sent'], 2);
  setDrop(null);
  const installs = b.installs.length;
  // the successful initiation replayed: its timestamp is not newer
  b.exchange.onMessage(0, a.sent.find((m) => m[0] === 0xc8 && a.sent.indexOf(m) === 1)!);
  assert.is(b.exchange.counters['handshake-replayed'], 1);
  // garbage (wrong mac1) costs one HMAC and is dropped
  for (let i = 0; i < 200; i++) b.exchange.onMessage(0, Uint8Array.from({ length: 148 }, (_, j) => (j === 0 ? 0xc8 : (i * 7 + j * 13) & 0xff)));
  assert.is(b.exchange.counters['handshake-bad-mac1'], 200);
  // a stranger who knows b's public key passes mac1, not the static key check
  const stranger = identity(generateKeyPair());
  advance(1000); // a token for the bucket
  b.exchange.onMessage(0, createInitiation(stranger, peerKey(b.id.keys.publicKey), 77, Date.now()).message);
  assert.is(b.exchange.counters['handshake-unknown-key'], 1);
  // responses and confirmations nobody asked for
  b.exchange.onMessage(0, b.sent[0]!); // b's own response echoed back: mac1 is for a, not b
  a.exchange.onMessage(0, b.sent[0]!); // the old response again: a has no initiation waiting
  a.exchange.onMessage(0, Uint8Array.of(0xcb, 0, 0, 0, 1, 2, 3, 4, ...new Uint8Array(16)));
  assert.is(b.exchange.counters['handshake-bad-mac1'], 201);
  assert.is(a.exchange.counters['handshake-unknown-index'], 2, 'a response and a confirmation it did not ask for');
  assert.is(b.installs.length, installs, 'no keys from any of it');
  close();
});

test('rate limit: a flood of initiations that pass mac1 gets a burst of Diffie-Hellmans per path, the rest are counted', () => {
  const { b, close } = pair({ limits: { perPathPerSecond: 20, burst: 5, underLoadPerSecond: 1_000_000 } });
  const stranger = identity(generateKeyPair());
  for (let i = 0; i < 100; i++) b.exchange.onMessage(0, createInitiation(stranger, peerKey(b.id.keys.publicKey), i, Date.now()).message);
  assert.is(b.exchange.counters['handshake-unknown-key'], 5, 'the burst');
  assert.is(b.exchange.counters['handshake-rate-limited'], 95);
  close();
});

test('under load: an initiation without a cookie gets a cookie reply; the retry with mac2 goes through', () => {
  const { a, b, flush, advance, close } = pair({ limits: { underLoadPerSecond: 3 } });
  for (let i = 0; i < 5; i++) b.exchange.onMessage(0, new Uint8Array(148).fill(0xc8)); // load (bad mac1, counted)
  a.exchange.start(0);
  flush();
  assert.is(b.exchange.counters['handshake-cookie-needed'], 1);
  assert.is(b.exchange.counters['handshake-cookies-sent'], 1);
  assert.is(b.installs.length, 0, 'no state for the initiation that had no cookie');
  for (let i = 0; i < 5; i++) b.exchange.onMessage(0, new Uint8Array(148).fill(0xc8)); // still loaded in this second
  advance(5000); // the retry carries the cookie; the load window has moved on, but mac2 is right anyway
  agreed(a, b);
  const retry = a.sent.filter((m) => m[0] === 0xc8)[1]!;
  assert.ok(retry.subarray(132).some((x) => x !== 0), 'mac2 filled');
  close();
});

test('rekey on time (120 s, the initiator) and on count: new keys, distinct from the old, previous kept 30 s; expiry without a peer', () => {
  const { a, b, flush, advance, setDrop, close } = pair();
  a.exchange.start(0);
  flush();
  const first = { a: hex(a.tx!.hmacKey), b: hex(b.tx!.hmacKey) };
  advance(119_999);
  assert.is(a.exchange.counters['handshake-initiations-sent'], 1);
  advance(1);
  agreed(a, b);
  assert.is(a.exchange.counters['handshake-rekeyed'], 1);
  assert.ok(hex(a.tx!.hmacKey) !== first.a && hex(b.tx!.hmacKey) !== first.b, 'fresh keys');
  assert.is(a.tx!.keyId === b.installs[0]!.keys.rx!.keyId, false, 'a new key id: both slots live during the overlap');
  a.exchange.usage(0, 2 ** 31);
  flush();
  assert.is(a.exchange.counters['handshake-rekeyed'], 2, 'rekeyed on count');
  // the peer goes silent: the rekey retries and the keys expire 180 s after the last install
  setDrop(() => true);
  advance(120_000); // the next rekey starts, unanswered
  advance(60_000);
  assert.is(a.dropped, 1, 'expired');
  assert.is(a.exchange.counters['handshake-keys-expired'], 1);
  close();
});

test('timestamps are per peer: an initiation accepted on one path and replayed on another path to the same router is refused', () => {
  const a = identity(generateKeyPair());
  const b = identity(generateKeyPair());
  const sent: number[] = [];
  const peer = peerKey(a.keys.publicKey);
  const ex = new PathKeyExchange(b, [{ path: 0, name: 'p0', peer, metaLength: 0 }, { path: 1, name: 'p1', peer, metaLength: 0 }], {
    send: (path) => sent.push(path), setKeys: () => {}, dropKeys: () => {}, now: () => BASE,
  });
  const { message } = createInitiation(a, peerKey(b.keys.publicKey), 5, BASE);
  ex.onMessage(0, message);
  ex.onMessage(1, message);
  assert.equal(sent, [0], 'answered once, on the path it came on');
  assert.is(ex.counters['handshake-replayed'], 1);
  ex.stop();
});

test('another pre-shared key: the handshake never completes', () => {
  const { a, b, flush, close } = pair();
  const installs: string[] = [];
  const other = new PathKeyExchange(b.id, [{ path: 0, name: 'x', peer: peerKey(a.id.keys.publicKey, hmac(new Uint8Array(1), new Uint8Array(1))), metaLength: 0 }], {
    send: (_p, bytes) => a.exchange.onMessage(0, bytes), setKeys: (_p, k) => installs.push(Object.keys(k).join()), dropKeys: () => {}, now: () => BASE,
  });
  b.exchange.stop();
  b.exchange = other;
  a.exchange.start(0);
  flush();
  assert.is(a.exchange.counters['handshake-bad-auth'], 1, 'the response does not authenticate with a different PSK');
  assert.is(a.tx, undefined);
  assert.equal(installs, ['rx'], 'the responder cannot tell: it never sends with its keys (no confirmation comes)');
  other.stop();
  close();
});

test('another pre-shared key, retried: each unconfirmed response\'s rx key replaces the one before (one slot held), counted; a confirmed one is not replaced', () => {
  const { a, b, flush, advance, close } = pair();
  const rx: PathKeyMaterial[] = [];
  const other = new PathKeyExchange(b.id, [{ path: 0, name: 'x', peer: peerKey(a.id.keys.publicKey, hmac(new Uint8Array(1), new Uint8Array(1))), metaLength: 0 }], {
    send: (_p, bytes) => a.exchange.onMessage(0, bytes), setKeys: (_p, k) => void (k.rx !== undefined && rx.push(k.rx)), dropKeys: () => {}, now: () => BASE,
  });
  b.exchange.stop();
  b.exchange = other;
  a.exchange.start(0);
  flush();
  for (let i = 0; i < 3; i++) advance(5_000); // a retries every 5 s; each retry is a new, newer initiation
  assert.is(a.exchange.counters['handshake-bad-auth'], 4, 'four responses refused by the initiator');
  assert.equal(rx.map((k) => k.replaces), [undefined, rx[0]!.keyId, rx[1]!.keyId, rx[2]!.keyId], 'each rx key replaces the unconfirmed one before it');
  assert.is(other.counters['handshake-unconfirmed-replaced'], 3);
  other.stop();
  close();
  const ok = pair();
  ok.a.exchange.start(0);
  ok.flush();
  ok.advance(120_000); // a rekeys; b answers again after its confirmed response
  assert.equal(ok.b.installs.filter((i) => i.keys.rx !== undefined).map((i) => i.keys.rx!.replaces), [undefined, undefined], 'confirmed keys stay');
  assert.is(ok.b.exchange.counters['handshake-unconfirmed-replaced'], 0);
  ok.close();
});

test.run();
