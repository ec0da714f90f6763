/** IPFIX encoding (RFC 7011): golden bytes for the template set and a data message, MTU sizing, sequence numbers, strings. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IpfixMessageWriter, padMessage, type EncodedMessage } from '../../../src/telemetry/ipfix/message.js';
import { TEMPLATES } from '../../../src/telemetry/ipfix/templates.js';
import { VARIABLE_LENGTH, fieldLength } from '../../../src/telemetry/ipfix/elements.js';
import { reversed, type FiveTuple, type SessionRecord } from '../../../src/telemetry/record.js';
import { isSvrError } from '../../../src/errors.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { makeRecord } from './records.js';

const T0 = 1_700_000_000_000;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const u16 = (n: number): string => n.toString(16).padStart(4, '0');
const u32 = (n: number): string => n.toString(16).padStart(8, '0');
const str = (s: string): string => u8(Buffer.byteLength(s)) + Buffer.from(s).toString('hex');
const u8 = (n: number): string => n.toString(16).padStart(2, '0');

function record(over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    kind: 'end', sessionId: '0f0e0d0c-0b0a-4908-8706-050403020100', seq: 0, router: 'r1', role: 'ingress',
    tenant: 'blue', service: 'web', application: 'http', ingressRouter: 'r1', egressRouter: 'r2',
    forward: { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 40000, dstPort: 80, protocol: 6 },
    reverse: { src: '198.18.3.20', dst: '198.18.1.10', srcPort: 80, dstPort: 40000, protocol: 6 },
    waypoint: { src: '198.18.0.1', dst: '198.18.0.2', srcPort: 16384, dstPort: 16385, protocol: 6 },
    ingressInterface: { name: 'lan1', index: 1 }, egressInterface: { name: 'wan1', index: 2 },
    paths: ['r2/a'], pathChanges: [], packets: [10, 0], bytes: [12_000, 0], delta: { packets: [10, 0], bytes: [12_000, 0] },
    tcpRetransmissions: [2, 0], startMs: T0, endMs: T0 + 2500, closeReason: 'fin-rst', ...over,
  };
}

/** The template field list, written out from RFC 7012 / the IANA registry and docs/visibility.md: [id, length, pen]. */
function expectedFields(v6: boolean, postV6: boolean): [number, number, number][] {
  const V = 0xffff;
  const P = 45956;
  return [
    [v6 ? 27 : 8, v6 ? 16 : 4, 0], [v6 ? 28 : 12, v6 ? 16 : 4, 0], [7, 2, 0], [11, 2, 0], [4, 1, 0],
    [1, 8, 0], [2, 8, 0], [152, 8, 0], [153, 8, 0], [136, 1, 0], [89, 1, 0], [239, 1, 0],
    [postV6 ? 281 : 225, postV6 ? 16 : 4, 0], [postV6 ? 282 : 226, postV6 ? 16 : 4, 0], [227, 2, 0], [228, 2, 0],
    [10, 4, 0], [14, 4, 0], [82, V, 0],
    [1, 1, P], [7, 8, P], [8, 8, P], [9, 8, P], [10, 8, P], [11, 8, P], [12, V, P], [14, V, P], [16, V, P], [17, V, P],
    [101, V, P], [102, V, P], [103, 2, P], [104, V, P], [105, V, P], [106, V, P], [107, V, P],
  ];
}

test('template set: set id 2, four templates 256-259, enterprise bit and PEN 45956 on SSR elements, and the padding template 260 (RFC 7011 §3.2, §3.4.1)', () => {
  const w = new IpfixMessageWriter({ observationDomainId: 7, maxMessageBytes: 1472 });
  const m = w.templates(0x65400000);
  let body = '';
  for (const [id, v6, postV6] of [[256, false, false], [257, true, false], [258, false, true], [259, true, true]] as const) {
    const fields = expectedFields(v6, postV6);
    body += u16(id) + u16(fields.length);
    for (const [ie, len, pen] of fields) body += pen === 0 ? u16(ie) + u16(len) : u16(0x8000 | ie) + u16(len) + u32(pen);
  }
  body += u16(260) + u16(1) + u16(210) + u16(1); // paddingOctets, one octet
  const set = u16(2) + u16(4 + body.length / 2) + body;
  const header = u16(10) + u16(16 + set.length / 2) + u32(0x65400000) + u32(0) + u32(7);
  assert.is(hex(m), header + set);
});

