/**
 * Runs the liveness and quality of every peer path of a router: per path one BFD actor
 * (machines/bfd.ts) with its timers and steady-state packets in one schedule for all paths
 * (paths/bfd-schedule.ts), one link tester (paths/link-test.ts) and one path lifecycle actor (machines/path.ts:
 * usable, hold-down after a flap), all over the path control channel (UDP 1280; paths/messages.ts).
 *
 * 1. start(): one BFD actor per path of `tables()`; incoming messages are demultiplexed by first byte:
 *    BFD -> steady state (the schedule's fast path: no decode, no event) or decode (bad packets counted) ->
 *    the path's actor; echo request -> answered at once;
 *    echo reply -> the path's link tester.
 *    With a data path in this thread (`keepSteady`: dataplane/control-fast-path.ts) steady BFD packets and
 *    link-test replies do not come as messages at all: the schedule folds the former's arrival stamps in at
 *    each tick; the replies are drained (their arrival stamped there) before the link-test timers run and at
 *    each traffic poll.
 * 2. BFD state changes feed the path's lifecycle; BFD Up starts link tests, anything else stops them.
 * 3. `state$` emits on every BFD state or usable change (first one at start: down, unusable).
 * 4. With `traffic` (authenticated data packets per path, from the data path), a poll every
 *    min(100 ms, RequiredMinRx / 4) restarts an Up session's Detection Time when data arrived: an overloaded
 *    router that loses its own control packets in the queues it shares with data keeps its paths Up
 *    while the peer's data still gets through (docs/paths.md).
 * 5. A router pair's node (docs/high-availability.md "Per-node WAN interfaces"): `setPairStandby(true)` marks
 *    its Up packets with Diag 31; a peer's Up packet says whether the far end is standby (read before the fast
 *    path, which ignores the Diag) -> the lifecycle's `path.peerStandby`: Up but not usable while it is.
 *    A node of the peer that stops saying standby has taken over: the paths to the peer's other node are
 *    `superseded` at once (standby here), not after their detection time (a dead node sends nothing), so the
 *    sessions on them move to the new active's paths with their next packet (a download to a silent client
 *    included); only that node's own Diag 31 (it is standby) or its BFD going down ends it.
 *
 * @example
 *   const paths = new PathSupervisor({ tables: () => router.tables, send: (p, b) => router.sendPathMessage(p, b), messages$: router.pathMessages$ });
 *   paths.state$.subscribe((s) => router.setPathUp(s.pathName, s.usable));
 *   paths.start();
 */
import { randomInt } from 'node:crypto';
import { Subject, type Observable, type Subscription } from 'rxjs';
import { createActor, type Actor } from 'xstate';
import { bfdMachine, detectionWatched, discardReason, type BfdContext, type BfdPublished } from '../machines/bfd.js';
import type { CompiledBfd, ForwardingTables } from '../model/tables.js';
import { BFD_CONTROL_LENGTH, BFD_STATES, BfdDiag, decodeBfdControl, encodeBfdControl, writeBfdControl, type BfdControlPacket, type BfdState } from '../packet/bfd.js';
import { BfdSchedule } from './bfd-schedule.js';
import { ControlFastPath } from '../dataplane/control-fast-path.js';
import { GridTimers } from './grid-timers.js';
import { LinkTester, type LinkTestSettings, type Timers } from './link-test.js';
import { decodeLinkTest, linkTestReply, pathMessageKind } from './messages.js';
import { holdDownRemainingMs, pathMachine, uptimeMs, type PathAnnouncement } from '../machines/path.js';
import { QualityHistory, type LinkTestRound, type PathQuality } from './quality.js';

