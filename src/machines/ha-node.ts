/**
 * The HA role of one node of a router pair (docs/high-availability.md "The router pair"; ssr-reference
 * §1.13): a pure XState machine. It decides whether this node forwards and owns the shared addresses; it
 * does no I/O. Its requests are named actions the actor provides:
 *
 *   sendHeartbeat(hb)          send one heartbeat now (a role entered, the links changed; the clock sends the rest)
 *   publishRole({role, forwarding, reason})  the role changed: take or release the shared addresses
 *   flushSync()                send every pending state batch now (a planned switchover begins)
 *   (the node answers `taking-over` with `ha.ready` once its devices, sessions and addresses are up and announced)
 *   splitBrain({active, message})  raise / clear the `ha-split-brain` alarm
 *   (`ha.links` from the node's link watch: the count goes out in a heartbeat at once; an active node with
 *   fewer links up than its standby hands over)
 *   discard({from})            a heartbeat from a node that is not the configured partner (count it)
 *
 * Three parallel regions:
 *   role      init | standby | takingOver | active | handingOver (waiting, preparing, draining) | fenced
 *   partner   waiting | alive | lost: the partner's heartbeats, and `ha.partnerLost` when none came for `misses` x
 *             `heartbeatMs` (default 3 x 100 ms: failover is sub-second)
 *   meeting   none | contested: two active nodes met and the partner wins (more links up; then it took over from a
 *             lost partner and this node did not; then the rule); still so a heartbeat interval later: `ha.yield`
 * The machine sees edges only: the heartbeat clock (src/ha/heartbeat-clock.ts, outside the machine) sends a
 * heartbeat (`heartbeatOf`) every `heartbeatMs` and says `ha.partnerLost` once the dead time passed since the last
 * heartbeat heard; the pair node passes on a heartbeat only when it differs from the last one passed on, or the
 * machine moved since (a steady pair: no transition, no snapshot per heartbeat; ha15 measured the cost).
 *
 * The election rule (`outranks`, the same on both nodes, so they agree): more shared links up wins, then
 * the higher priority, then the lower node name. It decides a start where both nodes come up together,
 * two active nodes meeting again, and split brain: heartbeats lost while the partner is still seen alive
 * outside the sync link (`ha.partnerProbe`): the winner stays or becomes active, the loser is `fenced`
 * (forwards nothing); both raise `ha-split-brain` until heartbeats return. The probe's word can come late
 * (a busy node): an active node that hears the partner alive on the probe while its heartbeats are lost
 * decides again, and a fenced node takes over once the partner is gone from the probe too.
 * No preemption by default: a node that comes back rejoins as standby. With `preempt`, a standby that
 * outranks the active asks for the role (`wantActive`) and the active hands over.
 * Planned switchover (`ha.switchover` on the active), make before break: the active flushes its state
 * batches and announces `handing-over` (still forwarding, and still syncing what changes); the standby
 * answers `taking-over`: it installs the synced sessions, brings its devices up, takes and announces the
 * shared addresses (the hosts and the next hop now send to it), then says `ha.ready` and becomes active;
 * the old active, hearing it active, keeps forwarding for `drainMs` (what was already on its way to it)
 * and only then becomes standby and releases. Nobody answers within the dead time: the old active stays
 * active; the partner lost at any step: the node left forwarding keeps (or takes) the role. Both nodes
 * forward for a moment: each signs with its own replay senders (node/ha.ts pairRouterOptions), so the
 * peer accepts both.
 */
import { assign, not, raise, setup } from 'xstate';

export type HaRole = 'init' | 'standby' | 'taking-over' | 'active' | 'handing-over' | 'fenced';

export interface HaHeartbeat {
  node: string;
  role: HaRole;
  priority: number;
  /** shared interfaces (LAN/WAN) with link up on the sender */
  linksUp: number;
  /** a preempting standby that outranks the active asks for the role */
  wantActive: boolean;
  /** the sender became active because it lost its partner, and has not heard the partner standby since: it
   *  wins a dual-active meeting against an active node with as many links up that did not (a stalled node that
   *  comes back, e.g. a host starved of CPU for longer than the dead time, yields to the node that took over: one
   *  role change, not two); both or neither: the election rule. More links up wins first (a node with a link down
   *  that lost its partner for a moment must not make the healthier one yield, then hand the role back) */
  tookOver?: boolean;
  /** host state, set by the pair node (not the machine): the sender holds none of the shared addresses
   *  (a split brain's winner takes them only once the loser says so; docs/high-availability.md "Split brain") */
  released?: boolean;
}