test('data message golden bytes: header, data set 256, one forward flow (RFC 7011 §3.1, §3.3, §7)', () => {
  const w = new IpfixMessageWriter({ observationDomainId: 7, maxMessageBytes: 1472 });
  const [m, ...rest] = w.encode([record()], 0x65400000);
  assert.is(rest.length, 0);
  assert.is(m!.dataRecords, 1, 'nothing came back: no reverse flow');
  assert.is(m!.records, 1);
  const flow = [
    'c612010a', 'c6120314', '9c40', '0050', '06', // 198.18.1.10 -> 198.18.3.20, 40000 -> 80, TCP
    '0000000000002ee0', '000000000000000a', // octetDeltaCount 12000, packetDeltaCount 10
    '0000018bcfe56800', '0000018bcfe571c4', // flowStart/EndMilliseconds T0, T0 + 2500
    '03', '40', '01', // flowEndReason end of flow (fin-rst), forwardingStatus forwarded (RFC 7270 §4.12: 01 000000), biflowDirection initiator
    'c6120001', 'c6120002', '4000', '4001', // post-NAT: the waypoint 5-tuple 198.18.0.1:16384 -> 198.18.0.2:16385
    '00000001', '00000002', str('lan1'), // ingress/egress interface, interfaceName
    '01', '0000018bcfe56800', '0000018bcfe571c4', // recordType end, session start/end
    '0000000000002ee0', '000000000000000a', '0000000000000002', // totals, TCP retransmissions
    str('web'), str('0f0e0d0c-0b0a-4908-8706-050403020100'), str('blue'), str('r1'), // service, session id, tenant, router
    str('http'), str('r2/a'), '0000', str('fin-rst'), str(''), str('r1'), str('r2'), // application, path, changes, close/denied reason, routers
  ].join('');
  const set = u16(256) + u16(4 + flow.length / 2) + flow;
  const header = u16(10) + u16(16 + set.length / 2) + u32(0x65400000) + u32(0) + u32(7);
  assert.is(hex(m!.bytes), header + set);
  assert.is(w.sequence, 1, 'sequence counts data records (§3.1)');
});

test('messages fit the size limit; each header carries the data records sent before it; template set first when asked', () => {
  const w = new IpfixMessageWriter({ observationDomainId: 1, maxMessageBytes: 1472 });
  const records = Array.from({ length: 40 }, (_, i) => record({ sessionId: `s-${i}`, packets: [3, 2], bytes: [300, 200] }));
  const out = w.encode(records, 1, true);
  assert.ok(out.length > 3, `${out.length} messages`);
  let seq = 0;
  let flows = 0;
  let recs = 0;
  for (const m of out) {
    const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset);
    assert.ok(m.bytes.length <= 1472, `${m.bytes.length} bytes`);
    assert.is(dv.getUint16(2), m.bytes.length, 'header length');
    assert.is(dv.getUint32(8), seq, 'sequence number');
    // the sets tile the message exactly
    let at = 16;
    while (at < m.bytes.length) at += dv.getUint16(at + 2);
    assert.is(at, m.bytes.length);
    seq += m.dataRecords;
    flows += m.dataRecords;
    recs += m.records;
  }
  assert.is(new DataView(out[0]!.bytes.buffer).getUint16(16), 2, 'the first set is the template set');
  assert.is(new DataView(out[1]!.bytes.buffer).getUint16(16), 256, 'later messages carry data only');
  assert.is(flows, 80, 'forward and reverse flow of each record');
  assert.is(recs, 40);
  assert.is(w.sequence, 80);
});

test('IPv6 5-tuple over an IPv4 waypoint uses template 257; strings of 255+ bytes use the 3-byte length; cuts keep UTF-8 whole', () => {
  const w = new IpfixMessageWriter({ observationDomainId: 1, maxMessageBytes: 65535, maxStringBytes: 300 });
  const tenant = 'é'.repeat(200); // 400 bytes: cut at 300 (150 characters)
  const v6 = record({
    tenant,
    forward: { src: '2001:db8::10', dst: '2001:db8:3::20', srcPort: 1, dstPort: 2, protocol: 17 },
    reverse: { src: '2001:db8:3::20', dst: '2001:db8::10', srcPort: 2, dstPort: 1, protocol: 17 },
  });
  const [m] = w.encode([v6], 1);
  const b = m!.bytes;
  assert.is(new DataView(b.buffer).getUint16(16), 257);
  assert.is(hex(b.subarray(20, 36)), '20010db8000000000000000000000010');
  const tenantAt = hex(b).indexOf(`ff012c${'c3a9'.repeat(150)}`);
  assert.ok(tenantAt > 0, 'tenant as 255, length 300, then 150 whole characters');
});