export interface PathSupervisorDeps {
  /** the router's current forwarding tables */
  tables(): ForwardingTables;
  /** sends a control-channel payload on a path (router.sendPathMessage); reads `payload` before it returns (the
   *  supervisor reuses one buffer for its BFD packets and one for its link-test requests) */
  send(path: number, payload: Uint8Array): boolean;
  /** control-channel messages from peers (router.pathMessages$) */
  messages$: Observable<{ path: number; payload: Uint8Array; atMs: number }>;
  /** runs `fn`; the messages it sends leave together (router.batchPathMessages); default: as they come */
  batch?(fn: () => void): void;
  /** authenticated data packets received on a path so far (monotonic; router.pathTraffic) */
  traffic?(path: number): number;
  /** hands the data path the typed arrays where it keeps steady BFD packets and link-test replies (null:
   *  detach); false when it cannot (a worker's data path): every message comes through `messages$` */
  keepSteady?(fast: ControlFastPath | null): boolean;
  /** after each link-test round: the path's smoothed quality */
  qualityChanged?(pathName: string, quality: PathQuality): void;
  /** ms, monotonic; default performance.now */
  now?(): number;
  setTimeout?(fn: () => void, ms: number): unknown;
  clearTimeout?(handle: unknown): void;
  /** runs `fn` once the input waiting now was read (a passed Detection Time's verdict waits for it: the schedule's
   *  header); default with the default timers setImmediate (after the event loop's I/O phase), else at once */
  afterInput?(fn: () => void): void;
}

export interface PathSupervisorOptions {
  /** RFC 5880 §6.8.3 slow transmit interval until Up, ms (default 1000; tests may shorten it) */
  slowStartMs?: number;
  /** gap between the echo requests of one link test, ms (default 100) */
  linkTestSpacingMs?: number;
  /** [0, 1) source for discriminators and jitter seeds (default crypto) */
  random?(): number;
  /** a router pair's node: each path's discriminator from its name, the same on both nodes (nonzero), so the
   *  node that takes over can continue the partner's sessions (`resume`) */
  discriminator?(pathName: string): number;
}

export type PathChangeReason =
  | 'start' | 'bfd-init' | 'bfd-up' | 'hold-down' | 'hold-down-over'
  | 'detection-time-expired' | 'neighbor-signaled-down' | 'admin-down' | 'bfd-down'
  /** the far end is a router pair's standby node (Diag pairStandby), or it took over */
  | 'peer-standby' | 'peer-active';

export interface PathStateChange {
  readonly path: number;
  readonly pathName: string;
  readonly usable: boolean;
  readonly bfdState: BfdState;
  readonly reason: PathChangeReason;
  /** since when BFD is up (this supervisor's clock, ms), undefined while down */
  readonly upSinceMs: number | undefined;
}

export interface PathQualityView {
  /** the last link test */
  readonly latest?: LinkTestRound;
  /** weighted moving average of the last 3 tests */
  readonly smoothed?: PathQuality;
}

export interface PathSummary {
  readonly path: number;
  readonly name: string;
  readonly vector: string;
  readonly bfdState: BfdState;
  /** RFC 5880 §4.1 diagnostic of the last state change */
  readonly diag: number;
  readonly usable: boolean;
  /** BFD Up, but the far end is a router pair's standby node: no sessions on the path */
  readonly peerStandby: boolean;
  /** smoothed link-test results; undefined before the first test */
  readonly latencyMs?: number;
  readonly jitterMs?: number;
  readonly lossPercent?: number;
  readonly mos?: number;
  /** since BFD came up, 0 while down */
  readonly uptimeMs: number;
  readonly flaps: number;
  readonly holdDownRemainingMs: number;
}

interface PathRuntime {
  readonly name: string;
  /** its id in the current tables (-1: not in them), set with them (#rebind): no name lookup per packet sent */
  id: number;
  /** in the BFD schedule */
  readonly slot: number;
  settings: CompiledBfd;
  readonly actor: Actor<typeof bfdMachine>;
  readonly tester: LinkTester;
  readonly history: QualityHistory;
  bfdState: BfdState | undefined;
  diag: number;
  /** usable / hold-down (machines/path.ts) */
  readonly lifecycle: Actor<typeof pathMachine>;
  /** deps.traffic at the last poll */
  traffic: number;
  /** the far end's last Up packet said it is a pair's standby node, or its partner took over (superseded) */
  peerStandby: boolean;
  /** the far end's partner took over: its Up packets without Diag 31 do not make the path usable again */
  superseded: boolean;
}

/** link-test echoes and deadlines run on this grid (ms): at most 10 ms late, many paths' echoes in one write */
const LINK_TEST_GRAIN_MS = 10;

