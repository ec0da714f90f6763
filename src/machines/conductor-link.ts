/**
 * Conductor link (at the router): the router's channel to its conductors. It dials the conductor URLs in
 * turn (a standby names the leader, which is dialled next), backs off between failures, and stays
 * connected until the channel closes.
 *
 *   connecting --channel.opened--> connected --channel.closed--> waiting --after backoff--> connecting (next URL)
 *   connecting --channel.failed--> waiting;  connecting --channel.redirected (leader URL)--> connecting (the leader)
 *
 * Effects are named actions (agent/channel.ts provides them): dial, report.
 */
import { assign, setup } from 'xstate';

export interface ConductorLinkInput {
  conductors: readonly string[];
}

export interface ConductorLinkContext extends ConductorLinkInput {
  index: number;
  /** failures since the last good connection */
  tries: number;
  /** a URL a standby gave us (the leader); dialled once before the list */
  leader?: string;
  lastError?: string;
}

export type ConductorLinkEvent =
  | { type: 'channel.opened' }
  | { type: 'channel.failed'; message: string }
  | { type: 'channel.redirected'; leader: string }
  | { type: 'channel.closed'; message: string };

/** Back-off before dialling again: 0.25 s doubling to 5 s (a conductor that is back is found quickly). */
export const linkBackoffMs = (tries: number): number => Math.min(5_000, 250 * 2 ** Math.min(tries, 10));

export const conductorLinkMachine = setup({
  types: {} as { input: ConductorLinkInput; context: ConductorLinkContext; events: ConductorLinkEvent },
  actions: {
    dial: (_, _params: { url: string }) => {},
    report: (_, _params: { state: 'connected' | 'disconnected'; message: string }) => {},
    failed: assign({
      tries: ({ context }) => context.tries + 1,
      index: ({ context }) => context.index + 1,
      leader: undefined,
      lastError: ({ event }) => (event.type === 'channel.failed' || event.type === 'channel.closed' ? event.message : undefined),
    }),
  },
  delays: { backoff: ({ context }) => linkBackoffMs(context.tries) },
}).createMachine({
  id: 'conductorLink',
  context: ({ input }) => ({ ...input, index: 0, tries: 0 }),
  initial: 'connecting',
  states: {
    connecting: {
      entry: { type: 'dial', params: ({ context }) => ({ url: context.leader ?? context.conductors[context.index % context.conductors.length]! }) },
      on: {
        'channel.opened': { target: 'connected', actions: assign({ tries: 0, leader: undefined, lastError: undefined }) },
        'channel.failed': { target: 'waiting', actions: 'failed' },
        'channel.redirected': [
          // a standby names the leader: dial it at once, but only once per failure round
          { guard: ({ context, event }) => context.leader === undefined && event.leader !== '', target: 'connecting', reenter: true, actions: assign({ leader: ({ event }) => event.leader }) },
          { target: 'waiting', actions: 'failed' },
        ],
      },
    },
    connected: {
      entry: { type: 'report', params: { state: 'connected' as const, message: '' } },
      on: { 'channel.closed': { target: 'waiting', actions: 'failed' } },
    },
    waiting: {
      entry: { type: 'report', params: ({ context }) => ({ state: 'disconnected' as const, message: context.lastError ?? '' }) },
      after: { backoff: 'connecting' },
    },
  },
});
