/**
 * SIGKILL while writing: a child process writes records continuously and is killed; the store opens again
 * (no corruption), lists every record that was written, and counts what the kill lost.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../../../src/store/store.js';
import { SessionHistory } from '../../../src/telemetry/history/history.js';

const CHILD = fileURLToPath(new URL('./history-crash-child.js', import.meta.url));

test('SIGKILL during writes: the store reopens, lists what was written, counts the loss at open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-history-crash-'));
  try {
    const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    let last = [0, 0, 0];
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      const line = lines[lines.length - 1];
      if (line !== undefined) last = line.split(' ').map(Number);
    });
    const start = Date.now();
    while (last[1]! < 10_000 && Date.now() - start < 20_000) await new Promise((r) => setTimeout(r, 20));
    assert.ok(last[1]! >= 10_000, `the child wrote ${last[1]} records`);
    process.kill(child.pid!, 'SIGKILL');
    await exited;
    const [marked, writtenSeen, acceptedSeen] = last as [number, number, number];

    const store = await Store.open(dir);
    try {
      const h = await SessionHistory.open(store, { readOnly: false });
      const c = h.counters();
      const ids = new Set<string>();
      let cursor: string | undefined;
      do {
        const page = await h.query({ limit: 1000, order: 'oldest', ...(cursor !== undefined ? { cursor } : {}) });
        for (const r of page.records) ids.add(r.sessionId);
        cursor = page.cursor;
      } while (cursor !== undefined);
      const listed = ids.size;
      console.log(`  killed after ${writtenSeen} written (child's last report); reopened: ${listed} listed, ${c.lostAtOpen} counted lost`);
      assert.is(listed, c.written, 'every written record is listed, once');
      assert.ok(listed >= writtenSeen, 'nothing the child saw written is missing');
      assert.ok(listed + c.lostAtOpen >= marked, 'what was marked ahead is written or counted lost');
      assert.ok(listed + c.lostAtOpen <= acceptedSeen + 400, 'no more than the child put');
      assert.ok(c.lostAtOpen <= 20_000, `at most a second of records lost (20k/s): ${c.lostAtOpen}`);
      assert.is(c.lostTotal, c.lostAtOpen);
      await h.close();
      const again = await SessionHistory.open(store);
      assert.equal([again.counters().lostAtOpen, again.counters().lostTotal], [0, c.lostAtOpen], 'counted once');
      await again.close();
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