export class PathSupervisor {
  readonly #deps: PathSupervisorDeps;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #slowStartMs: number;
  /** this router is a pair's standby node (setPairStandby) */
  #pairStandby = false;
  /** every BFD packet is written here and sent at once (deps.send reads it before returning) */
  readonly #bfdOut = new Uint8Array(BFD_CONTROL_LENGTH);
  readonly #spacingMs: number;
  readonly #paths = new Map<string, PathRuntime>();
  readonly #schedule: BfdSchedule;
  /** the link testers' timers, on a 10 ms grid: the echoes of many paths leave together */
  readonly #linkTimers: GridTimers;
  /** runtime by schedule slot */
  readonly #bySlot: (PathRuntime | undefined)[] = [];
  /** path by actor (BFD and lifecycle): the machines are provided once for all paths, their actions find the path by `self` */
  readonly #byActor = new WeakMap<object, PathRuntime>();
  readonly #discriminators = new Set<number>();
  readonly #bfdMachine;
  readonly #pathMachine;
  readonly #clock: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(h: unknown): void };
  readonly #counters = new Map<string, number>();
  /** counter bfd-tx (~2,000 a second on a hub: a field, not a name lookup each) */
  #bfdTx = 0;
  readonly #changes = new Subject<PathStateChange>();
  #ids: { generation: number; byName: Map<string, number>; byId: (PathRuntime | undefined)[] } = { generation: -1, byName: new Map(), byId: [] };
  /** the data path's steady messages (keepSteady), or null */
  readonly #fast: ControlFastPath | null;
  /** path names by id in the tables the fast path is bound to (its replies name paths by those ids) */
  #boundNames: readonly string[] = [];
  #subscription: Subscription | null = null;
  #trafficTimer: unknown = null;
  /** a router pair's standby (its devices down): nothing is sent on any path until `resume` */
  #quiet = false;

  /** usable/BFD changes of every path; subscribe before start() to see the initial ones */
  readonly #discriminator: ((pathName: string) => number) | undefined;
  readonly state$: Observable<PathStateChange> = this.#changes.asObservable();

