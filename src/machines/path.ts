/**
 * Path lifecycle of one peer path (ssr-reference §1.3 "Hold-down"), a pure XState machine: whether the
 * path may carry sessions. BFD Up is necessary, not sufficient: a path that went down (a flap) must stay
 * up for the hold-down time before it is usable again, so a flapping path stays unusable. The first time
 * BFD comes up the path is usable at once: there is nothing to damp yet.
 *
 *   down --bfd.up (never flapped)--> usable
 *   down --bfd.up (after a flap)---> holdingDown --after holdDownMs--> usable
 *   holdingDown --bfd.down--> down        usable --bfd.down--> down   (both count a flap)
 *
 * Events carry their time (`atMs`), so uptime and the hold-down left are read from the context.
 * Action: `announce({ usable, reason })` on every usable <-> unusable change, once per change.
 * `path.configure` takes a new hold-down time from the next hold-down on.
 * `path.resume` (a router pair's node takes over, docs/high-availability.md): the path was down because this
 * node was standby, not because it flapped: its next BFD Up (or a hold-down running) makes it usable at once.
 * `path.peerStandby` (the far end is a pair's standby node: its BFD Up packets carry Diag `pairStandby`,
 * docs/high-availability.md "Per-node WAN interfaces"): the path is Up but not usable (`standby`); the far end
 * taking over makes it usable at once (it did not flap):
 *
 *   usable --peerStandby(true)--> standby --peerStandby(false)--> usable      standby --bfd.down--> down (a flap)
 *   anything that would make the path usable leads to standby while the far end is standby
 */
import { assign, setup } from 'xstate';

export interface PathInput {
  holdDownMs: number;
}

export interface PathContext {
  holdDownMs: number;
  /** BFD up -> down transitions so far */
  flaps: number;
  /** since when BFD is up (ms), undefined while down */
  upSinceMs: number | undefined;
  /** the hold-down ends at this time (ms) while it runs */
  holdDownUntilMs: number | undefined;
  /** a pair's node took over: the next BFD Up is usable at once */
  resumed: boolean;
  /** the far end says it is a pair's standby node */
  peerStandby: boolean;
}

export type PathEvent =
  | { type: 'bfd.up'; atMs: number }
  | { type: 'bfd.down'; atMs: number }
  | { type: 'path.configure'; holdDownMs: number }
  | { type: 'path.resume' }
  | { type: 'path.peerStandby'; standby: boolean };

export type UsableReason = 'bfd-up' | 'bfd-down' | 'hold-down-over' | 'peer-standby' | 'peer-active';

/** A usable <-> unusable change, with since when BFD is up (undefined when it went down). */
export interface PathAnnouncement {
  usable: boolean;
  reason: UsableReason;
  upSinceMs: number | undefined;
}

export const pathMachine = setup({
  types: {} as { input: PathInput; context: PathContext; events: PathEvent },
  delays: {
    holdDown: ({ context }) => context.holdDownMs,
  },
  guards: {
    flappedBefore: ({ context }) => context.flaps > 0 && !context.resumed,
    peerStandby: ({ context }) => context.peerStandby,
    becomesStandby: ({ event }) => event.type === 'path.peerStandby' && event.standby,
    becomesActive: ({ event }) => event.type === 'path.peerStandby' && !event.standby,
  },
  actions: {
    /** the path became usable or unusable (the supervisor publishes it to the data path) */
    announce: (_, _params: PathAnnouncement) => {},
    wentUp: assign({ upSinceMs: ({ event }) => (event.type === 'bfd.up' ? event.atMs : undefined), resumed: false }),
    startHoldDown: assign({ holdDownUntilMs: ({ context, event }) => (event.type === 'bfd.up' ? event.atMs + context.holdDownMs : undefined) }),
    wentDown: assign({ flaps: ({ context }) => context.flaps + 1, upSinceMs: undefined, holdDownUntilMs: undefined }),
    endHoldDown: assign({ holdDownUntilMs: undefined }),
    configure: assign({ holdDownMs: ({ context, event }) => (event.type === 'path.configure' ? event.holdDownMs : context.holdDownMs) }),
    setPeerStandby: assign({ peerStandby: ({ context, event }) => (event.type === 'path.peerStandby' ? event.standby : context.peerStandby) }),
  },
}).createMachine({
  id: 'path',
  context: ({ input }) => ({ holdDownMs: input.holdDownMs, flaps: 0, upSinceMs: undefined, holdDownUntilMs: undefined, resumed: false, peerStandby: false }),
  initial: 'down',
  on: { 'path.configure': { actions: 'configure' }, 'path.peerStandby': { actions: 'setPeerStandby' } },
  states: {
    down: {
      on: {
        'path.resume': { actions: assign({ resumed: true }) },
        'bfd.up': [
          { guard: 'flappedBefore', target: 'holdingDown', actions: ['wentUp', 'startHoldDown'] },
          { guard: 'peerStandby', target: 'standby', actions: 'wentUp' },
          { target: 'usable', actions: ['wentUp', { type: 'announce', params: ({ context }) => ({ usable: true, reason: 'bfd-up' as const, upSinceMs: context.upSinceMs }) }] },
        ],
      },
    },
    holdingDown: {
      on: {
        'bfd.down': { target: 'down', actions: 'wentDown' },
        'path.resume': [
          { guard: 'peerStandby', target: 'standby', actions: 'endHoldDown' },
          { target: 'usable', actions: ['endHoldDown', { type: 'announce', params: ({ context }) => ({ usable: true, reason: 'bfd-up' as const, upSinceMs: context.upSinceMs }) }] },
        ],
      },
      after: {
        holdDown: [
          { guard: 'peerStandby', target: 'standby', actions: 'endHoldDown' },
          { target: 'usable', actions: ['endHoldDown', { type: 'announce', params: ({ context }) => ({ usable: true, reason: 'hold-down-over' as const, upSinceMs: context.upSinceMs }) }] },
        ],
      },
    },
    usable: {
      on: {
        'bfd.down': { target: 'down', actions: ['wentDown', { type: 'announce', params: { usable: false, reason: 'bfd-down' as const, upSinceMs: undefined } }] },
        'path.peerStandby': { guard: 'becomesStandby', target: 'standby', actions: ['setPeerStandby', { type: 'announce', params: ({ context }) => ({ usable: false, reason: 'peer-standby' as const, upSinceMs: context.upSinceMs }) }] },
      },
    },
    /** BFD Up, the far end a pair's standby node: no sessions here */
    standby: {
      on: {
        'bfd.down': { target: 'down', actions: 'wentDown' },
        'path.peerStandby': { guard: 'becomesActive', target: 'usable', actions: ['setPeerStandby', { type: 'announce', params: ({ context }) => ({ usable: true, reason: 'peer-active' as const, upSinceMs: context.upSinceMs }) }] },
      },
    },
  },
});

/** Time left in hold-down at `nowMs` (0 when none runs). */
export function holdDownRemainingMs(c: PathContext, nowMs: number): number {
  return c.holdDownUntilMs === undefined ? 0 : Math.max(0, c.holdDownUntilMs - nowMs);
}

/** Time since BFD came up (0 while down). */
export function uptimeMs(c: PathContext, nowMs: number): number {
  return c.upSinceMs === undefined ? 0 : Math.max(0, nowMs - c.upSinceMs);
}
