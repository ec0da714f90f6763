/**
 * End to end IPv6 (issue 13 Build 3, docs/wan.md "IPv6"): `svr lab up --ipv6` gives the client and the
 * server IPv6 addresses and adds an IPv6 peer path (wan6, waypoints 2001:2:12::1 / ::2) over path 1; service
 * web6 goes over it only.
 * - both peer paths (IPv4 wan0, IPv6 wan6) to r2 come up;
 * - the IPv6 client fetches 10 MiB from the IPv6 server (sha256 intact; the server sees 2001:2:1::10);
 * - the capture on the wan veth decodes as SVR: outer IPv6 between the waypoints, the first packet's
 *   metadata names tenant engineering, service web6 and the original IPv6 5-tuple;
 * - reassembly (issue 13 Build 1, docs/wan.md "Fragmentation"): the client sends 3,000-byte UDP datagrams to
 *   the lab's echo, IPv4 (198.18.3.20:7, path 1) and IPv6 ([2001:2:3::20]:7, echo6 over the IPv6 peer path).
 *   The client's kernel fragments each for its 1500-byte LAN; r1 reassembles it (longer than a batch slot),
 *   fragments the SVR packet for the path (IPv4 without DF; IPv6 because its host sent fragments), r2
 *   reassembles that and sends the datagram to the server as fragments of its LAN's mtu; the echo comes
 *   back the same way. Every echo intact; the counters show each step on both routers.
 * Needs root, ip/curl/iperf3 and tcpdump (test/support/prerequisites.ts). About 40 s.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { e2eDir, E2E_PREFIX, exec, inNs, parseNdjson, pollUntil, show, startCapture, svr, SVR, type DecodedLine, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}6`;
const CLIENT_NS = `${PREFIX}-client`;
const SIZE = 10 * 1024 * 1024;

const test = requires(import.meta.url);

const dir = e2eDir(test, `${PREFIX}-e2e-ipv6`, () => downSync());
const env = { SVR_RUN_DIR: join(dir, 'run') };
const labArgs = ['--prefix', PREFIX, '--dir', dir];
const downSync = (): void => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

const sock = (r: 'r1' | 'r2'): string => join(dir, `${r}.sock`);
const ECHOES = 3;
const DATAGRAM = 3000;

async function counters(r: 'r1' | 'r2'): Promise<Record<string, number>> {
  const res = await svr(['show', 'stats', '--json', '--socket', sock(r)], env);
  assert.is(res.code, 0, show(res));
  return JSON.parse(res.stdout) as Record<string, number>;
}

const STEPS = ['packets-reassembled', 'packets-fragmented', 'lan-packets-fragmented'] as const;
const grew = (a: Record<string, number>, b: Record<string, number>): number[] => STEPS.map((n) => (b[n] ?? 0) - (a[n] ?? 0));

test.after(() => {
  downSync();
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('svr lab up --ipv6: an IPv6 client fetches from an IPv6 server over an IPv6 peer path; the capture decodes as SVR; 3,000-byte datagrams the hosts fragment are echoed intact, IPv4 and IPv6', async () => {
  const up = await svr(['lab', 'up', ...labArgs, '--ipv6', '--bfd-interval', '100'], env, LAB_UP_MS);
  assert.is(up.code, 0, show(up));
  assert.match(up.stdout, /IPv6 hosts and an IPv6 peer path/);
  await pollUntil('both peer paths up', 15_000, async () => {
    const r = await svr(['show', 'peers', '--json', '--socket', join(dir, 'r1.sock')], env);
    const paths = (JSON.parse(r.stdout) as { paths: { name: string; up: boolean; remoteWaypoint: string }[] }[])[0]!.paths;
    return paths.length === 2 && paths.every((p) => p.up) && paths.some((p) => p.remoteWaypoint === '2001:2:12::2') ? paths : undefined;
  });

  const cap = await startCapture(`${PREFIX}-r1`, 'r1-r2', join(dir, 'wan.pcap'));
  const fetch = await exec('sh', ['-c', `ip netns exec ${CLIENT_NS} curl -sS -g -m 60 -D ${join(dir, 'h.txt')} 'http://[2001:2:3::20]/bytes/${SIZE}' | sha256sum`], { timeoutMs: 70_000 });
  await cap.stop();
  assert.is(fetch.code, 0, show(fetch));
  const headers = (await exec('cat', [join(dir, 'h.txt')])).stdout;
  assert.match(headers, /^HTTP\/1\.1 200/m);
  assert.match(headers, /^X-Client-Address: 2001:2:1::10\r?$/mi, 'the server sees the client\'s own IPv6 address');
  assert.is(fetch.stdout.split(' ')[0], /^x-sha256: *([0-9a-f]{64})/im.exec(headers)?.[1], 'intact');

  const d = await svr(['decode', cap.file], env);
  assert.is(d.code, 0, show(d));
  const lines = parseNdjson<DecodedLine>(d.stdout).filter((p) => p.outer !== undefined && p.outer.protocol === 6 && p.control === undefined); // session packets: the firewall detector's TCP probes (control) may use path 2's IPv4 waypoints
  assert.ok(lines.length > 100, `SVR TCP packets on the wan: ${lines.length}`);
  assert.ok(lines.every((p) => ['2001:2:12::1', '2001:2:12::2'].includes(p.outer!.src) && ['2001:2:12::1', '2001:2:12::2'].includes(p.outer!.dst)), 'outer IPv6 between the waypoints only');
  const first = lines.find((p) => p.metadata?.forward !== undefined);
  assert.ok(first !== undefined, 'the first packet carries forward metadata');
  assert.is(first!.metadata!.tenant, 'engineering');
  assert.is(first!.metadata!.service, 'web6');
  assert.is(first!.metadata!.forward!.src, '2001:2:1::10');
  assert.is(first!.metadata!.forward!.dst, '2001:2:3::20');
  assert.is(first!.metadata!.forward!.dstPort, 80);
  console.log(`[ipv6] 10 MiB over the IPv6 peer path; ${lines.length} SVR packets decoded, metadata ${first!.metadata!.tenant}/${first!.metadata!.service} ${first!.metadata!.forward!.src} > ${first!.metadata!.forward!.dst}`);

  for (const host of ['198.18.3.20', '2001:2:3::20']) {
    const [b1, b2] = [await counters('r1'), await counters('r2')];
    const res = await inNs(CLIENT_NS, process.execPath, [SVR, 'lab', 'udp-probe', host, '7', 'x'.repeat(DATAGRAM), '--count', String(ECHOES), '--interval', '200', '--timeout', '2000', '--json'], 30_000);
    assert.is(res.code, 0, show(res));
    const got = JSON.parse(res.stdout) as { received: number; unexpected: number };
    const [a1, a2] = [await counters('r1'), await counters('r2')];
    const [g1, g2] = [grew(b1, a1), grew(b2, a2)];
    console.log(`[ipv6] ${DATAGRAM} B datagrams to ${host}: ${got.received} of ${ECHOES} echoed intact (${got.unexpected} unexpected); r1 reassembled +${g1[0]} fragmented +${g1[1]} lan-fragmented +${g1[2]}; r2 reassembled +${g2[0]} fragmented +${g2[1]} lan-fragmented +${g2[2]}`);
    assert.equal([got.received, got.unexpected], [ECHOES, 0], `${host}: every echo intact`);
    for (const [r, g] of [['r1', g1], ['r2', g2]] as const) {
      // each router: the datagram from its host and the SVR packet from its peer reassembled, the SVR packet
      // fragmented for the path, the datagram from its peer fragmented for its LAN
      assert.ok(g[0]! >= 2 * ECHOES && g[1]! >= ECHOES && g[2]! >= ECHOES, `${host}: ${r} reassembled ${g[0]}, fragmented ${g[1]}, lan-fragmented ${g[2]}`);
    }
  }
});

test.run();
