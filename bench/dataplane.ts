/**
 * Per-packet cost of the data path alone (no TUN, no sockets): a batch of 256 packets of one established
 * session through r1 (ingress: LAN -> WAN) and r2 (egress: WAN -> LAN), with HMAC and with payload
 * encryption. Every round r2 receives the batch r1 has just sent (a batch received twice is a replay, and
 * dropped). HMAC mode 'regular' (the in-process config). The same with the path's keys from the key exchange
 * (`key-exchange: handshake`: one real handshake, its keys installed as path control does). Then the cost
 * of opening a session and of denying a first packet. Established TCP both ways: frames of 64 data segments
 * r1 -> r2 and, the other way, frames of 32 pure ACKs r2 -> r1 (the tcp case's two directions). Each line gives
 * the mean and the best (least disturbed) batch, ingress / egress. Run: node dist/bench/dataplane.js [--tcp]
 * Unless SVR_NATIVE_FORWARD=0, r1 gets its batch in slots with room (as from a TUN reader), so the marked session's
 * packets are finished natively in place (native/fwd.c); the batch is restored between rounds, outside the timing.
 * Unless SVR_NATIVE_IN=0, the WAN side's batches are handed over as writable in place (room), so svr-in's marked flows
 * are finished natively (native/fwd-in.c): each round's WAN batch is the one the other router has just sent.
 */
import { parseAddress } from '../src/packet/addr.js';
import { parseConfig } from '../src/model/validate.js';
import { inProcessConfig, Sink } from './inprocess-config.js';
import { buildTcp, buildUdp } from '../src/packet/build.js';
import { TCP_ACK, TCP_SYN } from '../src/packet/ip.js';
import { Dataplane } from '../src/dataplane/dataplane.js';
import { compileRouter } from '../src/model/compile.js';
import { MAX_BATCH } from '../src/dataplane/batch.js';
import { consumeInitiation, consumeResponse, createInitiation, createResponse, identity, peerKey } from '../src/crypto/handshake.js';
import { generateKeyPair, type KeyPair } from '../src/crypto/noise.js';
import { OVERLAP_MS } from '../src/dataplane/path-keys.js';
import { pathKeyMaterial } from '../src/paths/key-exchange.js';

/** `room` of WAN batches: unless SVR_NATIVE_IN=0 they may be written in place (svr-in only shrinks packets). */
const wanRoom = process.env['SVR_NATIVE_IN'] !== '0' ? 1 : 0;

/** One handshake between r1 (initiator) and r2 over path 0; its keys installed in both data paths. */
function exchangeKeys(r1: Dataplane, r2: Dataplane, k1: KeyPair, k2: KeyPair, psk: Uint8Array): void {
  const init = createInitiation(identity(k1), peerKey(k2.publicKey, psk), 0x101, Date.now());
  const accepted = consumeInitiation(identity(k2), init.message, () => peerKey(k1.publicKey, psk));
  if (typeof accepted !== 'object') throw new Error(`handshake refused: ${accepted}`);
  const response = createResponse(accepted, 0x202);
  const keys = consumeResponse(identity(k1), init.state, response.message);
  if (typeof keys !== 'object') throw new Error(`handshake refused: ${keys}`);
  const now = Date.now();
  for (const [dp, k] of [[r1, keys], [r2, response.keys]] as const) {
    dp.setPathKeys(0, { tx: pathKeyMaterial(k.remoteIndex, k.send, 0), rx: pathKeyMaterial(k.localIndex, k.receive, 0) }, now, OVERLAP_MS);
  }
}



