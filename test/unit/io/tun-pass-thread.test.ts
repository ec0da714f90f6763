/**
 * The steady pass on batches the reader thread read (native/tun.c reader_call_js; docs/tun-io.md "A steady pass
 * without JS"), on real devices (root): a LAN queue in thread mode, armed with native/fwd.c's table holding one marked
 * UDP flow, gets 64 datagrams of that flow forwarded into it by the kernel (test/support/tun-pass-thread.ts). The pass
 * finishes every one of them on the JS thread before JS: the handler sees none, the WAN writer sends them, the queue
 * counts them as read and the pass's counters as native-forwarded. With SVR_TUN_PASS_THREAD=0 (only poll mode's
 * batches take the pass, as before) the same datagrams all go to the handler. With the flow's payload framed (the pass
 * checks the UDP checksum before the bytes change, from the reader thread's verdicts: native/tun-pass.c
 * svr_tun_pass_verdicts), the datagrams with a wrong UDP checksum still go to the handler (JS drops and counts them)
 * and the others are forwarded. Namespaces svrt-tpt-<pid>-<n>, deleted by exact name.
 */
import * as assert from 'uvu/assert';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inNetns, runNodeHelper } from '../../support/netns-helper.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url);
const HELPER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'support', 'tun-pass-thread.js');
const COUNT = 64;

interface Result { marked: boolean; armed: boolean; js: number; steady: number; rx: number; mode: string; wanTx: number; nativeForwarded: number; txCounted: number }

const runIn = (env: string[], more: Record<string, unknown> = {}): Promise<Result> =>
  inNetns('tpt', async (ns) => (await runNodeHelper(HELPER, ns, 'run', { count: COUNT, batch: 16, ms: 15_000, ...more }, ['env', ...env])).result as unknown as Result);

test('thread mode: the steady pass finishes a marked flow\'s batches before JS, which sees none of them', async () => {
  const r = await runIn([]);
  assert.ok(r.marked && r.armed, `marked and armed: ${JSON.stringify(r)}`);
  assert.is(r.mode, 'thread');
  assert.is(r.rx, COUNT, `the queue read every datagram: ${JSON.stringify(r)}`);
  assert.is(r.steady, COUNT, `the pass took every datagram: ${JSON.stringify(r)}`);
  assert.is(r.js, 0, 'the JS handler got none of them');
  assert.is(r.nativeForwarded, COUNT);
  assert.is(r.txCounted, COUNT);
  assert.is(r.wanTx, COUNT, 'the WAN writer sent them');
});

test('thread mode, a framed payload: a wrong UDP checksum still goes to JS, the datagrams before it are forwarded', async () => {
  const r = await runIn([], { framed: true, bad: 8 });
  assert.ok(r.marked && r.armed, `marked and armed: ${JSON.stringify(r)}`);
  assert.is(r.mode, 'thread');
  assert.is(r.rx, COUNT, `the queue read every datagram: ${JSON.stringify(r)}`);
  // the 8th has a wrong checksum: it goes to JS and its flow loses its mark, so the later ones follow it (not marked again here)
  assert.is(r.steady, 7, `the pass took the first seven: ${JSON.stringify(r)}`);
  assert.is(r.js, COUNT - 7, `the handler got the 8th and the rest: ${JSON.stringify(r)}`);
  assert.is(r.wanTx, 7, 'the WAN writer sent the seven');
});

test('SVR_TUN_PASS_THREAD=0: thread mode\'s batches all go to JS (the pass runs on poll mode\'s only)', async () => {
  const r = await runIn(['SVR_TUN_PASS_THREAD=0']);
  assert.ok(r.marked && r.armed, `marked and armed: ${JSON.stringify(r)}`);
  assert.is(r.mode, 'thread');
  assert.is(r.rx, COUNT, `the queue read every datagram: ${JSON.stringify(r)}`);
  assert.is(r.steady, 0);
  assert.is(r.js, COUNT);
  assert.is(r.wanTx, 0);
});

test.run();
