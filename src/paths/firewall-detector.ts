/**
 * Firewall detector and UDP transform per peer path (ssr-reference §1.2; docs/wan.md "UDP transform"): with
 * `udp-transform.mode: auto-detect` each path is probed when it becomes usable and every `detect-interval`
 * with TCP segments between the waypoints that a stateful middlebox typically drops; when some never get
 * through, new TCP sessions on the path are carried as UDP (the data path's pathTransform). The episode is
 * the pure machine machines/firewall-detector.ts; this wires one actor per path to the path channel.
 *
 * Probes go as TCP from the local waypoint's port 1283 to the peer's (dataplane sendPathProbe), signed
 * like control messages, in this order each attempt:
 *   mid-flow       ACK|PSH with data, no SYN ever sent on that 5-tuple (a firewall tracking TCP drops it)
 *   tcp-syn        SYN carrying data that starts with the SVR metadata cookie (like an SVR first packet)
 *   tcp-syn-jumbo  SYN carrying JUMBO_BYTES of data
 * The peer's wan-verify hands each probe's payload to control; its detector answers every valid probe on
 * the control channel (UDP 1280), which the middlebox passes. A path's verdict is announced on a change:
 * logged `path.udp-transform`, counted, the alarm `udp-transform-active` while a firewall is found.
 * Each router probes its own direction; it tells the peer its verdict (0xd1, on the control channel) at every
 * verdict and every VERDICT_REPEAT_TICKS polls after, and the transform is on while either side found a
 * firewall (machines/firewall-detector.ts `peer.verdict`).
 *
 * Probe (0xcf), big-endian: 0 type | 1 version 0 | 2 kind (0 tcp-syn, 1 mid-flow, 2 tcp-syn-jumbo) |
 * 3 zero | 4 round (u32) | 8 the metadata cookie (8 bytes) | then zeros (the jumbo's padding).
 * Answer (0xd0): the probe's first 8 bytes with the type changed.
 * Verdict (0xd1): 0 type | 1 version 0 | 2 the kinds the sender found blocked (bit k = kind k; 0 = clean) |
 * 3 zero | 4 the sender's verdicts so far (u32).
 */
import type { Observable } from 'rxjs';
import { PolledRunner } from './polled.js';
import { createActor, type Actor } from 'xstate';
import type { ForwardingTables } from '../model/tables.js';
import { TCP_ACK, TCP_PSH, TCP_SYN } from '../packet/ip.js';
import { COOKIE as SVR_COOKIE } from '../packet/svr-metadata.js';
import { PROBE_KINDS, PROBE_REASONS, firewallDetectorMachine, type DetectorVerdict } from '../machines/firewall-detector.js';
import type { UdpTransformMode } from '../model/config.js';
import { FW_PROBE, FW_PROBE_ACK, FW_VERDICT, pathMessageKind, type PathMessage } from './messages.js';

const PROBE_HEADER = 16;
const ANSWER_LENGTH = 8;
const VERDICT_LENGTH = 8;
/** Polls (1 s each) between repetitions of our verdict to the peer (a lost one, a restarted peer). */
export const VERDICT_REPEAT_TICKS = 10;
/** Data in the jumbo SYN: fits any path of at least 1280 bytes (IPv6's minimum) with headers and trailer. */
export const JUMBO_BYTES = 1100;
/** The order of one attempt (mid-flow first: no SYN of this attempt has touched the 5-tuple yet). */
const SEND_ORDER = [1, 0, 2] as const;
const FLAGS: Record<number, number> = { 0: TCP_SYN, 1: TCP_ACK | TCP_PSH, 2: TCP_SYN };

export type DetectorCounter = 'firewall-probes-answered' | 'firewall-probe-acks' | 'firewall-probe-malformed' | 'udp-transform-activations' | 'firewall-verdicts-sent' | 'firewall-verdicts-received';

