/**
 * Peer: a router this router can reach over one or more peer paths. Reachable while at least one path
 * is up (ssr-reference §1.3 "peer not reachable" when all paths are down).
 *
 * reachable <-> unreachable, driven by path.up / path.down facts from the paths (BFD usable or not). It
 * starts from the paths' state when it is created (at start, or when a config change adds the peer or
 * changes its paths): with BFD every path starts down, so a new peer is unreachable until a path is up.
 */
import { assign, setup } from 'xstate';

export interface PeerInput {
  name: string;
  /** the peer's paths and whether each is up now */
  paths: readonly { name: string; up: boolean }[];
}

export interface PeerContext {
  name: string;
  up: Record<string, boolean>;
}

export type PeerEvent = { type: 'path.up'; path: string } | { type: 'path.down'; path: string };

const anyUp = (up: Record<string, boolean>): boolean => Object.values(up).some(Boolean);

export const peerMachine = setup({
  types: {} as { input: PeerInput; context: PeerContext; events: PeerEvent },
  actions: {
    /** announces reachability changes (the control code provides it) */
    announce: (_, _params: { name: string; reachable: boolean }) => {},
    markPath: assign({
      up: ({ context, event }) => ({ ...context.up, [event.path]: event.type === 'path.up' }),
    }),
  },
  guards: {
    someUp: ({ context }) => anyUp(context.up),
    /** this path.down leaves no path up */
    lastPathDown: ({ context, event }) => !anyUp({ ...context.up, [event.path]: false }),
  },
}).createMachine({
  id: 'peer',
  context: ({ input }) => ({
    name: input.name,
    up: Object.fromEntries(input.paths.map((p) => [p.name, p.up])),
  }),
  initial: 'deciding',
  states: {
    deciding: {
      always: [{ guard: 'someUp', target: 'reachable' }, { target: 'unreachable' }],
    },
    reachable: {
      entry: { type: 'announce', params: ({ context }) => ({ name: context.name, reachable: true }) },
      on: {
        'path.up': { actions: 'markPath' },
        'path.down': [{ guard: 'lastPathDown', actions: 'markPath', target: 'unreachable' }, { actions: 'markPath' }],
      },
    },
    unreachable: {
      entry: { type: 'announce', params: ({ context }) => ({ name: context.name, reachable: false }) },
      on: { 'path.down': { actions: 'markPath' }, 'path.up': { actions: 'markPath', target: 'reachable' } },
    },
  },
});