test('a flow larger than any message is dropped and counted, the rest still go', () => {
  const w = new IpfixMessageWriter({ observationDomainId: 1, maxMessageBytes: 1000, maxStringBytes: 2000 });
  const out = w.encode([record({ service: 'x'.repeat(1500) }), record()], 1);
  assert.is(w.oversize, 1);
  assert.is(out.reduce((n, m) => n + m.dataRecords, 0), 1);
});

test('a bad observation domain or a message too small for the templates is refused with a coded error', () => {
  assert.throws(() => new IpfixMessageWriter({ observationDomainId: -1, maxMessageBytes: 1472 }), (e: unknown) => isSvrError(e, 'SVR_ERR_TELEMETRY_OPTIONS'));
  assert.throws(() => new IpfixMessageWriter({ observationDomainId: 1, maxMessageBytes: 500 }), (e: unknown) => isSvrError(e, 'SVR_ERR_TELEMETRY_OPTIONS') && /raise the path MTU/.test((e as Error).message));
});

/**
 * The flows of a record the way the writer made them before it wrote them field by field (one value function
 * per template field, then a generic writer per type): the reference the writer's bytes are checked against.
 */
function referenceFlows(r: SessionRecord): { template: number; hex: string }[] {
  const endReason: Record<string, number> = { idle: 1, 'fin-rst': 3 };
  const deniedStatus: Record<string, number> = { 'no-tenant': 129, 'no-service': 129, 'access-denied': 129, 'tcp-no-session': 130, 'plugin-refused': 130, 'no-route': 131, 'no-path-meets-sla': 131 };
  const addr = (text: string | undefined, v6: boolean): string => {
    const a = text === undefined ? undefined : parseAddress(text);
    return a !== undefined && a.bytes.length === (v6 ? 16 : 4) ? Buffer.from(a.bytes).toString('hex') : '00'.repeat(v6 ? 16 : 4);
  };
  const n64 = (v: number): string => u32(Math.floor(Math.max(0, v) / 2 ** 32) >>> 0) + u32(Math.max(0, v) >>> 0);
  const s = (text: string): string => {
    const b = Buffer.from(text);
    return b.length < 255 ? u8(b.length) + b.toString('hex') : 'ff' + u16(b.length) + b.toString('hex');
  };
  const flow = (dir: 0 | 1, tuple: FiveTuple, post: FiveTuple | undefined, inIf = dir === 0 ? r.ingressInterface : r.egressInterface, outIf = dir === 0 ? r.egressInterface : r.ingressInterface) => {
    const v6 = tuple.src.includes(':');
    const postV6 = post !== undefined ? post.src.includes(':') : v6;
    const fields = [
      addr(tuple.src, v6), addr(tuple.dst, v6), u16(tuple.srcPort), u16(tuple.dstPort), u8(tuple.protocol),
      n64(r.delta.bytes[dir]), n64(r.delta.packets[dir]), n64(r.startMs), n64(r.endMs),
      u8(r.kind === 'interim' ? 2 : endReason[r.closeReason ?? 'admin'] ?? 4),
      u8(r.closeReason === 'denied' ? deniedStatus[r.deniedReason ?? 'no-route'] ?? 128 : 64), u8(dir === 0 ? 1 : 2),
      addr(post?.src, postV6), addr(post?.dst, postV6), u16(post?.srcPort ?? 0), u16(post?.dstPort ?? 0),
      u32(inIf?.index ?? 0), u32(outIf?.index ?? 0), s(inIf?.name ?? ''),
      u8(r.kind === 'end' ? 1 : 2), n64(r.startMs), n64(r.endMs), n64(r.bytes[dir]), n64(r.packets[dir]), n64(r.tcpRetransmissions?.[dir] ?? 0),
      s(r.service), s(r.sessionId), s(r.tenant), s(r.router), s(r.application), s(r.paths[r.paths.length - 1] ?? ''),
      u16(Math.min(r.pathChanges.length, 0xffff)), s(r.closeReason ?? ''), s(r.deniedReason ?? ''), s(r.ingressRouter), s(r.egressRouter),
    ];
    return { template: 256 + (v6 ? 1 : 0) + (postV6 ? 2 : 0), hex: fields.join('') };
  };
  const out = [flow(0, r.forward, r.nat ?? r.waypoint)];
  if (r.packets[1] !== 0) out.push(flow(1, r.reverse, r.nat !== undefined ? reversed(r.forward) : r.waypoint !== undefined ? reversed(r.waypoint) : undefined));
  return out;
}

