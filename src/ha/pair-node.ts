/**
 * One node of a router pair at run time: the HA role machine (machines/ha-node.ts) wired to the sync link
 * (sync-link.ts). The machine decides; this class does its I/O: heartbeats out, the partner's heartbeats
 * in, the role published to the node (which takes or releases the shared addresses and starts or stops
 * forwarding), the split-brain alarm, state batches flushed on every heartbeat and at once before a
 * planned switchover. Collection is paced by the link: the owner is asked for its changes on each heartbeat,
 * and sooner when it says it has more (`more`) as soon as the link has room (acknowledgements). Records from
 * the partner land in the replica (replica.ts: kind + key -> value); a node that takes over starts from it.
 * With probe addresses, heartbeats also go over a second link (the probe link: heartbeats only). The
 * partner counts as alive elsewhere while its probe heartbeats are younger than half the dead time, so a
 * partner that died (both links quiet at once) is seen gone before the sync link's dead time ends, and
 * only a cut sync link with the partner alive turns into split brain. A fenced node counts the partner
 * gone only after FENCED_DEAD_TIMES dead times without a probe heartbeat.
 */
import { createActor, type Actor, type SnapshotFrom } from 'xstate';
import { deadTimeMs, haNodeMachine, heartbeatOf, sameHeartbeat, type HaHeartbeat, type HaRole, type HaRolePublished } from '../machines/ha-node.js';
import type { Redundancy } from '../model/config.js';
import { HeartbeatClock } from './heartbeat-clock.js';
import { SyncReplica } from './replica.js';
import { SyncLink, type SyncLag, type SyncLinkCounters } from './sync-link.js';
import { SYNC_DATAGRAM, type SyncRecord } from './sync-wire.js';

export type { HaRolePublished } from '../machines/ha-node.js';

/**
 * The timers (the heartbeat clock's beat and dead time, the machine's own) fire only after the I/O that is already waiting: a
 * timer's callback runs from setImmediate, after the event loop's poll phase. A node whose event loop was
 * blocked for longer than the dead time (a loaded host) then reads the heartbeats queued in its socket
 * before it decides that the partner is lost, instead of failing over on heartbeats it holds.
 */
const IO_FIRST_CLOCK = {
  setTimeout: (fn: () => void, ms: number): { t: NodeJS.Timeout; i?: NodeJS.Immediate } => {
    const h: { t: NodeJS.Timeout; i?: NodeJS.Immediate } = { t: setTimeout(() => { h.i = setImmediate(fn); }, ms) };
    return h;
  },
  clearTimeout: (h: unknown): void => {
    const x = h as { t: NodeJS.Timeout; i?: NodeJS.Immediate };
    clearTimeout(x.t);
    if (x.i !== undefined) clearImmediate(x.i);
  },
};

export interface PairNodeOptions {
  redundancy: Redundancy;
  /** this node's name (one of redundancy.nodes) */
  node: string;
  /** shared interfaces (LAN/WAN) with link up now (read at start, at each heartbeat and at `linksChanged`) */
  linksUp?: () => number;
  /** this host holds none of the shared addresses now (told to the partner in each heartbeat); default: not forwarding */
  released?: () => boolean;
  onRole?: (p: HaRolePublished) => void;
  onSplitBrain?: (p: { active: boolean; message: string }) => void;
  /** this node's own heartbeat went out `lateMs` late, a dead time or more (its event loop blocked or starved of
   *  CPU): the partner may have counted it lost and taken over */
  onStall?: (lateMs: number) => void;
  /** the partner's heartbeats name another role than before (e.g. it stopped being active) */
  onPartnerRole?: (role: HaRole) => void;
  /** called before each flush: queue the state changed since the last one, or all of it when `full` (a
   *  partner heard for the first time or restarted has nothing); what the owner finds later goes out with `send` */
  collect?: (queue: (r: SyncRecord) => void, full: boolean) => void;
  /** tests: the ports of this node and of the partner (default redundancy.syncPort for both; the probe
   *  link uses the same ports on the probe addresses) */
  ports?: { local: number; partner: number };
  /** the largest state datagram on the sync link (SyncLinkOptions.maxDatagram); default SYNC_DATAGRAM */
  maxDatagram?: number;
}

