/**
 * Session episode: the life of one ingress session's metadata handshake (fact sheet §5.2–5.3), as a pure
 * XState machine. An actor exists only while the handshake is in flight; in steady state a session is a
 * table row with no actor (architecture §5.5).
 *
 * awaitingReverse --session.reverseSeen--> confirmed (final)
 *                 --after retry (200 ms x 2^tries, less `waitedMs` the first time)--> resendMetadata (a
 *                   health-check probe), tries + 1
 *                 --after the last retry--> failed (final): teardown, counted
 *                 --session.removed--> gone (final)
 */
import { assign, setup } from 'xstate';

export interface EpisodeInput {
  row: number;
  gen: number;
  sessionId: string;
  /** retries before giving up; default 4 (200 + 400 + 800 + 1600 ms) */
  maxTries?: number;
  /** first retry delay in ms; default 200 */
  baseDelayMs?: number;
  /** ms the handshake already waited before the actor was spawned (the supervisor watches the first
   *  intervals without an actor); counted against the next retry */
  waitedMs?: number;
  /** probes the supervisor already sent (its first, at the first retry); default 0 */
  tries?: number;
}

export interface EpisodeContext {
  row: number;
  gen: number;
  sessionId: string;
  tries: number;
  maxTries: number;
  baseDelayMs: number;
  waitedMs: number;
}

export type EpisodeEvent = { type: 'session.reverseSeen' } | { type: 'session.removed' };

export const sessionEpisode = setup({
  types: {} as { input: EpisodeInput; context: EpisodeContext; events: EpisodeEvent },
  delays: {
    retry: ({ context }) => Math.max(0, context.baseDelayMs * 2 ** context.tries - context.waitedMs),
  },
  guards: {
    triesLeft: ({ context }) => context.tries < context.maxTries,
  },
  actions: {
    /** asks the data path to send a health-check probe with the forward metadata again */
    resendMetadata: (_, _params: { row: number; gen: number }) => {},
    /** asks the data path to remove the session */
    teardown: (_, _params: { row: number; gen: number }) => {},
    /** records the outcome (counters, events) */
    record: (_, _params: { row: number; sessionId: string; outcome: 'confirmed' | 'failed' | 'gone'; tries: number }) => {},
  },
}).createMachine({
  id: 'sessionEpisode',
  context: ({ input }) => ({
    row: input.row,
    gen: input.gen,
    sessionId: input.sessionId,
    tries: input.tries ?? 0,
    maxTries: input.maxTries ?? 4,
    baseDelayMs: input.baseDelayMs ?? 200,
    waitedMs: input.waitedMs ?? 0,
  }),
  initial: 'awaitingReverse',
  states: {
    awaitingReverse: {
      on: {
        'session.reverseSeen': 'confirmed',
        'session.removed': 'gone',
      },
      after: {
        retry: [
          {
            guard: 'triesLeft',
            target: 'awaitingReverse',
            reenter: true,
            actions: [
              { type: 'resendMetadata', params: ({ context }) => ({ row: context.row, gen: context.gen }) },
              assign({ tries: ({ context }) => context.tries + 1, waitedMs: 0 }),
            ],
          },
          { target: 'failed' },
        ],
      },
    },
    confirmed: {
      type: 'final',
      entry: { type: 'record', params: ({ context }) => ({ row: context.row, sessionId: context.sessionId, outcome: 'confirmed' as const, tries: context.tries }) },
    },
    failed: {
      type: 'final',
      entry: [
        { type: 'teardown', params: ({ context }) => ({ row: context.row, gen: context.gen }) },
        { type: 'record', params: ({ context }) => ({ row: context.row, sessionId: context.sessionId, outcome: 'failed' as const, tries: context.tries }) },
      ],
    },
    gone: {
      type: 'final',
      entry: { type: 'record', params: ({ context }) => ({ row: context.row, sessionId: context.sessionId, outcome: 'gone' as const, tries: context.tries }) },
    },
  },
});