test('golden: the flows of varied records (IPv4/IPv6, NAT, waypoint or neither, one or two directions, end/interim/denied, odd names) are the reference bytes', () => {
  const V6 = { forward: { src: '2001:db8::10', dst: '2001:db8:3::20', srcPort: 5, dstPort: 53, protocol: 17 }, reverse: { src: '2001:db8:3::20', dst: '2001:db8::10', srcPort: 53, dstPort: 5, protocol: 17 } };
  const variants: Partial<SessionRecord>[] = [
    {},
    { packets: [4, 0], delta: { packets: [4, 0], bytes: [400, 0] } },
    { nat: { src: '198.18.9.1', dst: '198.18.3.20', srcPort: 30000, dstPort: 80, protocol: 6 }, reverse: { src: '198.18.3.20', dst: '198.18.9.1', srcPort: 80, dstPort: 30000, protocol: 6 } },
    { waypoint: { src: '198.18.0.1', dst: '198.18.0.2', srcPort: 16384, dstPort: 16385, protocol: 17 } },
    { ...V6, waypoint: { src: '198.18.0.1', dst: '198.18.0.2', srcPort: 16384, dstPort: 16385, protocol: 17 } },
    { ...V6, waypoint: { src: '2001:db8:ff::1', dst: '2001:db8:ff::2', srcPort: 16384, dstPort: 16385, protocol: 17 } },
    { ...V6 },
    { forward: { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 1, dstPort: 2, protocol: 17 }, waypoint: { src: '2001:db8:ff::1', dst: '2001:db8:ff::2', srcPort: 16384, dstPort: 16385, protocol: 17 } },
    { kind: 'interim', closeReason: undefined, seq: 3 },
    { closeReason: 'denied', deniedReason: 'access-denied', paths: [], pathChanges: [], egressRouter: '', packets: [1, 0] },
    { closeReason: 'denied', deniedReason: 'nat-collision', packets: [1, 0] },
    { closeReason: 'shutdown', tcpRetransmissions: [3, 1], ingressInterface: undefined, egressInterface: undefined },
    { tenant: 'té'.repeat(60), service: 'ü', application: '', router: 'r-ß' },
    { sessionId: 'not-a-uuid', startMs: 2 ** 40 + 0.5, endMs: 2 ** 41, bytes: [2 ** 40, 7], delta: { packets: [-1, 2], bytes: [2 ** 33, 7] } },
    { pathChanges: Array.from({ length: 3 }, (_, k) => ({ atMs: k, from: `p${k}`, to: `p${k + 1}`, reason: 'better-path' as const })), paths: ['p0', 'p1', 'p2', 'p3'] },
  ];
  const w = new IpfixMessageWriter({ observationDomainId: 9, maxMessageBytes: 65535 - 28, maxStringBytes: 1000 }); // no cuts (tested above)
  let checked = 0;
  for (let i = 0; i < 60; i++) {
    const base = makeRecord(i);
    for (const v of variants) {
      const r: SessionRecord = { ...base, reverse: reversed(base.forward), ...v };
      if (v.waypoint === undefined && i % 3 === 0) delete r.waypoint;
      const seq = w.sequence;
      const [m, ...rest] = w.encode([r], 0x65400000 + i);
      assert.is(rest.length, 0);
      let sets = '';
      let open: { template: number; hex: string } | undefined;
      for (const f of referenceFlows(r)) {
        if (open !== undefined && open.template === f.template) open.hex += f.hex;
        else {
          if (open !== undefined) sets += u16(open.template) + u16(4 + open.hex.length / 2) + open.hex;
          open = { ...f };
        }
      }
      sets += u16(open!.template) + u16(4 + open!.hex.length / 2) + open!.hex;
      const header = u16(10) + u16(16 + sets.length / 2) + u32(0x65400000 + i) + u32(seq) + u32(9);
      assert.is(hex(m!.bytes), header + sets, `record ${i}, ${JSON.stringify(v).slice(0, 80)}`);
      checked++;
    }
  }
  assert.is(checked, 60 * variants.length);
});

