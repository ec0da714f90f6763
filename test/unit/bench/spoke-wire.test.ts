/**
 * The hub case's spoke simulator (bench/spoke-wire.ts) against the real thing: one real router (createMemoryLab's
 * r1, its data path verifying every trailer, its PathSupervisor on virtual time) talks to a SpokePath that plays
 * r2's end of the path (r2's control packets never reach r1; the simulator's do, as IP/UDP from r2's waypoint).
 * BFD must come Up on both ends, the router's link tests be answered (quality measured), the simulator's link
 * tests be answered, and a silenced simulator be declared down by the router after one Detection Time.
 * Then MTU probes and STEP documents, decoded with the project's own codecs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PathSupervisor } from '../../../src/paths/supervisor.js';
import { buildUdp } from '../../../src/packet/build.js';
import { keyId } from '../../../src/dataplane/path-keys.js';
import { decodeMtuAck, encodeMtuProbe } from '../../../src/paths/path-mtu.js';
import { pathMessageKind } from '../../../src/paths/messages.js';
import { encodeDocument, parseMessage, encodeRequest, originHash } from '../../../src/step/codec.js';
import { decodeBfdControl, encodeBfdControl } from '../../../src/packet/bfd.js';
import { REPLAY_BLOCK_LENGTH, replayKeyId } from '../../../src/packet/svr-trailer.js';
import type { CompiledPath } from '../../../src/model/tables.js';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig } from '../../support/config.js';
import { prng } from '../../support/prng.js';
import { VirtualTime } from '../paths/virtual-time.js';
import { newCounters, openControl, signControl, SpokePath, type PathSigning, type SpokeTimers } from '../../../bench/spoke-wire.js';

const CONTROL = 1280;

const signingOf = (p: CompiledPath): PathSigning => ({ mode: p.hmac.mode, cipher: p.hmac.cipher, key: p.hmac.key, keyId: keyId(p.hmac.keyVersion), tagLength: p.hmac.tagLength });
const timersOf = (p: CompiledPath): SpokeTimers => ({
  desiredTxMs: p.bfd.desiredTxMs, requiredMinRxMs: p.bfd.requiredMinRxMs, multiplier: p.bfd.multiplier,
  linkTestIntervalMs: p.bfd.linkTestIntervalMs, linkTestLength: p.bfd.linkTestLength, linkTestSpacingMs: 100,
});

/** The UDP payload of an IPv4 packet between the waypoints' control ports, or undefined. */
function controlPayload(pkt: Uint8Array): Uint8Array | undefined {
  if (pkt[0]! >> 4 !== 4 || pkt[9] !== 17) return undefined;
  const l4 = (pkt[0]! & 15) * 4;
  const port = (o: number): number => (pkt[l4 + o]! << 8) | pkt[l4 + o + 1]!;
  return port(0) === CONTROL && port(2) === CONTROL ? pkt.subarray(l4 + 8) : undefined;
}

test('a real router and the simulated spoke: BFD Up both ways, link tests answered both ways, the silenced spoke declared down after one Detection Time', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: [], servers: [] });
  const vt = new VirtualTime();
  const sup = new PathSupervisor({
    tables: () => lab.r1.tables, send: (p, b) => lab.r1.sendPathMessage(p, b), messages$: lab.r1.pathMessages$,
    keepSteady: (f) => lab.r1.host.keepSteadyPathMessages(f), // steady BFD and link-test replies stay in r1's data path
    now: vt.now, setTimeout: vt.setTimeout, clearTimeout: vt.clearTimeout,
  }, { random: prng(1) });
  const downs: { reason: string; at: number }[] = [];
  sup.state$.subscribe((s) => { if (s.bfdState === 'down' && s.reason !== 'start') downs.push({ reason: s.reason, at: vt.now() }); });
  const path = lab.r2.tables.paths[0]!; // r2's end of the path the simulator plays
  const counters = newCounters();
  const spoke = new SpokePath('wan0->r1/wan0', 0x5eed, signingOf(path), timersOf(path),
    (d) => lab.wan.b.send(buildUdp({ src: path.localWaypoint, dst: path.remoteWaypoint, srcPort: CONTROL, dstPort: CONTROL, payload: d })),
    counters, prng(2), () => null, vt.now());
  let fromRouter = 0;
  lab.wan.setFilter((pkt, dir) => {
    const payload = dir === 'a->b' ? controlPayload(pkt) : undefined;
    if (payload === undefined) return true;
    fromRouter++;
    spoke.receive(payload.slice(), vt.now(), Date.now());
    return false; // r2's router never sees it: the simulator is r2's end
  });
  const run = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 10) {
      spoke.due(vt.now(), Date.now());
      await vt.advance(10, 2);
    }
  };
  try {
    sup.start();
    await run(25_000);
    const s = sup.summary()[0]!;
    assert.is(s.bfdState, 'up', 'the router brought BFD Up with the simulator');
    assert.ok(s.usable);
    assert.is(spoke.state, 'up', 'and the simulator with the router');
    assert.ok(fromRouter > 20);
    assert.is(counters.badTrailer, 0, 'every router packet verified with the simulator\'s key');
    const c = sup.counters();
    assert.ok((c['bfd-rx'] ?? 0) > 10, 'the simulator\'s BFD passed the router\'s trailer check and decoder');
    assert.equal(Object.keys(c).filter((k) => k.startsWith('bfd-drop') || k.startsWith('bfd-discard')), []);
    assert.is(sup.quality(0)?.latest?.lossPercent, 0, 'the router\'s link test was answered in full');
    assert.ok(counters.linkTestRequestsSent >= 10 && counters.linkTestRepliesReceived >= counters.linkTestRequestsSent - 1,
      `the simulator's link tests were answered by the router (${counters.linkTestRepliesReceived} of ${counters.linkTestRequestsSent})`);
    assert.is(lab.r1.counters()['drop-bad-hmac'] ?? 0, 0);
    // silence: down after the Detection Time (3 x 1 s) from the simulator's last BFD packet
    spoke.silent = true;
    const lastBfd = spoke.lastBfdTxMs;
    await run(5000);
    assert.is(downs.length, 1);
    assert.is(downs[0]!.reason, 'detection-time-expired');
    const detection = downs[0]!.at - lastBfd;
    assert.ok(detection >= 2990 && detection <= 3050, `detection time ${detection} ms`);
  } finally {
    sup.stop();
    await lab.close();
  }
});