export interface PairNodeStatus {
  node: string;
  partner: string;
  role: HaRole;
  reason: string;
  forwarding: boolean;
  partnerRole: HaRole | undefined;
  /** ms since the partner's last heartbeat, undefined if never heard */
  partnerHeardMsAgo: number | undefined;
  splitBrain: boolean;
  lag: SyncLag;
  /** the partner heard on the probe link now (undefined without probe addresses) */
  probeAlive: boolean | undefined;
  replicaRecords: number;
  counters: SyncLinkCounters;
  /** shared links up here, as the machine (and the partner) know it */
  linksUp: number;
  /** the partner's last heartbeat (either link) said it holds no shared address */
  partnerReleased: boolean | undefined;
  /** taking the role while the partner still held the addresses: waits for its release, and those that ran out */
  releaseWaits: { waited: number; timedOut: number; lastMs: number | undefined };
}

/** A fenced node counts its partner gone after this many dead times without a probe heartbeat. */
export const FENCED_DEAD_TIMES = 3;

const FORWARDING = new Set<HaRole>(['taking-over', 'active', 'handing-over']);
type HaSnapshot = SnapshotFrom<typeof haNodeMachine>;
/** A heartbeat moved the machine (its state, or its context beyond the record of the heartbeat itself). */
function moved(before: HaSnapshot, after: HaSnapshot): boolean {
  const a = before.context as unknown as Record<string, unknown>;
  const b = after.context as unknown as Record<string, unknown>;
  return Object.keys(b).some((k) => k !== 'heard' && a[k] !== b[k]) || JSON.stringify(before.value) !== JSON.stringify(after.value);
}
/** the roles whose node sends its state to the partner (a node taking over still receives the partner's) */
const SYNCING = new Set<HaRole>(['active', 'handing-over']);

export class PairNode {
  readonly link: SyncLink;
  /** heartbeats only, over another link than the sync link (when the pair has probe addresses) */
  readonly probe: SyncLink | undefined;
  private probeHeardAt = Number.NEGATIVE_INFINITY;
  private probeAlive = false;
  /** the partner's state as synced here */
  readonly replica = new SyncReplica();
  /** the owner has more to send: collect when the timer fires and the link has room */
  private moreTimer: NodeJS.Timeout | undefined;
  private wantRoom = false;
  private readonly actor: Actor<typeof haNodeMachine>;
  private readonly clock: HeartbeatClock;
  /** the machine's snapshot after a heartbeat that moved nothing: the same heartbeat again on it is not passed on */
  private steady: HaSnapshot | undefined;
  private passed = 0;
  private heardAt: number | undefined;
  private lastLinks: number;
  private stopped = false;
  /** the partner is new, restarted, or standby again after forwarding: the next collect sends the full state */
  private resync = false;
  /** the partner's word on its shared addresses, from its newest heartbeat on either link */
  private partnerReleased: boolean | undefined;
  private releaseWaiters: (() => void)[] = [];
  private readonly releaseWaits = { waited: 0, timedOut: 0, lastMs: undefined as number | undefined };

  constructor(private readonly o: PairNodeOptions) {
    const self = o.redundancy.nodes.find((n) => n.name === o.node);
    const partner = o.redundancy.nodes.find((n) => n.name !== o.node);
    if (self === undefined || partner === undefined) throw new Error(`node "${o.node}" is not one of the pair's nodes (${o.redundancy.nodes.map((n) => n.name).join(', ')})`);
    this.lastLinks = o.linksUp?.() ?? 0;
    this.link = new SyncLink({
      node: self.name, partner: partner.name, localAddress: self.syncAddress, partnerAddress: partner.syncAddress,
      port: o.ports?.local ?? o.redundancy.syncPort, partnerPort: o.ports?.partner ?? o.redundancy.syncPort,
      key: Buffer.from(o.redundancy.sharedKey, 'base64'),
      maxDatagram: o.maxDatagram ?? SYNC_DATAGRAM,
      onHeartbeat: (hb) => this.heard(hb),
      onRecords: (body) => this.replica.apply(body),
      onRoom: () => {
        if (!this.wantRoom) return;
        this.wantRoom = false;
        this.flush();
      },
      onPartnerEpoch: () => { this.resync = true; },
    });
    this.probe = self.probeAddress === undefined || partner.probeAddress === undefined ? undefined : new SyncLink({
      node: self.name, partner: partner.name, localAddress: self.probeAddress, partnerAddress: partner.probeAddress,
      port: o.ports?.local ?? o.redundancy.syncPort, partnerPort: o.ports?.partner ?? o.redundancy.syncPort,
      key: Buffer.from(o.redundancy.sharedKey, 'base64'),
      onHeartbeat: (hb) => {
        this.probeHeardAt = performance.now();
        this.heardReleased(hb);
      },
      onRecords: () => {},
    });
    const machine = haNodeMachine.provide({
      actions: {
        sendHeartbeat: (_, hb) => this.beat(hb),
        publishRole: (_, p) => o.onRole?.(p),
        flushSync: () => this.flush(),
        splitBrain: (_, p) => o.onSplitBrain?.(p),
      },
    });
    this.actor = createActor(machine, {
      clock: IO_FIRST_CLOCK,
      input: {
        node: self.name, partner: partner.name, priority: self.priority, preempt: o.redundancy.preempt,
        heartbeatMs: o.redundancy.heartbeatInterval, misses: o.redundancy.heartbeatMisses, linksUp: this.lastLinks,
      },
    });
    this.clock = new HeartbeatClock({
      heartbeatMs: o.redundancy.heartbeatInterval, deadMs: o.redundancy.heartbeatInterval * o.redundancy.heartbeatMisses,
      beat: () => this.beat(heartbeatOf(this.actor.getSnapshot().context)),
      lost: () => this.actor.send({ type: 'ha.partnerLost' }),
      stalled: (lateMs) => o.onStall?.(lateMs),
      timers: { now: () => performance.now(), setTimeout: IO_FIRST_CLOCK.setTimeout, clearTimeout: IO_FIRST_CLOCK.clearTimeout },
    });
  }