/** The data sets' contents of messages of at most 1472 bytes, in order (template sets left out), as hex. */
function bodies(messages: { bytes: Uint8Array }[]): string {
  let all = '';
  for (const m of messages) {
    const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
    assert.ok(m.bytes.length <= 1472, `${m.bytes.length} bytes`);
    assert.is(dv.getUint16(2), m.bytes.length);
    for (let at = 16; at < m.bytes.length; at += dv.getUint16(at + 2)) if (dv.getUint16(at) !== 2) all += hex(m.bytes.subarray(at + 4, at + dv.getUint16(at + 2)));
  }
  return all;
}

/** 90 varied records: IPv4 and IPv6, one or two flows, with and without a waypoint. */
function manyRecords(): SessionRecord[] {
  const V6 = { forward: { src: '2001:db8::10', dst: '2001:db8:3::20', srcPort: 5, dstPort: 53, protocol: 17 }, reverse: { src: '2001:db8:3::20', dst: '2001:db8::10', srcPort: 53, dstPort: 5, protocol: 17 } };
  return Array.from({ length: 90 }, (_, i): SessionRecord => {
    const base = makeRecord(i);
    const r: SessionRecord = { ...base, reverse: reversed(base.forward), ...(i % 4 === 1 ? V6 : {}), ...(i % 5 === 2 ? { packets: [3, 0] as [number, number] } : {}) };
    if (i % 3 === 0) delete r.waypoint;
    return r;
  });
}

test('golden, many records at once: flows moved to the next message and buffers reused (release) give the reference bytes', () => {
  const w = new IpfixMessageWriter({ observationDomainId: 3, maxMessageBytes: 1472 });
  const records = manyRecords();
  const expected = records.flatMap((r) => referenceFlows(r).map((f) => f.hex)).join('');
  const first = w.encode(records, 1);
  assert.ok(first.length > 10, `${first.length} messages`);
  const firstHex = first.map((m) => hex(m.bytes));
  assert.is(bodies(first), expected, 'the data records, in order, are the reference flows');
  for (const m of first) w.release(m);
  const again = w.encode(records, 1);
  assert.is(bodies(again), expected, 'the same from reused buffers');
  assert.equal(again.map((m) => hex(m.bytes).slice(32)), firstHex.map((h) => h.slice(32)), 'the same sets (the headers differ by their sequence numbers)');
});

test('golden, kept open across calls: full messages only until closed, then the rest; a template set put in front of an open message', () => {
  const w = new IpfixMessageWriter({ observationDomainId: 3, maxMessageBytes: 1472 });
  const records = manyRecords();
  const out = [];
  for (let i = 0; i < records.length; i += 7) {
    const messages = w.encode(records.slice(i, i + 7), 1, false, true);
    for (const m of messages) assert.ok(m.bytes.length > 1472 - 400, `a message sent while kept open is full (${m.bytes.length} bytes)`);
    out.push(...messages);
    assert.ok(w.openRecords > 0 || messages.length > 0);
  }
  const sent = out.reduce((n, m) => n + m.records, 0);
  assert.is(sent + w.openRecords, records.length, 'every record is in a message or the open one');
  assert.ok(w.openRecords > 0, 'a message is open');
  const next = out.length;
  out.push(...w.encode(records.slice(0, 2), 1, true, true)); // templates asked for while a message is open
  out.push(...w.flushOpen(1));
  assert.is(w.openRecords, 0);
  assert.is(bodies(out), [...records, ...records.slice(0, 2)].flatMap((r) => referenceFlows(r).map((f) => f.hex)).join(''));
  const firstSets = out.map((m) => new DataView(m.bytes.buffer).getUint16(16));
  assert.ok(firstSets.indexOf(2) >= next && firstSets.indexOf(2) <= next + 1, 'a template set leads the open message or, no room in it, the next');
  let seq = 0;
  for (const m of out) {
    assert.is(new DataView(m.bytes.buffer, m.bytes.byteOffset).getUint32(8), seq, 'sequence numbers in order');
    seq += m.dataRecords;
  }
  assert.is(w.flushOpen(1).length, 0, 'nothing open: no message');
});

