/**
 * How `svr lab up` waits for a process it started and how it ends when a signal stops it: a process that keeps
 * logging is still starting (a loaded host), a silent one fails with its log tail, and a SIGTERM from the
 * caller's time limit leaves a coded error on stderr, not exit 130 with an empty stderr.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tearDownOnSignal } from '../../../src/cli/lab.js';
import { isSvrError } from '../../../src/errors.js';
import { release, waitReady, type Background } from '../../../src/lab/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'svr-start-wait-'));

/** A real process running `script` with its output in `<dir>/<name>.log`, as spawnInNamespace starts them. */
function start(name: string, script: string): Background {
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, 'w');
  const child = spawn('sh', ['-c', script], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const bg: Background = { name, pid: child.pid!, log, child, exit: undefined };
  child.on('exit', (code, signal) => (bg.exit = { code, signal }));
  return bg;
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('waitReady: a process that logs a line every 150 ms is ready after 1.2 s although the stall limit is 500 ms', async () => {
  const bg = start('slow', 'for i in 1 2 3 4 5 6 7 8; do echo "step $i"; sleep 0.15; done; echo "node.running"; sleep 5');
  try {
    await waitReady(bg, { line: /\brunning\b/, timeoutMs: 500, maxMs: 20_000, what: 'node slow' });
  } finally {
    bg.child.kill();
    release(bg);
  }
});

test('waitReady: a process that stops logging fails after the stall limit, with the log tail and a hint', async () => {
  const bg = start('stalled', 'echo "interface.up"; sleep 5');
  const t0 = Date.now();
  try {
    await waitReady(bg, { line: /\brunning\b/, timeoutMs: 300, maxMs: 20_000, what: 'node stalled' });
    assert.unreachable('a stalled process is never ready');
  } catch (e) {
    if (!isSvrError(e)) throw e;
    assert.is(e.code, 'SVR_ERR_LAB_TIMEOUT');
    assert.match(e.message, /node stalled was not ready after \d+ ms, \d+ ms of them without a new line in its log/);
    assert.match(e.message, /\| interface\.up/);
    assert.ok(Date.now() - t0 < 4000, 'failed on the stall, long before the process ended');
  } finally {
    bg.child.kill();
    release(bg);
  }
});

test('waitReady: maxMs bounds a process that logs forever without getting ready', async () => {
  const bg = start('chatty', 'while :; do echo tick; sleep 0.05; done');
  try {
    await waitReady(bg, { line: /\brunning\b/, timeoutMs: 300, maxMs: 600, what: 'node chatty' });
    assert.unreachable('never ready');
  } catch (e) {
    if (!isSvrError(e)) throw e;
    assert.match(e.message, /node chatty was not ready after 600 ms/);
  } finally {
    bg.child.kill();
    release(bg);
  }
});

test('tearDownOnSignal: SIGTERM writes SVR_ERR_LAB_INTERRUPTED on stderr, tears down, exits 130', async () => {
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  const out = process.stdout.write.bind(process.stdout);
  process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  let untrap = (): void => undefined;
  try {
    const code = await new Promise<number>((resolve) => {
      // a prefix no lab uses and an empty dir: the teardown finds nothing and needs no root
      untrap = tearDownOnSignal({ dir, prefix: 'lxq' }, 'up', resolve);
      process.emit('SIGTERM', 'SIGTERM');
    });
    assert.is(code, 130);
  } finally {
    untrap();
    process.stderr.write = write;
    process.stdout.write = out;
  }
  const err = written.join('');
  assert.match(err, /^svr lab up: interrupted by SIGTERM after [\d.]+ s, /);
  assert.match(err, /\[SVR_ERR_LAB_INTERRUPTED\]\n$/);
});

test.run();