test('the simulator answers MTU probes and STEP requests, acknowledges documents, and refuses a tampered trailer', () => {
  const key = new Uint8Array(32).fill(7);
  const signing: PathSigning = { mode: 'time-based', cipher: 'sha256-128', key, keyId: keyId(3), tagLength: 16 };
  const sent: Uint8Array[] = [];
  const counters = newCounters();
  const doc = { router: 'spoke-0001', authority: 'a', version: 5, generatedAt: 5, services: [], peers: [{ peer: 'hub', paths: [{ name: 'wan0->hub/wan0', vector: '', usable: true }] }] };
  const spoke = new SpokePath('wan0->hub/wan0', 9, signing, { desiredTxMs: 1000, requiredMinRxMs: 500, multiplier: 3, linkTestIntervalMs: 10_000, linkTestLength: 10, linkTestSpacingMs: 100 },
    (d) => sent.push(d), counters, prng(3), () => doc, 0);
  const wall = Date.now();
  const open = (d: Uint8Array): Uint8Array => openControl(signing, d, wall)!;
  // a signed datagram: payload, replay block with our key id, a tag that verifies
  const signed = signControl(signing, Uint8Array.of(1, 2, 3), 0, 1, wall);
  assert.is(signed.length, 3 + REPLAY_BLOCK_LENGTH + 16);
  assert.is(replayKeyId(signed, 3), keyId(3));
  const tampered = signed.slice();
  tampered[1] ^= 1;
  assert.is(openControl(signing, tampered, wall), undefined);
  spoke.receive(tampered, 0, wall);
  assert.is(sent.length, 0, 'nothing answers a tampered packet');
  // MTU probe -> its answer (the real decoder reads sequence and size back)
  spoke.receive(signControl(signing, encodeMtuProbe(7, 1500, 20, 26), 0, 2, wall), 0, wall);
  assert.equal(decodeMtuAck(open(sent.pop()!)), { seq: 7, size: 1500 });
  // STEP: a document is acknowledged with its origin and version; a request is answered once BFD is Up
  for (const chunk of encodeDocument({ ...doc, router: 'hub', version: 77 })!) spoke.receive(signControl(signing, chunk, 0, 3, wall), 0, wall);
  assert.equal(parseMessage(open(sent.pop()!)), { kind: 'ack', origin: originHash('hub'), version: 77 });
  spoke.receive(signControl(signing, encodeRequest(), 0, 4, wall), 0, wall);
  assert.is(sent.length, 0, 'not Up yet: no document');
  // bring BFD Up (the hub's Init), then the request is answered with the document
  const init = encodeBfdControl({
    diag: 0, state: 'init', poll: false, final: false, controlPlaneIndependent: false, demand: false, detectMult: 3,
    myDiscriminator: 1, yourDiscriminator: 9, desiredMinTxUs: 1_000_000, requiredMinRxUs: 500_000, requiredMinEchoRxUs: 0,
  });
  spoke.receive(signControl(signing, init, 0, 5, wall), 0, wall);
  assert.is(spoke.state, 'up');
  assert.is(counters.bfdRx, 1);
  spoke.receive(signControl(signing, encodeRequest(), 0, 6, wall), 2000, wall);
  const answer = parseMessage(open(sent.pop()!));
  assert.is(answer.kind, 'chunk');
  if (answer.kind === 'chunk') assert.is(answer.origin, originHash('spoke-0001'));
  // the periodic packet: a BFD control packet the real decoder accepts, Up, with the hub's discriminator
  sent.length = 0;
  spoke.due(2500, wall); // within the Detection Time (3 s) of the hub's packet at 0 (a link-test request may go too)
  const bfd = decodeBfdControl(sent.map(open).find((p) => pathMessageKind(p) === 'bfd')!);
  assert.ok(bfd.ok);
  if (bfd.ok) {
    assert.is(bfd.packet.state, 'up');
    assert.is(bfd.packet.yourDiscriminator, 1);
    assert.is(bfd.packet.myDiscriminator, 9);
  }
});

test.run();