/**
 * A site's sessions, one after another: the same names, interfaces and reasons, other clients, ports, counts, times and ids
 * (a flow then starts as the copy of the last of its direction), with the shape changing now and then (a non-ASCII id of the
 * same length, another interface name, NAT, IPv6, interim, one flow, another server, waypoint or close reason).
 */
function siteRecords(): SessionRecord[] {
  return Array.from({ length: 240 }, (_, i): SessionRecord => {
    const client = `198.18.1.${10 + Math.floor(i / 3) % 40}`;
    const server = `198.18.3.${20 + Math.floor(i / 50)}`;
    const forward: FiveTuple = { src: client, dst: server, srcPort: 1024 + 37 * i, dstPort: 9000, protocol: 17 };
    const id = `0f0e0d0c-0b0a-4908-8706-${(0x10000 + i * 7919).toString(16).padStart(12, '0')}`;
    const r = record({
      sessionId: i % 17 === 5 ? `${id.slice(0, 35)}é` : id, forward, reverse: reversed(forward),
      waypoint: { src: `198.18.0.${1 + Math.floor(i / 40)}`, dst: '198.18.0.2', srcPort: 16384 + i, dstPort: 16385 + (i % 9), protocol: 17 },
      ingressInterface: { name: 'lan1', index: i % 13 === 0 ? 7 : 1 }, egressInterface: { name: i % 25 === 0 ? 'wan2' : 'wan1', index: 2 },
      packets: [i + 1, i % 11 === 0 ? 0 : i + 2], bytes: [i % 29 === 3 ? 2 ** 33 + i : 100 * i, 50 * i], delta: { packets: [i + 1, i % 11 === 0 ? 0 : 1], bytes: [70 * i, 30 * i] },
      startMs: T0 + 1000 * i, endMs: T0 + 1000 * i + 2000 + i, closeReason: Math.floor(i / 20) % 2 === 0 ? 'idle' : 'fin-rst',
      ...(i % 7 === 0 ? { tcpRetransmissions: [i, 1] as [number, number] } : { tcpRetransmissions: undefined }),
      ...(i % 30 === 7 ? { kind: 'interim' as const, seq: 2, closeReason: undefined } : {}),
    });
    if (i >= 60 && i < 90) {
      r.nat = { src: `198.18.9.${i % 5}`, dst: server, srcPort: 30000 + i, dstPort: 9000, protocol: 17 };
      r.reverse = reversed(r.nat);
    }
    if (i % 45 === 44) {
      r.forward = { src: '2001:db8::10', dst: '2001:db8:3::20', srcPort: i, dstPort: 53, protocol: 17 };
      r.reverse = reversed(r.forward);
    }
    return r;
  });
}

test('golden, sessions of one site one after another (a flow written as a copy of the last one where their shape is the same): the reference bytes, at once, kept open and from reused buffers', () => {
  const records = siteRecords();
  const expected = records.flatMap((r) => referenceFlows(r).map((f) => f.hex)).join('');
  const w = new IpfixMessageWriter({ observationDomainId: 3, maxMessageBytes: 1472 });
  const first = w.encode(records, 1);
  assert.is(bodies(first), expected, 'at once');
  for (const m of first) w.release(m);
  assert.is(bodies(w.encode(records, 1)), expected, 'again, in reused buffers');
  const out = [];
  for (let i = 0; i < records.length; i += 7) out.push(...w.encode(records.slice(i, i + 7), 1, i === 70, true));
  out.push(...w.flushOpen(1));
  assert.is(bodies(out), expected, 'kept open across calls, a template set put in front of an open message');
});

test('a template set asked for while a message is open moves its sets up: the bytes of templates and data encoded at once', () => {
  const r = record({ packets: [3, 2], bytes: [300, 200] });
  const open = new IpfixMessageWriter({ observationDomainId: 5, maxMessageBytes: 1472 });
  assert.is(open.encode([r], 9, false, true).length, 0);
  const [m, ...rest] = open.encode([], 9, true);
  assert.is(rest.length, 0);
  const [expected] = new IpfixMessageWriter({ observationDomainId: 5, maxMessageBytes: 1472 }).encode([r], 9, true);
  assert.is(hex(m!.bytes), hex(expected!.bytes));
});

