/**
 * The sustained case's C load (bench/c/session-load.c, built by bench/udp-load.ts's buildCTool) on loopback:
 * a paced UDP client keeps its rate against the C echo and counts each second; COUNT and FIRST stop after
 * that many sessions and continue the tuples; the TCP client's sessions (connect, one byte, RST) are answered
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

test('paced UDP sessions keep their rate against the C echo, counted each second; COUNT stops, FIRST continues', async () => {
  await serving(tool('udp-load'), ['echo', '127.0.0.1', '39800', '39863'], () => {
    const { perSecond, summary } = client(['udp', '127.0.0.1', '39800', '39863', '127.0.0.1', '8', '512', '2.2', '5000', '0', '0']);
    assert.is(summary.failed, 0);
    assert.is(summary.ok, summary.attempted);
    assert.ok(Math.abs(summary.attempted! - 5000 * summary.seconds!) < 600, `${summary.attempted} sessions in ${summary.seconds} s at 5000/s`);
    assert.is(perSecond.length, 2);
    for (const s of perSecond) assert.ok(s.sent! > 4000 && s.sent! < 6000 && s.ok === s.sent, JSON.stringify(s));
    const counted = client(['udp', '127.0.0.1', '39800', '39863', '127.0.0.1', '8', '512', '5', '0', '3000', '512']).summary;
    assert.equal([counted.attempted, counted.ok, counted.failed], [3000, 3000, 0]);
  });
});

test('TCP sessions (connect, one byte, RST) are answered by the C server; without it each fails', async () => {
  await serving(tool('session-load'), ['tcp-server', '127.0.0.1', '39900'], () => {
    const { summary } = client(['tcp', '127.0.0.1', '39900', '127.0.0.1,127.0.0.2', '64', '1.5', '2000']);
    assert.is(summary.failed, 0);
    assert.ok(summary.ok > 2000 && summary.ok === summary.attempted, JSON.stringify(summary));
  });
  const none = client(['tcp', '127.0.0.1', '39901', '127.0.0.1', '16', '1', '100']).summary;
  assert.is(none.ok, 0);
  assert.ok(none.failed > 50 && none.failed === none.attempted, JSON.stringify(none));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
