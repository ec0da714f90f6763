import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import type { TcpConnection } from '../../../src/sim/tcp.js';
import { PluginOptionsError } from '../../../src/plugins/api.js';
import { checkPluginCompliance } from '../../../src/plugins/compliance.js';
import appid from '../../../src/plugins/builtin/appid/index.js';
import { clientHelloSni } from '../../../src/plugins/builtin/appid/tls.js';
import { httpHost } from '../../../src/plugins/builtin/appid/http.js';
import { learnFromResponse } from '../../../src/plugins/builtin/appid/dns.js';
import { DnsTable } from '../../../src/plugins/builtin/appid/dns-table.js';
import { hostName } from '../../../src/plugins/builtin/appid/names.js';
import { HTTP_HOST, HTTP_NONE, HTTP_PARTIAL, Span, TLS_NONE, TLS_NO_SNI, TLS_PARTIAL, TLS_SNI } from '../../../src/plugins/builtin/appid/span.js';
import { sleep, until, waitFor } from '../../support/config.js';
import { clientHello, dnsQuery, dnsResponse } from './app-bytes.js';
import { builtin, labConfig, pluginCounters } from './services-lab.js';

const APPID = 'builtin.appid';
const CLASSIFY = 'builtin.appid/classify';
const ALL_CHAINED = { web: [CLASSIFY], tls: [CLASSIFY], echo: [CLASSIFY], discard: [CLASSIFY], dns: [CLASSIFY] };

async function appOf(lab: MemoryLab, router: 'r1' | 'r2', service: string): Promise<string[]> {
  return (await lab[router].sessions()).filter((s) => s.service === service).map((s) => s.application);
}

async function tcpEchoServer(lab: MemoryLab, port: number): Promise<void> {
  lab.servers[0]!.tcpListen(port, (c) => c.on('data', (d) => c.write(d)));
}

async function sendAndEcho(c: TcpConnection, data: Uint8Array): Promise<void> {
  const before = c.bytesReceived;
  c.write(data);
  assert.ok(await until(() => c.bytesReceived === before + data.length, 3000), 'echoed back');
}

