/**
 * The benchmark's C session load (bench/c/udp-sessions.c, built by bench/sessions-native.ts) on loopback:
 * every session answered by the echo counts once; with no echo every session fails and the client still ends.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildSessionTool } from '../../../bench/sessions-native.js';
import type { SessionsResult } from '../../../bench/sessions-client.js';

const dir = mkdtempSync(join(tmpdir(), 'svrt-udp-sessions-'));
const tool = buildSessionTool(dir);

function client(from: number, to: number, window: number, seconds: number): SessionsResult {
  const r = spawnSync(tool.path!, ['client', '127.0.0.1', String(from), String(to), '127.0.0.1', '4', String(window), String(seconds)], { encoding: 'utf8', timeout: 20_000 });
  assert.is(r.status, 0, `client exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as SessionsResult;
}

if (tool.path === undefined) {
  test('udp-sessions', () => console.log(`  note: skipped: ${tool.reason}`));
} else {
  test('every session of the C client is answered by the C echo, once', async () => {
    const echo = spawn(tool.path!, ['echo', '127.0.0.1', '39100', '39355']);
    try {
      await new Promise<void>((resolve, reject) => {
        echo.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        echo.on('exit', (c) => reject(new Error(`echo exited ${c}`)));
      });
      const r = client(39100, 39355, 16, 1);
      assert.is(r.client, 'c');
      assert.is(r.failed, 0);
      assert.is(r.ok, r.attempted, 'every session answered once');
      // 4 sockets x 256 ports: loopback uses the whole tuple space well within the second
      assert.ok(r.exhausted ? r.attempted === 4 * 256 : r.attempted > 100, JSON.stringify(r));
    } finally {
      echo.kill();
    }
  });

  test('without an echo every session fails after 1 s and is replaced; the client ends on time', () => {
    const t0 = Date.now();
    const r = client(39400, 39401, 8, 1.5);
    assert.is(r.ok, 0);
    assert.ok(r.failed >= 8, `${r.failed} failed`);
    assert.is(r.failed, r.attempted);
    assert.ok(Date.now() - t0 < 6000, 'ends after the run and 1 s for late answers');
  });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
