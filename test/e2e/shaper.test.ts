/**
 * End to end: the kernel egress shaper (docs/shaping.md). `svr lab up --profile plugins` (builtin.qos on
 * both routers), then the lab's config is changed and reloaded on both nodes:
 * - builtin.qos `rate-limit: shape` (the default): service iperf-limited (class bulk, DSCP 10) at 20 Mbit/s,
 *   service echo in class voice (high queue, DSCP 46, its chain gets builtin.qos/police);
 * - r2's wan0 `shaping-rate: 20M` (the WAN's contracted rate: what r2 sends toward r1, the download).
 * Then:
 * 1. a single iperf3 TCP flow through iperf-limited gets 16-20.5 Mbit/s at the server (the first second of
 *    slow start left out, -O 1): packets over the rate wait in their queue instead of being dropped;
 * 2. while an iperf3 download (service iperf, unmarked: best-effort) saturates r2's shaped wan0, the echo
 *    service's median RTT (high queue) stays within 10 ms of its idle median, and the RTT of a best-effort
 *    echo (the internet namespace's, through r2's NAT) grows past 2x: priority is what keeps the first low.
 * Needs root and ip/curl/iperf3 (test/support/prerequisites.ts); otherwise its tests count as skipped.
 * Every namespace is removed by `svr lab down` in the after hook (and on SIGINT), also on failure.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { INTERNET_HOST, LIMITED_PORT } from '../../src/lab/plugins-profile.js';
import { background, e2eDir, E2E_PREFIX, inNs, show, sleep, svr, SVR, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}q`;
const NS = { client: `${PREFIX}-client`, server: `${PREFIX}-server` };
const SERVER = '198.18.3.20';
const SERVICE_RATE = 20_000_000;
const WAN_RATE = '20M';
const WAN_BPS = 20_000_000;
/** What the high queue's median RTT may grow by under the download: the scheduler's, not the bulk queue's (~40 ms). */
const HIGH_QUEUE_SLACK_MS = 10;
const say = (line: string): void => console.log(`  [shaper] ${line}`);

const test = requires(import.meta.url);
const dir = e2eDir(test, `${PREFIX}-e2e-shaper`, () => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
});
const env = { SVR_RUN_DIR: join(dir, 'run') };
const labArgs = ['--prefix', PREFIX, '--dir', dir];
const sock = { r1: join(dir, 'r1.sock'), r2: join(dir, 'r2.sock') };
let isUp = false;

interface QueueStats { queue: string; 'sent-bytes': number; dropped: number; 'queue-limit-bytes': number }
interface ShapedStats { interface: string; ifb: string; rate: number; queues: QueueStats[] }
interface PingSummary { sent: number; received: number; rttMs: { median: number; avg: number; max: number } }

const shaping = async (r: 'r1' | 'r2'): Promise<ShapedStats[]> => {
  const res = await svr(['show', 'stats', '--json', '--socket', sock[r]], env);
  assert.is(res.code, 0, show(res));
  return (JSON.parse(res.stdout) as { shaping?: ShapedStats[] }).shaping ?? [];
};
const queue = (s: ShapedStats[], name: string): QueueStats => {
  const q = s[0]?.queues.find((x) => x.queue === name);
  assert.ok(q !== undefined, `queue ${name} in ${JSON.stringify(s)}`);
  return q!;
};
/** `svr lab udp-probe` in ping mode from the client: 150 datagrams 20 ms apart (medians: the machine is shared). */
const ping = async (host: string): Promise<PingSummary> => {
  const r = await inNs(NS.client, process.execPath, [SVR, 'lab', 'udp-probe', host, '7', 'ping', '--count', '150', '--interval', '20', '--json'], 30_000);
  assert.is(r.code, 0, show(r));
  return JSON.parse(r.stdout) as PingSummary;
};

