import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PcapWriter } from '../../../src/io/pcap.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { buildTcp, buildUdp } from '../../../src/packet/build.js';
import { PROTO_TCP, PROTO_UDP, TCP_SYN } from '../../../src/packet/ip.js';
import { COOKIE, MetadataWriter, Tlv } from '../../../src/packet/svr-metadata.js';

const run = promisify(execFile);
const SVR = fileURLToPath(new URL('../../../../bin/svr.js', import.meta.url));
const text = new TextEncoder();

const INGRESS = parseAddress('203.0.113.10')!.bytes;
const EGRESS = parseAddress('198.51.100.20')!.bytes;
const CLIENT = parseAddress('10.1.1.10')!.bytes;
const SERVER = parseAddress('10.2.2.20')!.bytes;
const UUID = '3f2a1c9e-5b7d-4e8f-a1b2-c3d4e5f60718';
const UUID_BYTES = Buffer.from(UUID.replace(/-/g, ''), 'hex');

function str(w: MetadataWriter, type: number, s: string): MetadataWriter {
  const b = text.encode(s);
  return w.bytes(type, b, 0, b.length);
}

/** Metadata followed by the original payload. */
function withPayload(w: MetadataWriter, payload: Uint8Array): Uint8Array {
  const n = w.finish();
  const out = new Uint8Array(n + payload.length);
  out.set(w.buf.subarray(0, n), 0);
  out.set(payload, n);
  return out;
}

