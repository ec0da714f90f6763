/** The key exchange machine of one path (src/machines/key-exchange.ts), through transition(): timers fired by hand. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initialTransition, transition, type AnyEventObject, type SnapshotFrom } from 'xstate';
import { KEY_EXCHANGE_DEFAULTS, RESPONDER_REKEY_LAG_MS, keyExchangeMachine, type ExchangedKeys } from '../../../src/machines/key-exchange.js';

type Snap = SnapshotFrom<typeof keyExchangeMachine>;
interface Act { type: string; params?: unknown }

const M = keyExchangeMachine;
const T = KEY_EXCHANGE_DEFAULTS;
const keysI: ExchangedKeys = { initiator: true, localIndex: 0x101, remoteIndex: 0x202 };
const keysR: ExchangedKeys = { initiator: false, localIndex: 0x303, remoteIndex: 0x404 };
const confirm = Uint8Array.of(0xcb);
const response = Uint8Array.of(0xc9);

const named = (actions: Act[]) => actions.filter((a) => !a.type.startsWith('xstate.')).map((a) => a.type);
const params = (actions: Act[], type: string) => actions.find((a) => a.type === type)?.params as Record<string, unknown> | undefined;
/** The timers the step scheduled: delay name -> ms. */
const timers = (actions: Act[]) => Object.fromEntries(actions.filter((a) => a.type === 'xstate.raise' && (a.params as { delay?: number }).delay !== undefined)
  .map((a) => {
    const p = a.params as { id: string; delay: number };
    return [p.id.split('.')[2]!, p.delay];
  }));

/** Fires the pending timer `delay` of state `s` (scheduled by `actions`). */
function fire(s: Snap, actions: Act[], delay: string): [Snap, Act[]] {
  const raise = actions.find((a) => a.type === 'xstate.raise' && (a.params as { id?: string }).id?.startsWith(`xstate.after.${delay}.`));
  assert.ok(raise !== undefined, `timer ${delay} scheduled (have ${JSON.stringify(timers(actions))})`);
  return transition(M, s, (raise!.params as { event: AnyEventObject }).event as never) as [Snap, Act[]];
}

function start(): [Snap, Act[]] {
  const [s0] = initialTransition(M, { path: 3 });
  assert.equal(s0.value, { running: { keys: 'none', exchange: 'idle' } });
  return transition(M, s0, { type: 'start' }) as [Snap, Act[]];
}

function established(): [Snap, Act[]] {
  const [s1] = start();
  return transition(M, s1, { type: 'response.accepted', keys: keysI, confirm }) as [Snap, Act[]];
}

test('initiate: start sends an initiation and arms the retry timer', () => {
  const [s, a] = start();
  assert.equal(s.value, { running: { keys: 'none', exchange: 'initiating' } });
  assert.equal(named(a), ['initiate']);
  assert.equal(params(a, 'initiate'), { path: 3, attempt: 0 });
  assert.equal(timers(a), { retry: T.retryMs });
});

test('retry every 5 s, give up after 90 s (counted), try again after the backoff', () => {
  let [s, a] = start();
  const attempts: number[] = [0];
  for (;;) {
    [s, a] = fire(s, a, 'retry');
    if (named(a).includes('initiate')) attempts.push((params(a, 'initiate') as { attempt: number }).attempt);
    else break;
  }
  assert.is(attempts.length, T.attemptMs / T.retryMs, '18 initiations in 90 s');
  assert.equal(attempts.slice(0, 3), [0, 1, 2]);
  assert.equal(named(a), ['record']);
  assert.equal(params(a, 'record'), { path: 3, outcome: 'gave-up', attempt: 17 });
  assert.equal(s.value, { running: { keys: 'none', exchange: 'backoff' } });
  assert.equal(timers(a), { giveUpBackoff: T.giveUpBackoffMs });
  [s, a] = fire(s, a, 'giveUpBackoff');
  assert.equal(params(a, 'initiate'), { path: 3, attempt: 0 });
});

test('the response arrives: keys installed and sent with at once, the confirmation sent, expiry armed', () => {
  const [s, a] = established();
  assert.equal(s.value, { running: { keys: 'live', exchange: 'current' } });
  assert.equal(named(a), ['installKeys', 'send', 'record']);
  assert.equal(params(a, 'installKeys'), { path: 3, keys: keysI, activate: true, overlapMs: T.overlapMs });
  assert.equal(params(a, 'send'), { path: 3, bytes: confirm });
  assert.equal(params(a, 'record'), { path: 3, outcome: 'established', attempt: 0 });
  assert.equal(timers(a), { rejectAfter: T.rejectAfterMs, rekeyAfter: T.rekeyAfterMs });
});

