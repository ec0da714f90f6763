/**
 * Path MTU discovery per peer path, datagram style (RFC 8899 DPLPMTUD, ssr-reference §1.2 "Path MTU
 * discovery"; docs/wan.md "Path MTU"): probes on the path control channel with DF set, padded to the size
 * under test, answered by the peer; no reliance on ICMP (the data path ignores ICMP from the underlay, so
 * a forged "too big" lowers nothing).
 *
 * 1. a path that is usable and due starts a search: first the largest size (the wan interface's `mtu`,
 *    RFC 8899 MAX_PLPMTU): on most paths one probe ends it;
 * 2. otherwise BASE_PLPMTU (1200, RFC 8899 §5.1.2) is confirmed, then the size is bisected between the
 *    largest confirmed and the smallest failed one, on multiples of 4, until they are 4 apart;
 * 3. a size fails when MAX_PROBES (3) probes of it go unanswered for PROBE_TIMER_MS each (RFC 8899 §5.1.1,
 *    §5.1.3): a black hole and a lost ICMP look the same, and neither is needed;
 * 4. the result goes to the data path (MSS clamp, ICMP too big toward hosts); the search runs again every
 *    `path-mtu-discovery.interval` (600 s) and whenever the path comes back up, so a path whose MTU grew or
 *    shrank is followed. With `path-mtu-discovery.enabled: false` the path is not probed (the wan
 *    interface's `mtu` stays);
 * 5. BASE_PLPMTU itself failing while BFD is up is "path MTU unresolvable" (logged `path.mtu-unresolvable`,
 *    shown, retried every UNRESOLVED_RETRY_MS); the data path then keeps the interface's `mtu`.
 *
 * Probe (0xcd) and answer (0xce), big-endian: 0 type | 1 version 0 | 2-3 zero | 4 sequence (u32) |
 * 8 size (u16: the whole outer IP packet) | 10-11 zero | then zeros up to the size (probes only). The
 * answer is 12 bytes: the probe's first 12 with the type changed.
 */
import type { Observable } from 'rxjs';
import { PolledRunner } from './polled.js';
import type { ForwardingTables } from '../model/tables.js';
import { trailerLength } from '../dataplane/sign.js';
import { MTU_ACK, MTU_PROBE, pathMessageKind, type PathMessage } from './messages.js';

export const BASE_PLPMTU = 1200;
export const MAX_PROBES = 3;
export const PROBE_TIMER_MS = 300;
export const UNRESOLVED_RETRY_MS = 30_000;
const MTU_HEADER = 12;
const GRANULARITY = 4;
const UDP_HEADER = 8;

export interface PathMtuDeps {
  tables(): ForwardingTables;
  messages$: Observable<PathMessage>;
  send(path: number, payload: Uint8Array): boolean;
  isPathUp(path: number): boolean;
  /** the data path uses this MTU on the path from now on */
  setPathMtu(path: number, mtu: number): void;
  now(): number;
  log(event: string, fields: Record<string, string | number | boolean>): void;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (t: unknown) => void;
}

export type MtuState = 'not-probed' | 'searching' | 'discovered' | 'unresolvable' | 'disabled';

export interface MtuView {
  /** bytes of an outer packet the path carries (the interface's `mtu` until discovered) */
  mtu: number;
  state: MtuState;
  probesSent: number;
}

interface Search {
  low: number;
  high: number;
  /** size under test, its sequence and tries */
  size: number;
  seq: number;
  tries: number;
  timer: unknown;
}

interface PathRun {
  state: MtuState;
  mtu: number;
  dueAt: number;
  probesSent: number;
  search: Search | null;
  wasUp: boolean;
  /** the last view given out: the same object while mtu, state and probes sent stay */
  view?: MtuView;
}

/** A probe padded to `size` bytes of outer IP packet on a path with this IP header and trailer. */
export function encodeMtuProbe(seq: number, size: number, ipHeader: number, trailer: number): Uint8Array {
  const out = new Uint8Array(Math.max(MTU_HEADER, size - ipHeader - UDP_HEADER - trailer));
  out[0] = MTU_PROBE;
  new DataView(out.buffer).setUint32(4, seq >>> 0);
  new DataView(out.buffer).setUint16(8, size);
  return out;
}

/** The answer to a probe (its first 12 bytes, type 0xce); undefined when the probe is malformed. */
export function mtuAnswer(probe: Uint8Array): Uint8Array | undefined {
  if (probe.length < MTU_HEADER || probe[0] !== MTU_PROBE || probe[1] !== 0) return undefined;
  const a = probe.slice(0, MTU_HEADER);
  a[0] = MTU_ACK;
  return a;
}

export function decodeMtuAck(b: Uint8Array): { seq: number; size: number } | undefined {
  if (b.length !== MTU_HEADER || b[0] !== MTU_ACK || b[1] !== 0) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  return { seq: v.getUint32(4), size: v.getUint16(8) };
}

export class PathMtuDiscovery {
  readonly #paths = new Map<string, PathRun>();
  readonly #runner = new PolledRunner<PathMessage>();
  #seq = 1;
  readonly #setTimeout: (fn: () => void, ms: number) => unknown;
  readonly #clearTimeout: (t: unknown) => void;

  constructor(private readonly deps: PathMtuDeps) {
    this.#setTimeout = deps.setTimeout ?? ((fn, ms) => setTimeout(fn, ms).unref());
    this.#clearTimeout = deps.clearTimeout ?? ((t) => clearTimeout(t as NodeJS.Timeout));
  }

  start(tickMs = 1000): void {
    this.#runner.start(this.deps.messages$, (m) => this.#onMessage(m), () => this.poll(), tickMs);
  }

