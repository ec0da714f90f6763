/**
 * `svr lab up --ha` (docs/high-availability.md "Shared addresses", docs/lab.md): r1 is a pair of real
 * `svr node` processes, r1a and r1b, on bridged LAN and WAN segments; the active node holds r1's LAN
 * address (the client's gateway) and WAN address (the link's next hop) and announces them.
 * Through the pair: a UDP stream (200 datagrams/s, client -> server) and a 100 MB download (rate-limited to
 * 8 MiB/s so that it runs about 12 s: the failover falls in its first half); SIGKILL of the active node r1a 2 s
 * after r1a lists both sessions. Must hold: the download completes intact (sha256), without a TCP reset (curl exits 0); the stream's
 * longest gap is under 1 s; the new active node r1b lists the session ids r1a had; r1b holds the shared
 * addresses and the client's neighbour entry for its gateway points to r1b's MAC; r2 keeps one peer r1 with
 * the same waypoint, and its path to r1 never goes down (r1b continues r1a's BFD session). The failover timeline (from the nodes' logs) is printed.
 * Needs root, ip, network namespaces, curl; otherwise its tests count as skipped.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { bytesSha256 } from '../../src/lab/servers.js';
import { backgroundLines, E2E_PREFIX, exec, inNs, pollUntil, show, sleep, svr, SVR } from './support.js';
import { labProcess } from './chaos-tools.js';
import { addresses, gatewayMac, haLab, logTime, mac, sessionIds as sessionsOf, streamCount } from './ha-lab-tools.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}h`;
const NS = { client: `${PREFIX}-client`, r1a: `${PREFIX}-r1a`, r1b: `${PREFIX}-r1b` };
const SERVER = '198.18.3.20';
const BYTES = 100_000_000;

const test = requires(import.meta.url);
const { dir, env } = haLab(test, PREFIX, 'ha-lab');

const sessionIds = (node: string): Promise<Map<string, string>> => sessionsOf(dir, node);

test('SIGKILL of the active node mid-download: the download completes intact, the stream\'s gap is under 1 s, r1b has the same sessions, the addresses moved', async () => {
  const [r1aMac, r1bMac] = [await mac(NS.r1a, 'r1-c'), await mac(NS.r1b, 'r1-c')];
  assert.ok((await addresses(NS.r1a, 'r1-c')).includes('198.18.1.1/24'), 'the active r1a holds the gateway address');
  assert.not.ok((await addresses(NS.r1b, 'r1-c')).includes('198.18.1.1/24'), 'the standby r1b does not');
  await pollUntil('the client reaches the server through r1a', 20_000, async () => ((await inNs(NS.client, 'curl', ['-s', '-m', '3', '-o', '/dev/null', `http://${SERVER}/`])).code === 0 ? true : undefined));
  assert.is(await gatewayMac(NS.client), r1aMac, 'the client\'s gateway is r1a');
  const peersBefore = await svr(['show', 'peers', '--node', 'r2', '--json'], env);
  // the reachability checks' own sessions close (FIN) a moment after curl ended: one listed below but closed
  // before the kill would never reach r1b, so the sessions compared are only the download's and the stream's
  await pollUntil('r1a to close the reachability checks\' sessions', 15_000, async () => ((await sessionIds('r1a')).size === 0 ? true : undefined));

  const file = join(dir, 'download');
  rmSync(file, { force: true });
  const stream = backgroundLines('ip', ['netns', 'exec', NS.client, process.execPath, SVR, 'lab', 'send-stream', '--rate', '200', '--duration', '16s', '--id', '4242', '--json']);
  await stream.waitLine(/"id":4242/, 20_000);
  const download = exec('ip', ['netns', 'exec', NS.client, 'curl', '-s', '--limit-rate', '8M', '--max-time', '60', '-o', file, '-w', '%{http_code} %{size_download}', `http://${SERVER}/bytes/${BYTES}`], { timeoutMs: 70_000 });
  const before = await pollUntil('r1a carries the download and the stream', 10_000, async () => {
    const ids = await sessionIds('r1a');
    const services = [...ids.values()];
    return services.includes('web') && services.includes('stream') ? ids : undefined;
  });
  await sleep(2000);

  const r1a = labProcess(dir, 'r1a');
  const killedAt = Date.now();
  process.kill(r1a.pid, 'SIGKILL');
  const r1b = labProcess(dir, 'r1b');
  const active = await pollUntil('r1b active', 10_000, async () => {
    await sleep(50);
    return logTime(r1b.log, /ha\.role node=r1b role=active/, killedAt);
  });
  const after = await sessionIds('r1b');
  const d = await download;
  for (const [id, service] of before) assert.ok(after.has(id), `r1b lists r1a's ${service} session ${id} (r1b: ${[...after.keys()].join(', ')}; curl ${show(d)})`);
  assert.is(d.code, 0, `curl: ${show(d)}`);
  assert.is(d.stdout, `200 ${BYTES}`);
  assert.is(createHash('sha256').update(readFileSync(file)).digest('hex'), await bytesSha256(BYTES), 'the download is intact');
  await stream.exited;
  const s = await streamCount(NS.client, SERVER, 4242);
  const r1bPath = logTime(r1b.log, /path\.usable path=wan0->r2/, killedAt);
  const installed = logTime(r1b.log, /ha\.sessions-installed/, killedAt);
  console.log(`  failover: SIGKILL -> r1b active ${active.at - killedAt} ms (${/appliedMs=\d+/.exec(active.line)?.[0] ?? ''}; sessions installed at ${installed === undefined ? '?' : installed.at - killedAt} ms: ${installed?.line.replace(/^.*ha\.sessions-installed /, '') ?? ''}), r1b's path to r2 up ${r1bPath === undefined ? 'never' : `${r1bPath.at - killedAt} ms`}; stream ${s.received}/${s.expected}, longest gap ${Math.round(s.maxGapMs)} ms`);
  assert.ok(s.maxGapMs < 1000, `the stream's longest gap ${s.maxGapMs} ms`);
  const flap = logTime(labProcess(dir, 'r2').log, /path\.unusable path=wan0->r1/, killedAt);
  assert.is(flap, undefined, `r2's path to r1 stays up (the new active continues its BFD session): ${flap?.line ?? ''}`);

  assert.ok((await addresses(NS.r1b, 'r1-c')).includes('198.18.1.1/24'), 'r1b holds the gateway address');
  assert.ok((await addresses(NS.r1b, 'r1-r2')).includes('198.18.21.1/24'), 'r1b holds the WAN address');
  assert.is(await gatewayMac(NS.client), r1bMac, 'the client\'s gateway entry follows the announcement');
  const peersAfter = await svr(['show', 'peers', '--node', 'r2', '--json'], env);
  assert.equal((JSON.parse(peersAfter.stdout) as { name?: string; peer?: string }[]).length, (JSON.parse(peersBefore.stdout) as unknown[]).length, 'r2: the same peers');
  assert.ok(peersAfter.stdout.includes('198.18.12.1'), `r2 reaches r1 at the same waypoint: ${peersAfter.stdout}`);
});

test.run();