function run(label: string, encrypt: boolean, size: number, keys: 'static' | 'handshake' = 'static'): void {
  const pairs = keys === 'handshake' ? [generateKeyPair(), generateKeyPair()] as const : undefined;
  const b64 = (k: KeyPair) => Buffer.from(k.publicKey).toString('base64');
  const config = parseConfig(inProcessConfig(encrypt, pairs === undefined ? undefined : { r1: b64(pairs[0]), r2: b64(pairs[1]) }));
  const wan1 = new Sink(true), wan2 = new Sink(true), lan2 = new Sink(true);
  const t1 = compileRouter(config, 'r1', 1);
  const r1 = new Dataplane({ tables: t1, ports: [new Sink(true), wan1] });
  const r2 = new Dataplane({ tables: compileRouter(config, 'r2', 1), ports: [lan2, wan2] });
  if (pairs !== undefined) exchangeKeys(r1, r2, pairs[0], pairs[1], t1.paths[0]!.hmac.key);
  const pkt = buildUdp({ src: parseAddress('198.18.1.10')!.bytes, dst: parseAddress('198.18.3.20')!.bytes, srcPort: 40000, dstPort: 5000, payload: new Uint8Array(size) });
  const n = MAX_BATCH;
  const room = process.env['SVR_NATIVE_FORWARD'] !== '0' ? pkt.length + 128 : 0;
  const slot = Math.max(room, pkt.length);
  const data = new Uint8Array(slot * n);
  const off = new Uint32Array(n), len = new Uint32Array(n);
  for (let i = 0; i < n; i++) { data.set(pkt, i * slot); off[i] = i * slot; len[i] = pkt.length; }
  const pristine = data.slice();
  // the first packet opens the session; a reverse packet completes the handshake
  r1.receive(0, data, off, len, 1);
  r2.receive(1, wan1.data, wan1.off, wan1.len, wan1.count);
  const rev = buildUdp({ src: parseAddress('198.18.3.20')!.bytes, dst: parseAddress('198.18.1.10')!.bytes, srcPort: 5000, dstPort: 40000, payload: new Uint8Array(8) });
  r2.receive(0, rev, Uint32Array.of(0), Uint32Array.of(rev.length), 1);
  r1.receive(1, wan2.data, wan2.off, wan2.len, wan2.count);
  r1.receive(0, data, off, len, 1);
  r2.receive(1, wan1.data, wan1.off, wan1.len, wan1.count);
  const rounds = 400;
  let ingress = 0n, egress = 0n, received = 0;
  // the least disturbed batch: on a shared machine the mean carries other work's load, the best batch less so
  let bestIngress = Infinity, bestEgress = Infinity;
  for (let i = -50; i < rounds; i++) { // 50 rounds of warm-up
    if (room > 0) data.set(pristine);
    const t0 = process.hrtime.bigint();
    r1.receive(0, data, off, len, n, room);
    const t1 = process.hrtime.bigint();
    r2.receive(1, wan1.data, wan1.off, wan1.len, wan1.count, wanRoom);
    if (i < 0) continue;
    const t2 = process.hrtime.bigint();
    ingress += t1 - t0;
    egress += t2 - t1;
    received += wan1.count;
    bestIngress = Math.min(bestIngress, Number(t1 - t0) / n);
    bestEgress = Math.min(bestEgress, Number(t2 - t1) / wan1.count);
  }
  const ingressNs = Number(ingress) / (rounds * n);
  const egressNs = Number(egress) / received;
  const c2 = r2.counters.snapshot();
  console.log(`${label.padEnd(40)} ingress ${(ingressNs / 1000).toFixed(2)} µs/pkt   egress ${(egressNs / 1000).toFixed(2)} µs/pkt   best batch ${(bestIngress / 1000).toFixed(2)} / ${(bestEgress / 1000).toFixed(2)}   (egress tx ${c2['tx-packets']}, native ${c2['native-received'] ?? 0}, drops ${Object.entries(c2).filter(([k, v]) => k.startsWith('drop-') && v > 0).map(([k, v]) => `${k}=${v}`).join(' ') || 'none'})`);
}

/**
 * Session setup: batches of first packets (each its own 5-tuple) through r1 (ingress: classification, row,
 * waypoint ports, forward metadata, the session.created fact), and the same number of first packets that
 * match no service (the denied path: counted, reported in the batch's denied fact).
 */
function setup(): void {
  const config = parseConfig(inProcessConfig(false));
  const n = MAX_BATCH;
  const rounds = 40;
  /** ns per first packet in a fresh data path (its session table grows as it fills, as in service) */
  const once = (dst: string): { ns: number; c: Record<string, number> } => {
    const r1 = new Dataplane({ tables: compileRouter(config, 'r1', 1), ports: [new Sink(), new Sink()], onEvents: () => {} });
    const pkts = Array.from({ length: n * rounds }, (_, i) => buildUdp({
      src: parseAddress(`198.18.1.${10 + (i >> 14)}`)!.bytes, dst: parseAddress(dst)!.bytes, srcPort: 1024 + (i & 0x3fff), dstPort: 5000, payload: new Uint8Array(64),
    }));
    const batches = Array.from({ length: rounds }, (_, k) => {
      const data = new Uint8Array(pkts[0]!.length * n);
      const off = new Uint32Array(n), len = new Uint32Array(n);
      for (let i = 0; i < n; i++) { data.set(pkts[k * n + i]!, i * pkts[0]!.length); off[i] = i * pkts[0]!.length; len[i] = pkts[0]!.length; }
      return { data, off, len };
    });
    const t0 = process.hrtime.bigint();
    for (const b of batches) r1.receive(0, b.data, b.off, b.len, n);
    return { ns: Number(process.hrtime.bigint() - t0) / (rounds * n), c: r1.counters.snapshot() };
  };
  const measure = (label: string, dst: string): void => {
    const runs = Array.from({ length: 6 }, () => once(dst)); // the best of six: a shared machine only adds noise
    const best = Math.min(...runs.map((r) => r.ns));
    const c = runs[0]!.c;
    console.log(`${label.padEnd(40)} ${(best / 1000).toFixed(2)} µs per first packet, best of ${runs.length}   (sessions ${c['sessions-created']}, drop-no-service ${c['drop-no-service'] ?? 0})`);
  };
  measure('session setup (ingress)', '198.18.3.20');
  measure('denied first packet (no service)', '198.18.9.9');
}

/** A frame of `n` copies of one TCP packet, packed, in a SharedArrayBuffer as a TUN reader hands it over. */
function frame(pkt: Uint8Array, n: number): { data: Uint8Array; off: Uint32Array; len: Uint32Array; n: number } {
  const data = new Uint8Array(new SharedArrayBuffer(pkt.length * n)), off = new Uint32Array(n), len = new Uint32Array(n);
  for (let i = 0; i < n; i++) { data.set(pkt, i * pkt.length); off[i] = i * pkt.length; len[i] = pkt.length; }
  return { data, off, len, n };
}