/**
 * A collector's reading of a message (as nfdump 1.7's): per data set of a record template, records field by field by the
 * template (strings of 1- or 3-byte length) while 4 bytes or more are left; the padding template's sets skipped, checked
 * all zero. The records' bytes, and the padding bytes seen.
 */
function collect(m: Uint8Array): { records: string; padding: number } {
  const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
  assert.is(dv.getUint16(2), m.length, 'header length');
  let records = '';
  let padding = 0;
  for (let at = 16; at < m.length; at += dv.getUint16(at + 2)) {
    const id = dv.getUint16(at);
    const end = at + dv.getUint16(at + 2);
    if (id === 260) {
      assert.ok(m.subarray(at + 4, end).every((b) => b === 0), 'paddingOctets are zeros');
      padding += end - at;
      continue;
    }
    const t = TEMPLATES.find((x) => x.id === id);
    if (t === undefined) continue; // the template set
    let r = at + 4;
    while (end - r >= 4) {
      const start = r;
      for (const ie of t.fields) {
        const len = fieldLength(ie.type);
        if (len !== VARIABLE_LENGTH) r += len;
        else r += m[r] === 255 ? 3 + dv.getUint16(r + 1) : 1 + m[r]!;
      }
      assert.ok(r <= end, 'a record within its set');
      records += hex(m.subarray(start, r));
    }
    assert.ok(m.subarray(r, end).every((b) => b === 0), 'a set\'s padding is zeros');
    padding += end - r;
  }
  return { records, padding };
}

test('padded to the GSO segment (padMessage): every message 1,472 bytes, its records read as before, its sequence number the same; gaps of 1-3 bytes in the last set, of 5+ a set of template 260; 4 refused', () => {
  const records = manyRecords();
  const w = new IpfixMessageWriter({ observationDomainId: 3, maxMessageBytes: 1472 });
  const out = w.encode(records, 1, true);
  const plain = out.map((m) => ({ bytes: Uint8Array.from(m.bytes), seq: new DataView(m.bytes.buffer, m.bytes.byteOffset).getUint32(8) }));
  let padded = 0;
  for (const m of out) {
    const before = m.bytes.length;
    if (!padMessage(m, 1472)) {
      assert.is(1472 - before, 4, 'only a gap of 4 is refused');
      continue;
    }
    padded++;
    assert.is(m.bytes.length, 1472);
  }
  assert.ok(padded >= out.length - 1, `${padded} of ${out.length} padded`);
  out.forEach((m, i) => {
    assert.is(new DataView(m.bytes.buffer, m.bytes.byteOffset).getUint32(8), plain[i]!.seq, 'padding records are not counted (nfdump counts the records it stores)');
    const got = collect(m.bytes);
    assert.is(got.records, collect(plain[i]!.bytes).records);
    assert.is(got.padding, m.bytes.length - plain[i]!.bytes.length);
  });
  // every gap size: 1-3 inside the last set, 4 refused, 5 and more (past 255 too) a padding set
  const [m] = new IpfixMessageWriter({ observationDomainId: 3, maxMessageBytes: 1472 }).encode([record()], 1) as [EncodedMessage];
  const len = m.bytes.length;
  const reference = collect(Uint8Array.from(m.bytes)).records;
  for (const gap of [1, 2, 3, 4, 5, 6, 300, 1472 - len]) {
    const copy: EncodedMessage = { ...m, bytes: m.bytes.subarray(0, len) };
    new DataView(copy.bytes.buffer, copy.bytes.byteOffset).setUint16(2, len);
    new DataView(copy.bytes.buffer, copy.bytes.byteOffset).setUint16(18, len - 16); // the data set's length as written
    if (gap === 4) {
      assert.not.ok(padMessage(copy, len + gap));
      continue;
    }
    assert.ok(padMessage(copy, len + gap), `gap ${gap}`);
    const dv = new DataView(copy.bytes.buffer, copy.bytes.byteOffset);
    assert.is(copy.bytes.length, len + gap);
    assert.is(dv.getUint16(16 + dv.getUint16(18)) === 260, gap >= 5, `gap ${gap}: ${gap >= 5 ? 'a padding set' : 'in the data set'}`);
    const got = collect(copy.bytes);
    assert.equal([got.records, got.padding], [reference, gap]);
  }
  assert.not.ok(padMessage({ bytes: w.templates(1), dataRecords: 0, records: 0 }, 1472), 'no room: a template message is its own buffer');
});

test.run();
