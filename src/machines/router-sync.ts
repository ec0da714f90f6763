/**
 * Router sync (at the conductor): where one managed router stands against the authority's head version
 * (ssr-reference §1.12, `show assets`).
 *
 *   disconnected --channel.opened--> connecting --router.hello--> synchronized (at the head)
 *                                                             \-> synchronizing (behind: pushVersion)
 *   synchronizing --router.activated (head)--> synchronized;  --router.refused--> outOfSync (alarm)
 *   synchronized --version.committed--> synchronizing (the commit activates it, or pushVersion)
 *   disconnected --version.committed--> outOfSync (offline at commit time: alarm); back online it is
 *   pushed the head on hello. A closed channel: disconnected when at the head, else outOfSync.
 *
 * Effects are named actions (fleet.ts provides them): pushVersion, raiseAlarm, clearAlarm.
 */
import { assign, setup } from 'xstate';

export interface RouterSyncInput {
  router: string;
  assetId: string;
  head: number;
  /** the version the router last reported running (null: never seen) */
  running: number | null;
}

export interface RouterSyncContext extends RouterSyncInput {
  connected: boolean;
  lastError?: string;
}

export type RouterSyncEvent =
  | { type: 'channel.opened' }
  | { type: 'channel.closed' }
  | { type: 'router.hello'; running: number | null }
  /** `activating`: the commit itself activates this router (it prepared the version) */
  | { type: 'version.committed'; version: number; activating: boolean }
  | { type: 'router.activated'; version: number }
  | { type: 'router.refused'; version: number; message: string };

export type SyncAlarm = 'out-of-sync' | 'refused' | 'disconnected';

export const routerSyncMachine = setup({
  types: {} as { input: RouterSyncInput; context: RouterSyncContext; events: RouterSyncEvent },
  actions: {
    /** send the head version to the router (it validates, then activates it) */
    pushVersion: (_, _params: { router: string; version: number }) => {},
    raiseAlarm: (_, _params: { router: string; alarm: SyncAlarm; message: string }) => {},
    clearAlarm: (_, _params: { router: string; alarm: SyncAlarm }) => {},
    opened: assign({ connected: true }),
    closed: assign({ connected: false }),
    hello: assign({ running: ({ event }) => (event.type === 'router.hello' ? event.running : null) }),
    head: assign({ head: ({ context, event }) => (event.type === 'version.committed' ? event.version : context.head) }),
    activated: assign({
      running: ({ context, event }) => (event.type === 'router.activated' ? event.version : context.running),
      lastError: undefined,
    }),
    refused: assign({ lastError: ({ event }) => (event.type === 'router.refused' ? `version ${event.version}: ${event.message}` : undefined) }),
  },
  guards: {
    helloAtHead: ({ context, event }) => event.type === 'router.hello' && event.running === context.head,
    activatedHead: ({ context, event }) => event.type === 'router.activated' && event.version >= context.head,
    behind: ({ context }) => context.running !== context.head,
    commitBehind: ({ context, event }) => event.type === 'version.committed' && event.version !== context.running,
    activating: ({ event }) => event.type === 'version.committed' && event.activating,
    connected: ({ context }) => context.connected,
  },
}).createMachine({
  id: 'routerSync',
  context: ({ input }) => ({ ...input, connected: false }),
  initial: 'deciding',
  states: {
    deciding: {
      always: [{ guard: 'behind', target: 'outOfSync' }, { target: 'disconnected' }],
    },
    disconnected: {
      on: {
        'channel.opened': { target: 'connecting', actions: ['opened', { type: 'clearAlarm', params: ({ context }) => ({ router: context.router, alarm: 'disconnected' as const }) }] },
        'version.committed': {
          guard: 'commitBehind',
          target: 'outOfSync',
          actions: ['head', { type: 'raiseAlarm', params: ({ context, event }) => ({ router: context.router, alarm: 'out-of-sync' as const, message: `offline when version ${event.version} was committed; it gets it when it reconnects` }) }],
        },
      },
    },
    connecting: {
      on: {
        'router.hello': [
          { guard: 'helloAtHead', target: 'synchronized', actions: ['hello', { type: 'clearAlarm', params: ({ context }) => ({ router: context.router, alarm: 'out-of-sync' as const }) }] },
          { target: 'synchronizing', actions: ['hello', { type: 'pushVersion', params: ({ context }) => ({ router: context.router, version: context.head }) }] },
        ],
        'version.committed': { actions: 'head' },
        'channel.closed': [{ guard: 'behind', target: 'outOfSync', actions: 'closed' }, { target: 'disconnected', actions: 'closed' }],
      },
    },
    synchronizing: {
      on: {
        'router.activated': [
          { guard: 'activatedHead', target: 'synchronized', actions: ['activated', { type: 'clearAlarm', params: ({ context }) => ({ router: context.router, alarm: 'out-of-sync' as const }) }, { type: 'clearAlarm', params: ({ context }) => ({ router: context.router, alarm: 'refused' as const }) }] },
          { actions: ['activated', { type: 'pushVersion', params: ({ context }) => ({ router: context.router, version: context.head }) }] },
        ],
        'router.refused': {
          target: 'outOfSync',
          actions: ['refused', { type: 'raiseAlarm', params: ({ context, event }) => ({ router: context.router, alarm: 'refused' as const, message: `refused version ${event.version}: ${event.message}` }) }],
        },
        'version.committed': [
          { guard: 'activating', actions: 'head' },
          { actions: ['head', { type: 'pushVersion', params: ({ context, event }) => ({ router: context.router, version: event.version }) }] },
        ],
        'channel.closed': {
          target: 'outOfSync',
          actions: ['closed', { type: 'raiseAlarm', params: ({ context }) => ({ router: context.router, alarm: 'out-of-sync' as const, message: `disconnected before it activated version ${context.head}` }) }],
        },
      },
    },
    synchronized: {
      on: {
        'version.committed': [
          { guard: 'activating', target: 'synchronizing', actions: 'head' },
          { target: 'synchronizing', actions: ['head', { type: 'pushVersion', params: ({ context, event }) => ({ router: context.router, version: event.version }) }] },
        ],
        'router.activated': { actions: 'activated' },
        'channel.closed': {
          target: 'disconnected',
          actions: ['closed', { type: 'raiseAlarm', params: ({ context }) => ({ router: context.router, alarm: 'disconnected' as const, message: 'the channel to the conductor closed' }) }],
        },
      },
    },
    outOfSync: {
      on: {
        'channel.opened': { target: 'connecting', actions: ['opened', { type: 'clearAlarm', params: ({ context }) => ({ router: context.router, alarm: 'disconnected' as const }) }] },
        'channel.closed': { actions: 'closed' },
        'version.committed': [
          { guard: 'connected', target: 'synchronizing', actions: ['head', { type: 'pushVersion', params: ({ context, event }) => ({ router: context.router, version: event.version }) }] },
          { actions: 'head' },
        ],
        'router.activated': [
          { guard: 'activatedHead', target: 'synchronized', actions: ['activated', { type: 'clearAlarm', params: ({ context }) => ({ router: context.router, alarm: 'out-of-sync' as const }) }] },
          { actions: 'activated' },
        ],
      },
    },
  },
});

/** The status words `svr conductor show routers` prints for each state. */
export const SYNC_STATUS: Record<string, string> = {
  disconnected: 'disconnected',
  connecting: 'connected',
  synchronizing: 'synchronizing',
  synchronized: 'synchronized',
  outOfSync: 'out of sync',
};
