/**
 * BFD session of one peer path, asynchronous mode (RFC 5880): a pure XState machine. It owns the
 * session state, the remote's advertised state and timers, the transmit and detection timers and the
 * poll sequence; it does no I/O. Its requests are named actions the actor provides:
 *
 *   sendControl(packet)       transmit one control packet to the peer
 *   publishState({state, diag}) the local session state changed
 *   discard({reason})         a received packet failed a session check of §6.8.6 (count it)
 *
 * The session states are adminDown | down | init | up (the §6.2 state machine). The periodic timers are not
 * the machine's: one schedule runs them for every path of a router (paths/bfd-schedule.ts), as RFC 5880
 * implementations do, and reads what it needs from the context:
 *   transmit   a packet `controlPacket(context, false)` every `transmitIntervalMs(context)` minus 0-25 %
 *              jitter, while `mayTransmit(context)`
 *   detection  while the session is in a `watching` state (`detectionWatched(snapshot)`), the schedule sends
 *              `bfd.detectionTimeExpired` once `detectionTimeMs(context)` passed without an accepted packet
 * The schedule also takes the steady-state packets that change nothing here (the fast path) without an event.
 *
 * Events: `bfd.rx` (a decoded packet), `bfd.detectionTimeExpired` (§6.8.4, from the schedule), `bfd.configure`
 * (new local timers), `bfd.adminDown`, `bfd.adminUp`,
 * `bfd.resume` (a router pair's node took over from its partner, docs/high-availability.md): while Down, for
 * one Detection Time of ours, send nothing and take an Up from the remote whose Your Discriminator is ours
 * (the pair's nodes use the same discriminators) as the session continuing: Up at once. The remote, which
 * was Up with the partner, never sees a Down; any other packet, or the window's end, goes on as §6.2 says.
 * `bfd.accepted`, `bfd.sendFinal` and `bfd.sendNow` are raised by the machine itself.
 *
 * Choices: a packet is sent only by the transmit timer, except the Final answering a Poll (§6.8.7);
 * while not Up the desired TX interval is at least `slowTxMs` (default 1 s, §6.8.3); the local Diag is
 * cleared when the session comes Up; Demand mode and the Echo function are not used.
 */
import { assign, enqueueActions, raise, setup, type SnapshotFrom } from 'xstate';
import { BfdDiag, type BfdControlPacket, type BfdState } from '../packet/bfd.js';

export interface BfdInput {
  /** bfd.LocalDiscr: nonzero and unique on this router (§6.8.1) */
  myDiscriminator: number;
  desiredMinTxMs: number;
  requiredMinRxMs: number;
  /** bfd.DetectMult */
  multiplier: number;
  /** §6.8.3: while not Up, transmit no faster than this; default 1000 ms, 0 = no slow start */
  slowTxMs?: number;
}

/** The state variables of RFC 5880 §6.8.1 (intervals in microseconds, as on the wire). */
export interface BfdContext {
  /** bfd.SessionState */
  state: BfdState;
  /** bfd.LocalDiag */
  diag: number;
  myDiscr: number;
  /** bfd.RemoteDiscr, 0 = unknown */
  remoteDiscr: number;
  /** bfd.RemoteSessionState */
  remoteState: BfdState;
  remoteDetectMult: number;
  remoteDesiredMinTxUs: number;
  /** bfd.RemoteMinRxInterval (initially 1) */
  remoteMinRxUs: number;
  multiplier: number;
  configuredTxUs: number;
  configuredRxUs: number;
  slowTxUs: number;
  /** bfd.DesiredMinTxInterval, as advertised */
  desiredMinTxUs: number;
  /** bfd.RequiredMinRxInterval, as advertised */
  requiredMinRxUs: number;
  /** desired TX used for our transmit interval: an increase while Up waits for the poll to end (§6.8.3) */
  txInUseUs: number;
  /** required RX used for the Detection Time: a decrease while Up waits for the poll to end (§6.8.3) */
  rxInUseUs: number;
  /** a Poll Sequence is in progress (§6.5): our packets carry P until one with F arrives */
  polling: boolean;
  /** `bfd.resume` window open: silent while Down, a remote Up continues the session */
  resuming: boolean;
}

export type BfdEvent =
  | { type: 'bfd.rx'; packet: BfdControlPacket }
  | { type: 'bfd.detectionTimeExpired' }
  | { type: 'bfd.configure'; desiredMinTxMs: number; requiredMinRxMs: number; multiplier: number }
  | { type: 'bfd.adminDown' }
  | { type: 'bfd.adminUp' }
  | { type: 'bfd.resume' }
  | { type: 'bfd.accepted'; state: BfdState }
  | { type: 'bfd.sendFinal' }
  | { type: 'bfd.sendNow' };