test('TLS ClientHello over a real TCP connection: the session is named by its SNI on both routers (TLV 35), once', async () => {
  const lab = createMemoryLab({ config: labConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    assert.equal(await lab.r1.applyPlugins([builtin('appid', {})], { services: ALL_CHAINED }), []);
    await tcpEchoServer(lab, 443);
    const c = await lab.clients[0]!.tcpConnect('198.18.3.20', 443);
    await sendAndEcho(c, clientHello('example.com'));
    assert.equal(await appOf(lab, 'r1', 'tls'), ['example.com']);
    await sendAndEcho(c, Buffer.from('application data'));
    assert.ok(await until(async () => (await appOf(lab, 'r2', 'tls'))[0] === 'example.com'), `the egress learned it (${(await appOf(lab, 'r2', 'tls'))})`);
    await sendAndEcho(c, clientHello('other.example'));
    assert.equal(await appOf(lab, 'r1', 'tls'), ['example.com'], 'named once: later packets are not inspected');
    const n = pluginCounters(lab.r1.counters(), APPID);
    assert.equal([n['classified-sni'], n['classified-port'], n['unclassified']], [1, 0, 0]);
    c.destroy();
  } finally {
    await lab.close();
  }
});

test('HTTP/1.1 Host header (port and case dropped); data that is neither TLS nor HTTP falls back to the port at once', async () => {
  const lab = createMemoryLab({ config: labConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    assert.equal(await lab.r1.applyPlugins([builtin('appid', {})], { services: ALL_CHAINED }), []);
    await tcpEchoServer(lab, 80);
    const c = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
    await sendAndEcho(c, Buffer.from('GET /index.html HTTP/1.1\r\nUser-Agent: t\r\nhOST:  WWW.Example.org:8080 \r\nAccept: */*\r\n\r\n'));
    assert.equal(await appOf(lab, 'r1', 'web'), ['www.example.org']);
    await sendAndEcho(c, Buffer.from('more'));
    assert.ok(await until(async () => (await appOf(lab, 'r2', 'web'))[0] === 'www.example.org'), 'the egress learned it');
    const raw = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
    await sendAndEcho(raw, Buffer.from('\x00\x01binary'));
    assert.equal((await appOf(lab, 'r1', 'web')).sort(), ['http', 'www.example.org']);
    const n = pluginCounters(lab.r1.counters(), APPID);
    assert.equal([n['classified-http'], n['classified-port']], [1, 1]);
    c.destroy();
    raw.destroy();
  } finally {
    await lab.close();
  }
});

test('DNS answers are learned (CNAME chain, compressed names): a later session to the answered address gets the name asked for; ports name the rest; unknown ports stay unclassified', async () => {
  const lab = createMemoryLab({ config: labConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20', '198.18.3.21'] });
  try {
    assert.equal(await lab.r1.applyPlugins([builtin('appid', { ports: { 7: 'my-echo' } })], { services: ALL_CHAINED }), []);
    const [s20, s21] = lab.servers;
    s20!.udpBind(53, (d, f) => s20!.udpSend(53, f.address, f.port, dnsResponse((d[0]! << 8) | d[1]!, 'svc.example', 'edge.cdn.example', ['198.18.3.21', '198.18.3.77'])));
    for (const s of [s20!, s21!]) {
      s.udpBind(7, (d, f) => s.udpSend(7, f.address, f.port, d));
      s.udpBind(9, (d, f) => s.udpSend(9, f.address, f.port, d));
    }
    const client = lab.clients[0]!;
    let got = 0;
    for (const p of [50000, 50001, 50002, 50003]) client.udpBind(p, () => got++);
    client.udpSend(50000, '198.18.3.20', 53, dnsQuery(0x1234, 'svc.example'));
    assert.ok(await until(() => got === 1));
    assert.equal(await appOf(lab, 'r1', 'dns'), ['dns'], 'the DNS session itself: by port, after its answer');
    assert.is(pluginCounters(lab.r1.counters(), APPID)['dns-learned'], 2);
    client.udpSend(50001, '198.18.3.21', 7, Buffer.from('to the learned address'));
    client.udpSend(50002, '198.18.3.20', 7, Buffer.from('to another address'));
    client.udpSend(50003, '198.18.3.21', 9, Buffer.from('unknown port, learned address'));
    assert.ok(await until(() => got === 4));
    const echo = (await lab.r1.sessions()).filter((s) => s.service === 'echo').map((s) => s.application).sort();
    assert.equal(echo, ['my-echo', 'svc.example'], 'learned name first, then the (overridden) port name');
    assert.equal(await appOf(lab, 'r1', 'discard'), ['svc.example']);
    client.udpSend(50001, '198.18.3.21', 7, Buffer.from('again'));
    assert.ok(await until(() => got === 5));
    assert.ok(await until(async () => (await lab.r2.sessions()).some((s) => s.application === 'svc.example')), 'the egress learned it');
    const n = pluginCounters(lab.r1.counters(), APPID);
    assert.equal([n['classified-dns'], n['classified-port'], n['unclassified']], [2, 2, 0]);
    s20!.udpUnbind(9);
    s20!.udpBind(9, () => {}); // no answer: one packet, decided at once
    client.udpBind(50004, () => got++);
    client.udpSend(50004, '198.18.3.20', 9, Buffer.from('nobody names port 9'));
    assert.ok(await until(() => (pluginCounters(lab.r1.counters(), APPID)['unclassified'] ?? 0) === 1));
    assert.is((await lab.r1.sessions()).filter((s) => s.service === 'discard' && s.application === '').length, 1);
  } finally {
    await lab.close();
  }
});

test('max-packets: a request whose headers never end is inspected for max-packets data packets, then named by port; a session closed undecided counts as unclassified', async () => {
  const lab = createMemoryLab({ config: labConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    assert.equal(await lab.r1.applyPlugins([builtin('appid', { 'max-packets': 3 })], { services: ALL_CHAINED }), []);
    lab.servers[0]!.tcpListen(80, () => {}); // reads, never answers
    const c = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
    let sent = 0;
    for (let i = 1; i <= 3; i++) {
      const chunk = Buffer.from(`GET /${i} HTTP/1.1\r\nX-Long: ${'a'.repeat(20)}\r\n`);
      c.write(chunk);
      sent += chunk.length;
      assert.ok(await until(() => c.bytesSent === sent), `segment ${i} acknowledged`);
      await sleep(5);
      assert.equal(await appOf(lab, 'r1', 'web'), [i < 3 ? '' : 'http'], `after ${i} data packets`);
    }
    // a session that closes before it was decided
    const d = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
    d.write(Buffer.from('GET / HTTP/1.1\r\n'));
    await waitFor('the request sent', () => d.bytesSent > 0);
    const dp = lab.r1.host.dataplane;
    const undecided = (await lab.r1.sessions()).filter((s) => s.service === 'web' && s.application === '');
    assert.is(undecided.length, 1);
    for (let r = 0; r < dp.sessions.capacity; r++) {
      if (dp.sessions.isActive(r) && dp.ctx.applications.name(dp.sessions.app[r]!) === '' && dp.sessions.service[r] === dp.tables.serviceId('web')) dp.removeRow(r, dp.sessions.gen[r]!, 'admin');
    }
    assert.is(pluginCounters(lab.r1.counters(), APPID)['unclassified'], 1, 'counted by the close hook');
    c.destroy();
    d.destroy();
  } finally {
    await lab.close();
  }
});

test('ClientHello parser: every truncation either finds the whole name or says partial; corrupted and random bytes never throw', () => {
  const span = new Span();
  const hello = clientHello('Example.COM');
  assert.is(clientHelloSni(hello, 0, hello.length, span), TLS_SNI);
  assert.is(hostName(hello, span.start, span.len), 'example.com', 'lowercased');
  const nameEnd = span.start + span.len;
  for (let len = 0; len < hello.length; len++) {
    const r = clientHelloSni(hello, 0, len, span);
    if (len < 6) assert.is(r, TLS_NONE, `${len} bytes`);
    else if (len < nameEnd) assert.is(r, TLS_PARTIAL, `${len} bytes`);
    else assert.ok(r === TLS_SNI && span.start + span.len <= len, `${len} bytes`);
  }
  // inside a larger buffer, at an offset
  const buf = new Uint8Array(hello.length + 100);
  buf.set(hello, 40);
  assert.is(clientHelloSni(buf, 40, 40 + hello.length, span), TLS_SNI);
  assert.is(hostName(buf, span.start, span.len), 'example.com');
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < 20_000; i++) {
    const m = Uint8Array.from(hello);
    for (let k = 0; k < 3; k++) m[rnd() % m.length] = rnd();
    const end = rnd() % (m.length + 1);
    const r = clientHelloSni(m, 0, end, span);
    if (r === TLS_SNI) assert.ok(span.start >= 0 && span.start + span.len <= end, 'the span stays within the bytes at hand');
  }
  for (let i = 0; i < 5000; i++) {
    const m = Uint8Array.from({ length: rnd() % 300 }, rnd);
    if (m.length > 0) m[0] = 0x16;
    if (m.length > 5) m[5] = 1;
    const r = clientHelloSni(m, 0, m.length, span);
    if (r === TLS_SNI) assert.ok(span.start + span.len <= m.length);
  }
});

test('ClientHello without server_name is a definitive miss; HTTP: Host found, partial, none', () => {
  const span = new Span();
  const h = clientHello('a.example');
  // rename the server_name extension (type 0x0000 right after supported_groups' 8 bytes) to 0x0fff
  const at = h.indexOf(0x1d) + 1; // end of supported_groups data
  h[at] = 0x0f;
  h[at + 1] = 0xff;
  assert.is(clientHelloSni(h, 0, h.length, span), TLS_NO_SNI);
  const enc = (s: string) => Buffer.from(s, 'latin1');
  const cases: [string, number, string?][] = [
    ['GET / HTTP/1.1\r\nHost: a.example\r\n\r\n', HTTP_HOST, 'a.example'],
    ['POST /x HTTP/1.1\r\nContent-Length: 0\r\nHOST:b.example:81\r\n\r\n', HTTP_HOST, 'b.example'],
    ['GET / HTTP/1.1\r\nAccept: */*\r\n', HTTP_PARTIAL],
    ['GET / HTTP/1.1\r\nHost: cut.exa', HTTP_PARTIAL],
    ['GET / HTTP/1.0\r\n\r\n', HTTP_NONE],
    ['get / HTTP/1.1\r\nHost: a\r\n\r\n', HTTP_NONE],
    ['SSH-2.0-OpenSSH_9.6\r\n', HTTP_NONE],
    ['GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n', HTTP_NONE],
  ];
  for (const [text, want, name] of cases) {
    const b = enc(text);
    assert.is(httpHost(b, 0, b.length, span), want, JSON.stringify(text));
    if (name !== undefined) assert.is(hostName(b, span.start, span.len), name);
  }
  assert.is(hostName(enc('bad name'), 0, 8), null);
  assert.is(hostName(enc('ok.example.'), 0, 11), 'ok.example');
});

test('DNS: answers learned under the question name, pointer loops and truncations are harmless, the table is bounded and expires', () => {
  const learned: [number, string, number][] = [];
  const into = { learn: (a: number, n: string, ttl: number) => void learned.push([a, n, ttl]) };
  const scratch = new Uint8Array(256);
  const r = dnsResponse(1, 'Svc.Example', 'edge.cdn.example', ['198.18.3.21'], 30);
  assert.is(learnFromResponse(r, 0, r.length, scratch, into), 1);
  assert.equal(learned, [[0xc6120315, 'svc.example', 30]]);
  for (let len = 0; len < r.length; len++) learnFromResponse(r, 0, len, scratch, into); // never throws
  assert.is(learned.length, 1, 'the A record is only learned when it is all there');
  const q = dnsQuery(1, 'svc.example');
  assert.is(learnFromResponse(q, 0, q.length, scratch, into), 0, 'a query teaches nothing');
  const loop = Uint8Array.from(r);
  loop[12] = 0xc0;
  loop[13] = 12; // the question name points at itself
  assert.is(learnFromResponse(loop, 0, loop.length, scratch, into), 0);
  const t = new DnsTable(16);
  t.now = 1000;
  for (let i = 0; i < 100; i++) t.learn(i, `n${i}`, 300);
  assert.is(t.slots, 16);
  let found = 0;
  for (let i = 0; i < 100; i++) if (t.lookup(i, 1000) !== '') found++;
  assert.ok(found > 0 && found <= 16, `bounded (${found} of 100 kept)`);
  t.learn(5000, 'late.example', 300);
  assert.is(t.lookup(5000, 1000), 'late.example', 'the newest entry is kept');
  assert.is(t.lookup(5000, 1000 + 301_000), '', 'and expires after its TTL');
  t.learn(6000, 'short.example', 1);
  assert.is(t.lookup(6000, 1000 + 59_000), 'short.example', 'TTLs below 60 s are raised to 60 s');
});

test('options: defaults, port overrides, errors with field paths', () => {
  const o = appid.options!({});
  assert.equal([o.maxPackets, o.dnsCacheSize, o.ports.get(443), o.ports.get(53)], [4, 1024, 'https', 'dns']);
  const p = appid.options!({ ports: { 443: 'tls', 53: false, 9000: 'app-9000' } });
  assert.equal([p.ports.get(443), p.ports.has(53), p.ports.get(9000)], ['tls', false, 'app-9000']);
  const bad: [unknown, string][] = [
    [{ 'max-packets': 0 }, 'max-packets'],
    [{ 'dns-cache-size': 'big' }, 'dns-cache-size'],
    [{ ports: { http: 'web' } }, 'ports.http'],
    [{ ports: { 80: 'has space' } }, 'ports.80'],
    [{ maxPackets: 3 }, 'maxPackets'],
  ];
  for (const [raw, path] of bad) {
    try {
      appid.options!(raw);
      assert.unreachable(JSON.stringify(raw));
    } catch (e) {
      assert.instance(e, PluginOptionsError);
      assert.is((e as PluginOptionsError).path, path);
    }
  }
});

test('compliance: the classify stage passes (empty frame, outcomes for its slots only, no allocation per packet)', async () => {
  const report = await checkPluginCompliance(appid, {});
  assert.equal(report.stages, [CLASSIFY]);
  assert.equal(report.failures, []);
});

test.run();
