/**
 * End to end reassembly (issue 13 Build 1, docs/wan.md "Fragmentation"): `svr lab up --ipv6`; the client
 * sends 3,000-byte UDP datagrams to the lab's echo (IPv4 198.18.3.20:7 over path 1, IPv6 [2001:2:3::20]:7
 * over the IPv6 peer path). The client's kernel fragments each for its 1500-byte LAN; r1 reassembles it
 * (3,028 / 3,048 bytes: longer than a batch slot), fragments the SVR packet for the path (IPv4 without DF;
 * IPv6 because its host sent it as fragments), r2 reassembles that and sends the datagram to the server as
 * fragments of its LAN's mtu; the server's kernel reassembles and echoes, and the echo comes back the same
 * way. Every echo must come back intact; the counters show each step on both routers.
 * Needs root and ip (test/support/prerequisites.ts). About 20 s.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { e2eDir, E2E_PREFIX, inNs, pollUntil, show, svr, SVR } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}f`;
const CLIENT_NS = `${PREFIX}-client`;
const COUNT = 3;
const SIZE = 3000;

const test = requires(import.meta.url);

const dir = e2eDir(test, `${PREFIX}-e2e-fragments`, () => downSync());
const env = { SVR_RUN_DIR: join(dir, 'run') };
const labArgs = ['--prefix', PREFIX, '--dir', dir];
const sock = (r: 'r1' | 'r2'): string => join(dir, `${r}.sock`);
const downSync = (): void => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

async function counters(r: 'r1' | 'r2'): Promise<Record<string, number>> {
  const res = await svr(['show', 'stats', '--json', '--socket', sock(r)], env);
  assert.is(res.code, 0, show(res));
  return JSON.parse(res.stdout) as Record<string, number>;
}

const NAMES = ['packets-reassembled', 'packets-fragmented', 'lan-packets-fragmented'] as const;
const grew = (a: Record<string, number>, b: Record<string, number>): number[] => NAMES.map((n) => (b[n] ?? 0) - (a[n] ?? 0));

/** COUNT datagrams of SIZE bytes to the echo at `host`: how many came back intact. */
async function echo(host: string): Promise<{ received: number; unexpected: number }> {
  const res = await inNs(CLIENT_NS, process.execPath, [SVR, 'lab', 'udp-probe', host, '7', 'x'.repeat(SIZE), '--count', String(COUNT), '--interval', '200', '--timeout', '2000', '--json'], 30_000);
  assert.is(res.code, 0, show(res));
  return JSON.parse(res.stdout) as { received: number; unexpected: number };
}

test.after(() => {
  downSync();
  rmSync(dir, { recursive: true, force: true });
});

test(`svr lab up --ipv6: ${SIZE}-byte UDP datagrams the hosts fragment cross both routers and are echoed intact, IPv4 and IPv6`, async () => {
  const up = await svr(['lab', 'up', ...labArgs, '--ipv6', '--bfd-interval', '100'], env, 120_000);
  assert.is(up.code, 0, show(up));
  await pollUntil('both peer paths up', 15_000, async () => {
    const r = await svr(['show', 'peers', '--json', '--socket', sock('r1')], env);
    const paths = (JSON.parse(r.stdout) as { paths: { up: boolean; remoteWaypoint: string }[] }[])[0]!.paths;
    return paths.length === 2 && paths.every((p) => p.up) && paths.some((p) => p.remoteWaypoint === '2001:2:12::2') ? paths : undefined;
  });
  for (const host of ['198.18.3.20', '2001:2:3::20']) {
    const [b1, b2] = [await counters('r1'), await counters('r2')];
    const got = await echo(host);
    const [a1, a2] = [await counters('r1'), await counters('r2')];
    const [r1, r2] = [grew(b1, a1), grew(b2, a2)];
    console.log(`[fragments] ${host}: ${got.received} of ${COUNT} echoed intact (${got.unexpected} unexpected); r1 reassembled +${r1[0]} fragmented +${r1[1]} lan-fragmented +${r1[2]}; r2 reassembled +${r2[0]} fragmented +${r2[1]} lan-fragmented +${r2[2]}`);
    assert.equal([got.received, got.unexpected], [COUNT, 0], `${host}: every echo intact`);
    for (const [r, g] of [['r1', r1], ['r2', r2]] as const) {
      // each router: the datagram from its host and the SVR packet from its peer reassembled, the SVR packet
      // fragmented for the path, the datagram from its peer fragmented for its LAN
      assert.ok(g[0]! >= 2 * COUNT && g[1]! >= COUNT && g[2]! >= COUNT, `${host}: ${r} reassembled ${g[0]}, fragmented ${g[1]}, lan-fragmented ${g[2]}`);
    }
  }
});

test.run();