/** Why a decoded packet was discarded by the session (§6.8.6, discriminator checks). */
export type BfdDiscardReason = 'unknown-discriminator' | 'no-your-discriminator';

export interface BfdPublished {
  state: BfdState;
  diag: number;
}

const US_PER_MS = 1000;

/** Detection Time (§6.8.4): remote Detect Mult x max(our RequiredMinRx, the remote's DesiredMinTx), in ms. */
export function detectionTimeMs(c: BfdContext): number {
  return (c.remoteDetectMult * Math.max(c.rxInUseUs, c.remoteDesiredMinTxUs)) / US_PER_MS;
}

/** Transmit interval before jitter (§6.8.2, §6.8.7): max(our DesiredMinTx, the remote's RequiredMinRx), in ms. */
export function transmitIntervalMs(c: BfdContext): number {
  return Math.max(c.txInUseUs, c.remoteMinRxUs) / US_PER_MS;
}

/** §6.8.7: a RequiredMinRx of zero from the remote means "send me nothing"; nor while a resume window is open. */
export function mayTransmit(c: BfdContext): boolean {
  return c.remoteMinRxUs !== 0 && !c.resuming;
}

/** Whether the session watches the Detection Time now (Init, Up, and Down after a packet: §6.8.4, §6.8.1). */
export function detectionWatched(s: SnapshotFrom<typeof bfdMachine>): boolean {
  const v = (s.value as { session: string | Record<string, string> }).session;
  return typeof v === 'object' && Object.values(v)[0] === 'watching';
}

/** §6.8.6: Your Discriminator must be ours, or zero only while the remote is Down or AdminDown. */
export function discardReason(c: BfdContext, p: BfdControlPacket): BfdDiscardReason | undefined {
  if (p.yourDiscriminator !== 0 && p.yourDiscriminator !== c.myDiscr) return 'unknown-discriminator';
  if (p.yourDiscriminator === 0 && p.state !== 'down' && p.state !== 'adminDown') return 'no-your-discriminator';
  return undefined;
}

/** The packet we send now (§6.8.7): P while polling, except on a Final (never both, §6.5). */
export function controlPacket(c: BfdContext, final: boolean): BfdControlPacket {
  return {
    diag: c.diag,
    state: c.state,
    poll: c.polling && !final,
    final,
    controlPlaneIndependent: false,
    demand: false,
    detectMult: c.multiplier,
    myDiscriminator: c.myDiscr,
    yourDiscriminator: c.remoteDiscr,
    desiredMinTxUs: c.desiredMinTxUs,
    requiredMinRxUs: c.requiredMinRxUs,
    requiredMinEchoRxUs: 0,
  };
}

/**
 * The advertised timers for `c.state` (§6.8.3): DesiredMinTx is at least the slow rate until Up. Any
 * change starts a Poll Sequence; while Up, a larger TX or a smaller RX only takes effect when it ends.
 */
export function retime(c: BfdContext): BfdContext {
  const up = c.state === 'up';
  const desired = up ? c.configuredTxUs : Math.max(c.configuredTxUs, c.slowTxUs);
  const required = c.configuredRxUs;
  if (desired === c.desiredMinTxUs && required === c.requiredMinRxUs) return c;
  return {
    ...c,
    desiredMinTxUs: desired,
    requiredMinRxUs: required,
    txInUseUs: up && desired > c.txInUseUs ? c.txInUseUs : desired,
    rxInUseUs: up && required < c.rxInUseUs ? c.rxInUseUs : required,
    polling: true,
  };
}

/** §6.8.6: record what the remote advertised; a Final ends our Poll Sequence (§6.5). */
function recordRemote(c: BfdContext, p: BfdControlPacket): BfdContext {
  const next: BfdContext = {
    ...c,
    remoteDiscr: p.myDiscriminator,
    remoteState: p.state,
    remoteDetectMult: p.detectMult,
    remoteDesiredMinTxUs: p.desiredMinTxUs,
    remoteMinRxUs: p.requiredMinRxUs,
  };
  if (!p.final || !c.polling) return next;
  return { ...next, polling: false, txInUseUs: next.desiredMinTxUs, rxInUseUs: next.requiredMinRxUs };
}

