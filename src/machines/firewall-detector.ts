/**
 * The firewall detector of one peer path (ssr-reference §1.2 "Firewall detector + UDP transform"), a pure
 * XState machine: does a middlebox on the path drop TCP that SVR sends (a SYN carrying data, a segment of a
 * flow whose SYN it never saw, a big SYN)? If so, new TCP sessions on the path are carried as UDP.
 *
 *   mode always-transform -> transforming (announced once)        mode disabled -> off
 *   auto-detect: down --path.up--> probing --all kinds answered--> waiting --detectIntervalMs--> probing
 *                probing --probeWaitMs, attempts left--> probing (a new round)
 *                probing --probeWaitMs, last attempt--> waiting (verdict)      any --path.down--> down
 *
 * An attempt sends one probe of each kind (`sendProbes({ round })`); the peer answers each probe that
 * arrives on the path's control channel (UDP, which the middlebox passes). A kind is blocked when it went
 * unanswered in every one of MAX_ATTEMPTS attempts, so a lost probe or answer is not taken for a firewall.
 * A verdict (`verdict({ transform, blocked, changed })`) ends each episode; transform = some kind blocked.
 * A path that goes down keeps its last verdict (the data path keeps transforming) until the next episode.
 * The peer probes its own direction and tells us its verdict (`peer.verdict`, the kinds it found blocked):
 * the transform is on while either direction has a firewall, so a firewall that drops only the peer's TCP
 * (which our sessions' replies are) moves our sessions too; a peer verdict that changes the transform is a
 * verdict of its own (blocked = ours, unchanged). Under always-transform and disabled it changes nothing.
 */
import { assign, setup } from 'xstate';

/** The probes, as SSR's `show udp-transform` names their reasons. Bit k of a mask is PROBE_KINDS[k]. */
import { PROBE_KINDS, type ProbeKind } from '../packet/path-message.js';
export { PROBE_KINDS, type ProbeKind };
export const PROBE_REASONS: Record<ProbeKind, string> = { 'tcp-syn': 'TCP SYN', 'mid-flow': 'Mid-flow', 'tcp-syn-jumbo': 'TCP SYN Jumbo' };
export const ALL_KINDS = (1 << PROBE_KINDS.length) - 1;
/** Attempts per episode before a kind missing in all of them counts as blocked. */
export const MAX_ATTEMPTS = 3;
/** How long an attempt waits for the answers, ms. */
export const PROBE_WAIT_MS = 1000;

/** `udp-transform.mode` (model/config.ts UdpTransformMode) */
export type DetectorMode = 'auto-detect' | 'always-transform' | 'disabled';

export interface DetectorInput {
  mode: DetectorMode;
  detectIntervalMs: number;
}

export interface DetectorContext {
  mode: DetectorMode;
  detectIntervalMs: number;
  /** the current attempt's round number (answers of other rounds are ignored) */
  round: number;
  /** attempts so far in this episode */
  attempt: number;
  /** kinds answered in the current attempt */
  answered: number;
  /** kinds unanswered in every attempt of this episode so far */
  missing: number;
  /** the last verdict: new TCP sessions are carried as UDP */
  transform: boolean;
  /** kinds blocked at the last verdict */
  blocked: number;
  /** verdicts so far */
  episodes: number;
  /** the kinds the peer found blocked in its direction (its last verdict message; 0 = clean or none yet) */
  peerBlocked: number;
}

export type DetectorEvent =
  | { type: 'path.up' }
  | { type: 'path.down' }
  | { type: 'probe.answered'; round: number; kind: number }
  | { type: 'peer.verdict'; blocked: number };

export interface DetectorVerdict {
  transform: boolean;
  blocked: number;
  /** the transform turned on or off with this verdict */
  changed: boolean;
}

/** Whether new TCP sessions are carried as UDP: our last verdict or the peer's found a firewall. */
const combined = (c: DetectorContext): boolean => c.transform || c.peerBlocked !== 0;

/** The verdict of the attempts so far (after endAttempt, before conclude: `transform` is still the previous one). */
const VERDICT = {
  type: 'verdict' as const,
  params: ({ context }: { context: DetectorContext }): DetectorVerdict => {
    const transform = context.missing !== 0 || context.peerBlocked !== 0;
    return { transform, blocked: context.missing, changed: transform !== combined(context) };
  },
};

const peerMask = (e: DetectorEvent): number => (e.type === 'peer.verdict' ? e.blocked & ALL_KINDS : 0);