/**
 * Established TCP: SYN, SYN/ACK and ACK open the session, then each round a frame of `dataN` 1400-byte data
 * segments r1 (LAN) -> r2 (WAN) and a frame of `ackN` pure ACKs r2 (LAN) -> r1 (WAN). Prints the best round's
 * µs per packet of each router's two stages: data r1 (seal, sign) / r2 (verify, open), ACK r2 / r1.
 */
function runTcp(label: string, encrypt: boolean, dataN = 64, ackN = 32): void {
  const config = parseConfig(inProcessConfig(encrypt));
  const wan1 = new Sink(true), wan2 = new Sink(true), lan1 = new Sink(true), lan2 = new Sink(true);
  const r1 = new Dataplane({ tables: compileRouter(config, 'r1', 1), ports: [lan1, wan1] });
  const r2 = new Dataplane({ tables: compileRouter(config, 'r2', 1), ports: [lan2, wan2] });
  const c = parseAddress('198.18.1.10')!.bytes, s = parseAddress('198.18.3.20')!.bytes;
  const up = (flags: number, payload = 0) => buildTcp({ src: c, dst: s, srcPort: 40000, dstPort: 5001, seq: 1000, ack: 5000, flags, payload: new Uint8Array(payload) });
  const down = (flags: number) => buildTcp({ src: s, dst: c, srcPort: 5001, dstPort: 40000, seq: 5000, ack: 1001, flags });
  const one = (pkt: Uint8Array) => frame(pkt, 1);
  const send = (a: Dataplane, b: Dataplane, sink: Sink, f: ReturnType<typeof frame>) => { a.receive(0, f.data, f.off, f.len, f.n); b.receive(1, sink.data, sink.off, sink.len, sink.count); };
  // what the peer reads comes out of a TUN reader's SharedArrayBuffer too: copied there between the timings
  const wire = new Uint8Array(new SharedArrayBuffer(MAX_BATCH * 2048));
  const onWire = (sink: Sink): Uint8Array => {
    wire.set(sink.data.subarray(0, sink.count === 0 ? 0 : sink.off[sink.count - 1]! + sink.len[sink.count - 1]!));
    return wire;
  };
  send(r1, r2, wan1, one(up(TCP_SYN)));
  send(r2, r1, wan2, one(down(TCP_SYN | TCP_ACK)));
  send(r1, r2, wan1, one(up(TCP_ACK)));
  const data = frame(up(TCP_ACK, 1400), dataN), acks = frame(down(TCP_ACK), ackN);
  const best = [Infinity, Infinity, Infinity, Infinity];
  const time = (k: number, fn: () => void, n: number) => { const t0 = process.hrtime.bigint(); fn(); best[k] = Math.min(best[k]!, Number(process.hrtime.bigint() - t0) / n); };
  for (let i = -100; i < 1500; i++) {
    time(0, () => r1.receive(0, data.data, data.off, data.len, data.n), data.n);
    const in2 = onWire(wan1);
    time(1, () => r2.receive(1, in2, wan1.off, wan1.len, wan1.count, wanRoom), Math.max(1, wan1.count));
    time(2, () => r2.receive(0, acks.data, acks.off, acks.len, acks.n), acks.n);
    const in1 = onWire(wan2);
    time(3, () => r1.receive(1, in1, wan2.off, wan2.len, wan2.count, wanRoom), Math.max(1, wan2.count));
    if (i === -1) best.fill(Infinity);
  }
  const us = (v: number) => (v / 1000).toFixed(2);
  const c1 = r1.counters.snapshot(), c2 = r2.counters.snapshot();
  const drops = (c: Record<string, number>) => Object.entries(c).filter(([k, v]) => k.startsWith('drop-') && v > 0).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
  console.log(`${label.padEnd(40)} data r1 / r2 ${us(best[0]!)} / ${us(best[1]!)} µs/pkt   ACK r2 / r1 ${us(best[2]!)} / ${us(best[3]!)}   (delivered ${lan2.packets} / ${lan1.packets}, native ${c2['native-received'] ?? 0} / ${c1['native-received'] ?? 0}; drops r1 ${drops(c1)}, r2 ${drops(c2)})`);
}

if (process.argv.includes('--tcp')) {
  runTcp('TCP 1400 B, HMAC every packet', false);
  runTcp('TCP 1400 B, HMAC + AES-256-CBC', true);
  runTcp('TCP, AES, frames of 8 and of 1 ACK', true, 8, 1);
  process.exit(0);
}
run('UDP 64 B, HMAC every packet', false, 64);
run('UDP 1400 B, HMAC every packet', false, 1400);
run('UDP 1400 B, HMAC + AES-256-CBC', true, 1400);
run('UDP 64 B, HMAC, handshake keys', false, 64, 'handshake');
run('UDP 1400 B, HMAC + AES, handshake keys', true, 1400, 'handshake');
setup();