export interface FirewallDetectorDeps {
  tables(): ForwardingTables;
  messages$: Observable<PathMessage>;
  /** a message on the path control channel */
  send(path: number, payload: Uint8Array): boolean;
  /** runs `fn`; the messages and probes it sends leave together (router.batchPathMessages); default: as they come */
  batch?(fn: () => void): void;
  /** a TCP probe between the waypoints with these flags */
  sendProbe(path: number, tcpFlags: number, payload: Uint8Array): boolean;
  isPathUp(path: number): boolean;
  /** new TCP sessions on the path are carried as UDP, or not */
  setPathTransform(path: number, on: boolean): void;
  log(event: string, fields: Record<string, string | number | boolean>): void;
  count(name: DetectorCounter): void;
}

/** A path's transform as `svr show peers` shows it. */
export interface TransformView {
  mode: UdpTransformMode;
  /** new TCP sessions on the path are carried as UDP */
  active: boolean;
  /** `off` (disabled), `always`, `probing`, `waiting` (verdict given), `down` (not probed: path down) */
  state: string;
  /** the probes a firewall dropped at the last verdict, as SSR names them ("TCP SYN", "Mid-flow", ...) */
  reasons: string[];
  /** verdicts so far */
  episodes: number;
  /** the probes a firewall dropped in the peer's direction, as the peer last told us */
  peerReasons: string[];
}

interface PathRun {
  mode: UdpTransformMode;
  intervalMs: number;
  actor: Actor<typeof firewallDetectorMachine>;
  up: boolean;
  id: number;
  /** our last verdict's blocked kinds, told to the peer; -1 before the first verdict */
  told: number;
  /** polls since it was last told */
  ticks: number;
  /** the last view and the machine snapshot it was made of (snapshots are immutable: the same one, the same view) */
  view?: { of: object; view: TransformView };
}

/** A probe of `kind` for `round` (the jumbo padded with zeros). */
export function encodeFirewallProbe(kind: number, round: number): Uint8Array {
  const out = new Uint8Array(kind === 2 ? JUMBO_BYTES : PROBE_HEADER);
  out[0] = FW_PROBE;
  out[2] = kind;
  new DataView(out.buffer).setUint32(4, round >>> 0);
  out.set(SVR_COOKIE, 8);
  return out;
}

/** The answer to a probe; undefined when the probe is malformed (length, version, kind, cookie, padding). */
export function firewallProbeAnswer(p: Uint8Array): Uint8Array | undefined {
  if (p.length < PROBE_HEADER || p[0] !== FW_PROBE || p[1] !== 0 || p[3] !== 0 || p[2]! >= PROBE_KINDS.length) return undefined;
  if (p.length !== (p[2] === 2 ? JUMBO_BYTES : PROBE_HEADER)) return undefined;
  for (let k = 0; k < SVR_COOKIE.length; k++) if (p[8 + k] !== SVR_COOKIE[k]) return undefined;
  const a = p.slice(0, ANSWER_LENGTH);
  a[0] = FW_PROBE_ACK;
  return a;
}

export function decodeFirewallAnswer(b: Uint8Array): { kind: number; round: number } | undefined {
  if (b.length !== ANSWER_LENGTH || b[0] !== FW_PROBE_ACK || b[1] !== 0 || b[3] !== 0 || b[2]! >= PROBE_KINDS.length) return undefined;
  return { kind: b[2]!, round: new DataView(b.buffer, b.byteOffset, b.length).getUint32(4) };
}

/** Our verdict for the peer: the kinds we found blocked (0 = clean) and our verdicts so far. */
export function encodeFirewallVerdict(blocked: number, episodes: number): Uint8Array {
  const out = new Uint8Array(VERDICT_LENGTH);
  out[0] = FW_VERDICT;
  out[2] = blocked;
  new DataView(out.buffer).setUint32(4, episodes >>> 0);
  return out;
}