  async start(): Promise<void> {
    await this.link.start();
    try {
      await this.probe?.start();
    } catch (e) {
      this.link.close();
      throw e;
    }
    this.actor.start();
    this.clock.start();
  }

  /** Stops heartbeats and closes the link; the partner takes over after its dead time. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.moreTimer);
    for (const w of this.releaseWaiters.splice(0)) w();
    this.clock.stop();
    this.actor.stop();
    this.link.close();
    this.probe?.close();
  }

  /** Sends `count` records framed in one buffer (sync-wire.ts frameRecord; an owner's `collect` answered
   *  later) at once; `markedAt` (ms, performance.now): when the oldest of their changes happened, for the
   *  change lag. Nothing unless the node is active or handing over. */
  sendFramed(records: Uint8Array, count: number, markedAt?: number): void {
    if (this.stopped || !SYNCING.has(this.role)) return;
    this.link.queueFramed(records, count, markedAt);
    this.link.flush();
  }

  /** The owner has more changes (or will in `afterMs`): it is asked again then, or once the link has room
   *  when the window is full then. */
  more(afterMs: number): void {
    if (this.stopped || this.moreTimer !== undefined) return;
    this.moreTimer = setTimeout(() => {
      this.moreTimer = undefined;
      if (this.stopped || !SYNCING.has(this.role)) return;
      if (this.link.backlog > 0) this.wantRoom = true;
      else this.flush();
    }, afterMs);
  }

  /** Planned switchover: only the active node hands over; false on any other role. */
  switchover(): boolean {
    if (this.actor.getSnapshot().context.role !== 'active') return false;
    this.actor.send({ type: 'ha.switchover' });
    return true;
  }

  /** A planned switchover's new active (taking-over): its devices, sessions and addresses are up and announced. */
  ready(): void {
    if (!this.stopped) this.actor.send({ type: 'ha.ready' });
  }

  /** The shared links' count changed (the node's link watch): the machine and the partner hear it now, not at the next heartbeat. */
  linksChanged(): void {
    const links = this.o.linksUp?.();
    if (this.stopped || links === undefined || links === this.lastLinks) return;
    this.lastLinks = links;
    this.actor.send({ type: 'ha.links', up: links });
  }

  /** A heartbeat now, on both links (e.g. the shared addresses were just released: the partner may take them). */
  beatNow(): void {
    if (!this.stopped) this.beat(heartbeatOf(this.actor.getSnapshot().context));
  }

  /** The partner is alive on the probe link and its last word is that it holds the shared addresses (split brain:
   *  it was active and is being fenced). */
  partnerHolds(): boolean {
    return this.probeAlive && this.partnerReleased === false;
  }

