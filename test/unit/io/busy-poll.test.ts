/**
 * Busy polling of TUN queues (native/tun.c busy_poll, src/io/tun/busy-poll.ts). The TUN cases need root and
 * ip (otherwise they count as skipped): each runs
 * dist/test/support/tun-echo.js busy-poll in its own namespace (svrt-busy-<pid>-<n>, deleted afterwards).
 * A worker sends datagrams 100 µs apart into the TUN; with a window longer than that, the reading thread
 * picks them up while it busy polls, not through a wake-up of its event loop.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSvrError } from '../../../src/errors.js';
import { BUSY_POLL_MAX_US, checkBusyPollUs } from '../../../src/io/tun/busy-poll.js';
import { parseBusyPoll } from '../../../src/cli/node.js';
import { inNetns, runNodeHelper } from '../../support/netns-helper.js';
import { requires } from '../../support/prerequisites.js';

const HELPER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'support', 'tun-echo.js');

interface BusyRun {
  exit: number;
  seqs: number[];
  windowUs: number;
  runs: number;
  packets: number;
  capped: number;
  idleUs: number;
  maxTimerGapMs: number;
  rxPackets: number;
}

async function stream(args: { windowUs: number; count: number; gapUs: number; threadQueue?: boolean }): Promise<BusyRun> {
  const run = await inNetns('busy', (ns) => runNodeHelper(HELPER, ns, 'busy-poll', args));
  const r = run.result as unknown as BusyRun;
  assert.is(r.exit, 0, `sender worker exit; stderr ${run.stderr}`);
  assert.equal(r.seqs, Array.from({ length: args.count }, (_, i) => i), 'every datagram, once, in order');
  return r;
}

test('a window out of range is refused with the option and the range', () => {
  for (const bad of [-1, 1.5, BUSY_POLL_MAX_US + 1, Number.NaN]) {
    assert.throws(() => checkBusyPollUs(bad, `window ${bad}`), (e: unknown) => isSvrError(e) && e.code === 'SVR_ERR_IO_BUSY_POLL' && e.message.includes(`window ${bad}`));
  }
  assert.is(checkBusyPollUs(0, 'off'), 0);
  assert.is(parseBusyPoll('350'), 350);
  for (const bad of ['', 'abc', '2000']) {
    assert.throws(() => parseBusyPoll(bad), (e: unknown) => isSvrError(e) && e.message.startsWith(`--busy-poll ${bad}:`) && e.message.includes('0 (off) to 1000'));
  }
});

const netnsTest = requires(import.meta.url);

netnsTest('with a window, packets that follow within it are read while polling; the event loop still runs', async () => {
  const r = await stream({ windowUs: 1000, count: 400, gapUs: 100 });
  assert.is(r.windowUs, 1000);
  assert.is(r.rxPackets, 400);
  // the first datagram of each run wakes the loop; most of the rest must come in while polling
  assert.ok(r.packets >= 200, `read while polling: ${r.packets} of 400 (runs ${r.runs})`);
  assert.ok(r.runs >= 1 && r.runs < r.packets, `runs ${r.runs}`);
  // a 2 ms timer keeps firing: polling returns to the loop at least every 1 ms (capped counts those cuts);
  // the bound leaves room for a loaded machine's scheduler, a loop that never returned would miss every timer
  assert.ok(r.maxTimerGapMs < 150, `longest timer gap ${r.maxTimerGapMs.toFixed(1)} ms`);
});

netnsTest('when every poll finds a packet, busy polling still returns to the event loop every 1 ms', async () => {
  const run = await inNetns('busy', (ns) => runNodeHelper(HELPER, ns, 'busy-reflect', { windowUs: 200, ms: 300 }));
  const r = run.result as { seen: number; packets: number; capped: number; maxTimerGapMs: number };
  assert.ok(r.seen > 1000, `packets kept coming: ${r.seen} (stderr ${run.stderr})`);
  assert.ok(r.packets > r.seen / 2, `most read while polling: ${r.packets} of ${r.seen}`);
  assert.ok(r.capped >= 50, `cut at 1 ms ${r.capped} times in 300 ms`);
  // 300 ms of packets: a loop that never returned would show a gap of ~300 ms
  assert.ok(r.maxTimerGapMs < 150, `longest timer gap ${r.maxTimerGapMs.toFixed(1)} ms`);
});

netnsTest('window 0: no busy polling, every packet comes through the event loop', async () => {
  const r = await stream({ windowUs: 0, count: 100, gapUs: 100 });
  assert.is(r.windowUs, 0);
  assert.is(r.runs, 0);
  assert.is(r.packets, 0);
});

netnsTest('no busy polling while a queue of the thread reads on its reader thread', async () => {
  const r = await stream({ windowUs: 1000, count: 100, gapUs: 100, threadQueue: true });
  assert.is(r.runs, 0, 'a thread-mode queue delivers through the event loop: polling would delay it');
  assert.is(r.packets, 0);
});

test.run();