  stop(): void {
    this.#runner.stop();
    for (const p of this.#paths.values()) if (p.search !== null) this.#clearTimeout(p.search.timer);
  }

  /** The path's MTU discovery: the same object while its mtu, state and probes sent stay. */
  view(pathName: string): MtuView | undefined {
    const p = this.#paths.get(pathName);
    if (p === undefined) return undefined;
    const v = p.view;
    if (v !== undefined && v.mtu === p.mtu && v.state === p.state && v.probesSent === p.probesSent) return v;
    return (p.view = { mtu: p.mtu, state: p.state, probesSent: p.probesSent });
  }

  /** Starts the searches that are due on usable paths (every tick, and after a path comes up). */
  poll(): void {
    const t = this.deps.tables();
    const now = this.deps.now();
    for (const path of t.paths) {
      const ifMtu = t.interfaces[path.localInterface]!.mtu;
      let run = this.#paths.get(path.name);
      if (run === undefined) {
        run = { state: 'not-probed', mtu: ifMtu, dueAt: 0, probesSent: 0, search: null, wasUp: false };
        this.#paths.set(path.name, run);
      }
      if (!path.mtuDiscovery.enabled) {
        if (run.state !== 'disabled' && run.state !== 'not-probed') this.deps.setPathMtu(path.id, 0); // turned off: the interface's mtu
        if (run.search !== null) this.#clearTimeout(run.search.timer);
        run.search = null;
        run.state = 'disabled';
        run.mtu = ifMtu;
        continue;
      }
      if (run.state === 'disabled') run.state = 'not-probed';
      const up = this.deps.isPathUp(path.id);
      if (up && !run.wasUp) run.dueAt = now; // (again) usable: search now
      run.wasUp = up;
      if (!up || run.search !== null || now < run.dueAt) continue;
      this.#begin(path.name, run, ifMtu);
    }
  }

  #begin(name: string, run: PathRun, ifMtu: number): void {
    if (run.state !== 'discovered') run.state = 'searching';
    run.search = { low: 0, high: ifMtu, size: ifMtu, seq: 0, tries: 0, timer: null };
    this.#probe(name, run);
  }

  #probe(name: string, run: PathRun): void {
    const s = run.search!;
    const path = this.deps.tables().paths.find((p) => p.name === name);
    if (path === undefined || !this.deps.isPathUp(path.id)) {
      run.search = null; // down or gone: start over when it is back
      return;
    }
    s.seq = this.#seq++ >>> 0;
    s.tries++;
    run.probesSent++;
    s.timer = this.#setTimeout(() => this.#timeout(name, run), PROBE_TIMER_MS); // before sending: an answer may come at once
    this.deps.send(path.id, encodeMtuProbe(s.seq, s.size, path.family === 6 ? 40 : 20, trailerLength(path.hmac)));
  }

  #timeout(name: string, run: PathRun): void {
    const s = run.search;
    if (s === null) return;
    if (s.tries < MAX_PROBES) {
      this.#probe(name, run);
      return;
    }
    // this size does not get through
    if (s.size <= BASE_PLPMTU) {
      run.search = null;
      run.dueAt = this.deps.now() + UNRESOLVED_RETRY_MS;
      if (run.state !== 'unresolvable') this.deps.log('path.mtu-unresolvable', { path: name, probed: s.size });
      run.state = 'unresolvable';
      const path = this.deps.tables().paths.find((p) => p.name === name);
      if (path !== undefined) {
        run.mtu = this.deps.tables().interfaces[path.localInterface]!.mtu;
        this.deps.setPathMtu(path.id, 0);
      }
      return;
    }
    s.high = s.size - 1;
    this.#next(name, run);
  }

  #onMessage(m: PathMessage): void {
    const kind = pathMessageKind(m.payload);
    if (kind === 'mtu-probe') {
      const a = mtuAnswer(m.payload);
      if (a !== undefined) this.deps.send(m.path, a);
      return;
    }
    if (kind !== 'mtu-ack') return;
    const ack = decodeMtuAck(m.payload);
    const run = this.#paths.get(m.pathName);
    const s = run?.search;
    if (ack === undefined || run === undefined || s === null || s === undefined || ack.seq !== s.seq || ack.size !== s.size) return;
    this.#clearTimeout(s.timer);
    s.low = s.size;
    this.#next(m.pathName, run);
  }

  /** After a size passed or failed: the next size, or the end of the search. */
  #next(name: string, run: PathRun): void {
    const s = run.search!;
    s.tries = 0;
    if (s.low === 0) {
      s.size = BASE_PLPMTU; // the largest failed: confirm the base first
      this.#probe(name, run);
      return;
    }
    if (s.high - s.low >= GRANULARITY) {
      const mid = s.low + Math.floor((s.high - s.low + 1) / 2 / GRANULARITY) * GRANULARITY;
      s.size = mid > s.low ? mid : s.low + GRANULARITY;
      if (s.size <= s.high) {
        this.#probe(name, run);
        return;
      }
    }
    // done: the largest size that got through
    const path = this.deps.tables().paths.find((p) => p.name === name);
    run.search = null;
    run.dueAt = this.deps.now() + (path?.mtuDiscovery.intervalMs ?? 600_000);
    const changed = run.state !== 'discovered' || run.mtu !== s.low;
    run.state = 'discovered';
    run.mtu = s.low;
    if (path !== undefined) this.deps.setPathMtu(path.id, s.low);
    if (changed) this.deps.log('path.mtu', { path: name, mtu: s.low, probes: run.probesSent });
  }
}