function initialContext(input: BfdInput): BfdContext {
  const slowTxUs = (input.slowTxMs ?? 1000) * US_PER_MS;
  const configuredTxUs = input.desiredMinTxMs * US_PER_MS;
  const configuredRxUs = input.requiredMinRxMs * US_PER_MS;
  const desired = Math.max(configuredTxUs, slowTxUs); // §6.8.3: not Up yet
  return {
    state: 'down',
    diag: BfdDiag.none,
    myDiscr: input.myDiscriminator >>> 0,
    remoteDiscr: 0,
    remoteState: 'down',
    remoteDetectMult: 0,
    remoteDesiredMinTxUs: 0,
    remoteMinRxUs: 1, // §6.8.1
    multiplier: input.multiplier,
    configuredTxUs,
    configuredRxUs,
    slowTxUs,
    desiredMinTxUs: desired,
    requiredMinRxUs: configuredRxUs,
    txInUseUs: desired,
    rxInUseUs: configuredRxUs,
    polling: false,
    resuming: false,
  };
}

const enterState = (state: BfdState) => [
  { type: 'enterState' as const, params: { state } },
  'applyTimers' as const,
  { type: 'publishState' as const, params: ({ context }: { context: BfdContext }): BfdPublished => ({ state: context.state, diag: context.diag }) },
];

