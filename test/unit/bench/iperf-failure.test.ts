/**
 * A failed iperf3 in the bench (wave 20: "unable to receive control message: Connection reset by peer" crashed a
 * full run on an unhandled rejection in measureTcp): the real iperf3 client against a loopback server that resets
 * the control connection. The run goes once more (iperf.ts); a second failure is a recorded failed step
 * (mode-run.ts runStep), the next step still runs and the case is flagged (comparable.ts); one failure followed
 * by a good run gives a figure and a note.
 */
import { spawn } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findProblems } from '../../../bench/comparable.js';
import { failedOnce, type IperfPeer } from '../../../bench/iperf.js';
import { measureTcp } from '../../../bench/measure.js';
import type { Mode } from '../../../bench/modes/mode.js';
import { runStep } from '../../../bench/mode-run.js';
import { QUICK, type Plan } from '../../../bench/plan.js';
import type { ModeResult } from '../../../bench/results.js';

const HOST = '127.0.0.1';
const MODE: Mode = { id: 'svrouter', label: 'svrouter', udpLarge: 1400, notes: [], setup: async () => undefined, teardown: async () => undefined, routerProcs: () => [] };
// the full plan's 10 s run: the segment is read 1 s in (measureTcp), long after a reset fails the run
const PLAN: Plan = { ...QUICK, tcpRuns: 1, tcpSeconds: 10 };
const peer = (port: number): IperfPeer => ({ argv: ['iperf3'], host: HOST, port });
const result = (): ModeResult => ({ id: MODE.id, label: MODE.label, status: 'ok', notes: [], loadAvgAtStart: [0], udpLargeLen: 1400, errors: [] });

/** Listens on a free loopback port; `first` connections are reset (RST) once iperf3's cookie arrived (its error:
 *  "unable to receive control message: Connection reset by peer"), the rest piped to `to` if given. */
async function resetting(first: number, to?: number): Promise<{ server: Server; port: number; connections: () => number }> {
  let n = 0;
  const server = createServer((s: Socket) => {
    n++;
    if (n <= first || to === undefined) return void s.once('data', () => s.resetAndDestroy());
    const up = connect(to, HOST);
    s.pipe(up).pipe(s);
    up.on('error', () => s.destroy());
    s.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  return { server, port: (server.address() as { port: number }).port, connections: () => n };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, HOST, r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('iperf3 reset twice: a failed step, the next step runs, the case is flagged', async () => {
  const r = await resetting(Infinity);
  const res = result();
  const lines: string[] = [];
  try {
    await runStep(res, 'tcp', 'tcp: 1 × 10 s', 1, async () => { res.tcp = await measureTcp(MODE, PLAN, (l) => lines.push(l), peer(r.port)); }, (l) => lines.push(l), false);
    let next = false;
    await runStep(res, 'udp64', 'the next step', 1, async () => { next = true; }, (l) => lines.push(l), false);
    assert.ok(next, 'the run goes on after the failed step');
  } finally {
    r.server.close();
  }
  assert.is(r.connections(), 2, 'run once more, then given up');
  assert.is(failedOnce.splice(0).length, 1);
  assert.is(res.tcp, undefined);
  assert.is(res.errors.length, 1);
  assert.match(res.errors[0]!, /^tcp: tcp: 1 × 10 s: iperf3 -t 10: unable to receive control message: Connection reset by peer \(ran once more, failed again\)$/);
  const flagged = findProblems({ modes: [res] });
  assert.equal(flagged.map((p) => `${p.mode} ${p.measurement}`), ['svrouter tcp']);
});

test('iperf3 reset once: run once more, the figure is measured', async () => {
  const port = await freePort();
  const server = spawn('iperf3', ['-s', '-1', '-B', HOST, '-p', String(port)], { stdio: 'ignore' });
  const r = await resetting(1, port);
  try {
    await new Promise((ok) => setTimeout(ok, 300)); // the server listening
    const t = await measureTcp(MODE, { ...PLAN, tcpSeconds: 1 }, () => undefined, peer(r.port));
    assert.ok(t.gbps.median > 0, `${t.gbps.median} Gbps`);
    assert.is(r.connections() >= 2, true);
    const once = failedOnce.splice(0);
    assert.is(once.length, 1);
    assert.match(once[0]!, /unable to receive control message: Connection reset by peer/);
  } finally {
    r.server.close();
    if (server.exitCode === null) server.kill('SIGTERM');
  }
});

test.run();