export interface HaNodeInput {
  node: string;
  partner: string;
  /** 0-255, higher wins */
  priority: number;
  preempt: boolean;
  heartbeatMs: number;
  /** heartbeats missed before the partner counts as lost */
  misses: number;
  /** shared interfaces with link up at start */
  linksUp: number;
  /** a planned switchover: how long the old active keeps forwarding after the new one is active (default heartbeatMs) */
  drainMs?: number;
}

export interface HaNodeContext extends HaNodeInput {
  role: HaRole;
  reason: string;
  /** the partner's last heartbeat */
  heard?: HaHeartbeat;
  /** the partner is seen alive outside the sync link (a probe on a shared segment) */
  partnerProbeAlive: boolean;
  /** the split-brain alarm is raised */
  splitBrain: boolean;
  /** no heartbeat from the partner for the dead time (until the next one) */
  partnerLost: boolean;
  /** active since the partner was lost, and the partner not heard standby since (HaHeartbeat.tookOver) */
  tookOver: boolean;
}

export type HaNodeEvent =
  | { type: 'ha.heartbeat'; heartbeat: HaHeartbeat }
  | { type: 'ha.links'; up: number }
  | { type: 'ha.partnerProbe'; alive: boolean }
  | { type: 'ha.switchover' }
  /** the node's answer to `taking-over`: devices, sessions and shared addresses up and announced */
  | { type: 'ha.ready' }
  /** the heartbeat clock: no heartbeat from the partner for the dead time */
  | { type: 'ha.partnerLost' }
  /** (internal) the partner still active and winning one heartbeat interval after two active nodes met */
  | { type: 'ha.yield' };

export interface HaRolePublished {
  role: HaRole;
  forwarding: boolean;
  reason: string;
}

/** Heartbeat every 100 ms, the partner lost after 3 missed: failover within about 300 ms. */
export const HA_TIMER_DEFAULTS = { heartbeatMs: 100, misses: 3 } as const;

/** A switchover's new active has this many dead times to say it is ready before the old one keeps the role. */
export const PREPARE_DEAD_TIMES = 10;

/** How long without a heartbeat before the partner counts as lost. */
export const deadTimeMs = (c: Pick<HaNodeInput, 'heartbeatMs' | 'misses'>): number => c.heartbeatMs * c.misses;

interface Rank {
  node: string;
  priority: number;
  linksUp: number;
}

/** The election rule: more links up, then higher priority, then the lower node name. */
export function outranks(self: Rank, other: Rank): boolean {
  if (self.linksUp !== other.linksUp) return self.linksUp > other.linksUp;
  if (self.priority !== other.priority) return self.priority > other.priority;
  return self.node < other.node;
}

const selfRank = (c: HaNodeContext): Rank => ({ node: c.node, priority: c.priority, linksUp: c.linksUp });
/** The partner as in `event` (a heartbeat) or as last heard; never heard: priority 0 with our links. */
function partnerRank(c: HaNodeContext, e?: HaNodeEvent): Rank {
  if (e?.type === 'ha.heartbeat') return e.heartbeat;
  return c.heard ?? { node: c.partner, priority: 0, linksUp: c.linksUp };
}
const beats = (c: HaNodeContext, e?: HaNodeEvent): boolean => outranks(selfRank(c), partnerRank(c, e));
/** Two active nodes meet: more links up wins; then the one that took over from a lost partner (it announced the
 *  addresses last); then the rest of the election rule. */
function winsMeeting(partner: HaHeartbeat, c: HaNodeContext): boolean {
  const took = partner.tookOver === true;
  return partner.linksUp === c.linksUp && took !== c.tookOver ? took : outranks(partner, selfRank(c));
}

export function heartbeatOf(c: HaNodeContext): HaHeartbeat {
  // preemption compares priority and name only: links decide a handover by themselves (partnerHasMoreLinks)
  const wantActive = c.role === 'standby' && c.preempt && c.heard !== undefined && c.heard.role === 'active' &&
    outranks({ ...selfRank(c), linksUp: 0 }, { ...c.heard, linksUp: 0 });
  return { node: c.node, role: c.role, priority: c.priority, linksUp: c.linksUp, wantActive, tookOver: c.tookOver };
}

