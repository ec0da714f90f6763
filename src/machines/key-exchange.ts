/**
 * Key exchange of one peer path (docs/security.md "Key exchange"), as a pure XState machine: when to
 * initiate, retry, give up, respond, confirm, rekey (on time and on packet count) and let keys expire.
 * The crypto happens outside (crypto/handshake.ts through the driver, paths/key-exchange.ts): events
 * carry what an authenticated message gave (keys, the bytes to answer with), actions ask for messages
 * to be sent and keys to be installed. Timings follow WireGuard §6.1.
 *
 *   keys (parallel):     none --keys.new--> live --after rejectAfter--> none (dropKeys: the path stops sending)
 *   exchange (parallel): idle --start--> initiating (initiate; after retry: again, until attemptMs, then backoff)
 *                        initiating --response.accepted--> current (install, tx at once; send the confirmation)
 *                        any --initiation.accepted--> responding (send the response; install, tx after the confirmation)
 *                        responding --confirm.accepted--> current (activateTx)   --after confirmTimeout--> current | idle
 *                        responding --response.accepted--> current (both initiated at once: ours completed too; the
 *                                   router with `rekeysFirst` counts as the initiator, so only one of them rekeys first)
 *                        current --after rekeyAfter (initiator) or rekeyAfter + 30 s (responder)--> initiating
 *                        current --usage, packets >= rekeyAfterPackets--> initiating
 *                        backoff --after giveUpBackoff--> initiating
 *   stop --> stopped (final, dropKeys)
 * Old keys stay accepted for `overlapMs` after the new ones are sent with (a parameter of installKeys; the
 * data path keeps the previous rx key slot that long), so a rekey drops nothing.
 */
import { assign, raise, setup, stateIn } from 'xstate';

/** What the machine needs to know of a completed handshake (crypto/handshake.ts SessionKeys). */
export interface ExchangedKeys {
  readonly initiator: boolean;
  readonly localIndex: number;
  readonly remoteIndex: number;
}

export interface KeyExchangeTimings {
  /** the initiator of the current keys rekeys after this (WireGuard REKEY_AFTER_TIME, 120 s) */
  rekeyAfterMs: number;
  /** keys are dropped this long after they were installed (REJECT_AFTER_TIME, 180 s) */
  rejectAfterMs: number;
  /** an initiation is repeated after this without a response (REKEY_TIMEOUT, 5 s) */
  retryMs: number;
  /** retries stop after this (REKEY_ATTEMPT_TIME, 90 s) ... */
  attemptMs: number;
  /** ... and start again this much later */
  giveUpBackoffMs: number;
  /** a response waits this long for its confirmation */
  confirmTimeoutMs: number;
  /** a rekey is due after this many packets under one key (REKEY_AFTER_MESSAGES) */
  rekeyAfterPackets: number;
  /** previous keys stay accepted this long after the switch */
  overlapMs: number;
}

export const KEY_EXCHANGE_DEFAULTS: Readonly<KeyExchangeTimings> = Object.freeze({
  rekeyAfterMs: 120_000,
  rejectAfterMs: 180_000,
  retryMs: 5_000,
  attemptMs: 90_000,
  giveUpBackoffMs: 30_000,
  confirmTimeoutMs: 10_000,
  rekeyAfterPackets: 2 ** 31,
  overlapMs: 30_000,
});

/** The responder of the current keys waits this much longer before it rekeys on time (fewer crossed initiations). */
export const RESPONDER_REKEY_LAG_MS = 30_000;

export interface KeyExchangeInput {
  path: number;
  timings?: Partial<KeyExchangeTimings>;
  /** after crossed handshakes (both routers initiated at once), whether this router rekeys first (the two
   *  routers must disagree: e.g. the one with the lower public key); default true */
  rekeysFirst?: boolean;
}

export interface KeyExchangeContext {
  path: number;
  t: KeyExchangeTimings;
  /** initiations sent in the current attempt */
  attempt: number;
  /** we initiated the keys in use (so we rekey first) */
  initiatedCurrent: boolean;
  /** crossed handshakes: whether we count as their initiator */
  rekeysFirst: boolean;
  /** keys installed so far (0: none yet) */
  generations: number;
}

export type KeyExchangeEvent =
  | { type: 'start' }
  | { type: 'stop' }
  /** the peer's response to our initiation authenticated: keys, and the confirmation to send */
  | { type: 'response.accepted'; keys: ExchangedKeys; confirm: Uint8Array }
  /** an initiation from the peer authenticated (mac1, load, static key, timestamp): keys and our response */
  | { type: 'initiation.accepted'; keys: ExchangedKeys; response: Uint8Array }
  /** the peer confirmed the keys of our last response */
  | { type: 'confirm.accepted'; localIndex: number }
  /** packets sent under the current keys (the data path's count) */
  | { type: 'usage'; packets: number }
  | { type: 'keys.new' };

export type KeyExchangeOutcome = 'established' | 'rekeyed' | 'gave-up' | 'expired';