test('respond: an initiation is answered, keys installed for receiving; sent with only after the confirmation', () => {
  const [s0] = initialTransition(M, { path: 3 });
  const [s1, a1] = transition(M, s0, { type: 'initiation.accepted', keys: keysR, response }) as [Snap, Act[]];
  assert.equal(s1.value, { running: { keys: 'none', exchange: 'responding' } });
  assert.equal(named(a1), ['send', 'installKeys']);
  assert.equal(params(a1, 'send'), { path: 3, bytes: response });
  assert.equal(params(a1, 'installKeys'), { path: 3, keys: keysR, activate: false, overlapMs: T.overlapMs });
  const [s2, a2] = transition(M, s1, { type: 'confirm.accepted', localIndex: keysR.localIndex }) as [Snap, Act[]];
  assert.equal(s2.value, { running: { keys: 'live', exchange: 'current' } });
  assert.equal(named(a2), ['activateTx', 'record']);
  assert.equal(params(a2, 'activateTx'), { path: 3, localIndex: keysR.localIndex, overlapMs: T.overlapMs });
  assert.equal(timers(a2).rekeyAfter, T.rekeyAfterMs + RESPONDER_REKEY_LAG_MS, 'the responder rekeys later than the initiator would');
  // never confirmed: back to idle, nothing sent with those keys
  const [s3, a3] = fire(s1, a1, 'confirmTimeout');
  assert.equal(s3.value, { running: { keys: 'none', exchange: 'idle' } });
  assert.equal(named(a3), []);
});

test('rekey on time: 120 s after the keys, a new initiation while the keys stay in use', () => {
  const [s, a] = established();
  const [s2, a2] = fire(s, a, 'rekeyAfter');
  assert.equal(s2.value, { running: { keys: 'live', exchange: 'initiating' } });
  assert.equal(named(a2), ['initiate'], 'no dropKeys: the old keys carry the traffic meanwhile');
  const [s3, a3] = transition(M, s2, { type: 'response.accepted', keys: { ...keysI, localIndex: 0x105 }, confirm }) as [Snap, Act[]];
  assert.equal(named(a3), ['installKeys', 'send', 'record']);
  assert.equal(params(a3, 'record'), { path: 3, outcome: 'rekeyed', attempt: 0 });
  assert.equal(s3.value, { running: { keys: 'live', exchange: 'current' } });
  assert.equal(timers(a3), { rejectAfter: T.rejectAfterMs, rekeyAfter: T.rekeyAfterMs }, 'the expiry restarts for the new keys');
});

test('rekey on count: usage below the limit changes nothing, at the limit a rekey starts', () => {
  const [s] = established();
  const [s2, a2] = transition(M, s, { type: 'usage', packets: T.rekeyAfterPackets - 1 }) as [Snap, Act[]];
  assert.equal(s2.value, { running: { keys: 'live', exchange: 'current' } });
  assert.equal(named(a2), []);
  const [s3, a3] = transition(M, s2, { type: 'usage', packets: T.rekeyAfterPackets }) as [Snap, Act[]];
  assert.equal(s3.value, { running: { keys: 'live', exchange: 'initiating' } });
  assert.equal(named(a3), ['initiate']);
});

test('overlap window: each install keeps the previous keys overlapMs; a rekey that fails lets the keys expire at 180 s', () => {
  const [s0] = initialTransition(M, { path: 3, timings: { overlapMs: 5000 } });
  const [s1] = transition(M, s0, { type: 'start' }) as [Snap, Act[]];
  const [s2, a2] = transition(M, s1, { type: 'response.accepted', keys: keysI, confirm }) as [Snap, Act[]];
  assert.is((params(a2, 'installKeys') as { overlapMs: number }).overlapMs, 5000, 'the data path keeps the previous rx keys this long');
  // the peer stops answering: the rekey retries, and the keys expire 180 s after they were installed
  const [s3, a3] = fire(s2, a2, 'rekeyAfter');
  assert.equal(named(a3), ['initiate']);
  const [s4, a4] = fire(s3, a2, 'rejectAfter');
  assert.equal(s4.value, { running: { keys: 'none', exchange: 'initiating' } });
  assert.equal(named(a4), ['dropKeys', 'record']);
  assert.equal(params(a4, 'record'), { path: 3, outcome: 'expired', attempt: 0 });
});

test('crossed initiations: both complete, the path ends with keys, only the router that rekeys first counts as initiator; stop drops them', () => {
  const [s1] = start();
  const [s2] = transition(M, s1, { type: 'initiation.accepted', keys: keysR, response }) as [Snap, Act[]];
  assert.equal(s2.value, { running: { keys: 'none', exchange: 'responding' } });
  const [s3, a3] = transition(M, s2, { type: 'response.accepted', keys: keysI, confirm }) as [Snap, Act[]];
  assert.equal(s3.value, { running: { keys: 'live', exchange: 'current' } });
  assert.equal(named(a3), ['installKeys', 'send', 'record']);
  assert.equal(params(a3, 'record'), { path: 3, outcome: 'established', attempt: 0 });
  assert.is(s3.context.initiatedCurrent, true, 'rekeysFirst defaults to true');
  const [o0] = initialTransition(M, { path: 0, rekeysFirst: false });
  const [o1] = transition(M, o0, { type: 'start' }) as [Snap, Act[]];
  const [o2] = transition(M, o1, { type: 'initiation.accepted', keys: keysR, response }) as [Snap, Act[]];
  const [o3] = transition(M, o2, { type: 'response.accepted', keys: keysI, confirm }) as [Snap, Act[]];
  assert.is(o3.context.initiatedCurrent, false, 'the other router waits the responder lag: they do not cross again');
  const [s4, a4] = transition(M, s3, { type: 'stop' }) as [Snap, Act[]];
  assert.is(s4.value, 'stopped');
  assert.is(s4.status, 'done');
  assert.equal(named(a4), ['dropKeys']);
});

test.run();
