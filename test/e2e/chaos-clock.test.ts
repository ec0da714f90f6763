/**
 * The chaos suite, clock stepped (docs/high-availability.md): node r1 of a lab runs under libfaketime
 * (package faketime), its wall clock read from a file, its monotonic clock untouched (DONT_FAKE_MONOTONIC), as
 * when NTP or an operator steps the clock. A UDP stream runs through r1 while its wall clock jumps an hour
 * ahead and back. Holds:
 * - time-based HMAC (the default) needs the routers' clocks in sync: while r1 is an hour off, the peers
 *   refuse each other's packets and count them (drop-bad-hmac); nothing else breaks;
 * - r1's sessions live on the data path's monotonic clock: the jump expires none (sessions-expired stays; an
 *   idle UDP session would look an hour idle on a wall clock), and when the clock is right again the same
 *   session carries the stream to its end.
 * Needs root, ip/iperf3/curl and faketime; otherwise its tests count as skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { isAlive } from '../../src/lab/processes.js';
import type { StreamStats } from '../../src/lab/stream.js';
import { backgroundLines, e2eDir, E2E_PREFIX, inNs, pollUntil, show, sleep, svr, SVR, LAB_UP_MS } from './support.js';
import { counters, labProcess, logHas, restartable, startAgain } from './chaos-tools.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = E2E_PREFIX;
const NS = { client: `${PREFIX}-client` };
const SERVER = '198.18.3.20';
const STREAM_ID = 4242;

const test = requires(import.meta.url);
const dir = e2eDir(test, `${PREFIX}-e2e-chaos-clock`, () => downSync());
const env = { SVR_RUN_DIR: join(dir, 'run') };
const labArgs = ['--prefix', PREFIX, '--dir', dir];
const socket = { r1: join(dir, 'r1.sock'), r2: join(dir, 'r2.sock') };

const downSync = (): void => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

test.before(async () => {
  const r = await svr(['lab', 'up', ...labArgs, '--bfd-interval', '300', '--hold-down', '1'], env, LAB_UP_MS);
  if (r.code !== 0) throw new Error(`svr lab up: ${show(r)}`);
});

test.after(async () => {
  const r = await svr(['lab', 'down', ...labArgs], env);
  if (r.code !== 0) console.error(`svr lab down failed: ${show(r)}`);
});

/** libfaketime's multi-threaded library (Debian: /usr/lib/<arch>/faketime/libfaketimeMT.so.1). */
function libfaketime(): string {
  for (const arch of readdirSync('/usr/lib')) {
    const lib = join('/usr/lib', arch, 'faketime', 'libfaketimeMT.so.1');
    if (existsSync(lib)) return lib;
  }
  throw new Error('libfaketimeMT.so.1 not found under /usr/lib/*/faketime (apt-get install faketime)');
}

interface SessionJson {
  id: string;
  original: { dstPort: number };
}

/** The id of r1's session to `port` (5000: the stream, 7: the echo). */
const sessionTo = async (port: number): Promise<string | undefined> => {
  const r = await svr(['show', 'sessions', '--json', '--socket', socket.r1], env);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as SessionJson[]).find((s) => s.original.dstPort === port)?.id;
};

const sessionCount = async (): Promise<number | undefined> => {
  const r = await svr(['show', 'sessions', '--json', '--socket', socket.r1], env);
  return r.code === 0 ? (JSON.parse(r.stdout) as SessionJson[]).length : undefined;
};

test('r1\'s wall clock stepped an hour ahead and back under a UDP stream: HMAC refusals counted meanwhile, no session expired, the same session carries the stream to its end', async () => {
  const clockFile = join(dir, 'r1-clock');
  writeFileSync(clockFile, '+0\n');
  const r1 = restartable(dir, 'r1');
  const { pid } = labProcess(dir, 'r1');
  process.kill(pid, 'SIGTERM');
  await pollUntil('r1 stopped', 10_000, async () => (isAlive(pid) ? undefined : true));
  const log = join(dir, 'r1-faketime.log');
  startAgain({
    namespace: r1.namespace,
    argv: ['env', `LD_PRELOAD=${libfaketime()}`, `FAKETIME_TIMESTAMP_FILE=${clockFile}`, 'FAKETIME_NO_CACHE=1', 'DONT_FAKE_MONOTONIC=1', ...r1.argv],
  }, log);
  await pollUntil('r1 running under libfaketime', 20_000, async () => (logHas(log, /node\.running/) ? true : undefined));
  await pollUntil('a path through r1', 20_000, async () => ((await inNs(NS.client, 'curl', ['-s', '-o', '/dev/null', '--max-time', '2', `http://${SERVER}/health`])).code === 0 ? true : undefined));

  // an idle session: one echo, then nothing (the jump would make it look an hour idle on a wall clock)
  const echo = await inNs(NS.client, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, '7', 'idle']);
  assert.is(echo.code, 0, show(echo));
  const idle = await sessionTo(7);
  assert.ok(idle !== undefined, 'the echo session on r1');
  const stream = backgroundLines('ip', ['netns', 'exec', NS.client, process.execPath, SVR, 'lab', 'send-stream', '--rate', '200', '--duration', '12s', '--id', String(STREAM_ID)]);
  const id = await pollUntil('the stream\'s session on r1', 10_000, () => sessionTo(5000));
  // the health check's TCP session lingers after its FIN and is then swept (counted as expired): gone first
  await pollUntil('only the echo and the stream left on r1', 15_000, async () => ((await sessionCount()) === 2 ? true : undefined));
  const before = { r1: await counters(socket.r1, env), r2: await counters(socket.r2, env) };
  await sleep(1000);
  writeFileSync(clockFile, '+3600\n'); // an hour ahead
  assert.ok(await pollUntil('r2 refusing r1\'s packets', 5000, async () => {
    const c = await counters(socket.r2, env);
    return c['drop-bad-hmac']! > before.r2['drop-bad-hmac']! ? true : undefined;
  }), 'time-based HMAC: an hour off is refused and counted');
  await sleep(2000);
  writeFileSync(clockFile, '+0\n'); // right again
  assert.is(await stream.exited, 0);

  const after = await counters(socket.r1, env);
  const refused = (await counters(socket.r2, env))['drop-bad-hmac']! - before.r2['drop-bad-hmac']!;
  assert.is(after['sessions-expired'], before.r1['sessions-expired'], 'the jump expired no session');
  assert.is(await sessionTo(5000), id, 'the same session on r1');
  assert.is(await sessionTo(7), idle, 'the idle session lives on');
  const stats = await inNs(NS.client, 'curl', ['-s', '--max-time', '5', `http://${SERVER}/stream-stats/${STREAM_ID}`]);
  assert.is(stats.code, 0, show(stats));
  const s = JSON.parse(stats.stdout) as StreamStats;
  assert.ok(s.ended, `the stream's last datagram arrived: ${stats.stdout}`);
  console.log(`chaos: clock +1 h on r1 for 2 s: ${s.received} of ${s.expected} datagrams arrived, longest gap ${s.maxGapMs} ms; r2 refused ${refused} of r1's packets (drop-bad-hmac)`);
});

test.run();
