/**
 * End to end path MTU (issue 13, docs/wan.md "Path MTU"): `svr lab up --wan-mtu 1280` limits the middle of
 * the WAN path to 1280 bytes and drops every ICMP packet there, while the routers' wan interfaces stay at
 * 1700: only probing can find the MTU.
 * - both routers discover 1280 (svr show peers: MTU 1280, discovered);
 * - a 100 MB HTTP download is intact (sha256) and does not stall (MSS clamped to the path);
 * - a 1472-byte UDP datagram does not fit: the sender gets ICMP "fragmentation needed" (its kernel caches
 *   a smaller path MTU to the server) and r1 counts icmp-too-big-sent.
 * Needs root, ip/curl/iperf3 and nft (test/support/prerequisites.ts). About 30 s.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { e2eDir, E2E_PREFIX, exec, inNs, pollUntil, show, svr, SVR } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}m`;
const CLIENT_NS = `${PREFIX}-client`;
const SERVER = '198.18.3.20';
const SIZE = 100 * 1024 * 1024;

const test = requires(import.meta.url);

const dir = e2eDir(test, `${PREFIX}-e2e-mtu`, () => downSync());
const env = { SVR_RUN_DIR: join(dir, 'run') };
const labArgs = ['--prefix', PREFIX, '--dir', dir];
const sock = (r: 'r1' | 'r2'): string => join(dir, `${r}.sock`);
const downSync = (): void => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

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
  rmSync(dir, { recursive: true, force: true });
});

test('svr lab up --wan-mtu 1280 (ICMP filtered): both routers discover 1280; 100 MB download intact; a 1472 B datagram gets ICMP too big', async () => {
  const up = await svr(['lab', 'up', ...labArgs, '--wan-mtu', '1280', '--bfd-interval', '100'], env, 120_000);
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
});

test.run();