function hexOf(s: string): string {
  return s.replace(/\s+/g, '');
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

// §9 example 1: first forward packet
function example1(): Uint8Array {
  const w = new MetadataWriter().begin().u32(Tlv.SecurityId, 1).endHeader()
    .context(Tlv.ForwardContextV4, 4, CLIENT, 0, SERVER, 0, 50000, 6000, PROTO_UDP);
  str(w, Tlv.TenantName, 'blue');
  str(w, Tlv.ServiceName, 'video');
  w.bytes(Tlv.SessionUuid, UUID_BYTES, 0, 16);
  str(w, Tlv.SourceRouter, 'branch1');
  return buildUdp({ src: INGRESS, dst: EGRESS, id: 0x1234, srcPort: 16386, dstPort: 16387, payload: withPayload(w, text.encode('PING')) });
}

// §9 example 2: first reverse packet
function example2(): Uint8Array {
  const w = new MetadataWriter().begin().u32(Tlv.SecurityId, 1).endHeader()
    .context(Tlv.ReverseContextV4, 4, SERVER, 0, CLIENT, 0, 6000, 50000, PROTO_UDP)
    .flag(Tlv.DisableForwardMetadata);
  return buildUdp({ src: EGRESS, dst: INGRESS, id: 0x1234, srcPort: 16387, dstPort: 16386, payload: withPayload(w, text.encode('PONG')) });
}

// §9 example 3: false-positive header before a payload that starts with the cookie
function example3(): Uint8Array {
  const w = new MetadataWriter().begin();
  return buildUdp({ src: INGRESS, dst: EGRESS, id: 0x1234, srcPort: 16388, dstPort: 16389, payload: withPayload(w, Uint8Array.of(...COOKIE, 1, 2, 3, 4)) });
}

// §9 example 4: TCP SYN with an IPv6 forward context, no header TLVs
function example4(): Uint8Array {
  const w = new MetadataWriter().begin().endHeader()
    .context(Tlv.ForwardContextV4, 6, parseAddress('2001:db8:1::10')!.bytes, 0, parseAddress('2001:db8:2::20')!.bytes, 0, 41000, 443, PROTO_TCP)
    .bytes(Tlv.SessionUuid, UUID_BYTES, 0, 16);
  str(w, Tlv.ServiceName, 'web');
  return buildTcp({
    src: INGRESS, dst: EGRESS, id: 0x1234, srcPort: 16390, dstPort: 16391, seq: 0x11223344, flags: TCP_SYN, window: 0xfaf0,
    payload: withPayload(w, new Uint8Array(0)),
  });
}

// header_length + payload_length run past the end of the packet
function malformedLengths(): Uint8Array {
  const w = new MetadataWriter().begin().u32(Tlv.SecurityId, 1).endHeader();
  str(w, Tlv.TenantName, 'blue');
  const payload = withPayload(w, new Uint8Array(0));
  payload[11] += 100; // payload_length claims 100 bytes that are not there
  return buildUdp({ src: INGRESS, dst: EGRESS, srcPort: 16392, dstPort: 16393, payload });
}

// a forward context TLV of length 12 (must be 13 or 37)
function malformedContext(): Uint8Array {
  const w = new MetadataWriter().begin().endHeader().bytes(Tlv.ForwardContextV4, new Uint8Array(12), 0, 12);
  str(w, Tlv.TenantName, 'blue');
  return buildUdp({ src: INGRESS, dst: EGRESS, srcPort: 16394, dstPort: 16395, payload: withPayload(w, text.encode('x')) });
}

function plainUdp(): Uint8Array {
  return buildUdp({ src: CLIENT, dst: SERVER, srcPort: 50000, dstPort: 6000, payload: text.encode('no metadata here') });
}

test('golden packets: examples 1 and 2 equal the fact sheet hex dumps byte for byte', () => {
  assert.is(hex(example1()), hexOf(`
    45 00 00 75 12 34 40 00 40 11 c1 f1 cb 00 71 0a c6 33 64 14
    40 02 40 03 00 61 9b c6
    4c 48 db c6 dd f6 67 0c 10 14 00 41
    00 10 00 04 00 00 00 01
    00 02 00 0d 0a 01 01 0a 0a 02 02 14 c3 50 17 70 11
    00 07 00 04 62 6c 75 65
    00 0a 00 05 76 69 64 65 6f
    00 06 00 10 3f 2a 1c 9e 5b 7d 4e 8f a1 b2 c3 d4 e5 f6 07 18
    00 0e 00 07 62 72 61 6e 63 68 31
    50 49 4e 47`));
  assert.is(hex(example2()), hexOf(`
    45 00 00 49 12 34 40 00 40 11 c2 1d c6 33 64 14 cb 00 71 0a
    40 03 40 02 00 35 f0 49
    4c 48 db c6 dd f6 67 0c 10 14 00 15
    00 10 00 04 00 00 00 01
    00 04 00 0d 0a 02 02 14 0a 01 01 0a 17 70 c3 50 11
    00 12 00 00
    50 4f 4e 47`));
  // examples 3 and 4: the L4 bytes the fact sheet lists (its IP headers are not given in full)
  const e3 = example3();
  assert.is(e3.length, 52);
  assert.is(hex(e3.subarray(28)), hexOf('4c 48 db c6 dd f6 67 0c 10 0c 00 00 4c 48 db c6 dd f6 67 0c 01 02 03 04'));
  const e4 = example4();
  assert.is(e4.length, 120);
  assert.is(hex(e4.subarray(20, 40)), hexOf('40 06 40 07 11 22 33 44 00 00 00 00 50 02 fa f0 14 96 00 00'));
  assert.is(hex(e4.subarray(40, 40 + 16)), hexOf('4c 48 db c6 dd f6 67 0c 10 0c 00 44 00 03 00 25'));
  assert.is(hex(e4.subarray(40 + 73)), hexOf('00 0a 00 03 77 65 62'));
});

interface Line {
  frame: number;
  time: string | null;
  length: number;
  outer?: Record<string, unknown>;
  metadata?: Record<string, unknown> & { tlvs: Array<Record<string, unknown>> };
  note?: string;
  summary?: Record<string, number>;
}

const dir = mkdtempSync(join(tmpdir(), 'svr-decode-'));
const capture = join(dir, 'wan.pcap');
const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
{
  const w = new PcapWriter(capture);
  [example1(), example2(), example3(), example4(), malformedLengths(), malformedContext(), plainUdp()]
    .forEach((p, i) => w.write(p, T0 + i));
  w.close();
}

async function decode(...args: string[]): Promise<{ lines: Line[]; stdout: string }> {
  const { stdout } = await run(process.execPath, [SVR, 'decode', ...args]);
  return { stdout, lines: stdout.trim().split('\n').map((l) => JSON.parse(l) as Line) };
}

const ctx = (src: string, dst: string, srcPort: number, dstPort: number, protocol: number) => ({ src, dst, srcPort, dstPort, protocol });

test('svr decode: every field of examples 1-4 and the malformed packets', async () => {
  const { lines } = await decode(capture);
  assert.is(lines.length, 7);
  assert.equal(lines.map((l) => l.frame), [1, 2, 3, 4, 5, 6, 7]);
  assert.is(lines[0]!.time, '2025-01-02T03:04:05.678Z');
  assert.is(lines[6]!.time, '2025-01-02T03:04:05.684Z');

  const [e1, e2, e3, e4, m1, m2, plain] = lines as [Line, Line, Line, Line, Line, Line, Line];
  assert.is(e1.length, 117);
  assert.equal(e1.outer, { src: '203.0.113.10', dst: '198.51.100.20', srcPort: 16386, dstPort: 16387, protocol: 17, protocolName: 'udp', checksumOk: true });
  const forward = ctx('10.1.1.10', '10.2.2.20', 50000, 6000, 17);
  assert.equal(e1.metadata, {
    version: 1, headerLength: 20, payloadLength: 65, falsePositive: false,
    tlvs: [
      { type: 16, name: 'security-id', section: 'header', length: 4, value: 1 },
      { type: 2, name: 'forward-context-ipv4', section: 'payload', length: 13, value: forward },
      { type: 7, name: 'tenant-name', section: 'payload', length: 4, value: 'blue' },
      { type: 10, name: 'service-name', section: 'payload', length: 5, value: 'video' },
      { type: 6, name: 'session-uuid', section: 'payload', length: 16, value: UUID },
      { type: 14, name: 'source-router-name', section: 'payload', length: 7, value: 'branch1' },
    ],
    payloadEncrypted: false, disableForwardMetadata: false, tcpSyn: false,
    forward, sessionId: UUID, tenant: 'blue', service: 'video', sourceRouter: 'branch1', securityId: 1,
  });

  assert.is(e2.length, 73);
  assert.equal(e2.outer, { src: '198.51.100.20', dst: '203.0.113.10', srcPort: 16387, dstPort: 16386, protocol: 17, protocolName: 'udp', checksumOk: true });
  const reverse = ctx('10.2.2.20', '10.1.1.10', 6000, 50000, 17);
  assert.equal(e2.metadata, {
    version: 1, headerLength: 20, payloadLength: 21, falsePositive: false,
    tlvs: [
      { type: 16, name: 'security-id', section: 'header', length: 4, value: 1 },
      { type: 4, name: 'reverse-context-ipv4', section: 'payload', length: 13, value: reverse },
      { type: 18, name: 'disable-forward-metadata', section: 'payload', length: 0, value: true },
    ],
    payloadEncrypted: false, disableForwardMetadata: true, tcpSyn: false, reverse, securityId: 1,
  });

  assert.is(e3.length, 52);
  assert.equal(e3.metadata, {
    version: 1, headerLength: 12, payloadLength: 0, falsePositive: true, tlvs: [],
    payloadEncrypted: false, disableForwardMetadata: false, tcpSyn: false,
  });

  assert.is(e4.length, 120);
  assert.equal(e4.outer, {
    src: '203.0.113.10', dst: '198.51.100.20', srcPort: 16390, dstPort: 16391, protocol: 6, protocolName: 'tcp', tcpFlags: 'SYN', checksumOk: true,
  });
  const forward6 = ctx('2001:db8:1::10', '2001:db8:2::20', 41000, 443, 6);
  assert.equal(e4.metadata, {
    version: 1, headerLength: 12, payloadLength: 68, falsePositive: false,
    tlvs: [
      { type: 3, name: 'forward-context-ipv6', section: 'payload', length: 37, value: forward6 },
      { type: 6, name: 'session-uuid', section: 'payload', length: 16, value: UUID },
      { type: 10, name: 'service-name', section: 'payload', length: 3, value: 'web' },
    ],
    payloadEncrypted: false, disableForwardMetadata: false, tcpSyn: false, forward: forward6, sessionId: UUID, service: 'web',
  });

  assert.is(m1.metadata!.malformed, 'lengths-exceed-packet');
  assert.is(m1.metadata!.payloadLength, 108);
  assert.is(m1.metadata!.tenant, undefined, 'no session fields from malformed metadata');
  assert.is(m2.metadata!.malformed, 'bad-context-length');
  assert.equal(m2.metadata!.tlvs[0], { type: 2, name: 'forward-context-ipv4', section: 'payload', length: 12, value: '000000000000000000000000' });
  assert.is(m2.metadata!.forward, undefined);

  assert.is(plain.metadata, undefined);
  assert.is(plain.outer!.protocolName, 'udp');
});

test('svr decode --metadata-only --summary', async () => {
  const { lines } = await decode(capture, '--metadata-only', '--summary');
  assert.equal(lines.slice(0, -1).map((l) => l.frame), [1, 2, 3, 4, 5, 6]);
  assert.equal(lines.at(-1), { summary: { packets: 7, ip: 7, metadata: 6, malformed: 2, falsePositive: 1, encrypted: 0, fec: 0, control: 0, firewallProbes: 0, other: 0 } } as unknown as Line);
});

// SSR-style encrypted metadata (fact sheet §9 example 5): a clear security id header TLV, then an opaque
// payload-TLV region (16-byte IV + 64 bytes of AES-CBC blocks), then the original payload
function ssrEncrypted(securityId: number): Uint8Array {
  const w = new MetadataWriter().begin().u32(Tlv.SecurityId, securityId).endHeader();
  const n = w.finish();
  const opaque = Uint8Array.from({ length: 80 }, (_, i) => (i * 37 + 11) & 0xff);
  const l4 = new Uint8Array(n + opaque.length + 4);
  l4.set(w.buf.subarray(0, n), 0);
  l4.set(opaque, n);
  l4.set(text.encode('PING'), n + opaque.length);
  l4[10] = 0;
  l4[11] = opaque.length; // payload_length covers the ciphertext
  return buildUdp({ src: INGRESS, dst: EGRESS, srcPort: 16396, dstPort: 16397, payload: l4 });
}

test('svr decode: a hand-built SSR-style packet (security id + opaque payload-TLV region) is encrypted metadata, not malformed', async () => {
  const file = join(dir, 'ssr-encrypted.pcap');
  const w = new PcapWriter(file);
  w.write(ssrEncrypted(7), T0);
  w.close();
  const { lines } = await decode(file, '--summary');
  assert.equal(lines[0]!.metadata, {
    version: 1, headerLength: 20, payloadLength: 80, falsePositive: false,
    tlvs: [{ type: 16, name: 'security-id', section: 'header', length: 4, value: 7 }],
    payloadEncrypted: false, disableForwardMetadata: false, tcpSyn: false, securityId: 7, encrypted: true,
  });
  assert.equal(lines[1]!.summary, { packets: 1, ip: 1, metadata: 1, malformed: 0, falsePositive: 0, encrypted: 1, fec: 0, control: 0, firewallProbes: 0, other: 0 });
});

test('svr decode: path control on UDP 1280 and the firewall detector\'s TCP probes (1283 -> 1283) are named, never read as metadata; a session packet on 1280 (it starts with the cookie) is', async () => {
  const file = join(dir, 'control.pcap');
  const w = new PcapWriter(file);
  const bfd = Uint8Array.of(0x20, 0xc0, 3, 24, ...new Array<number>(20).fill(0));
  w.write(buildUdp({ src: INGRESS, dst: EGRESS, srcPort: 1280, dstPort: 1280, payload: bfd }), T0);
  // the tcp-syn probe: type 0xcf, version 0, kind 0, round 7, then the cookie (it looks like a first packet's data)
  const probe = new Uint8Array(16);
  probe.set([0xcf, 0, 0, 0, 0, 0, 0, 7]);
  probe.set(COOKIE, 8);
  w.write(buildTcp({ src: INGRESS, dst: EGRESS, srcPort: 1283, dstPort: 1283, seq: 1, flags: TCP_SYN, payload: probe }), T0);
  const jumbo = new Uint8Array(1100);
  jumbo.set([0xcf, 0, 2, 0, 0, 0, 0, 7]);
  w.write(buildTcp({ src: INGRESS, dst: EGRESS, srcPort: 1283, dstPort: 1283, seq: 1, flags: TCP_SYN, payload: jumbo }), T0);
  w.write(buildUdp({ src: EGRESS, dst: INGRESS, srcPort: 1280, dstPort: 1280, payload: Uint8Array.of(0xd0, 0, 0, 0, 0, 0, 0, 7) }), T0);
  // a session packet the hub sends on the control binding of a router behind NAT (docs/wan.md): metadata
  w.write(buildUdp({ src: EGRESS, dst: INGRESS, srcPort: 1280, dstPort: 27101, payload: example1().subarray(28) }), T0); // example 1's metadata and payload
  w.close();
  const { lines } = await decode(file, '--summary');
  assert.equal(lines.slice(0, 4).map((l) => (l as unknown as { control?: unknown }).control), [
    { kind: 'bfd' }, { kind: 'fw-probe', probe: 'tcp-syn', round: 7 }, { kind: 'fw-probe', probe: 'tcp-syn-jumbo', round: 7 }, { kind: 'fw-probe-ack' },
  ]);
  assert.ok(lines.slice(0, 4).every((l) => l.metadata === undefined));
  assert.is((lines[4] as unknown as { control?: unknown }).control, undefined, 'the cookie on 1280: not a control message');
  assert.ok(lines[4]!.metadata !== undefined);
  assert.equal(lines[5]!.summary, { packets: 5, ip: 5, metadata: 1, malformed: 0, falsePositive: 0, encrypted: 0, fec: 0, control: 4, firewallProbes: 2, other: 0 });
});

test('svr decode --pretty indents', async () => {
  const { stdout } = await run(process.execPath, [SVR, 'decode', capture, '--pretty']);
  assert.ok(stdout.startsWith('{\n  "frame": 1,\n  "time": "2025-01-02T03:04:05.678Z"'), stdout.slice(0, 80));
});

test('svr decode: missing file and non-capture file exit 1 with a clear message', async () => {
  const notPcap = join(dir, 'notes.txt');
  writeFileSync(notPcap, 'just some text\n');
  for (const [file, re] of [[join(dir, 'missing.pcap'), /^svr decode: cannot read .*missing\.pcap: no such file\n$/], [notPcap, /^svr decode: .*notes\.txt: offset 0: magic 6a757374 is neither pcap .* nor pcapng/]] as const) {
    const r = await run(process.execPath, [SVR, 'decode', file]).then(() => null, (e: { code: number; stderr: string; stdout: string }) => e);
    assert.ok(r !== null, `${file} should fail`);
    assert.is(r!.code, 1);
    assert.match(r!.stderr, re);
    assert.is(r!.stdout, '');
  }
});

test('svr decode --help explains the fields and shows the capture example; svr --version', async () => {
  const { stdout } = await run(process.execPath, [SVR, 'decode', '--help']);
  for (const s of ['tcpdump -i veth-r1r2 -w wan.pcap', 'svr decode wan.pcap --metadata-only', 'malformed', 'pcapng', 'SLL2', '802.1Q', 'sessionId']) {
    assert.ok(stdout.includes(s), `help lacks ${s}`);
  }
  const v = await run(process.execPath, [SVR, '--version']);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