/** Two heartbeats say the same to the machine (`released` is the host's word, not the machine's). */
export function sameHeartbeat(a: HaHeartbeat, b: HaHeartbeat): boolean {
  return a.node === b.node && a.role === b.role && a.priority === b.priority && a.linksUp === b.linksUp && a.wantActive === b.wantActive
    && (a.tookOver === true) === (b.tookOver === true);
}

const FORWARDING: Record<HaRole, boolean> = { init: false, standby: false, 'taking-over': true, active: true, 'handing-over': true, fenced: false };

/** Entry of a role: record it, publish it with the reason the transition gave, tell the partner at once. */
const enter = (role: HaRole) => [
  { type: 'setRole' as const, params: { role } },
  { type: 'publishRole' as const, params: ({ context }: { context: HaNodeContext }): HaRolePublished => ({ role, forwarding: FORWARDING[role], reason: context.reason }) },
  { type: 'sendHeartbeat' as const, params: ({ context }: { context: HaNodeContext }) => heartbeatOf(context) },
];
const because = (reason: string) => ({ type: 'because' as const, params: { reason } });

/** init and fenced: a partner's heartbeat elects (the partner already active keeps it, else the rule decides) */
const electOnHeartbeat = [
  { guard: 'fromStranger' as const },
  { guard: 'partnerOwns' as const, target: 'standby', actions: because('partner-active') },
  { guard: 'weWin' as const, target: 'active', actions: because('elected') },
  { target: 'standby', actions: because('elected') },
];
const heardRole = (e: HaNodeEvent): HaRole | undefined => (e.type === 'ha.heartbeat' ? e.heartbeat.role : undefined);
const isStranger = (c: HaNodeContext, e: HaNodeEvent): boolean => e.type === 'ha.heartbeat' && e.heartbeat.node !== c.partner;

const splitBrainMessage = (c: HaNodeContext): string => {
  const rule = beats(c) ? `${c.node} stays active` : `${c.partner} stays active, ${c.node} stops forwarding`;
  return `sync link to ${c.partner} lost while ${c.partner} is alive: ${rule} (rule: links up, then priority, then the lower node name)`;
};
const raiseSplitBrain = [
  { type: 'markSplitBrain' as const, params: { on: true } },
  { type: 'splitBrain' as const, params: ({ context }: { context: HaNodeContext }) => ({ active: true, message: splitBrainMessage(context) }) },
];
const clearSplitBrain = [
  { type: 'markSplitBrain' as const, params: { on: false } },
  { type: 'splitBrain' as const, params: ({ context }: { context: HaNodeContext }) => ({ active: false, message: `${context.partner}: heartbeats again, or gone` }) },
];