/** The peer's verdict changed ours (before recordPeer). */
const PEER_VERDICT = {
  type: 'verdict' as const,
  params: ({ context, event }: { context: DetectorContext; event: DetectorEvent }): DetectorVerdict => {
    const transform = context.transform || peerMask(event) !== 0;
    return { transform, blocked: context.blocked, changed: transform !== combined(context) };
  },
};

/** A peer verdict message in the states that follow verdicts (auto-detect): recorded, and a verdict when it changes the transform. */
const ON_PEER = {
  'peer.verdict': [
    { guard: 'peerFlips' as const, actions: [PEER_VERDICT, 'recordPeer' as const] },
    { actions: 'recordPeer' as const },
  ],
};

const kindBit = (e: DetectorEvent): number => (e.type === 'probe.answered' && e.kind >= 0 && e.kind < PROBE_KINDS.length ? 1 << e.kind : 0);

export const firewallDetectorMachine = setup({
  types: {} as { input: DetectorInput; context: DetectorContext; events: DetectorEvent },
  delays: {
    probeWait: PROBE_WAIT_MS,
    detectInterval: ({ context }) => context.detectIntervalMs,
  },
  guards: {
    always: ({ context }) => context.mode === 'always-transform',
    disabled: ({ context }) => context.mode === 'disabled',
    thisRound: ({ context, event }) => event.type === 'probe.answered' && event.round === context.round && kindBit(event) !== 0,
    completesRound: ({ context, event }) => event.type === 'probe.answered' && event.round === context.round && (context.answered | kindBit(event)) === ALL_KINDS,
    attemptsLeft: ({ context }) => context.attempt < MAX_ATTEMPTS && (context.missing & ~context.answered) !== 0,
    peerFlips: ({ context, event }) => (context.transform || peerMask(event) !== 0) !== combined(context),
  },
  actions: {
    /** send one probe of each kind, numbered `round` */
    sendProbes: (_, _params: { round: number }) => {},
    /** the episode's verdict (control turns the data path's transform on or off, logs and counts) */
    verdict: (_, _params: DetectorVerdict) => {},
    startEpisode: assign({ attempt: 0, missing: ALL_KINDS }),
    startAttempt: assign({ round: ({ context }) => (context.round + 1) >>> 0, attempt: ({ context }) => context.attempt + 1, answered: 0 }),
    recordAnswer: assign({ answered: ({ context, event }) => context.answered | kindBit(event) }),
    endAttempt: assign({ missing: ({ context }) => context.missing & ~context.answered }),
    conclude: assign({
      transform: ({ context }) => context.missing !== 0,
      blocked: ({ context }) => context.missing,
      episodes: ({ context }) => context.episodes + 1,
    }),
    transformAlways: assign({ transform: true }),
    recordPeer: assign({ peerBlocked: ({ event }) => peerMask(event) }),
  },
}).createMachine({
  id: 'firewall-detector',
  context: ({ input }) => ({
    mode: input.mode, detectIntervalMs: input.detectIntervalMs, round: 0, attempt: 0, answered: 0, missing: ALL_KINDS, transform: false, blocked: 0, episodes: 0, peerBlocked: 0,
  }),
  initial: 'start',
  states: {
    start: {
      always: [
        { guard: 'always', target: 'transforming' },
        { guard: 'disabled', target: 'off' },
        { target: 'down' },
      ],
    },
    off: {},
    transforming: {
      entry: ['transformAlways', { type: 'verdict', params: { transform: true, blocked: 0, changed: true } }],
    },
    down: {
      on: { 'path.up': { target: 'probing', actions: 'startEpisode' }, ...ON_PEER },
    },
    probing: {
      entry: ['startAttempt', { type: 'sendProbes', params: ({ context }) => ({ round: context.round }) }],
      on: {
        'probe.answered': [
          { guard: 'completesRound', target: 'waiting', actions: ['recordAnswer', 'endAttempt', VERDICT, 'conclude'] },
          { guard: 'thisRound', actions: 'recordAnswer' },
        ],
        'path.down': 'down',
        ...ON_PEER,
      },
      after: {
        probeWait: [
          { guard: 'attemptsLeft', target: 'probing', reenter: true, actions: 'endAttempt' },
          { target: 'waiting', actions: ['endAttempt', VERDICT, 'conclude'] },
        ],
      },
    },
    waiting: {
      on: { 'path.down': 'down', ...ON_PEER },
      after: { detectInterval: { target: 'probing', actions: 'startEpisode' } },
    },
  },
});
