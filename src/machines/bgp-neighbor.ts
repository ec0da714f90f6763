/**
 * BGP neighbour (docs/routing.md): its state as FRR's bgpd reports it, read by the node every few seconds
 * (`show bgp neighbors json`), turned into one up/down report per change (the node raises or clears the
 * `bgp-neighbor-down:<address>` alarm).
 *
 *   starting --Established--> established --not Established--> down --Established--> established
 *   starting --not Established, `graceReadings` times (a session still coming up at start)--> down
 *
 * RFC 4271 §8.2.2: only Established carries routes; Idle, Connect, Active, OpenSent and OpenConfirm do not.
 */
import { assign, setup } from 'xstate';

export interface BgpNeighborInput {
  address: string;
  remoteAs: number;
  /** readings that may say "not established" at start before it counts as down */
  graceReadings: number;
}

export interface BgpNeighborContext extends BgpNeighborInput {
  readings: number;
  /** the last state bgpd named, and its last reset reason */
  state: string;
  reason?: string;
}

/** one reading of bgpd: `state` as FRR names it (`Established`, `Active`, ...; `absent` when bgpd does not list it) */
export type BgpNeighborEvent = { type: 'bgp.state'; state: string; reason?: string };

export const bgpNeighborMachine = setup({
  types: {} as { input: BgpNeighborInput; context: BgpNeighborContext; events: BgpNeighborEvent },
  actions: {
    /** up or down (the node provides it: clears or raises the alarm) */
    report: (_, _params: { address: string; remoteAs: number; up: boolean; state: string; reason?: string }) => {},
    note: assign({
      readings: ({ context }) => context.readings + 1,
      state: ({ event }) => event.state,
      reason: ({ event }) => event.reason,
    }),
  },
  guards: {
    established: ({ event }) => event.state === 'Established',
    graceOver: ({ context }) => context.readings + 1 >= context.graceReadings,
  },
}).createMachine({
  id: 'bgpNeighbor',
  context: ({ input }) => ({ ...input, readings: 0, state: 'unknown' }),
  initial: 'starting',
  states: {
    starting: {
      on: {
        'bgp.state': [
          { guard: 'established', target: 'established', actions: 'note' },
          { guard: 'graceOver', target: 'down', actions: 'note' },
          { actions: 'note' },
        ],
      },
    },
    established: {
      entry: { type: 'report', params: ({ context }) => ({ address: context.address, remoteAs: context.remoteAs, up: true, state: context.state }) },
      on: { 'bgp.state': { guard: ({ event }) => event.state !== 'Established', target: 'down', actions: 'note' } },
    },
    down: {
      entry: {
        type: 'report',
        params: ({ context }) => ({ address: context.address, remoteAs: context.remoteAs, up: false, state: context.state, ...(context.reason !== undefined ? { reason: context.reason } : {}) }),
      },
      on: { 'bgp.state': [{ guard: 'established', target: 'established', actions: 'note' }, { actions: 'note' }] },
    },
  },
});