export const keyExchangeMachine = setup({
  types: {} as { input: KeyExchangeInput; context: KeyExchangeContext; events: KeyExchangeEvent },
  delays: {
    retry: ({ context }) => context.t.retryMs,
    rejectAfter: ({ context }) => context.t.rejectAfterMs,
    rekeyAfter: ({ context }) => context.t.rekeyAfterMs + (context.initiatedCurrent ? 0 : RESPONDER_REKEY_LAG_MS),
    giveUpBackoff: ({ context }) => context.t.giveUpBackoffMs,
    confirmTimeout: ({ context }) => context.t.confirmTimeoutMs,
  },
  guards: {
    attemptsLeft: ({ context }) => (context.attempt + 1) * context.t.retryMs < context.t.attemptMs,
    overUsed: ({ context, event }) => event.type === 'usage' && event.packets >= context.t.rekeyAfterPackets,
    keysLive: stateIn({ running: { keys: 'live' } }),
  },
  actions: {
    /** build and send an initiation (a new local index; the driver keeps the initiator state) */
    initiate: (_, _params: { path: number; attempt: number }) => {},
    /** send handshake bytes on the path (a response or a confirmation) */
    send: (_, _params: { path: number; bytes: Uint8Array }) => {},
    /** install the keys: rx at once, tx now (`activate`) or after the confirmation; older keys kept `overlapMs` */
    installKeys: (_, _params: { path: number; keys: ExchangedKeys; activate: boolean; overlapMs: number }) => {},
    /** the confirmation came: send with the keys of our response */
    activateTx: (_, _params: { path: number; localIndex: number; overlapMs: number }) => {},
    /** the keys expired (or the path went away): stop sending and accepting under them */
    dropKeys: (_, _params: { path: number }) => {},
    /** counters, events, logs */
    record: (_, _params: { path: number; outcome: KeyExchangeOutcome; attempt: number }) => {},
  },
}).createMachine({
  id: 'keyExchange',
  context: ({ input }) => ({
    path: input.path, t: { ...KEY_EXCHANGE_DEFAULTS, ...input.timings }, attempt: 0, initiatedCurrent: false, rekeysFirst: input.rekeysFirst ?? true, generations: 0,
  }),
  initial: 'running',
  states: {
    stopped: { type: 'final', entry: { type: 'dropKeys', params: ({ context }) => ({ path: context.path }) } },
    running: {
      type: 'parallel',
      on: { stop: 'stopped' },
      states: {
        keys: {
          initial: 'none',
          states: {
            none: { on: { 'keys.new': 'live' } },
            live: {
              on: { 'keys.new': { target: 'live', reenter: true } },
              after: {
                rejectAfter: {
                  target: 'none',
                  actions: [
                    { type: 'dropKeys', params: ({ context }) => ({ path: context.path }) },
                    { type: 'record', params: ({ context }) => ({ path: context.path, outcome: 'expired' as const, attempt: context.attempt }) },
                  ],
                },
              },
            },
          },
        },
        exchange: {
          initial: 'idle',
          on: {
            'initiation.accepted': {
              target: '.responding',
              reenter: true,
              actions: [
                { type: 'send', params: ({ context, event }) => ({ path: context.path, bytes: event.response }) },
                { type: 'installKeys', params: ({ context, event }) => ({ path: context.path, keys: event.keys, activate: false, overlapMs: context.t.overlapMs }) },
              ],
            },
          },
          states: {
            idle: { on: { start: 'initiating' } },
            initiating: {
              entry: [
                { type: 'initiate', params: ({ context }) => ({ path: context.path, attempt: context.attempt }) },
              ],
              after: {
                retry: [
                  { guard: 'attemptsLeft', target: 'initiating', reenter: true, actions: assign({ attempt: ({ context }) => context.attempt + 1 }) },
                  {
                    target: 'backoff',
                    actions: [
                      { type: 'record', params: ({ context }) => ({ path: context.path, outcome: 'gave-up' as const, attempt: context.attempt }) },
                      assign({ attempt: 0 }),
                    ],
                  },
                ],
              },
              on: {
                'response.accepted': {
                  target: 'current',
                  actions: [
                    { type: 'installKeys', params: ({ context, event }) => ({ path: context.path, keys: event.keys, activate: true, overlapMs: context.t.overlapMs }) },
                    { type: 'send', params: ({ context, event }) => ({ path: context.path, bytes: event.confirm }) },
                    { type: 'record', params: ({ context }) => ({ path: context.path, outcome: context.generations === 0 ? 'established' as const : 'rekeyed' as const, attempt: context.attempt }) },
                    assign({ attempt: 0, initiatedCurrent: true, generations: ({ context }) => context.generations + 1 }),
                    raise({ type: 'keys.new' }),
                  ],
                },
              },
            },
            responding: {
              on: {
                'confirm.accepted': {
                  target: 'current',
                  actions: [
                    { type: 'activateTx', params: ({ context, event }) => ({ path: context.path, localIndex: event.localIndex, overlapMs: context.t.overlapMs }) },
                    { type: 'record', params: ({ context }) => ({ path: context.path, outcome: context.generations === 0 ? 'established' as const : 'rekeyed' as const, attempt: 0 }) },
                    assign({ attempt: 0, initiatedCurrent: false, generations: ({ context }) => context.generations + 1 }),
                    raise({ type: 'keys.new' }),
                  ],
                },
                'response.accepted': {
                  // both routers initiated at once: ours completed too; its keys are as good
                  target: 'current',
                  actions: [
                    { type: 'installKeys', params: ({ context, event }) => ({ path: context.path, keys: event.keys, activate: true, overlapMs: context.t.overlapMs }) },
                    { type: 'send', params: ({ context, event }) => ({ path: context.path, bytes: event.confirm }) },
                    { type: 'record', params: ({ context }) => ({ path: context.path, outcome: context.generations === 0 ? 'established' as const : 'rekeyed' as const, attempt: context.attempt }) },
                    assign({ attempt: 0, initiatedCurrent: ({ context }) => context.rekeysFirst, generations: ({ context }) => context.generations + 1 }),
                    raise({ type: 'keys.new' }),
                  ],
                },
              },
              after: { confirmTimeout: [{ guard: 'keysLive', target: 'current' }, { target: 'idle' }] },
            },
            current: {
              after: { rekeyAfter: 'initiating' },
              on: { usage: { guard: 'overUsed', target: 'initiating' } },
            },
            backoff: { after: { giveUpBackoff: 'initiating' } },
          },
        },
      },
    },
  },
});