export const haNodeMachine = setup({
  types: {} as { context: HaNodeContext; input: HaNodeInput; events: HaNodeEvent },
  delays: {
    deadTime: ({ context }) => deadTimeMs(context),
    heartbeat: ({ context }) => context.heartbeatMs,
    drain: ({ context }) => context.drainMs ?? context.heartbeatMs,
    prepareTime: ({ context }) => PREPARE_DEAD_TIMES * deadTimeMs(context),
  },
  guards: {
    fromStranger: ({ context, event }) => isStranger(context, event),
    partnerActive: ({ event }) => heardRole(event) === 'active',
    partnerHandingOver: ({ event }) => heardRole(event) === 'handing-over',
    partnerTakingOver: ({ event }) => heardRole(event) === 'taking-over',
    partnerOwns: ({ event }) => heardRole(event) === 'active' || heardRole(event) === 'handing-over' || heardRole(event) === 'taking-over',
    /** active, and the partner says it is active and wins the meeting */
    contested: ({ context, event }) => context.role === 'active' && event.type === 'ha.heartbeat' && event.heartbeat.role === 'active' && winsMeeting(event.heartbeat, context),
    partnerWants: ({ event }) => event.type === 'ha.heartbeat' && event.heartbeat.wantActive,
    partnerHasMoreLinks: ({ context, event }) => event.type === 'ha.heartbeat' && event.heartbeat.role === 'standby' && event.heartbeat.linksUp > context.linksUp,
    /** a link of ours went down: the standby, heard alive, now has more up */
    heardPartnerHasMoreLinks: ({ context, event }) => event.type === 'ha.links' && !context.partnerLost && context.heard?.role === 'standby' && context.heard.linksUp > event.up,
    weWin: ({ context, event }) => beats(context, event),
    partnerProbeAlive: ({ context }) => context.partnerProbeAlive,
    partnerGoneEverywhere: ({ event }) => event.type === 'ha.partnerProbe' && !event.alive,
    /** the probe says alive while heartbeats are lost, and no split brain is decided yet */
    splitBrainSeenLate: ({ context, event }) => event.type === 'ha.partnerProbe' && event.alive && context.partnerLost && !context.splitBrain,
    inSplitBrain: ({ context }) => context.splitBrain,
  },
  actions: {
    sendHeartbeat: (_, _hb: HaHeartbeat) => {},
    publishRole: (_, _p: HaRolePublished) => {},
    flushSync: () => {},
    splitBrain: (_, _p: { active: boolean; message: string }) => {},
    discard: (_, _p: { from: string }) => {},
    // tookOver: set by entering active from a lost partner, kept while active
    setRole: assign(({ context }, p: { role: HaRole }) => ({ role: p.role, tookOver: p.role === 'active' && (context.tookOver || context.reason === 'partner-lost') })),
    because: assign((_, p: { reason: string }) => ({ reason: p.reason })),
    hear: assign(({ context, event }) => (event.type === 'ha.heartbeat'
      ? { heard: event.heartbeat, partnerLost: false, tookOver: context.tookOver && event.heartbeat.role !== 'standby' }
      : {})),
    markLost: assign({ partnerLost: true }),
    setLinks: assign(({ event }) => (event.type === 'ha.links' ? { linksUp: event.up } : {})),
    setProbe: assign(({ event }) => (event.type === 'ha.partnerProbe' ? { partnerProbeAlive: event.alive } : {})),
    raiseYield: raise({ type: 'ha.yield' }),
    markSplitBrain: assign((_, p: { on: boolean }) => ({ splitBrain: p.on })),
  },
}).createMachine({
  id: 'haNode',
  type: 'parallel',
  // xstate's pure initialTransition also builds a throwaway actor without input: the defaults keep its
  // timers finite (a NaN delay would fire at once, for ever)
  context: ({ input }) => ({ ...HA_TIMER_DEFAULTS, ...input, role: 'init', reason: 'start', partnerProbeAlive: false, splitBrain: false, partnerLost: false, tookOver: false }),
  on: {
    // a link went down or up (the node watches its shared devices): the partner hears the new count at once
    'ha.links': { actions: ['setLinks', { type: 'sendHeartbeat', params: ({ context }) => heartbeatOf(context) }] },
    'ha.partnerProbe': { actions: 'setProbe' },
  },
  states: {
    role: {
      initial: 'init',
      states: {
        init: {
          entry: enter('init'),
          on: {
            'ha.heartbeat': electOnHeartbeat,
            'ha.partnerLost': [{ guard: 'partnerProbeAlive', target: 'deciding' }, { target: 'active', actions: because('no-partner') }],
          },
        },
        /** heartbeats lost while the partner is alive elsewhere: split brain, the rule decides */
        deciding: {
          always: [
            { guard: 'weWin', target: 'active', actions: [...raiseSplitBrain, because('split-brain-won')] },
            { target: 'fenced', actions: [...raiseSplitBrain, because('split-brain-lost')] },
          ],
        },
        standby: {
          entry: enter('standby'),
          on: {
            'ha.heartbeat': [
              { guard: 'fromStranger' },
              { guard: 'partnerHandingOver', target: 'takingOver', actions: because('switchover') },
              { guard: 'partnerOwns' },
              // the partner is up but nobody is active (it came back fenced or starting): the rule decides
              { guard: 'weWin', target: 'active', actions: because('elected') },
            ],
            'ha.partnerLost': [{ guard: 'partnerProbeAlive', target: 'deciding' }, { target: 'active', actions: because('partner-lost') }],
          },
        },
        /** a planned switchover's new active: making its side before the partner breaks its own */
        takingOver: {
          entry: enter('taking-over'),
          on: {
            'ha.ready': { target: 'active', actions: because('switchover') },
            'ha.heartbeat': [
              { guard: 'fromStranger' },
              // the partner gave up the handover (it heard nothing in time) and is active again
              { guard: 'partnerActive', target: 'standby', actions: because('switchover-withdrawn') },
            ],
            'ha.partnerLost': [{ guard: 'partnerProbeAlive', target: 'deciding' }, { target: 'active', actions: because('partner-lost') }],
          },
        },
        active: {
          entry: enter('active'),
          on: {
            'ha.heartbeat': [
              { guard: 'fromStranger' },
              { guard: 'partnerWants', target: 'handingOver', actions: because('preempted') },
              { guard: 'partnerHasMoreLinks', target: 'handingOver', actions: because('partner-has-more-links') },
            ],
            'ha.switchover': { target: 'handingOver', actions: because('switchover') },
            // both active (a node stalled for longer than the dead time, the sync link back after a split brain, a
            // start race), and the partner still wins a heartbeat interval later (region `meeting`)
            'ha.yield': { target: 'standby', actions: because('dual-active-lost') },
            // a shared link of ours went down while the standby has them all: hand over at once (make before break)
            'ha.links': { guard: 'heardPartnerHasMoreLinks', target: 'handingOver', actions: ['setLinks', because('partner-has-more-links')] },
            'ha.partnerLost': { guard: 'partnerProbeAlive', target: 'deciding' },
            // took over while the probe's word was late: the partner is alive after all, the rule decides
            'ha.partnerProbe': { guard: 'splitBrainSeenLate', target: 'deciding', actions: 'setProbe' },
          },
        },
        /** forwarding until the partner has made its side (taking-over, then active), then draining */
        handingOver: {
          entry: ['flushSync', ...enter('handing-over')],
          initial: 'waiting',
          states: {
            /** no answer yet: the partner did not hear, or cannot take the role */
            waiting: {
              after: { deadTime: { target: '#haNode.role.active', actions: because('switchover-unanswered') } },
              on: {
                'ha.heartbeat': [
                  { guard: 'fromStranger' },
                  { guard: 'partnerTakingOver', target: 'preparing' },
                  { guard: 'partnerActive', target: 'draining' },
                ],
              },
            },
            /** the partner brings its devices, sessions and addresses up (a loaded host: seconds; never ready: the role stays here) */
            preparing: {
              after: { prepareTime: { target: '#haNode.role.active', actions: because('switchover-unanswered') } },
              on: {
                'ha.heartbeat': [
                  { guard: 'fromStranger' },
                  { guard: 'partnerActive', target: 'draining' },
                  // it went back to standby (withdrew): the role stays here
                  { guard: 'partnerOwns' },
                  { target: '#haNode.role.active', actions: because('switchover-withdrawn') },
                ],
              },
            },
            /** the partner is active and announced: what is still on its way here is forwarded, then standby */
            draining: {
              after: { drain: { target: '#haNode.role.standby', actions: because('switchover') } },
            },
          },
          on: {
            'ha.partnerLost': { target: 'active', actions: because('partner-lost') },
          },
        },
        /** lost the split-brain rule: forwards nothing until heartbeats return or the partner is gone */
        fenced: {
          entry: enter('fenced'),
          on: {
            'ha.heartbeat': electOnHeartbeat,
            'ha.partnerProbe': { guard: 'partnerGoneEverywhere', target: 'active', actions: ['setProbe', ...clearSplitBrain, because('partner-lost')] },
          },
        },
      },
    },
    /** the partner's heartbeats: their bookkeeping, its loss (the heartbeat clock's dead time), the split-brain alarm's end */
    partner: {
      initial: 'waiting',
      states: {
        waiting: {},
        alive: {},
        lost: {},
      },
      on: {
        'ha.partnerLost': { target: '.lost', actions: 'markLost' },
        'ha.heartbeat': [
          { guard: 'fromStranger', actions: { type: 'discard', params: ({ event }) => ({ from: event.type === 'ha.heartbeat' ? event.heartbeat.node : '' }) } },
          { guard: 'inSplitBrain', target: '.alive', actions: ['hear', ...clearSplitBrain] },
          { target: '.alive', actions: 'hear' },
        ],
      },
    },
    /**
     * Two active nodes meet: the node that took over from a lost partner stays, else the rule decides. The loser
     * yields once the partner still says so a heartbeat interval later: a heartbeat read late (queued while this
     * node stalled) may be older than the partner's next, which says it backed off (fenced on a late probe, or
     * standby again): a moment's dual-active costs no role change then.
     */
    meeting: {
      initial: 'none',
      states: {
        none: { on: { 'ha.heartbeat': { guard: 'contested', target: 'contested' } } },
        contested: {
          after: { heartbeat: { target: 'none', actions: 'raiseYield' } },
          on: { 'ha.heartbeat': { guard: not('contested'), target: 'none' } },
        },
      },
    },
  },
});