  /** Waits until the partner says it released the shared addresses, at most `timeoutMs`; false when the time
   *  ran out (counted: the caller takes them anyway). */
  async waitPartnerReleased(timeoutMs: number): Promise<boolean> {
    if (this.partnerReleased !== false) return true;
    const t0 = performance.now();
    this.releaseWaits.waited++;
    const released = await new Promise<boolean>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(this.partnerReleased !== false);
      };
      const timer = setTimeout(() => {
        this.releaseWaiters = this.releaseWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.releaseWaiters.push(done);
    });
    this.releaseWaits.lastMs = Math.round(performance.now() - t0);
    if (!released) this.releaseWaits.timedOut++;
    return released;
  }

  /** How long without a heartbeat before the partner counts as lost. */
  get deadTimeMs(): number {
    return deadTimeMs(this.actor.getSnapshot().context);
  }

  /** Heartbeats the role machine took (the partner's others repeated one that had changed nothing). */
  get heartbeatsPassed(): number {
    return this.passed;
  }

  get role(): HaRole {
    return this.actor.getSnapshot().context.role;
  }

  status(): PairNodeStatus {
    const c = this.actor.getSnapshot().context;
    return {
      node: c.node, partner: c.partner, role: c.role, reason: c.reason, forwarding: FORWARDING.has(c.role),
      partnerRole: c.heard?.role, partnerHeardMsAgo: this.heardAt === undefined ? undefined : Math.round(performance.now() - this.heardAt),
      splitBrain: c.splitBrain, lag: this.link.lag(), probeAlive: this.probe === undefined ? undefined : this.probeAlive, replicaRecords: this.replica.size, counters: this.link.counters,
      linksUp: c.linksUp, partnerReleased: this.partnerReleased, releaseWaits: { ...this.releaseWaits },
    };
  }

  /** Every heartbeat also flushes the state collected since the last (batches at the heartbeat rate), after it. */
  private beat(machineHb: HaHeartbeat): void {
    this.linksChanged();
    const hb: HaHeartbeat = { ...machineHb, released: this.o.released?.() ?? !FORWARDING.has(machineHb.role) };
    if (this.probe !== undefined) {
      // half the dead time: a dead partner is seen gone on the probe before the sync link's dead time ends; a
      // fenced node (the split brain's loser) waits FENCED_DEAD_TIMES dead times: late probe heartbeats on a
      // loaded host must not make it active beside the winner (a partner dead as well is a second failure)
      const dead = this.o.redundancy.heartbeatInterval * this.o.redundancy.heartbeatMisses;
      const alive = performance.now() - this.probeHeardAt < (hb.role === 'fenced' ? FENCED_DEAD_TIMES * dead : dead / 2);
      if (alive !== this.probeAlive) {
        this.probeAlive = alive;
        this.actor.send({ type: 'ha.partnerProbe', alive });
      }
      this.probe.sendHeartbeat(hb);
    }
    // the heartbeat first: the state's collection and batches (HMAC, sends) must not delay it on a busy node
    this.link.sendHeartbeat(hb);
    if (SYNCING.has(hb.role)) this.flush();
  }

  /** Collects and sends; while a window's worth of batches still waits (a slow or busy partner), the owner is
   *  not asked: its changes wait where they are (session rows stay marked, a row changed twice goes once). */
  private flush(): void {
    if (this.link.backlog <= this.link.window) {
      const full = this.resync;
      this.resync = false;
      this.o.collect?.((r) => this.link.queue(r), full);
    }
    this.link.flush();
  }

  /** The partner's word on its shared addresses; a release wakes whoever waits for it. */
  private heardReleased(hb: HaHeartbeat): void {
    this.partnerReleased = hb.released === true;
    if (this.partnerReleased) for (const w of this.releaseWaiters.splice(0)) w();
  }

  /** A partner's heartbeat: the clock notes it; the machine takes it only if it can change something (a steady pair's
   *  heartbeats repeat one that moved nothing, on a machine that has not moved since). */
  private heard(hb: HaHeartbeat): void {
    this.heardAt = performance.now();
    this.clock.heard();
    this.heardReleased(hb);
    const s = this.actor.getSnapshot();
    if (s === this.steady && s.context.heard !== undefined && sameHeartbeat(hb, s.context.heard)) return;
    const before = s.context.heard?.role;
    this.passed++;
    this.actor.send({ type: 'ha.heartbeat', heartbeat: hb });
    const after = this.actor.getSnapshot();
    this.steady = moved(s, after) ? undefined : after;
    // a partner that forwarded (it took over: its replica was emptied) and is standby again starts from nothing
    if (before !== undefined && FORWARDING.has(before) && hb.role === 'standby') this.resync = true;
    if (hb.role !== before) this.o.onPartnerRole?.(hb.role);
  }
}