/** The peer's verdict; undefined when malformed (length, version, reserved bits). */
export function decodeFirewallVerdict(b: Uint8Array): { blocked: number; episodes: number } | undefined {
  if (b.length !== VERDICT_LENGTH || b[0] !== FW_VERDICT || b[1] !== 0 || b[3] !== 0 || b[2]! >= 1 << PROBE_KINDS.length) return undefined;
  return { blocked: b[2]!, episodes: new DataView(b.buffer, b.byteOffset, b.length).getUint32(4) };
}

/** The SSR names of the kinds in a mask. */
export function reasonsOf(mask: number): string[] {
  return PROBE_KINDS.filter((_, k) => (mask & (1 << k)) !== 0).map((k) => PROBE_REASONS[k]);
}

export class FirewallDetector {
  readonly #paths = new Map<string, PathRun>();
  /** the tables the actors follow, and their runs in path order (a hub polls 2,000 paths a second: the config
   *  is followed only when the tables change) */
  #tables: ForwardingTables | null = null;
  #runs: PathRun[] = [];
  readonly #runner = new PolledRunner<PathMessage>();
  /** path name and run by actor: the machine is provided once for all paths (one per path held ~16 kB of heap) */
  readonly #byActor = new WeakMap<object, { name: string; run: PathRun }>();
  readonly #machine = firewallDetectorMachine.provide({
    actions: {
      sendProbes: ({ self }, p) => {
        const a = this.#byActor.get(self);
        if (a !== undefined) this.#sendProbes(a.run, p.round);
      },
      verdict: ({ self }, v) => {
        const a = this.#byActor.get(self);
        if (a !== undefined) this.#verdict(a.name, a.run, v);
      },
    },
  });
  /** the peer verdict being delivered to an actor (its log line names it) */
  #peerTold: number | undefined;

  constructor(private readonly deps: FirewallDetectorDeps) {}

  start(tickMs = 1000): void {
    this.#runner.start(this.deps.messages$, (m) => this.#onMessage(m), () => this.poll(), tickMs);
  }

  stop(): void {
    this.#runner.stop();
    for (const r of this.#paths.values()) r.actor.stop();
    this.#paths.clear();
    this.#tables = null;
    this.#runs = [];
  }

  /** A path's UDP transform (undefined for a path it does not run); the same object until the path's state changes: read it, do not modify it. */
  view(pathName: string): TransformView | undefined {
    const r = this.#paths.get(pathName);
    if (r === undefined) return undefined;
    const s = r.actor.getSnapshot();
    if (r.view?.of === s) return r.view.view; // the node's alarms read every path's view each second
    const state = s.value === 'off' ? 'off' : s.value === 'transforming' ? 'always' : String(s.value);
    const c = s.context;
    const view = { mode: r.mode, active: c.transform || c.peerBlocked !== 0, state, reasons: reasonsOf(c.blocked), episodes: c.episodes, peerReasons: reasonsOf(c.peerBlocked) };
    r.view = { of: s, view };
    return view;
  }

  /**
   * Follows the config (an actor per path, new when its mode or interval changed) and path liveness; what it sends
   * leaves in one batch (a hub repeats ~200 verdicts a second in bursts at a few of its ticks: one write of up to
   * 64 each instead of one system call per verdict).
   */
  poll(): void {
    if (this.deps.batch === undefined) this.#poll();
    else this.deps.batch(this.#pollNow);
  }

  readonly #pollNow = (): void => this.#poll();

  #poll(): void {
    const t = this.deps.tables();
    if (t !== this.#tables) this.#follow(t);
    for (const run of this.#runs) {
      const up = this.deps.isPathUp(run.id);
      if (up !== run.up) {
        run.up = up;
        run.actor.send({ type: up ? 'path.up' : 'path.down' });
      }
      if (run.told >= 0 && up && ++run.ticks >= VERDICT_REPEAT_TICKS) this.#tell(run, run.told);
    }
  }

  /** New tables: an actor per path (new when its mode or interval changed), stopped for a path that left. */
  #follow(t: ForwardingTables): void {
    this.#tables = t;
    this.#runs = [];
    const names = new Set<string>();
    for (const path of t.paths) {
      names.add(path.name);
      const { mode, detectIntervalMs } = path.udpTransform;
      let run = this.#paths.get(path.name);
      if (run !== undefined && (run.mode !== mode || run.intervalMs !== detectIntervalMs)) {
        run.actor.stop();
        this.#paths.delete(path.name);
        if (run.actor.getSnapshot().context.transform) this.deps.setPathTransform(path.id, false);
        run = undefined;
      }
      if (run === undefined) {
        run = this.#create(path.name, path.id, mode, detectIntervalMs);
        this.#paths.set(path.name, run);
      }
      run.id = path.id;
      this.#runs.push(run);
    }
    for (const [name, run] of this.#paths) {
      if (names.has(name)) continue;
      run.actor.stop();
      this.#paths.delete(name);
    }
  }

  #create(name: string, id: number, mode: UdpTransformMode, intervalMs: number): PathRun {
    const run: PathRun = { mode, intervalMs, up: false, id, told: -1, ticks: 0, actor: undefined as unknown as PathRun['actor'] };
    run.actor = createActor(this.#machine, { input: { mode, detectIntervalMs: intervalMs } });
    this.#byActor.set(run.actor, { name, run });
    run.actor.start();
    return run;
  }

  #sendProbes(run: PathRun, round: number): void {
    for (const kind of SEND_ORDER) this.deps.sendProbe(run.id, FLAGS[kind]!, encodeFirewallProbe(kind, round));
  }

  #verdict(name: string, run: PathRun, v: DetectorVerdict): void {
    this.deps.setPathTransform(run.id, v.transform);
    if (run.mode === 'auto-detect') this.#tell(run, v.blocked);
    if (!v.changed) return;
    if (v.transform && run.mode === 'auto-detect') this.deps.count('udp-transform-activations');
    const peer = this.#peerTold ?? run.actor.getSnapshot().context.peerBlocked;
    this.deps.log('path.udp-transform', {
      path: name, active: v.transform, mode: run.mode,
      ...(v.blocked !== 0 ? { reasons: reasonsOf(v.blocked).join('; ') } : {}),
      ...(peer !== 0 ? { 'peer-reasons': reasonsOf(peer).join('; ') } : {}),
    });
  }

  /** Tells the peer our verdict (the kinds we found blocked) on the path's control channel. */
  #tell(run: PathRun, blocked: number): void {
    run.told = blocked;
    run.ticks = 0;
    if (this.deps.send(run.id, encodeFirewallVerdict(blocked, run.actor.getSnapshot().context.episodes))) this.deps.count('firewall-verdicts-sent');
  }

  #onMessage(m: PathMessage): void {
    const kind = pathMessageKind(m.payload);
    if (kind === 'fw-probe') {
      const a = firewallProbeAnswer(m.payload);
      if (a === undefined) {
        this.deps.count('firewall-probe-malformed');
        return;
      }
      if (this.deps.send(m.path, a)) this.deps.count('firewall-probes-answered');
      return;
    }
    if (kind === 'fw-verdict') {
      const v = decodeFirewallVerdict(m.payload);
      if (v === undefined) {
        this.deps.count('firewall-probe-malformed');
        return;
      }
      this.deps.count('firewall-verdicts-received');
      this.#peerTold = v.blocked; // the verdict action below runs before the actor records it
      this.#paths.get(m.pathName)?.actor.send({ type: 'peer.verdict', blocked: v.blocked });
      this.#peerTold = undefined;
      return;
    }
    if (kind !== 'fw-probe-ack') return;
    const ack = decodeFirewallAnswer(m.payload);
    if (ack === undefined) {
      this.deps.count('firewall-probe-malformed');
      return;
    }
    this.deps.count('firewall-probe-acks');
    this.#paths.get(m.pathName)?.actor.send({ type: 'probe.answered', round: ack.round, kind: ack.kind });
  }
}
