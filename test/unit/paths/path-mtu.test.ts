/**
 * Path MTU discovery (src/paths/path-mtu.ts) on virtual time against a simulated path that carries packets
 * up to a given size: probe and answer bytes, the search's result and cost, unresolvable, a path that comes
 * back searches again. The data path's side (MSS clamp to the result, ICMP too big) is in
 * test/unit/dataplane/icmp-too-big.test.ts and test/e2e/mtu.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Subject } from 'rxjs';
import { compileRouter } from '../../../src/model/compile.js';
import { trailerLength } from '../../../src/dataplane/sign.js';
import type { PathMessage } from '../../../src/paths/messages.js';
import { decodeMtuAck, encodeMtuProbe, mtuAnswer, PathMtuDiscovery } from '../../../src/paths/path-mtu.js';
import { exampleConfig } from '../../support/config.js';
import { VirtualTime } from './virtual-time.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('probe: padded to the outer size under test; the answer is its first 12 bytes as 0xce', () => {
  const p = encodeMtuProbe(0x01020304, 1280, 20, 26);
  assert.is(p.length, 1280 - 20 - 8 - 26);
  assert.is(hex(p.subarray(0, 12)), 'cd000000' + '01020304' + '0500' + '0000');
  assert.ok(p.subarray(12).every((x) => x === 0));
  const a = mtuAnswer(p)!;
  assert.is(hex(a), 'ce000000' + '01020304' + '0500' + '0000');
  assert.equal(decodeMtuAck(a), { seq: 0x01020304, size: 1280 });
  assert.is(mtuAnswer(p.subarray(0, 11)), undefined, 'short');
  assert.is(decodeMtuAck(p.subarray(0, 12)), undefined, 'a probe is not an answer');
});

async function run(pathMtu: () => number, opts: { up?: () => boolean; discovery?: { enabled: boolean; interval: number } } = {}) {
  const c = await exampleConfig();
  if (opts.discovery !== undefined) for (const i of c.authority.routers.find((r) => r.name === 'r1')!.interfaces) for (const n of i.neighborhoods) n.pathMtuDiscovery = opts.discovery;
  const tables = compileRouter(c, 'r1', 1);
  const vt = new VirtualTime();
  const messages = new Subject<PathMessage>();
  const published: { path: number; mtu: number }[] = [];
  const logs: string[] = [];
  const sizes: number[] = [];
  const trailer = trailerLength(tables.paths[0]!.hmac);
  const d = new PathMtuDiscovery({
    tables: () => tables,
    messages$: messages,
    isPathUp: (p) => p === 0 && (opts.up?.() ?? true),
    send: (path, payload) => {
      const size = payload.length + 20 + 8 + trailer; // the outer packet
      sizes.push(size);
      if (size > pathMtu()) return true; // lost in the middle of the path, no ICMP
      const answer = mtuAnswer(payload)!;
      vt.setTimeout(() => messages.next({ path, pathName: tables.paths[path]!.name, payload: answer, atMs: vt.now() }), 5);
      return true;
    },
    setPathMtu: (path, mtu) => void published.push({ path, mtu }),
    now: vt.now,
    log: (e) => void logs.push(e),
    setTimeout: vt.setTimeout,
    clearTimeout: vt.clearTimeout,
  });
  messages.subscribe(() => undefined);
  return { d, vt, published, logs, sizes, name: tables.paths[0]!.name, ifMtu: tables.interfaces[tables.paths[0]!.localInterface]!.mtu };
}

test('a path that carries the interface MTU: one probe', async () => {
  const h = await run(() => 9000);
  h.d.start(1_000_000);
  h.vt.runFor(100);
  assert.equal(h.sizes, [h.ifMtu]);
  assert.equal(h.published, [{ path: 0, mtu: h.ifMtu }]);
  assert.equal(h.d.view(h.name), { mtu: h.ifMtu, state: 'discovered', probesSent: 1 });
  h.d.stop();
});

test('a 1280-byte path with ICMP filtered: found exactly by bisection, each lost size tried 3 times', async () => {
  const h = await run(() => 1280);
  h.d.start(1_000_000);
  h.vt.runFor(10_000);
  assert.equal(h.published, [{ path: 0, mtu: 1280 }]);
  const failed = [...new Set(h.sizes.filter((s) => s > 1280))];
  assert.ok(failed.every((s) => h.sizes.filter((x) => x === s).length === 3), 'MAX_PROBES each');
  assert.ok(h.sizes.includes(1200), 'the base is confirmed');
  assert.ok(h.sizes.length <= 25, `probes: ${h.sizes.length}`);
  assert.equal(h.logs, ['path.mtu']);
  assert.is(h.d.view(h.name)?.state, 'discovered');
  h.d.stop();
});

test('nothing gets through, not even 1200 bytes: unresolvable, the interface MTU kept, retried later', async () => {
  const h = await run(() => 1000);
  h.d.start(1_000_000);
  h.vt.runFor(5000);
  assert.equal(h.published, [{ path: 0, mtu: 0 }]);
  assert.equal(h.logs, ['path.mtu-unresolvable']);
  assert.equal(h.d.view(h.name)?.state, 'unresolvable');
  assert.is(h.d.view(h.name)?.mtu, h.ifMtu);
  h.d.stop();
});

test('the path MTU changes: the next search (every path-mtu-discovery interval, or when the path comes back up) follows it', async () => {
  let mtu = 1400;
  let up = true;
  const h = await run(() => mtu, { up: () => up, discovery: { enabled: true, interval: 60 } });
  h.d.start(1_000_000);
  h.vt.runFor(10_000);
  assert.is(h.published.at(-1)?.mtu, 1400);
  mtu = 1300;
  up = false;
  h.d.poll();
  up = true;
  h.d.poll(); // back up: searches at once
  h.vt.runFor(10_000);
  assert.is(h.published.at(-1)?.mtu, 1300);
  mtu = 1500;
  h.vt.runFor(40_000); // the search for 1300 ended within the last 10 s: its next is 60 s after that
  h.d.poll();
  h.vt.runFor(5000);
  assert.is(h.published.at(-1)?.mtu, 1300, 'not before the interval');
  h.vt.runFor(20_000);
  h.d.poll();
  h.vt.runFor(10_000);
  assert.is(h.published.at(-1)?.mtu, 1500);
  h.d.stop();
});

test('path-mtu-discovery enabled: false: no probe, the interface MTU, state disabled', async () => {
  const h = await run(() => 1280, { discovery: { enabled: false, interval: 600 } });
  h.d.start(1_000_000);
  h.vt.runFor(5000);
  assert.equal(h.sizes, []);
  assert.equal(h.published, []);
  assert.equal(h.d.view(h.name), { mtu: h.ifMtu, state: 'disabled', probesSent: 0 });
  h.d.stop();
});

test.run();
