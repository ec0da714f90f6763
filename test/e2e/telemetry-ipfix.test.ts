/**
 * IPFIX export to real collectors on loopback: nfcapd (UDP) stores what we send and nfdump lists the
 * 5-tuples, post-NAT 5-tuples, bytes, packets and times; tshark's IPFIX dissector decodes a tcpdump capture
 * of the export (UDP and TCP): templates, sequence numbers, the PEN 45956 elements. nfcapd 1.7 collects
 * over UDP only, so the TCP transport is checked with tshark on the capture of a plain TCP sink. A collector behind a
 * veth at MTU 1500 (nfcapd in a namespace of its own) gets UDP GSO sends of padded messages; one behind a veth at MTU 1280
 * gets messages sized to the socket's path MTU (IP_MTU).
 */
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpfixExporter, type CollectorStatus } from '../../src/telemetry/ipfix/exporter.js';
import type { CollectorConfig } from '../../src/model/config.js';
import { SessionRecordBuilder, type SessionRecord } from '../../src/telemetry/record.js';
import { requires } from '../support/prerequisites.js';
import { captureLoopback, freePort, nfdumpFlows, startNfcapd, tsharkIpfix, type NfdumpFlow } from './telemetry-tools.js';
import { E2E_PREFIX, exec, inNs, show, sleep, pollUntil } from './support.js';

const T0 = Date.now() - 10_000;
const DOMAIN = 4242;

/** The records of the tests, made by the real builder from control-side facts. */
function records(extra = 0): SessionRecord[] {
  const b = new SessionRecordBuilder({ router: 'r1', nowMs: T0 });
  const out: SessionRecord[] = [];
  // 1. TCP through r1 to r2: the post-NAT fields carry the waypoint 5-tuple
  b.apply({
    kind: 'session.opened', atMs: T0, sessionId: 'a1a1a1a1-0000-4000-8000-000000000001', role: 'ingress', tenant: 'blue', service: 'web', application: 'http',
    ingressRouter: 'r1', egressRouter: 'r2', forward: { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 40000, dstPort: 80, protocol: 6 },
    waypoint: { src: '198.18.0.1', dst: '198.18.0.2', srcPort: 16384, dstPort: 16385, protocol: 6 }, path: 'r2/wan1',
    ingressInterface: { name: 'lan1', index: 1 }, egressInterface: { name: 'wan1', index: 3 },
  });
  out.push(b.apply({ kind: 'session.closed', atMs: T0 + 4000, sessionId: 'a1a1a1a1-0000-4000-8000-000000000001', reason: 'fin-rst', packets: [900, 450], bytes: [1_234_567, 45_678] })!);
  // 2. UDP leaving r1 with source NAT toward the server
  b.apply({
    kind: 'session.opened', atMs: T0 + 100, sessionId: 'b2b2b2b2-0000-4000-8000-000000000002', role: 'local', tenant: 'red', service: 'dns',
    ingressRouter: 'r1', egressRouter: 'r1', forward: { src: '198.18.1.11', dst: '198.18.3.53', srcPort: 41000, dstPort: 53, protocol: 17 },
    nat: { src: '198.18.3.1', dst: '198.18.3.53', srcPort: 20001, dstPort: 53, protocol: 17 },
    reverse: { src: '198.18.3.53', dst: '198.18.3.1', srcPort: 53, dstPort: 20001, protocol: 17 },
    ingressInterface: { name: 'lan1', index: 1 }, egressInterface: { name: 'lan2', index: 2 },
  });
  out.push(b.apply({ kind: 'session.closed', atMs: T0 + 300, sessionId: 'b2b2b2b2-0000-4000-8000-000000000002', reason: 'idle', packets: [1, 1], bytes: [70, 120] })!);
  // 3. IPv6 client over an IPv4 peer path
  b.apply({
    kind: 'session.opened', atMs: T0 + 200, sessionId: 'c3c3c3c3-0000-4000-8000-000000000003', role: 'ingress', tenant: 'blue', service: 'web6',
    ingressRouter: 'r1', egressRouter: 'r2', forward: { src: '2001:db8:1::10', dst: '2001:db8:3::20', srcPort: 40002, dstPort: 443, protocol: 6 },
    waypoint: { src: '198.18.0.1', dst: '198.18.0.2', srcPort: 16386, dstPort: 16387, protocol: 6 }, path: 'r2/wan1',
  });
  out.push(b.apply({ kind: 'session.closed', atMs: T0 + 5200, sessionId: 'c3c3c3c3-0000-4000-8000-000000000003', reason: 'idle', packets: [5, 4], bytes: [500, 4000] })!);
  // 4. a denied first packet
  out.push(b.apply({ kind: 'session.denied', atMs: T0 + 6000, reason: 'access-denied', tenant: 'blue', service: 'secret', forward: { src: '198.18.1.10', dst: '198.18.3.99', srcPort: 40003, dstPort: 22, protocol: 6 } })!);
  for (let i = 0; i < extra; i++) {
    const id = `d4d4d4d4-0000-4000-8000-${String(i).padStart(12, '0')}`;
    b.apply({ kind: 'session.opened', atMs: T0 + i, sessionId: id, role: 'ingress', tenant: 'blue', service: 'bulk', ingressRouter: 'r1', egressRouter: 'r2', forward: { src: '198.18.1.20', dst: '198.18.3.20', srcPort: 20000 + i, dstPort: 9000, protocol: 17 } });
    out.push(b.apply({ kind: 'session.closed', atMs: T0 + 7000 + i, sessionId: id, reason: 'idle', packets: [2, 1], bytes: [200, 100] })!);
  }
  return out;
}