export const bfdMachine = setup({
  types: {} as { context: BfdContext; input: BfdInput; events: BfdEvent },
  delays: {
    /** our own Detection Time (the remote's timers are not known yet): multiplier x RequiredMinRx */
    resumeWindow: ({ context }) => (context.multiplier * context.configuredRxUs) / US_PER_MS,
  },
  guards: {
    remoteDown: ({ event }) => event.type === 'bfd.accepted' && event.state === 'down',
    remoteInit: ({ event }) => event.type === 'bfd.accepted' && event.state === 'init',
    remoteInitOrUp: ({ event }) => event.type === 'bfd.accepted' && (event.state === 'init' || event.state === 'up'),
    remoteDownOrAdminDown: ({ event }) => event.type === 'bfd.accepted' && (event.state === 'down' || event.state === 'adminDown'),
    remoteAdminDown: ({ event }) => event.type === 'bfd.accepted' && event.state === 'adminDown',
    failsSessionChecks: ({ context, event }) => event.type === 'bfd.rx' && discardReason(context, event.packet) !== undefined,
    mayTransmit: ({ context }) => mayTransmit(context),
    remoteUp: ({ event }) => event.type === 'bfd.accepted' && event.state === 'up',
  },
  actions: {
    sendControl: (_, _packet: BfdControlPacket) => {},
    publishState: (_, _p: BfdPublished) => {},
    discard: (_, _p: { reason: BfdDiscardReason }) => {},
    enterState: assign(({ context }, p: { state: BfdState }) => ({
      state: p.state,
      diag: p.state === 'up' ? BfdDiag.none : context.diag,
    })),
    setDiag: assign((_, p: { diag: number }) => ({ diag: p.diag })),
    // §6.8.1: a Detection Time without packets -> RemoteDiscr 0; §6.8.18: RemoteMinRxInterval back to 1
    forgetRemote: assign({ remoteDiscr: 0, remoteState: 'down' as BfdState, remoteMinRxUs: 1 }),
    applyTimers: assign(({ context }) => retime(context)),
    configure: assign(({ context, event }) => event.type !== 'bfd.configure' ? context : retime({
      ...context,
      configuredTxUs: event.desiredMinTxMs * US_PER_MS,
      configuredRxUs: event.requiredMinRxMs * US_PER_MS,
      multiplier: event.multiplier,
    })),
    // §6.8.6, after the discriminator checks: update the remote variables, then (unless AdminDown)
    // run the state machine, then answer a Poll with a Final
    acceptPacket: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'bfd.rx') return;
      enqueue.assign(recordRemote(context, event.packet));
      if (context.state === 'adminDown') return; // §6.8.6: "If bfd.SessionState is AdminDown, discard the packet"
      enqueue.raise({ type: 'bfd.accepted', state: event.packet.state });
      if (event.packet.poll) enqueue.raise({ type: 'bfd.sendFinal' });
    }),
  },
}).createMachine({
  id: 'bfd',
  type: 'parallel',
  context: ({ input }) => initialContext(input),
  on: {
    'bfd.rx': [
      {
        guard: 'failsSessionChecks',
        actions: { type: 'discard', params: ({ context, event }) => ({ reason: discardReason(context, event.packet)! }) },
      },
      { actions: 'acceptPacket' },
    ],
    'bfd.configure': { actions: 'configure' },
  },
  states: {
    session: {
      initial: 'down',
      states: {
        adminDown: {
          id: 'adminDown',
          entry: enterState('adminDown'),
          // §6.8.16: enabling the session -> Down
          on: { 'bfd.adminUp': { target: 'down', actions: { type: 'setDiag', params: { diag: BfdDiag.none } } } },
        },
        down: {
          id: 'down',
          entry: enterState('down'),
          initial: 'quiet',
          states: {
            quiet: {},
            watching: { on: { 'bfd.detectionTimeExpired': { target: 'quiet', actions: 'forgetRemote' } } },
            // bfd.resume: silent for one Detection Time; the remote's Up continues the session
            resuming: {
              entry: assign({ resuming: true }),
              exit: assign({ resuming: false }),
              after: { resumeWindow: 'quiet' },
              on: {
                'bfd.accepted': [
                  // the session goes on: Up, and tell the remote at once (its Detection Time runs since the partner's last packet)
                  { guard: 'remoteUp', target: '#up', actions: raise({ type: 'bfd.sendNow' }) },
                  { guard: 'remoteDown', target: '#init' },
                  { guard: 'remoteInit', target: '#up' },
                  { target: 'watching' },
                ],
              },
            },
          },
          on: {
            'bfd.resume': { target: '.resuming' },
            'bfd.accepted': [
              { guard: 'remoteDown', target: '#init' }, // §6.2: Down + rx DOWN -> Init
              { guard: 'remoteInit', target: '#up' }, // §6.2: Down + rx INIT -> Up
              { target: '.watching' }, // §6.2: Down + rx UP or ADMIN DOWN -> stay Down
            ],
            'bfd.adminDown': { target: '#adminDown', actions: { type: 'setDiag', params: { diag: BfdDiag.administrativelyDown } } },
          },
        },
        init: {
          id: 'init',
          entry: enterState('init'),
          initial: 'watching',
          states: {
            watching: {
              on: {
                // §6.8.4: Detection Time expired in Init -> Down, Diag 1
                'bfd.detectionTimeExpired': { target: '#down', actions: [{ type: 'setDiag', params: { diag: BfdDiag.controlDetectionTimeExpired } }, 'forgetRemote'] },
              },
            },
          },
          on: {
            'bfd.accepted': [
              // §6.8.6: rx AdminDown while not Down -> Down, Diag 3
              { guard: 'remoteAdminDown', target: '#down.watching', actions: { type: 'setDiag', params: { diag: BfdDiag.neighborSignaledSessionDown } } },
              { guard: 'remoteInitOrUp', target: '#up' }, // §6.2: Init + rx INIT or UP -> Up
              { target: '.watching' }, // §6.2: Init + rx DOWN -> stay Init (restarts detection)
            ],
            'bfd.adminDown': { target: '#adminDown', actions: { type: 'setDiag', params: { diag: BfdDiag.administrativelyDown } } },
          },
        },
        up: {
          id: 'up',
          entry: enterState('up'),
          initial: 'watching',
          states: {
            watching: {
              on: {
                // §6.8.4: Detection Time expired in Up -> Down, Diag 1
                'bfd.detectionTimeExpired': { target: '#down', actions: [{ type: 'setDiag', params: { diag: BfdDiag.controlDetectionTimeExpired } }, 'forgetRemote'] },
              },
            },
          },
          on: {
            'bfd.accepted': [
              // §6.8.6: Up + rx DOWN or ADMIN DOWN -> Down, Diag 3
              { guard: 'remoteDownOrAdminDown', target: '#down.watching', actions: { type: 'setDiag', params: { diag: BfdDiag.neighborSignaledSessionDown } } },
              { target: '.watching' }, // §6.2: Up + rx INIT or UP -> stay Up (restarts detection)
            ],
            'bfd.adminDown': { target: '#adminDown', actions: { type: 'setDiag', params: { diag: BfdDiag.administrativelyDown } } },
          },
        },
      },
    },
    // the packets sent at once; the periodic ones are the schedule's (paths/bfd-schedule.ts)
    transmit: {
      initial: 'waiting',
      states: {
        waiting: {
          on: {
            // §6.8.7: a Poll is answered with a Final at once, without respect to the transmit timer
            'bfd.sendFinal': { actions: { type: 'sendControl', params: ({ context }) => controlPacket(context, true) } },
            'bfd.sendNow': { guard: 'mayTransmit', actions: { type: 'sendControl', params: ({ context }) => controlPacket(context, false) } },
          },
        },
      },
    },
  },
});
