/**
 * Cost of the path key exchange on one core (docs/security.md "Measured"): whole handshakes a second
 * (initiation, response, confirmation: both routers' work), what one responder spends on each kind of
 * message, and what a flood costs a router: garbage (refused by mac1), initiations from a stranger who
 * knows our public key (one DH each, until the per-path token bucket empties), and the same under load
 * (cookie replies: no DH at all).
 *
 *   node dist/bench/handshake.js [--scale 1] [--json]
 *
 * CPU time of this process (user + system), per message, over a fixed number of messages per figure (COUNTS
 * × --scale; about 1 s of CPU in all on a quiet core): bounded by work, not by time, so a loaded machine
 * makes it slower but never unbounded (it once measured 1 s of CPU per figure, 67 s of wall time at load 20
 * and more than 120 s at load 30). --json: one HandshakeResult (bench/results.ts) for `npm run bench` (the
 * svrouter-enc-hs mode's handshakes/s).
 */
import { identity, peerKey, createInitiation, checkMac1, consumeInitiation, createResponse, consumeResponse, createConfirm, checkConfirm } from '../src/crypto/handshake.js';
import { generateKeyPair } from '../src/crypto/noise.js';
import { PathKeyExchange, type KeyExchangeDriver } from '../src/paths/key-exchange.js';
import type { HandshakeResult } from './results.js';

const i = process.argv.indexOf('--scale');
const SCALE = i >= 0 ? Number(process.argv[i + 1]) : 1;
if (!(SCALE > 0)) throw new Error('--scale: a positive number (messages per figure × this)');
/** messages per figure: 0.1-0.5 s of CPU each (quiet: whole handshake ~0.5 ms, responder ~0.22 ms; at load 20:
 *  ~0.9 ms, ~0.46 ms, refused floods ~6 µs, cookie replies ~41 µs) */
const COUNTS = { whole: 500, responder: 1000, garbage: 40_000, stranger: 40_000, underLoad: 6_000 } as const;

/** CPU µs per call of fn, over n calls after 20 to warm up. */
function measure(fn: () => void, n: number): number {
  for (let k = 0; k < 20; k++) fn();
  const count = Math.max(1, Math.round(n * SCALE));
  const c0 = process.cpuUsage();
  for (let k = 0; k < count; k++) fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / count;
}

const a = identity(generateKeyPair());
const b = identity(generateKeyPair());
const aPeer = peerKey(a.keys.publicKey);
const bPeer = peerKey(b.keys.publicKey);
let index = 1;

const whole = measure(() => {
  const { message, state } = createInitiation(a, bPeer, index++, Date.now());
  if (!checkMac1(b, message)) throw new Error('mac1');
  const acc = consumeInitiation(b, message, () => aPeer);
  if (typeof acc === 'string') throw new Error(acc);
  const { message: resp, keys: rk } = createResponse(acc, index++);
  const ik = consumeResponse(a, state, resp);
  if (typeof ik === 'string' || !checkConfirm(rk, createConfirm(ik))) throw new Error('keys');
}, COUNTS.whole);

const init = createInitiation(a, bPeer, 1, Date.now()).message;
const responder = measure(() => {
  checkMac1(b, init);
  const acc = consumeInitiation(b, init, () => aPeer);
  if (typeof acc === 'string') throw new Error(acc);
  createResponse(acc, index++);
}, COUNTS.responder);

/** A router (b) with one path, fed a flood through its driver; returns µs per message and the counters. */
function flood(messages: () => Uint8Array, underLoadPerSecond: number, n: number): { us: number; counters: Record<string, number> } {
  const driver: KeyExchangeDriver = { send: () => {}, setKeys: () => {}, dropKeys: () => {}, now: Date.now };
  const ex = new PathKeyExchange(b, [{ path: 0, name: 'wan0->r1/wan0', peer: aPeer, metaLength: 0 }], driver, { limits: { underLoadPerSecond } });
  const us = measure(() => ex.onMessage(0, messages()), n);
  ex.stop();
  return { us, counters: Object.fromEntries(Object.entries(ex.counters).filter(([, v]) => v > 0)) };
}

const garbage = new Uint8Array(148).fill(0x5a);
garbage[0] = 0xc8;
const stranger = identity(generateKeyPair());
const strangerInits = Array.from({ length: 64 }, (_, k) => createInitiation(stranger, bPeer, k, Date.now()).message);
let s = 0;
const g = flood(() => garbage, 1e9, COUNTS.garbage);
const st = flood(() => strangerInits[s++ % 64]!, 1e9, COUNTS.stranger);
const loaded = flood(() => strangerInits[s++ % 64]!, 100, COUNTS.underLoad);

if (process.argv.includes('--json')) {
  const out: HandshakeResult = {
    wholeUs: whole, wholePerSecond: 1e6 / whole, responderUs: responder, responderPerSecond: 1e6 / responder,
    floodUs: { garbage: g.us, stranger: st.us, underLoad: loaded.us },
  };
  console.log(JSON.stringify(out));
  process.exit(0);
}
const line = (what: string, us: number, extra = '') => console.log(`${what.padEnd(64)} ${us.toFixed(1).padStart(7)} µs  ${Math.round(1e6 / us).toString().padStart(7)}/s ${extra}`);
line('whole handshake, both routers (2 ephemeral keys, 8 X25519)', whole);
line('responder: initiation in, response out (1 key, 4 X25519)', responder);
line('flood of garbage initiations (mac1 refuses them)', g.us, JSON.stringify(g.counters));
line('flood from a stranger with our public key (bucket: 20/s)', st.us, JSON.stringify(st.counters));
line('the same flood, router under load (cookie replies)', loaded.us, JSON.stringify(loaded.counters));