  constructor(deps: PathSupervisorDeps, opts: PathSupervisorOptions = {}) {
    this.#deps = deps;
    this.#timers = {
      now: deps.now ?? (() => performance.now()),
      // background liveness: the default timers do not keep the process alive by themselves
      setTimeout: deps.setTimeout ?? ((fn, ms) => setTimeout(fn, ms).unref()),
      clearTimeout: deps.clearTimeout ?? ((h) => clearTimeout(h as NodeJS.Timeout)),
    };
    this.#random = opts.random ?? (() => randomInt(0, 0x100000000) / 0x100000000);
    this.#slowStartMs = opts.slowStartMs ?? 1000;
    this.#spacingMs = opts.linkTestSpacingMs ?? 100;
    this.#discriminator = opts.discriminator;
    const afterInput = deps.afterInput ?? (deps.setTimeout === undefined ? (fn: () => void) => void setImmediate(fn).unref() : undefined);
    const fast = new ControlFastPath(this.#timers.now);
    this.#fast = deps.keepSteady?.(fast) === true ? fast : null;
    this.#schedule = new BfdSchedule(this.#timers, {
      expire: (slot) => this.#bySlot[slot]!.actor.send({ type: 'bfd.detectionTimeExpired' }),
      transmit: (slot, packet) => {
        if (this.#quiet) return;
        // #encodePeriodic's Diag: a pair's standby node marks its Up packets
        if (this.#pairStandby && BFD_STATES[packet[1]! >>> 6] === 'up' && (packet[0]! & 0x1f) === BfdDiag.none) packet[0] = (packet[0]! & 0xe0) | BfdDiag.pairStandby;
        if (this.#sendOn(this.#bySlot[slot]!, packet)) this.#bfdTx++;
      },
      batch: deps.batch ?? ((fn) => fn()),
      steadyInDataPath: (n) => {
        this.#count('bfd-rx', n);
        this.#count('bfd-rx-steady', n);
      },
      ...(afterInput === undefined ? {} : {
        // the data read meanwhile counts too (§4 of the header), before the verdict
        afterInput: (fn: () => void) => afterInput(() => {
          if (this.#deps.traffic !== undefined && this.#subscription !== null) this.#pollTraffic();
          fn();
        }),
      }),
      spared: (n) => this.#count('bfd-detection-spared', n),
    }, this.#fast);
    this.#clock = { setTimeout: (fn, ms) => this.#timers.setTimeout(fn, ms), clearTimeout: (h) => this.#timers.clearTimeout(h) };
    // one provided machine for all paths (a provided machine per path held ~16 kB of heap each)
    this.#bfdMachine = bfdMachine.provide({
      actions: {
        sendControl: ({ self }, packet) => {
          if (this.#quiet) return;
          const rt = this.#byActor.get(self);
          if (rt !== undefined && this.#sendOn(rt, this.#encode(packet))) this.#bfdTx++;
        },
        publishState: ({ self }, p) => {
          const rt = this.#byActor.get(self);
          if (rt !== undefined) this.#onBfdState(rt, p);
        },
        discard: (_, p) => this.#count(`bfd-discard-${p.reason}`),
      },
    });
    this.#pathMachine = pathMachine.provide({
      actions: {
        announce: ({ self }, p) => {
          const rt = this.#byActor.get(self);
          if (rt !== undefined) this.#onUsable(rt, p);
        },
      },
    });
    const batch = deps.batch ?? ((fn: () => void) => fn());
    // the replies the data path kept count before any loss deadline of this tick
    this.#linkTimers = new GridTimers(this.#timers, LINK_TEST_GRAIN_MS, (fn) => batch(() => {
      this.#drainReplies();
      fn();
    }));
  }

  start(): void {
    if (this.#subscription !== null) return;
    this.#subscription = this.#deps.messages$.subscribe((m) => this.#onMessage(m.path, m.payload));
    this.refresh();
    if (this.#deps.traffic !== undefined || this.#fast !== null) this.#scheduleTrafficPoll();
  }

  /**
   * §4 of the header: data received on an Up path restarts its Detection Time. The restart counts from the
   * poll, not from the packet, so a path whose data stops may go down up to one poll later than by BFD alone:
   * polling at a quarter of the fastest Required Min RX keeps that under a twelfth of a Detection Time.
   */
  #scheduleTrafficPoll(): void {
    let ms = 100;
    for (const rt of this.#paths.values()) ms = Math.min(ms, rt.settings.requiredMinRxMs / 4);
    this.#trafficTimer = this.#timers.setTimeout(() => {
      if (this.#deps.traffic !== undefined) this.#pollTraffic();
      this.#drainReplies();
      // quiet (a pair's standby, devices down): no data to see and no replies to drain; `resume` polls again
      if (this.#quiet) this.#trafficTimer = null;
      else this.#scheduleTrafficPoll();
    }, Math.max(5, ms));
  }

  /** By path id (no name lookup per path: a hub polls 2,000 paths 10 times a second). */
  #pollTraffic(): void {
    const traffic = this.#deps.traffic!;
    this.#current();
    const byId = this.#ids.byId;
    for (let id = 0; id < byId.length; id++) {
      const rt = byId[id];
      if (rt === undefined) continue;
      const n = traffic(id);
      if (n === rt.traffic) continue;
      rt.traffic = n;
      if (this.#schedule.traffic(rt.slot)) this.#count('bfd-traffic-seen');
    }
  }

  /** Follows the tables after a config change: new paths start, removed ones stop, changed timers are re-negotiated (poll). */
  refresh(): void {
    const paths = this.#deps.tables().paths;
    const names = new Set(paths.map((p) => p.name));
    for (const [name, rt] of this.#paths) {
      if (!names.has(name)) this.#stopPath(rt);
    }
    for (const p of paths) {
      const rt = this.#paths.get(p.name);
      if (rt === undefined) {
        this.#startPath(p.name, p.bfd);
        continue;
      }
      const b = p.bfd;
      if (b.desiredTxMs !== rt.settings.desiredTxMs || b.requiredMinRxMs !== rt.settings.requiredMinRxMs || b.multiplier !== rt.settings.multiplier) {
        rt.actor.send({ type: 'bfd.configure', desiredMinTxMs: b.desiredTxMs, requiredMinRxMs: b.requiredMinRxMs, multiplier: b.multiplier });
      }
      if (b.holdDownMs !== rt.settings.holdDownMs) rt.lifecycle.send({ type: 'path.configure', holdDownMs: b.holdDownMs });
      rt.tester.configure(this.#linkTestSettings(b));
      rt.settings = b;
    }
    this.#current();
  }

  /** Latest and smoothed link-test results of a path (by id in the current tables). */
  quality(pathId: number): PathQualityView | undefined {
    const rt = this.#runtime(pathId);
    if (rt === undefined) return undefined;
    const view: { latest?: LinkTestRound; smoothed?: PathQuality } = {};
    if (rt.history.latest !== undefined) view.latest = rt.history.latest;
    if (rt.history.smoothed !== undefined) view.smoothed = rt.history.smoothed;
    return view;
  }

  /** The smoothed link-test quality of a path (by id in the current tables): the same object until the path's next
   *  round (every 10 s by default), so a reader may compare it by identity; no view object (STEP asks every second). */
  smoothedQuality(pathId: number): PathQuality | undefined {
    return this.#runtime(pathId)?.history.smoothed;
  }

  summary(): PathSummary[] {
    const now = this.#timers.now();
    return this.#deps.tables().paths.flatMap((p): PathSummary[] => {
      const rt = this.#paths.get(p.name);
      if (rt === undefined) return [];
      const q = rt.history.smoothed;
      const life = rt.lifecycle.getSnapshot().context;
      const row: PathSummary = {
        path: p.id, name: p.name, vector: p.vector, bfdState: rt.bfdState ?? 'down', diag: rt.diag, usable: usable(rt), peerStandby: rt.lifecycle.getSnapshot().value === 'standby',
        uptimeMs: uptimeMs(life, now), flaps: life.flaps, holdDownRemainingMs: holdDownRemainingMs(life, now),
      };
      return [q === undefined ? row : { ...row, latencyMs: q.latencyMs, jitterMs: q.jitterMs, lossPercent: q.lossPercent, mos: q.mos }];
    });
  }

  /** A path's BFD state (undefined before its machine's first, or for a path it does not run). */
  bfdState(pathName: string): BfdState | undefined {
    return this.#paths.get(pathName)?.bfdState;
  }

  /** Whether the path's far end is a router pair's standby node (its lifecycle holds it Up but not usable). */
  peerStandby(pathName: string): boolean {
    return this.#paths.get(pathName)?.lifecycle.getSnapshot().value === 'standby';
  }

  /** Messages sent/received and drops by reason (`bfd-drop-<reason>`, `bfd-discard-<reason>`, ...). */
  counters(): Record<string, number> {
    this.#schedule.fold(); // the steady packets the data path took since the last detection scan
    const out = Object.fromEntries(this.#counters);
    if (this.#bfdTx > 0) out['bfd-tx'] = this.#bfdTx;
    return out;
  }

  /** A router pair's node took over: every path that is not Up continues the peer's session if it is Up (machines/bfd.ts
   *  `bfd.resume`), usable at once, without a hold-down for the time it was down as a standby (machines/path.ts `path.resume`). */
  resume(): void {
    this.#quiet = false;
    if (this.#trafficTimer === null && this.#subscription !== null && (this.#deps.traffic !== undefined || this.#fast !== null)) this.#scheduleTrafficPoll();
    for (const rt of this.#paths.values()) {
      rt.lifecycle.send({ type: 'path.resume' });
      rt.actor.send({ type: 'bfd.resume' });
    }
  }

  /** A router pair's node is standby or fenced (its devices are down): send nothing on any path (BFD, link tests,
   *  echo replies) until `resume`. Its sessions go Down after a Detection Time, as they would without the sends. */
  quiet(): void {
    this.#quiet = true;
  }

  get quieted(): boolean {
    return this.#quiet;
  }

  /**
   * A router pair's node: standby (its Up packets carry Diag `pairStandby`, so the peers keep the paths Up
   * but carry no session on them) or forwarding. A change is sent at once on every Up path (one packet each,
   * outside the transmit interval, like a Final): the peers move to the new active's paths without waiting
   * for the next transmit time.
   */
  setPairStandby(standby: boolean): void {
    if (this.#pairStandby === standby) return;
    this.#pairStandby = standby;
    (this.#deps.batch ?? ((fn: () => void) => fn()))(() => {
      for (const rt of this.#paths.values()) {
        if (rt.bfdState === 'up' && this.#sendOn(rt, this.#encodePeriodic(rt.actor.getSnapshot().context))) this.#bfdTx++;
      }
    });
  }

  stop(): void {
    this.#subscription?.unsubscribe();
    this.#subscription = null;
    if (this.#trafficTimer !== null) this.#timers.clearTimeout(this.#trafficTimer);
    this.#trafficTimer = null;
    for (const rt of this.#paths.values()) this.#stopPath(rt);
    this.#schedule.stop();
    this.#linkTimers.stop();
    if (this.#fast !== null) this.#deps.keepSteady?.(null);
    this.#changes.complete();
  }

  #startPath(name: string, settings: CompiledBfd): void {
    let rt: PathRuntime; // the tester's sends find it (set below, before the tester runs)
    let myDiscriminator = this.#discriminator?.(name) ?? 0;
    while (myDiscriminator === 0 || this.#discriminators.has(myDiscriminator)) myDiscriminator = Math.floor(this.#random() * 0x100000000) >>> 0;
    const history = new QualityHistory();
    const tester = new LinkTester(this.#linkTestSettings(settings), {
      timers: this.#linkTimers,
      send: (payload) => this.#sendOn(rt, payload),
      onRound: (round) => {
        history.add(round);
        const q = history.smoothed;
        if (q !== undefined) this.#deps.qualityChanged?.(name, q);
      },
      quality: () => history.smoothed,
    });
    const jitterSeed = Math.floor(this.#random() * 0x100000000);
    const clock = this.#clock;
    const actor = createActor(this.#bfdMachine, {
      clock,
      input: {
        myDiscriminator, desiredMinTxMs: settings.desiredTxMs, requiredMinRxMs: settings.requiredMinRxMs, multiplier: settings.multiplier,
        slowTxMs: this.#slowStartMs,
      },
    });
    const lifecycle = createActor(this.#pathMachine, { clock, input: { holdDownMs: settings.holdDownMs } });
    const slot = this.#schedule.add(jitterSeed);
    rt = { name, id: -1, slot, settings, actor, tester, history, bfdState: undefined, diag: 0, lifecycle, traffic: 0, peerStandby: false, superseded: false };
    this.#paths.set(name, rt);
    this.#bySlot[slot] = rt;
    this.#byActor.set(actor, rt);
    this.#byActor.set(lifecycle, rt);
    this.#discriminators.add(myDiscriminator);
    const id = this.#ids.generation === this.#deps.tables().generation ? this.#ids.byName.get(name) : undefined;
    if (id !== undefined) {
      rt.id = id;
      this.#ids.byId[id] = rt;
      this.#schedule.bind(slot, id);
    }
    // the schedule follows every snapshot of the machine: its state and timers (also after its own resume window)
    actor.subscribe((snap) => this.#schedule.sync(slot, snap.context, detectionWatched(snap)));
    lifecycle.start();
    actor.start();
  }


  #stopPath(rt: PathRuntime): void {
    const id = this.#ids.byName.get(rt.name);
    if (id !== undefined && this.#ids.byId[id] === rt) this.#ids.byId[id] = undefined;
    rt.id = -1;
    rt.actor.stop();
    rt.tester.stop();
    rt.lifecycle.stop();
    this.#schedule.remove(rt.slot);
    this.#bySlot[rt.slot] = undefined;
    this.#discriminators.delete(rt.actor.getSnapshot().context.myDiscr);
    this.#paths.delete(rt.name);
  }

  #linkTestSettings(b: CompiledBfd): LinkTestSettings {
    return { intervalMs: b.linkTestIntervalMs, length: b.linkTestLength, spacingMs: this.#spacingMs };
  }

  #onBfdState(rt: PathRuntime, p: BfdPublished): void {
    const first = rt.bfdState === undefined;
    rt.bfdState = p.state;
    rt.diag = p.diag;
    if (p.state === 'up') rt.tester.start();
    else {
      rt.tester.stop();
      if (rt.superseded) {
        rt.superseded = false; // what it says when it is up again counts
        this.#steadyStandby(rt);
      }
    }
    const reason = first ? 'start' : stateReason(p);
    const wasUp = rt.lifecycle.getSnapshot().context.upSinceMs !== undefined;
    const before = usable(rt);
    if ((p.state === 'up') !== wasUp) rt.lifecycle.send({ type: p.state === 'up' ? 'bfd.up' : 'bfd.down', atMs: this.#timers.now() });
    if (usable(rt) !== before) return; // the lifecycle announced the change (#onUsable)
    // BFD changed, usability did not: up but held down after a flap, or a state between down and up
    const life = rt.lifecycle.getSnapshot().context;
    const upReason = rt.lifecycle.getSnapshot().value === 'standby' ? 'peer-standby' : 'hold-down';
    this.#emit(rt, p.state === 'up' && reason !== 'start' ? upReason : reason, before, life.upSinceMs);
  }

  /** The lifecycle made the path usable or unusable (a BFD change, or the end of a hold-down). */
  #onUsable(rt: PathRuntime, a: PathAnnouncement): void {
    if (rt.bfdState === undefined) return;
    const reason = a.reason === 'bfd-down' ? stateReason({ state: rt.bfdState, diag: rt.diag }) : a.reason;
    this.#emit(rt, reason, a.usable, a.upSinceMs);
  }

  #emit(rt: PathRuntime, reason: PathChangeReason, isUsable: boolean, upSinceMs: number | undefined): void {
    const id = this.#idOf(rt.name);
    if (id === undefined) return;
    this.#changes.next({ path: id, pathName: rt.name, usable: isUsable, bfdState: rt.bfdState ?? 'down', reason, upSinceMs });
  }

  #onMessage(path: number, payload: Uint8Array): void {
    const rt = this.#runtime(path);
    if (rt === undefined) {
      this.#count('path-message-unknown-path');
      return;
    }
    switch (pathMessageKind(payload)) {
      case 'bfd': {
        // an Up packet says whether the far end is a pair's standby node (the Diag, which the fast path ignores)
        if (payload.length >= BFD_CONTROL_LENGTH && BFD_STATES[payload[1]! >>> 6] === 'up') this.#peerStandby(rt, (payload[0]! & 0x1f) === BfdDiag.pairStandby);
        if (this.#schedule.steady(rt.slot, payload)) {
          this.#count('bfd-rx');
          this.#count('bfd-rx-steady');
          return;
        }
        const decoded = decodeBfdControl(payload);
        if (!decoded.ok) this.#count(`bfd-drop-${decoded.reason}`);
        else {
          this.#count('bfd-rx');
          const c = rt.actor.getSnapshot().context;
          // §6.8.6: a packet that passes the session checks restarts the Detection Time (not in AdminDown)
          if (discardReason(c, decoded.packet) === undefined && c.state !== 'adminDown') this.#schedule.accepted(rt.slot);
          rt.actor.send({ type: 'bfd.rx', packet: decoded.packet });
        }
        return;
      }
      case 'link-test-request':
        if (decodeLinkTest(payload) === undefined) this.#count('link-test-drop-malformed');
        else if (this.#sendOn(rt, linkTestReply(payload))) this.#count('link-test-replies-sent');
        return;
      case 'link-test-reply': {
        const echo = decodeLinkTest(payload);
        if (echo === undefined) this.#count('link-test-drop-malformed');
        else if (!rt.tester.handleReply(echo)) this.#count('link-test-unmatched-replies');
        return;
      }
      case 'step':
      case 'nat-address':
      case 'mtu-probe':
      case 'mtu-ack':
        return; // STEP's, NAT traversal's and path MTU discovery's own, read from the same message stream by their owners
      case 'unknown':
        this.#count('path-message-unknown-type');
    }
  }

  /** A control packet on the wire; a pair's standby node marks its Up packets (setPairStandby). */
  #encode(packet: BfdControlPacket): Uint8Array {
    return encodeBfdControl(this.#pairStandby && packet.state === 'up' && packet.diag === BfdDiag.none ? { ...packet, diag: BfdDiag.pairStandby } : packet, this.#bfdOut);
  }

  /** #encode(controlPacket(c, false)) without the packet object: the periodic packets of every path. */
  #encodePeriodic(c: BfdContext): Uint8Array {
    const diag = this.#pairStandby && c.state === 'up' && c.diag === BfdDiag.none ? BfdDiag.pairStandby : c.diag;
    return writeBfdControl(this.#bfdOut, diag, c.state, c.polling ? 0x20 : 0, c.multiplier, c.myDiscr, c.remoteDiscr, c.desiredMinTxUs, c.requiredMinRxUs);
  }

  /** The far end says it is standby or not (`superseding`: its partner took over). */
  #peerStandby(rt: PathRuntime, standby: boolean, superseding = false): void {
    if (!standby && rt.superseded) return; // a superseded node's late Up packets (its drain, a stall) say nothing new
    if (standby && !superseding && rt.superseded) {
      rt.superseded = false; // its own word now: standby
      this.#steadyStandby(rt);
    }
    if (rt.peerStandby === standby) return;
    rt.peerStandby = standby;
    rt.superseded = superseding;
    this.#steadyStandby(rt);
    rt.lifecycle.send({ type: 'path.peerStandby', standby });
    if (standby) {
      if (superseding) return;
      // this node became standby: its partner's paths are the partner's word again (e.g. a dual-active meeting it lost)
      for (const other of this.#otherNode(rt)) {
        if (!other.superseded) continue;
        other.superseded = false;
        this.#steadyStandby(other);
      }
      return;
    }
    // a pair's node took over: its partner's paths that said active are standby from now on
    for (const other of this.#otherNode(rt)) if (other.bfdState === 'up' && !other.peerStandby) this.#peerStandby(other, true, true);
  }

  /**
   * What the data path's fast path takes as steady (schedule.setPeerStandby): Up packets with Diag 31 while the far
   * end is standby by its own word, without it otherwise; a packet that differs comes here (#peerStandby). A
   * superseded path's steady packets are its Up packets without Diag 31 (nothing new), its Diag 31 comes here.
   */
  #steadyStandby(rt: PathRuntime): void {
    this.#schedule.setPeerStandby(rt.slot, rt.peerStandby && !rt.superseded);
  }

  /** The paths to the other node of `rt`'s peer, when that peer is a pair with per-node interfaces. */
  #otherNode(rt: PathRuntime): PathRuntime[] {
    const t = this.#deps.tables();
    const of = t.paths.find((p) => p.name === rt.name);
    if (of?.remoteNode === undefined) return [];
    const out: PathRuntime[] = [];
    for (const p of t.paths) {
      const other = p.peer === of.peer && p.remoteNode !== undefined && p.remoteNode !== of.remoteNode ? this.#paths.get(p.name) : undefined;
      if (other !== undefined) out.push(other);
    }
    return out;
  }

  /** Sends on rt's path by its id in the current tables. */
  #sendOn(rt: PathRuntime, payload: Uint8Array): boolean {
    if (this.#quiet) return false;
    this.#current();
    return rt.id >= 0 && this.#deps.send(rt.id, payload);
  }

  #runtime(pathId: number): PathRuntime | undefined {
    this.#current();
    return this.#ids.byId[pathId];
  }

  /** Path id by name in the current tables (ids may change with a new config generation). */
  #idOf(name: string): number | undefined {
    this.#current();
    return this.#ids.byName.get(name);
  }

  /** The ids follow the current tables. */
  #current(): void {
    const t = this.#deps.tables();
    if (this.#ids.generation !== t.generation) this.#rebind(t);
  }

  /**
   * New tables: path ids by name and runtime by id; the data path's steady messages of the old ids are taken
   * in first (`fold`, `#drainReplies`), then the fast path is bound to the new ids and every path re-armed.
   */
  #rebind(t: ForwardingTables): void {
    const byName = new Map(t.paths.map((p) => [p.name, p.id]));
    const byId = t.paths.map((p) => this.#paths.get(p.name));
    this.#ids = { generation: t.generation, byName, byId };
    for (const rt of this.#paths.values()) rt.id = byName.get(rt.name) ?? -1;
    if (this.#fast === null) return;
    this.#schedule.fold();
    this.#drainReplies();
    this.#fast.bind(t.generation, t.paths.length);
    this.#boundNames = t.paths.map((p) => p.name);
    for (const rt of this.#paths.values()) this.#schedule.bind(rt.slot, byName.get(rt.name) ?? -1);
  }

  /** The link-test replies the data path kept: each to its path's tester, with its arrival time. */
  #drainReplies(): void {
    this.#fast?.drainReplies((path, sequence, sentAtMs, atMs) => {
      const rt = this.#paths.get(this.#boundNames[path] ?? '');
      if (rt === undefined) this.#count('path-message-unknown-path');
      else if (!rt.tester.reply(sequence, sentAtMs, atMs)) this.#count('link-test-unmatched-replies');
    });
  }

  #count(name: string, n = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + n);
  }
}

const usable = (rt: PathRuntime): boolean => rt.lifecycle.getSnapshot().value === 'usable';

function stateReason(p: BfdPublished): PathChangeReason {
  switch (p.state) {
    case 'up':
      return 'bfd-up';
    case 'init':
      return 'bfd-init';
    case 'adminDown':
      return 'admin-down';
    case 'down':
      if (p.diag === BfdDiag.controlDetectionTimeExpired) return 'detection-time-expired';
      if (p.diag === BfdDiag.neighborSignaledSessionDown) return 'neighbor-signaled-down';
      return 'bfd-down';
  }
}