function collector(port: number, transport: 'udp' | 'tcp'): CollectorConfig {
  return { name: 'test', address: '127.0.0.1', port, transport, interimInterval: 60, tenants: [] };
}

const find = (flows: NfdumpFlow[], src: string, srcPort: number): NfdumpFlow | undefined =>
  flows.find((f) => (f.src4_addr ?? f.src6_addr) === src && f.src_port === srcPort);

const test = requires(import.meta.url);

function tcase(name: string, fn: (dir: string) => Promise<void>): void {
  test(name, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tm-ipfix-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

tcase('UDP: nfcapd stores every flow; nfdump shows 5-tuples, post-NAT 5-tuples, bytes, packets, times; no sequence errors; tshark decodes templates and the PEN 45956 elements', async (dir) => {
    const port = await freePort('udp');
    const nf = await startNfcapd(join(dir, 'nf'), port);
    const cap = await captureLoopback(join(dir, 'export.pcap'), `udp port ${port}`);
    const recs = records(300);
    const ex = new IpfixExporter({ collector: collector(port, 'udp'), observationDomainId: DOMAIN });
    try {
      ex.start();
      for (const r of recs) ex.offer(r);
      await pollUntil('all records exported', 5000, async () => (ex.counters().exported === recs.length ? true : undefined));
    } finally {
      await ex.close();
      await sleep(200);
      await cap.stop('SIGINT');
    }
    const stats = await nf.stop('SIGTERM');
    const c = ex.counters();
    assert.is(c.dropped, 0);
    assert.is(c.errors, 0);
    // forward + reverse for each record, the denied one has no reverse
    assert.is(c.dataRecords, 2 * recs.length - 1);
    assert.match(stats, new RegExp(`Flows: ${c.dataRecords}, .*Sequence Errors: 0, Bad Packets: 0`), 'nfcapd counted every flow, in sequence');

    const flows = await nfdumpFlows(join(dir, 'nf'));
    assert.is(flows.length, c.dataRecords);
    const tcp = find(flows, '198.18.1.10', 40000)!;
    assert.is(tcp.dst4_addr, '198.18.3.20');
    assert.is(tcp.dst_port, 80);
    assert.is(tcp.proto, 6);
    assert.is(tcp.in_bytes, 1_234_567);
    assert.is(tcp.in_packets, 900);
    assert.is(Date.parse(`${tcp.first}Z`), T0, `first ${tcp.first}`);
    assert.is(Date.parse(`${tcp.last}Z`), T0 + 4000);
    assert.equal([tcp.src4_xlt_ip, tcp.dst4_xlt_ip, tcp.src_xlt_port, tcp.dst_xlt_port], ['198.18.0.1', '198.18.0.2', '16384', '16385'], 'waypoint 5-tuple as post-NAT');
    assert.equal([tcp.input_snmp, tcp.output_snmp], [1, 3]);
    const tcpBack = find(flows, '198.18.3.20', 80)!;
    assert.equal([tcpBack.dst4_addr, tcpBack.dst_port, tcpBack.in_bytes, tcpBack.in_packets], ['198.18.1.10', 40000, 45_678, 450]);

    const dns = find(flows, '198.18.1.11', 41000)!;
    assert.equal([dns.dst4_addr, dns.dst_port, dns.proto], ['198.18.3.53', 53, 17]);
    assert.equal([dns.src4_xlt_ip, dns.dst4_xlt_ip, dns.src_xlt_port, dns.dst_xlt_port], ['198.18.3.1', '198.18.3.53', '20001', '53'], 'source NAT');
    const dnsBack = find(flows, '198.18.3.53', 53)!;
    assert.equal([dnsBack.dst4_addr, dnsBack.dst_port], ['198.18.3.1', 20001], 'the server replies to the NAT address');
    assert.equal([dnsBack.src4_xlt_ip, dnsBack.dst4_xlt_ip, dnsBack.dst_xlt_port], ['198.18.3.53', '198.18.1.11', '41000'], '... which becomes the client again');

    const v6 = find(flows, '2001:db8:1::10', 40002)!;
    assert.equal([v6.dst6_addr, v6.dst_port, v6.in_bytes], ['2001:db8:3::20', 443, 500]);
    const denied = find(flows, '198.18.1.10', 40003)!;
    assert.equal([denied.dst4_addr, denied.dst_port, denied.in_packets], ['198.18.3.99', 22, 1]);

    const ts = await tsharkIpfix(join(dir, 'export.pcap'), 'udp', port);
    assert.equal([...new Set(ts.templates)].sort(), [256, 257, 258, 259, 260]);
    assert.is(ts.padding, 0, 'a collector on loopback: 64 KB messages, no GSO, no padding');
    assert.is(ts.flows.length, c.dataRecords, 'tshark decoded every data record');
    assert.ok(ts.headers.every((h) => h.domain === DOMAIN));
    let expected = 0;
    for (const h of ts.headers) {
      assert.is(h.sequence, expected, 'sequence = data records sent before the message (RFC 7011 §3.1)');
      expected += h.flows;
    }
    const first = ts.flows.find((f) => f.fields['cflow.srcport'] === '40000')!;
    assert.is(first.pen[16]?.text, 'blue', 'tenant (PEN 45956 element 16)');
    assert.is(first.pen[12]?.text, 'web', 'service (12)');
    assert.is(first.pen[14]?.text, 'a1a1a1a1-0000-4000-8000-000000000001', 'session id (14)');
    assert.is(first.pen[17]?.text, 'r1', 'router (17)');
    assert.is(first.pen[102]?.text, 'r2/wan1', 'peer path (102)');
    assert.is(first.pen[104]?.text, 'fin-rst', 'close reason (104)');
    assert.is(first.pen[9]?.hex, (1_234_567).toString(16).padStart(16, '0'), 'total bytes (9)');
    const deniedFlow = ts.flows.find((f) => f.fields['cflow.srcport'] === '40003')!;
    assert.is(deniedFlow.pen[105]?.text, 'access-denied', 'denied reason (105)');
    assert.is(deniedFlow.fields['cflow.flow_end_reason'], '4', 'forced end');
    assert.equal([deniedFlow.fields['cflow.forwarding_status'], first.fields['cflow.forwarding_status']], ['2', '1'], 'forwardingStatus (89): dropped; forwarded');
    assert.is(deniedFlow.fields['cflow.forwarding_status_drop_code'], '1', 'dropped for ACL deny: 129 (10 000001, RFC 7270 §4.12)');
  });

/** A namespace with nfcapd's end of a veth at `mtu` (192.0.2.0/24, a /30 by the prefix: runs of two prefixes apart). */
async function collectorNs(mtu = 1500): Promise<{ ns: string; dev: string; address: string; remove(): Promise<void> }> {
  const tag = E2E_PREFIX.slice(0, 8);
  const ns = `${tag}-ipfix`;
  const dev = `${tag}-ipx0`;
  const net = 4 * ([...E2E_PREFIX].reduce((h, ch) => h * 31 + ch.charCodeAt(0), 7) % 64);
  const remove = async (): Promise<void> => {
    await exec('ip', ['link', 'del', dev]);
    await exec('ip', ['netns', 'del', ns]);
  };
  await remove();
  for (const args of [['netns', 'add', ns], ['link', 'add', dev, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', 'ipx1', 'netns', ns],
    ['addr', 'add', `192.0.2.${net + 1}/30`, 'dev', dev], ['link', 'set', dev, 'up']]) {
    const r = await exec('ip', args);
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${show(r)}`);
  }
  for (const args of [['addr', 'add', `192.0.2.${net + 2}/30`, 'dev', 'ipx1'], ['link', 'set', 'ipx1', 'up'], ['link', 'set', 'lo', 'up']]) {
    const r = await inNs(ns, 'ip', args);
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')} in ${ns}: ${show(r)}`);
  }
  return { ns, dev, address: `192.0.2.${net + 2}`, remove };
}

/**
 * `recs` exported over UDP to nfcapd in the collector namespace `c`, captured on its veth (which cuts the GSO sends
 * itself, no UDP segmentation offload: the capture sees each datagram); nfcapd stopped: its log and the counters.
 */
async function exportThroughVeth(c: { dev: string; address: string }, port: number, file: string, recs: SessionRecord[], nf: { stop(signal: NodeJS.Signals): Promise<string> }): Promise<{ g: ReturnType<IpfixExporter['counters']>; log: string }> {
  await exec('ethtool', ['-K', c.dev, 'tx-udp-segmentation', 'off']);
  const cap = await captureLoopback(file, `udp port ${port}`, c.dev);
  const ex = new IpfixExporter({ collector: { ...collector(port, 'udp'), address: c.address }, observationDomainId: DOMAIN });
  try {
    ex.start();
    for (const r of recs) ex.offer(r);
    await pollUntil('all records exported', 5000, async () => (ex.counters().exported === recs.length ? true : undefined));
    await sleep(200);
  } finally {
    await ex.close();
    await cap.stop('SIGINT');
  }
  await sleep(200);
  return { g: ex.counters(), log: await nf.stop('SIGTERM') };
}

tcase('UDP to a collector behind a veth at MTU 1500: runs of messages as GSO sends padded to 1,472 bytes (counted); nfdump lists every session, no sequence error, nfcapd logs no error; tshark decodes the padded messages', async (dir) => {
    const c = await collectorNs();
    let nf: Awaited<ReturnType<typeof startNfcapd>> | undefined;
    try {
      const port = 4739;
      nf = await startNfcapd(join(dir, 'nf'), port, { ns: c.ns, address: c.address });
      const recs = records(300);
      const { g, log } = await exportThroughVeth(c, port, join(dir, 'veth.pcap'), recs, nf);
      assert.equal([g.dropped, g.errors, g.gsoRefused], [0, 0, 0], JSON.stringify(g));
      assert.ok(g.gsoMessages >= g.messages / 2, `${g.gsoMessages} of ${g.messages} messages as GSO segments`);
      assert.match(log, new RegExp(`Flows: ${g.dataRecords}, .*Sequence Errors: 0, Bad Packets: 0`), 'nfcapd counted every flow, in sequence');
      const complaints = log.split('\n').filter((l) => /error|skip/i.test(l) && !/Sequence Errors: 0/.test(l));
      assert.equal(complaints, [], 'nfcapd logged no error (zeros at a data set\'s end would be read as a record)');
      const flows = await nfdumpFlows(join(dir, 'nf'));
      assert.is(flows.length, g.dataRecords);
      for (const r of recs) assert.ok(find(flows, r.forward.src, r.forward.srcPort), `session ${r.sessionId} listed`);

      const ts = await tsharkIpfix(join(dir, 'veth.pcap'), 'udp', port);
      assert.is(ts.flows.length, g.dataRecords, 'tshark decoded every data record of the padded messages');
      assert.ok(ts.padding > 0, 'and the padding sets as records of template 260');
      let expected = 0;
      for (const h of ts.headers) {
        assert.is(h.sequence, expected, 'sequence = data records before the message, padding not counted');
        expected += h.flows;
      }
    } finally {
      await nf?.stop('SIGTERM');
      await c.remove();
    }
  });

tcase('UDP to a collector behind a link of MTU 1280: messages sized to the socket\'s path MTU (1,252 bytes at most, GSO runs padded to it), none fragmented; nfcapd counts every flow', async (dir) => {
    const c = await collectorNs(1280);
    let nf: Awaited<ReturnType<typeof startNfcapd>> | undefined;
    try {
      const port = 4739;
      nf = await startNfcapd(join(dir, 'nf'), port, { ns: c.ns, address: c.address });
      const file = join(dir, 'mtu.pcap');
      const { g, log } = await exportThroughVeth(c, port, file, records(300), nf);
      assert.equal([g.pathMtu, g.pathMtuAssumed, g.dropped, g.errors, g.gsoRefused], [1280, 0, 0, 0, 0], JSON.stringify(g));
      // each frame alone (no reassembly): a message over the MTU would leave as IP fragments, the first one more-fragments
      const r = await exec('tshark', ['-r', file, '-n', '-o', 'ip.defragment:FALSE', '-T', 'fields', '-e', 'ip.flags.mf', '-e', 'ip.frag_offset', '-e', 'udp.length']);
      assert.is(r.code, 0, show(r));
      const frames = r.stdout.trim().split('\n').map((l) => l.split('\t'));
      assert.ok(frames.length >= g.messages, `${frames.length} frames for ${g.messages} messages`);
      const over = frames.filter(([mf, offset, udpLength]) => !/^(0|False)$/.test(mf ?? '') || Number(offset) !== 0 || Number(udpLength) - 8 > 1252);
      assert.equal(over, [], 'every message one unfragmented datagram of at most 1,252 bytes');
      assert.ok(frames.filter(([, , udpLength]) => Number(udpLength) - 8 === 1252).length >= g.messages / 2, 'GSO runs padded to 1,252 bytes');
      assert.match(log, new RegExp(`Flows: ${g.dataRecords}, .*Sequence Errors: 0, Bad Packets: 0`), 'nfcapd counted every flow, in sequence');
    } finally {
      await nf?.stop('SIGTERM');
      await c.remove();
    }
  });

tcase('TCP: templates at each connect, sequence numbers per connection, a broken connection is retried; tshark decodes both connections', async (dir) => {
    const port = await freePort('tcp');
    const cap = await captureLoopback(join(dir, 'export.pcap'), `tcp port ${port}`);
    const conns: Socket[] = [];
    const sink = createServer((s) => {
      conns.push(s);
      s.resume();
    });
    await new Promise<void>((r) => sink.listen(port, '127.0.0.1', () => r()));
    const statuses: CollectorStatus[] = [];
    const ex = new IpfixExporter({ collector: collector(port, 'tcp'), observationDomainId: DOMAIN, reconnectMinMs: 200, onStatus: (s) => statuses.push(s) });
    const batch = records(10);
    try {
      ex.start();
      await pollUntil('connected', 3000, async () => (ex.status === 'up' ? true : undefined));
      for (const r of batch) ex.offer(r);
      await pollUntil('first batch exported', 3000, async () => (ex.counters().exported === batch.length ? true : undefined));
      await sleep(100);
      conns[0]!.destroy(); // the collector drops the connection
      await pollUntil('down', 3000, async () => (ex.status === 'down' ? true : undefined));
      await pollUntil('reconnected', 3000, async () => (ex.status === 'up' ? true : undefined));
      for (const r of batch) ex.offer(r);
      await pollUntil('second batch exported', 3000, async () => (ex.counters().exported === 2 * batch.length ? true : undefined));
      await sleep(200);
    } finally {
      await ex.close();
      await sleep(100);
      await cap.stop('SIGINT');
      for (const c of conns) c.destroy();
      await new Promise<void>((r) => sink.close(() => r()));
    }
    const c = ex.counters();
    assert.equal(statuses, ['up', 'down', 'up']);
    assert.is(c.connects, 2);
    assert.is(c.templateSends, 2);
    assert.is(c.dropped, 0);
    const ts = await tsharkIpfix(join(dir, 'export.pcap'), 'tcp', port);
    assert.equal(ts.templates.sort(), [256, 256, 257, 257, 258, 258, 259, 259, 260, 260], 'the template set once per connection');
    assert.is(ts.flows.length, c.dataRecords, 'tshark decoded every data record of both connections');
    // each connection: a template message with sequence 0, then data messages counting from 0 again (§3.1)
    const starts = ts.headers.filter((h) => h.flows === 0);
    assert.equal(starts.map((h) => h.sequence), [0, 0]);
    let expected = 0;
    for (const h of ts.headers) {
      if (h.flows === 0) expected = 0;
      assert.is(h.sequence, expected);
      expected += h.flows;
    }
    const first = ts.flows.find((f) => f.fields['cflow.srcport'] === '40000')!;
    assert.equal([first.pen[16]?.text, first.pen[12]?.text, first.pen[14]?.text], ['blue', 'web', 'a1a1a1a1-0000-4000-8000-000000000001']);
  });

tcase('UDP collector gone: port unreachable makes it down, records wait in the queue; once nfcapd listens it is up and they arrive', async (dir) => {
    const port = await freePort('udp');
    const statuses: string[] = [];
    const ex = new IpfixExporter({ collector: collector(port, 'udp'), observationDomainId: DOMAIN, flushMs: 20, upAfterMs: 300, onStatus: (s, d) => statuses.push(`${s}: ${d}`) });
    ex.start();
    const recs = records(0);
    let nf: Awaited<ReturnType<typeof startNfcapd>> | undefined;
    try {
      await pollUntil('down', 3000, async () => (ex.status === 'down' ? true : undefined)); // the first template message is refused
      assert.match(statuses[statuses.length - 1]!, /^down: .*ECONNREFUSED/);
      for (const r of recs) ex.offer(r);
      await sleep(300);
      const held = ex.counters();
      assert.equal([held.queueDepth, held.exported, held.dropped], [recs.length, 0, 0], 'held while the collector refuses');
      assert.ok(held.errors >= 2, `the probes were refused too: ${held.errors} errors`);
      nf = await startNfcapd(join(dir, 'nf'), port);
      await pollUntil('up again and sent', 5000, async () => (ex.status === 'up' && ex.counters().exported === recs.length ? true : undefined));
      await sleep(100);
    } finally {
      await ex.close();
      await nf?.stop('SIGTERM');
    }
    const flows = await nfdumpFlows(join(dir, 'nf'));
    assert.ok(find(flows, '198.18.1.10', 40000), 'the held records arrived');
    assert.ok(find(flows, '2001:db8:1::10', 40002));
  });

tcase('interim records: a collector with a 180 s interval gets every third of the 60 s interims, deltas since what it got', async (dir) => {
    const port = await freePort('udp');
    const nf = await startNfcapd(join(dir, 'nf'), port);
    const every60 = new IpfixExporter({ collector: { ...collector(port, 'udp'), name: 'sixty' }, observationDomainId: 1 });
    const every180 = new IpfixExporter({ collector: { ...collector(port, 'udp'), name: 'long', interimInterval: 180 }, observationDomainId: 2 });
    const b = new SessionRecordBuilder({ router: 'r1', interimIntervalS: 60 });
    const id = 'e5e5e5e5-0000-4000-8000-000000000005';
    const start = T0 - 1_000_000;
    b.apply({ kind: 'session.opened', atMs: start, sessionId: id, role: 'ingress', tenant: 'blue', service: 'web', ingressRouter: 'r1', egressRouter: 'r2', forward: { src: '198.18.1.30', dst: '198.18.3.20', srcPort: 45000, dstPort: 80, protocol: 6 } });
    const sent: SessionRecord[] = [];
    for (let minute = 1; minute <= 7; minute++) {
      b.apply({ kind: 'session.counters', atMs: start + minute * 60_000 - 1, sessionId: id, packets: [minute * 10, 0], bytes: [minute * 1000, 0] });
      sent.push(...b.due(start + minute * 60_000));
    }
    sent.push(b.apply({ kind: 'session.closed', atMs: start + 450_000, sessionId: id, reason: 'fin-rst', packets: [75, 0], bytes: [7500, 0] })!);
    try {
      every60.start();
      every180.start();
      for (const r of sent) {
        every60.offer(r);
        every180.offer(r);
      }
      await pollUntil('sent', 3000, async () => (every60.counters().exported === 8 && every180.counters().exported === 3 ? true : undefined));
    } finally {
      await every60.close();
      await every180.close();
      await sleep(100);
      await nf.stop('SIGTERM');
    }
    assert.is(every180.counters().filtered, 5);
    const flows = await nfdumpFlows(join(dir, 'nf'));
    // 60 s: seven interims of 1000 bytes and the end's last 500; 180 s: 3000 at 3 min, 3000 at 6 min, the end's 1500
    const bytes = flows.filter((f) => f.src_port === 45000).map((f) => f.in_bytes).sort((a, b) => a - b);
    assert.equal(bytes, [500, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1500, 3000, 3000]);
  });

test('TCP collector refusing: down, the bounded queue keeps 10 records, the rest are dropped and counted, offer never waits', async () => {
  const port = await freePort('tcp');
  const ex = new IpfixExporter({ collector: collector(port, 'tcp'), observationDomainId: DOMAIN, queueLimit: 10, reconnectMinMs: 5000 });
  ex.start();
  try {
    await pollUntil('down', 3000, async () => (ex.status === 'down' ? true : undefined));
    const r = records(0)[0]!;
    // CPU time, not the clock: on a loaded machine the loop is preempted (22.6 µs an offer by the clock at load 25)
    const t0 = process.cpuUsage();
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) if (ex.offer(r)) accepted++;
    const cpu = process.cpuUsage(t0);
    const perOfferUs = (cpu.user + cpu.system) / 10_000;
    assert.is(accepted, 10);
    const c = ex.counters();
    assert.equal([c.queued, c.dropped, c.queueDepth, c.exported], [10, 9990, 10, 0]);
    assert.ok(c.errors >= 1);
    assert.ok(perOfferUs < 20, `${perOfferUs.toFixed(2)} µs per offer`);
  } finally {
    await ex.close();
  }
  assert.is(ex.counters().dropped, 10_000, 'what was still queued at close counts as dropped');
});

test.run();
