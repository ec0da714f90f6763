/**
 * The link watch (io/link-state.ts) over a real veth: one end in this namespace, the other in a test
 * namespace (svrt-linkstate-<pid>-<n>). Admin down here, the other end down (no carrier) and a device
 * that does not exist all count as down; each up/down change is reported once, with the device and the
 * count, by a poll and by the timer; the kernel's link announcements (an `ip monitor` child) report a change at
 * once, with the timer a minute away. Needs root and ip.
 */
import { spawnSync } from 'node:child_process';
import * as assert from 'uvu/assert';
import { LinkWatch, linkState, type LinkChange } from '../../../src/io/link-state.js';
import { inNetns } from '../../support/netns-helper.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url);

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

test('operstate of a veth: admin down, up, the other end down, missing; changes reported once each', async () => {
  const here = `lw${process.pid % 1_000_000}a`;
  await inNetns('linkstate', async (ns) => {
    ip('link', 'add', here, 'type', 'veth', 'peer', 'name', 'lwb', 'netns', ns);
    try {
      const changes: LinkChange[] = [];
      const w = new LinkWatch([here, 'svrt-no-such0', here], (c) => changes.push(c));
      assert.equal(w.list().map((l) => [l.device, l.state, l.up]), [[here, 'admin-down', false], ['svrt-no-such0', 'missing', false]], 'admin down at start; a device listed twice is watched once');
      ip('link', 'set', here, 'up');
      ip('-n', ns, 'link', 'set', 'lwb', 'up');
      w.poll();
      assert.is(linkState(here), 'up');
      assert.equal(changes, [{ device: here, up: true, state: 'up', linksUp: 1 }]);
      w.poll();
      assert.is(changes.length, 1, 'no change, no report');
      ip('-n', ns, 'link', 'set', 'lwb', 'down');
      w.poll();
      assert.equal(changes.at(-1), { device: here, up: false, state: 'no-carrier', linksUp: 0 }, 'the other end down');
      ip('link', 'set', here, 'down');
      w.poll();
      assert.is(changes.length, 2, 'no-carrier -> admin-down is no up/down change');
      assert.is(w.list()[0]!.state, 'admin-down');
      ip('link', 'set', here, 'up');
      ip('-n', ns, 'link', 'set', 'lwb', 'up');
      w.start();
      const t0 = performance.now();
      while (changes.length < 3 && performance.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
      w.stop();
      assert.equal(changes.at(-1), { device: here, up: true, state: 'up', linksUp: 1 }, 'seen by the timer');
      assert.ok(performance.now() - t0 < 1000, `seen within ${Math.round(performance.now() - t0)} ms`);
    } finally {
      spawnSync('ip', ['link', 'del', here]);
    }
  });
});

test('the kernel\'s link announcement reports a change at once, long before the poll (a minute here)', async () => {
  const here = `lw${process.pid % 1_000_000}c`;
  await inNetns('linkstate', async (ns) => {
    ip('link', 'add', here, 'type', 'veth', 'peer', 'name', 'lwd', 'netns', ns);
    const changes: LinkChange[] = [];
    const w = new LinkWatch([here], (c) => changes.push(c), 60_000);
    try {
      ip('link', 'set', here, 'up');
      ip('-n', ns, 'link', 'set', 'lwd', 'up');
      w.poll();
      assert.equal(changes.map((c) => c.state), ['up']);
      w.start();
      const until = async (n: number): Promise<number> => {
        const t0 = performance.now();
        while (changes.length < n && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
        return performance.now() - t0;
      };
      await new Promise((r) => setTimeout(r, 300)); // the monitor is listening
      assert.ok(w.announced, 'the ip monitor child runs');
      ip('-n', ns, 'link', 'set', 'lwd', 'down');
      const down = await until(2);
      assert.equal(changes.at(-1), { device: here, up: false, state: 'no-carrier', linksUp: 0 }, `the other end down, seen in ${Math.round(down)} ms`);
      ip('-n', ns, 'link', 'set', 'lwd', 'up');
      const up = await until(3);
      assert.equal(changes.at(-1), { device: here, up: true, state: 'up', linksUp: 1 }, `up again, seen in ${Math.round(up)} ms`);
      console.log(`  announced link changes seen in ${Math.round(down)} ms (down) and ${Math.round(up)} ms (up); the poll: every 60 s`);
      assert.ok(down < 2000 && up < 2000, 'by the announcements (the poll would take a minute)');
    } finally {
      w.stop();
      assert.not.ok(w.announced, 'the monitor stopped with the watch');
      spawnSync('ip', ['link', 'del', here]);
    }
  });
});

test.run();
