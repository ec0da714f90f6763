/** Link tester on virtual time, with a fake peer that reflects requests after a chosen RTT or drops them. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LinkTester, type LinkTestSettings } from '../../../src/paths/link-test.js';
import { decodeLinkTest, linkTestReply, pathMessageKind } from '../../../src/paths/messages.js';
import { QualityHistory, type LinkTestRound } from '../../../src/paths/quality.js';
import { VirtualTime } from './virtual-time.js';

interface Rig {
  vt: VirtualTime;
  tester: LinkTester;
  rounds: LinkTestRound[];
  sentAt: number[];
}

/** `rttFor(i)`: RTT of the i-th request overall, or undefined to drop it; `sendOk` false = cannot send. */
function rig(settings: LinkTestSettings, rttFor: (i: number) => number | undefined, sendOk = () => true): Rig {
  const vt = new VirtualTime();
  const rounds: LinkTestRound[] = [];
  const sentAt: number[] = [];
  const history = new QualityHistory();
  const tester: LinkTester = new LinkTester(settings, {
    timers: vt,
    send: (payload) => {
      assert.is(pathMessageKind(payload), 'link-test-request');
      const i = sentAt.length;
      sentAt.push(vt.now());
      if (!sendOk()) return false;
      const rtt = rttFor(i);
      const reply = linkTestReply(payload); // now: the tester reuses its buffer for the next request
      if (rtt !== undefined) vt.setTimeout(() => tester.handleReply(decodeLinkTest(reply)!), rtt);
      return true;
    },
    onRound: (r) => {
      rounds.push(r);
      history.add(r);
    },
    quality: () => history.smoothed,
  });
  return { vt, tester, rounds, sentAt };
}

const SETTINGS: LinkTestSettings = { intervalMs: 10_000, length: 10, spacingMs: 100 };

test('a round sends `length` requests `spacing` apart and measures RTT/2 as latency', () => {
  const r = rig(SETTINGS, () => 40);
  r.tester.start();
  r.vt.runFor(2000);
  assert.equal(r.sentAt, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
  assert.is(r.rounds.length, 1);
  const round = r.rounds[0]!;
  assert.equal([round.sent, round.received, round.latencyMs, round.jitterMs, round.lossPercent, round.atMs], [10, 10, 20, 0, 0, 940]);
});

test('rounds repeat every interval (start to start)', () => {
  const r = rig({ ...SETTINGS, intervalMs: 3000 }, () => 10);
  r.tester.start();
  r.vt.runFor(9500);
  assert.equal(r.sentAt.filter((_, i) => i % 10 === 0), [0, 3000, 6000, 9000]);
  assert.is(r.rounds.length, 3);
});

test('jitter: alternating RTTs 20/40 ms -> jitter (20 ms difference) / 2 = 10 ms; latency 15 ms', () => {
  const r = rig(SETTINGS, (i) => (i % 2 === 0 ? 20 : 40));
  r.tester.start();
  r.vt.runFor(2000);
  assert.equal([r.rounds[0]!.latencyMs, r.rounds[0]!.jitterMs], [15, 10]);
});

test('loss: dropped requests and requests that cannot be sent are lost; the round waits max(1 s, 3 x RTT)', () => {
  const r = rig(SETTINGS, (i) => (i === 3 || i === 7 ? undefined : 10), () => r.sentAt.length !== 6);
  r.tester.start();
  r.vt.runFor(1899);
  assert.is(r.rounds.length, 0, 'still waiting for the last lost request (sent at 900 ms, lost at 1900 ms)');
  r.vt.runFor(1);
  assert.equal([r.rounds[0]!.sent, r.rounds[0]!.received, r.rounds[0]!.lossPercent], [10, 7, 30]);
});

test('a reply later than max(1 s, 3 x RTT) counts as lost; 3 x RTT wins over 1 s on slow paths', () => {
  // round 1: RTT 600 ms -> timeout in round 2 = 3 x 600 = 1800 ms
  const slow = rig(SETTINGS, (i) => (i === 14 ? 1700 : i === 15 ? 1900 : 600));
  slow.tester.start();
  slow.vt.runFor(10_000 + 900 + 1800 + 1);
  assert.is(slow.rounds[0]!.latencyMs, 300);
  assert.is(slow.rounds.length, 2);
  assert.equal([slow.rounds[1]!.received, slow.rounds[1]!.lossPercent], [9, 10], '1700 ms counts (beyond 1 s), 1900 ms is lost');

  const late = rig(SETTINGS, (i) => (i === 0 ? 1001 : 10));
  late.tester.start();
  late.vt.runFor(3000);
  assert.equal([late.rounds[0]!.received, late.rounds[0]!.lossPercent], [9, 10]);
});

test('stop() cancels the round and every timer; replies afterwards are unmatched', () => {
  const r = rig(SETTINGS, () => 300);
  r.tester.start();
  r.vt.runFor(250);
  r.tester.stop();
  assert.not.ok(r.tester.running);
  r.vt.runFor(20_000);
  assert.equal([r.sentAt.length, r.rounds.length], [3, 0]);
  assert.is(r.tester.unmatchedReplies, 3);
  r.tester.start();
  r.vt.runFor(1500);
  assert.is(r.rounds.length, 1, 'starts afresh');
});

test('a reply with a forged time or an unknown sequence is not a sample', () => {
  const r = rig({ ...SETTINGS, length: 1 }, () => undefined);
  r.tester.start();
  assert.not.ok(r.tester.handleReply({ sequence: 0, sentAtMs: 12345 }));
  assert.not.ok(r.tester.handleReply({ sequence: 99, sentAtMs: 0 }));
  assert.ok(r.tester.handleReply({ sequence: 0, sentAtMs: 0 }));
  assert.is(r.rounds[0]!.received, 1);
});

test.run();
