/**
 * The benchmark's C UDP endpoints (bench/c/udp-load.c, built by bench/udp-load.ts) on loopback: every session
 * answered by the echo counts once; with no echo every session fails and the client still ends; the ping
 * times every round trip and counts the unanswered ones as lost. Needs a C compiler (cc; otherwise counted
 * as skipped); a compile error fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { buildUdpLoad, type UdpLoadTool } from '../../../bench/udp-load.js';
import type { PingResult } from '../../../bench/uping.js';
import type { SessionsResult } from '../../../bench/sessions-client.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url);
const dir = join(tmpdir(), `svrt-udp-load-${process.pid}`);
let built: UdpLoadTool | undefined;

/** The compiled endpoints, built by the first test that needs them (a failed build fails that test). */
function tool(): string {
  if (built === undefined) {
    mkdirSync(dir, { recursive: true });
    built = buildUdpLoad(dir);
  }
  assert.ok(built.path !== undefined, `bench/c/udp-load.c does not build: ${built.reason}`);
  return built.path;
}

function client(from: number, to: number, window: number, seconds: number): SessionsResult {
  const r = spawnSync(tool(), ['client', '127.0.0.1', String(from), String(to), '127.0.0.1', '4', String(window), String(seconds)], { encoding: 'utf8', timeout: 20_000 });
  assert.is(r.status, 0, `client exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as SessionsResult;
}

/** Runs the C echo on ports from..to while `body` runs. */
async function withEcho(from: number, to: number, body: () => void): Promise<void> {
  const echo = spawn(tool(), ['echo', '127.0.0.1', String(from), String(to)]);
  try {
    await new Promise<void>((resolve, reject) => {
      echo.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      echo.on('exit', (c) => reject(new Error(`echo exited ${c}`)));
    });
    body();
  } finally {
    echo.kill();
  }
}

test('every session of the C client is answered by the C echo, once', async () => {
  await withEcho(39100, 39355, () => {
    const r = client(39100, 39355, 16, 1);
    assert.is(r.client, 'c');
    assert.is(r.failed, 0);
    assert.is(r.ok, r.attempted, 'every session answered once');
    // 4 sockets x 256 ports: loopback uses the whole tuple space well within the second
    assert.ok(r.exhausted ? r.attempted === 4 * 256 : r.attempted > 100, JSON.stringify(r));
  });
});

test('the C ping times every round trip through the C echo; without an echo every ping is lost', async () => {
  await withEcho(39500, 39500, () => {
    const ok = spawnSync(tool(), ['ping', '127.0.0.1', '39500', '500', '50', '64', '200'], { encoding: 'utf8', timeout: 20_000 });
    const r = JSON.parse(ok.stdout) as PingResult & { pinger: string };
    assert.equal([r.sent, r.received, r.lost, r.pinger], [500, 500, 0, 'c']);
    assert.ok(r.minUs > 0 && r.minUs <= r.p50Us && r.p50Us <= r.p90Us && r.p90Us <= r.p99Us && r.p99Us <= r.maxUs, JSON.stringify(r));
    assert.ok(r.p50Us < 10_000, `loopback p50 ${r.p50Us} µs`);
  });
  const t0 = Date.now();
  const lost = JSON.parse(spawnSync(tool(), ['ping', '127.0.0.1', '39501', '5', '0', '64', '100'], { encoding: 'utf8', timeout: 20_000 }).stdout) as PingResult;
  assert.equal([lost.sent, lost.received, lost.lost], [5, 0, 5]);
  assert.ok(Date.now() - t0 < 3000, 'each lost ping waits its 100 ms timeout, no more');
});

test('without an echo every session fails after 1 s and is replaced; the client ends on time', () => {
  const t0 = Date.now();
  const r = client(39400, 39401, 8, 1.5);
  assert.is(r.ok, 0);
  assert.ok(r.failed >= 8, `${r.failed} failed`);
  assert.is(r.failed, r.attempted);
  assert.ok(Date.now() - t0 < 6000, 'ends after the run and 1 s for late answers');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
