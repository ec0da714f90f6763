/**
 * End to end path MTU (issue 13, docs/wan.md "Path MTU"): `svr lab up --wan-mtu 1280` limits the middle of
 * the WAN path to 1280 bytes and drops every ICMP packet there, while the routers' wan interfaces stay at
 * 1700: only probing can find the MTU.
 * - both routers discover 1280 (svr show peers: MTU 1280, discovered);
 * - a 100 MB HTTP download is intact (sha256) and does not stall (MSS clamped to the path);
 * - a 1472-byte UDP datagram with DF (Linux's default) does not fit: the sender gets ICMP "fragmentation
 *   needed" (its kernel caches a smaller path MTU to the server) and r1 counts icmp-too-big-sent;
 * - the same datagrams without DF (net.ipv4.ip_no_pmtu_disc=1 in the client's namespace) cross the path
 *   as fragments (wan interface `fragmentation: unless-df`, the default): the client's kernel fragments
 *   them for the MTU it cached, r1 reassembles them, fragments the SVR packet for the path and r2
 *   reassembles it; at least 3 of 5 echoes come back intact (the server's first reply may have DF and get
 *   ICMP too big from r2; its kernel then fragments the others itself, and r2 reassembles those).
 * Needs root, ip/curl/iperf3 and nft (test/support/prerequisites.ts). About 30 s.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { E2E_PREFIX, exec, inNs, labFixture, pollUntil, show, svr, SVR, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}m`;
const CLIENT_NS = `${PREFIX}-client`;
const SERVER = '198.18.3.20';
const SIZE = 100 * 1024 * 1024;

const test = requires(import.meta.url);

const { dir, env, labArgs, downSync } = labFixture(test, PREFIX, 'mtu');
const sock = (r: 'r1' | 'r2'): string => join(dir, `${r}.sock`);

interface MtuPath { up: boolean; mtu: number; mtuState: string }

async function path(r: 'r1' | 'r2'): Promise<MtuPath> {
  const res = await svr(['show', 'peers', '--json', '--socket', sock(r)], env);
  assert.is(res.code, 0, show(res));
  return (JSON.parse(res.stdout) as { paths: MtuPath[] }[])[0]!.paths[0]!;
}

async function counters(r: 'r1' | 'r2'): Promise<Record<string, number>> {
  const res = await svr(['show', 'stats', '--json', '--socket', sock(r)], env);
  assert.is(res.code, 0, show(res));
  return JSON.parse(res.stdout) as Record<string, number>;
}

test.after(() => {
  downSync();
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('svr lab up --wan-mtu 1280 (ICMP filtered): both routers discover 1280; 100 MB download intact; a 1472 B datagram gets ICMP too big with DF and crosses as fragments without', async () => {
  const up = await svr(['lab', 'up', ...labArgs, '--wan-mtu', '1280', '--bfd-interval', '100'], env, LAB_UP_MS);
  assert.is(up.code, 0, show(up));
  assert.match(up.stdout, /WAN path MTU 1280 with ICMP filtered/);
  for (const r of ['r1', 'r2'] as const) {
    const p = await pollUntil(`${r} to discover the path MTU`, 20_000, async () => {
      const x = await path(r);
      return x.mtuState === 'discovered' ? x : undefined;
    });
    assert.is(p.mtu, 1280, `${r}: the MTU of the middle of the path, not the interface's 1700`);
  }

  const file = join(dir, 'download.bin');
  const headers = join(dir, 'download.headers');
  const t0 = Date.now();
  const d = await inNs(CLIENT_NS, 'curl', ['-sS', '-m', '60', '--speed-limit', '1000000', '--speed-time', '5', '-D', headers, '-o', file, `http://${SERVER}/bytes/${SIZE}`], 70_000);
  assert.is(d.code, 0, show(d));
  const want = /^x-sha256: *([0-9a-f]{64})/im.exec(readFileSync(headers, 'utf8'))?.[1];
  assert.is(createHash('sha256').update(readFileSync(file)).digest('hex'), want, 'the 100 MB download is intact');
  const c1 = await counters('r1');
  console.log(`[mtu] 100 MB through a 1280-byte path in ${((Date.now() - t0) / 1000).toFixed(1)} s; r1 tcp-mss-clamped ${c1['tcp-mss-clamped']}`);
  assert.ok(c1['tcp-mss-clamped']! >= 1, 'the SYN\'s MSS was clamped to the path');

  // 1472 bytes of UDP payload: a 1500-byte packet, more than the path carries once SVR adds its bytes
  // up to three datagrams, as an application would resend: under load a BFD miss may leave the path
  // briefly unusable (the datagram is then refused, not answered with ICMP); the counters say which
  let route = { stdout: '' };
  let mtu = NaN;
  for (let i = 0; i < 3 && !(mtu > 0); i++) {
    const probe = await inNs(CLIENT_NS, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, '7', 'x'.repeat(1472), '--timeout', '1000'], 20_000);
    assert.is(probe.code, 1, `no echo: the datagram did not fit\n${show(probe)}`);
    route = await exec('ip', ['netns', 'exec', CLIENT_NS, 'ip', 'route', 'get', SERVER]);
    mtu = Number(/\bmtu (\d+)/.exec(route.stdout)?.[1]);
  }
  console.log(`[mtu] the client's kernel learned path MTU ${mtu} to ${SERVER} from r1's ICMP`);
  const c = await counters('r1');
  const seen = Object.entries(c).filter(([k, v]) => v > 0 && /too-big|mtu|no-path|denied|icmp/.test(k)).map(([k, v]) => `${k} ${v}`).join(', ');
  assert.ok(mtu > 1000 && mtu <= 1280, `the client got ICMP fragmentation needed: ${route.stdout} (r1: ${seen})`);
  const after = await counters('r1');
  assert.ok(after['icmp-too-big-sent']! >= 1 && after['drop-exceeds-path-mtu']! >= 1);

  // without DF: fragmented, not refused
  const nodf = await exec('ip', ['netns', 'exec', CLIENT_NS, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_no_pmtu_disc']); // net.ipv4.ip_no_pmtu_disc=1 (no procps needed)
  assert.is(nodf.code, 0, show(nodf));
  const before2 = await counters('r2');
  // up to 3 runs of 5: under load a path flap (BFD every 100 ms) can drop a run's datagrams (drop-no-route)
  let echo = await inNs(CLIENT_NS, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, '7', 'x'.repeat(1472), '--count', '5', '--interval', '300', '--timeout', '1000', '--json'], 20_000);
  let summary = { received: 0, unexpected: 0 };
  for (let run = 1; ; run++) {
    assert.is(echo.code, 0, show(echo));
    summary = JSON.parse(echo.stdout) as { received: number; unexpected: number };
    if (summary.received >= 3 || run === 3) break;
    console.log(`[mtu] run ${run}: ${summary.received} of 5 echoed; again`);
    echo = await inNs(CLIENT_NS, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, '7', 'x'.repeat(1472), '--count', '5', '--interval', '300', '--timeout', '1000', '--json'], 20_000);
  }
  const [c1f, c2f] = [await counters('r1'), await counters('r2')];
  const grew = (now: Record<string, number>, was: Record<string, number>, k: string): number => (now[k] ?? 0) - (was[k] ?? 0);
  const drops = (now: Record<string, number>, was: Record<string, number>): string => Object.keys(now).filter((k) => /^(drop|fragment)-/.test(k) && grew(now, was, k) > 0).map((k) => `${k} +${grew(now, was, k)}`).join(', ') || 'none';
  console.log(`[mtu] 5 datagrams of 1472 B without DF: ${summary.received} echoed (last run); r1 packets-reassembled +${grew(c1f, after, 'packets-reassembled')} packets-fragmented +${grew(c1f, after, 'packets-fragmented')}; r2 packets-reassembled +${grew(c2f, before2, 'packets-reassembled')} packets-fragmented +${grew(c2f, before2, 'packets-fragmented')} icmp-too-big-sent +${grew(c2f, before2, 'icmp-too-big-sent')}; drops r1 ${drops(c1f, after)}, r2 ${drops(c2f, before2)}`);
  // margins for a loaded machine: the server's first reply may go with DF (ICMP too big from r2), a path flap may drop one
  assert.ok(summary.received >= 3 && summary.unexpected === 0, `the echoes come back intact: ${echo.stdout}`);
  assert.ok(grew(c1f, after, 'packets-fragmented') >= summary.received, 'r1 sent each as fragments on the path');
  assert.ok(grew(c1f, after, 'packets-reassembled') >= summary.received, 'r1 reassembled what the client fragmented (and the echoes)');
  assert.ok(grew(c2f, before2, 'packets-reassembled') >= summary.received, 'r2 reassembled them');
  assert.is(grew(c1f, after, 'icmp-too-big-sent'), 0, 'no ICMP too big for packets without DF');
});

test.run();
