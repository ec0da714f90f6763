/**
 * The sustained case's C load (bench/c/session-load.c, built by bench/udp-load.ts's buildCTool) on loopback:
 * a paced UDP client never runs ahead of its rate against the C echo and counts each second; COUNT and FIRST
 * stop after that many sessions and continue the tuples; the TCP client's sessions (connect, one byte, RST) are answered
 * by the C server, and fail when nobody listens. Needs a C compiler (cc; otherwise counted as skipped).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { buildCTool, type UdpLoadTool } from '../../../bench/udp-load.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url);
const dir = join(tmpdir(), `svrt-session-load-${process.pid}`);
const built: Record<string, UdpLoadTool> = {};

function tool(name: 'session-load' | 'udp-load'): string {
  if (built[name] === undefined) {
    mkdirSync(dir, { recursive: true });
    built[name] = buildCTool(dir, name);
  }
  assert.ok(built[name].path !== undefined, `bench/c/${name}.c does not build: ${built[name].reason}`);
  return built[name].path;
}

interface Line { second?: number; sent?: number; ok: number; failed: number; attempted?: number; behind?: number; seconds?: number }

function client(args: string[]): { perSecond: Line[]; summary: Line } {
  const r = spawnSync(tool('session-load'), args, { encoding: 'utf8', timeout: 20_000 });
  assert.is(r.status, 0, `session-load exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
  return { perSecond: lines.filter((l) => l.second !== undefined), summary: lines[lines.length - 1]! };
}

async function serving(cmd: string, args: string[], body: () => void): Promise<void> {
  const p: ChildProcess = spawn(cmd, args);
  try {
    await new Promise<void>((resolve, reject) => {
      p.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      p.on('exit', (c) => reject(new Error(`${cmd} exited ${c}`)));
    });
    body();
  } finally {
    p.kill();
  }
}

// Loaded machines starve the endpoints for a while: the assertions hold whatever the load (the pacing never
// sends ahead of its rate overall; every session is counted once, as answered or failed; most are answered).
test('paced UDP sessions never run ahead of their rate, each second counted; COUNT stops, FIRST continues', async () => {
  await serving(tool('udp-load'), ['echo', '127.0.0.1', '39800', '39863'], () => {
    const { perSecond, summary } = client(['udp', '127.0.0.1', '39800', '39863', '127.0.0.1', '8', '512', '2.2', '2000', '0', '0']);
    assert.is(summary.ok + summary.failed, summary.attempted);
    assert.ok(summary.ok >= 0.5 * summary.attempted!, JSON.stringify(summary)); // an echo starved for a second fails a share
    assert.ok(summary.attempted! <= 2000 * summary.seconds! + 1, `${summary.attempted} sessions in ${summary.seconds} s at 2000/s`);
    assert.ok(summary.attempted! + summary.behind! >= 0.95 * 2000 * summary.seconds!, JSON.stringify(summary));
    assert.is(perSecond.length, 2);
    // a starved second is made up in the next (the pacing sends what is due by now), so only the sum is bounded
    assert.ok(perSecond.reduce((a, s) => a + s.sent!, 0) <= summary.attempted!, JSON.stringify(perSecond));
    const counted = client(['udp', '127.0.0.1', '39800', '39863', '127.0.0.1', '8', '64', '10', '0', '3000', '512']).summary;
    assert.is(counted.attempted, 3000);
    assert.is(counted.ok + counted.failed, 3000);
    assert.ok(counted.ok >= 1500, JSON.stringify(counted));
  });
});

test('TCP sessions (connect, one byte, RST) are answered by the C server; without it each fails', async () => {
  await serving(tool('session-load'), ['tcp-server', '127.0.0.1', '39900'], () => {
    const { summary } = client(['tcp', '127.0.0.1', '39900', '127.0.0.1,127.0.0.2', '256', '1.5', '1000']);
    assert.is(summary.ok + summary.failed, summary.attempted);
    assert.ok(summary.ok >= 0.5 * summary.attempted! && summary.ok > 100, JSON.stringify(summary));
    assert.ok(summary.attempted! <= 1000 * summary.seconds! + 1, JSON.stringify(summary));
  });
  const none = client(['tcp', '127.0.0.1', '39901', '127.0.0.1', '16', '1', '100']).summary;
  assert.is(none.ok, 0);
  assert.ok(none.failed > 10 && none.failed === none.attempted, JSON.stringify(none));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