test.after(async () => {
  const r = await svr(['lab', 'down', ...labArgs], env);
  if (r.code !== 0) console.error(`svr lab down failed: ${show(r)}`);
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('the lab with builtin.qos shaping iperf-limited at 20 Mbit/s and r2 wan0 shaped to 20 Mbit/s', async () => {
  await svr(['lab', 'down', ...labArgs], env); // left by an aborted run (this prefix only)
  const up = await svr(['lab', 'up', '--profile', 'plugins', ...labArgs], env, LAB_UP_MS);
  assert.is(up.code, 0, show(up));
  isUp = true;
  const file = join(dir, 'authority.yaml');
  const doc = parse(readFileSync(file, 'utf8')) as { authority: Record<string, unknown> };
  const a = doc.authority as {
    plugins: { use: string; with?: unknown }[];
    services: { name: string; 'service-chain'?: string[] }[];
    routers: { name: string; interfaces: { name: string; 'shaping-rate'?: string }[] }[];
  };
  a.plugins.find((p) => p.use === 'svrouter/plugins/qos')!.with = {
    classes: { voice: { queue: 'high', dscp: 46 }, bulk: { queue: 'low', dscp: 10 } },
    services: { 'iperf-limited': { class: 'bulk', rate: SERVICE_RATE }, echo: { class: 'voice' } },
  };
  a.services.find((s) => s.name === 'echo')!['service-chain'] = ['builtin.qos/police'];
  a.routers.find((r) => r.name === 'r2')!.interfaces.find((i) => i.name === 'wan0')!['shaping-rate'] = WAN_RATE;
  writeFileSync(file, JSON.stringify(doc, null, 1));
  for (const r of ['r1', 'r2'] as const) {
    const res = await svr(['node', 'reload', '--socket', sock[r]], env);
    assert.is(res.code, 0, show(res));
  }
  const r1 = await shaping('r1');
  const r2 = await shaping('r2');
  say(`r1 shapes ${r1.map((s) => `${s.interface} via ${s.ifb} (root ${s.rate} bit/s): ${s.queues.map((q) => q.queue).join(', ')}`).join('; ')}`);
  say(`r2 shapes ${r2.map((s) => `${s.interface} via ${s.ifb} (root ${s.rate} bit/s): ${s.queues.map((q) => q.queue).join(', ')}`).join('; ')}`);
  assert.is(r2[0]?.rate, WAN_BPS);
  assert.ok(queue(r1, 'dscp-10') !== undefined);
});

test('a single TCP flow through the 20 Mbit/s service gets 16-20.5 Mbit/s (queued, not dropped)', async () => {
  if (!isUp) throw new Error('the lab is not up (see the first test)');
  const srv = background('ip', ['netns', 'exec', NS.server, 'iperf3', '-s', '-B', SERVER, '-p', String(LIMITED_PORT)]);
  try {
    await sleep(500);
    const before = queue(await shaping('r1'), 'dscp-10');
    let c = await inNs(NS.client, 'iperf3', ['-c', SERVER, '-p', String(LIMITED_PORT), '-t', '6', '-O', '1', '-J'], 60_000);
    for (let i = 0; i < 10 && c.code !== 0 && /unable to connect|Connection refused/i.test(c.stdout + c.stderr); i++) {
      await sleep(300); // the server is not listening yet
      c = await inNs(NS.client, 'iperf3', ['-c', SERVER, '-p', String(LIMITED_PORT), '-t', '6', '-O', '1', '-J'], 60_000);
    }
    assert.is(c.code, 0, show(c));
    await sleep(1200); // the stats are read every second
    const after = queue(await shaping('r1'), 'dscp-10');
    const end = (JSON.parse(c.stdout) as { end: { sum_received: { bits_per_second: number; seconds: number }; sum_sent: { retransmits: number } } }).end;
    const bps = end.sum_received.bits_per_second;
    say(`TCP through iperf-limited (${SERVICE_RATE / 1e6} Mbit/s): ${(bps / 1e6).toFixed(2)} Mbit/s at the server over ${end.sum_received.seconds.toFixed(1)} s; `
      + `r1 queue dscp-10 sent ${after['sent-bytes'] - before['sent-bytes']} bytes, dropped ${after.dropped - before.dropped} (limit ${after['queue-limit-bytes']} bytes), ${end.sum_sent.retransmits} retransmits`);
    assert.ok(end.sum_received.seconds >= 5, `measured over ${end.sum_received.seconds} s`);
    // Seen 18.98-19.86 Mbit/s (the host's TCP congestion control decides how full it keeps the queue). The
    // floor catches policing instead of queueing (a policer at the same rate gives TCP ~10-11 Mbit/s, e2e/plugins
    // qos); the ceiling catches an unshaped or wrongly sized queue.
    assert.ok(bps >= 16e6 && bps <= 20.5e6, `TCP at the server ${bps} bit/s is not within 16-20.5 Mbit/s`);
    assert.ok(after['sent-bytes'] - before['sent-bytes'] > 10_000_000, 'the flow went through r1\'s dscp-10 queue');
  } finally {
    await srv.stop();
  }
});

interface LatencyRun {
  idleHigh: PingSummary; idleLow: PingSummary; high: PingSummary; low: PingSummary;
  /** what r2's best-effort queue released during the download, bits/s, and its tail drops */
  bulkBps: number; dropped: number;
}

/** Bytes and drops of r2's best-effort queue (1:40), read from the kernel now (the node's stats are up to a second old). */
const bestEffortNow = async (): Promise<{ bytes: number; drops: number }> => {
  const r = await inNs(`${PREFIX}-r2`, 'tc', ['-s', '-j', 'qdisc', 'show', 'dev', 'q-svr-wan0']);
  assert.is(r.code, 0, show(r));
  const q = (JSON.parse(r.stdout) as { parent?: string; bytes?: number; drops?: number }[]).find((x) => x.parent === '1:40');
  return { bytes: q?.bytes ?? 0, drops: q?.drops ?? 0 };
};

/** Idle probes, then the same probes during a four-flow download (best-effort) through r2's shaped wan0. */
const latencyRun = async (): Promise<LatencyRun> => {
  const [idleHigh, idleLow] = await Promise.all([ping(SERVER), ping(INTERNET_HOST)]); // as under the download: both at once
  const before = await bestEffortNow();
  const t0 = Date.now();
  const bulk = background('ip', ['netns', 'exec', NS.client, 'iperf3', '-c', SERVER, '-R', '-P', '4', '-t', '9']);
  try {
    await sleep(2000); // past slow start: the best-effort queue is full
    const [high, low] = await Promise.all([ping(SERVER), ping(INTERNET_HOST)]);
    const after = await bestEffortNow();
    const bulkBps = ((after.bytes - before.bytes) * 8) / ((Date.now() - t0) / 1000);
    return { idleHigh, idleLow, high, low, bulkBps, dropped: after.drops - before.drops };
  } finally {
    await bulk.stop();
  }
};

test('under a saturating download on the shaped WAN, the high queue\'s RTT stays within 10 ms of idle; the best-effort RTT grows', async () => {
  if (!isUp) throw new Error('the lab is not up (see the first test)');
  // the claim needs a saturated WAN: a run in which the machine starved the download (under 60 % of the
  // shaped rate through r2's best-effort queue) measures the machine, not the shaper, and is run again once
  let r = await latencyRun();
  const saturated = (x: LatencyRun): boolean => x.bulkBps >= 0.6 * WAN_BPS;
  const describe = (x: LatencyRun): string => `idle median RTT: high (echo, DSCP 46) ${x.idleHigh.rttMs.median} ms, best-effort (internet echo) ${x.idleLow.rttMs.median} ms; `
    + `under the download: high ${x.high.rttMs.median} ms (avg ${x.high.rttMs.avg}, max ${x.high.rttMs.max}, ${x.high.received}/${x.high.sent}), `
    + `best-effort ${x.low.rttMs.median} ms (avg ${x.low.rttMs.avg}, max ${x.low.rttMs.max}, ${x.low.received}/${x.low.sent}); `
    + `r2 best-effort queue ~${(x.bulkBps / 1e6).toFixed(1)} Mbit/s, dropped +${x.dropped}`;
  if (!saturated(r)) {
    say(`not saturated, measuring again: ${describe(r)}`);
    r = await latencyRun();
  }
  say(describe(r));
  assert.ok(saturated(r), `the download did not saturate the shaped WAN (${(r.bulkBps / 1e6).toFixed(1)} of ${WAN_BPS / 1e6} Mbit/s) in two runs: the machine is too busy to measure`);
  assert.ok(r.high.received >= 140 && r.low.received >= 140, 'replies came');
  // Waiting behind the download in the best-effort queue costs ~37-50 ms (its queue); the high queue's median
  // must stay clear of that. Not 2x idle: medians of ~0.5 ms double with the scheduler alone (docs/shaping.md
  // measured 2.36 -> 3.81 ms at load 14), so the bound is idle + 10 ms.
  assert.ok(r.high.rttMs.median < r.idleHigh.rttMs.median + HIGH_QUEUE_SLACK_MS, `high-priority median RTT ${r.high.rttMs.median} ms is not within ${HIGH_QUEUE_SLACK_MS} ms of idle ${r.idleHigh.rttMs.median} ms`);
  assert.ok(r.low.rttMs.median > 2 * r.idleLow.rttMs.median, `best-effort median RTT ${r.low.rttMs.median} ms did not grow past 2x idle ${r.idleLow.rttMs.median} ms`);
});

test.run();
