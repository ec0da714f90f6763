/**
 * The BFD timers and the steady-state fast path of every path of a router (RFC 5880, the way
 * implementations run it): per path a slot of typed arrays, one timer for all of them. The session state
 * machine of each path (machines/bfd.ts) sees only what can change it.
 *
 *   rx        `steady(slot, payload)`: a control packet from an Up remote to our Up session with the same
 *             discriminators, Detect Mult and intervals as the last one the machine accepted, no Poll, no Final,
 *             no A or M bit, Length 24, is what §6.8.6 would only use to restart the Detection Time: the
 *             schedule records its arrival, from the raw bytes (no decode object, no XState event). Anything
 *             else returns false: the caller decodes it; `accepted` when the machine will accept it (§6.8.6), the event, then `sync`.
 *   detection while the machine is in a `watching` state: last accepted packet (or data, `traffic`) +
 *             `detectionTimeMs(context)` passed -> `hooks.expire(slot)` (the caller sends bfd.detectionTimeExpired)
 *   transmit  every `transmitIntervalMs(context)`, 0-25 % earlier (§6.8.7): `hooks.transmit(slot)` while
 *             `mayTransmit(context)`. Due times are rounded up to a hundredth of the interval, so paths with
 *             the same timers fall due together: one tick sends them in one batch (`hooks.batch`: one TUN write).
 *   one timer armed at the earliest due time (detection exact; a tick scans all slots, ~2 µs per 1,000 paths).
 *
 * Measured (bench/bfd-paths.ts, 2,000 paths at default timers, in process): 3.8 µs of CPU per control message
 * against 38.6 µs with a timer and an XState event per packet; a tick sends ~20 packets in one write
 * (docs/performance.md, "The BFD fast path").
 */
import { detectionTimeMs, mayTransmit, transmitIntervalMs, type BfdContext } from '../machines/bfd.js';
import type { Timers } from './link-test.js';

export interface BfdScheduleHooks {
  /** the path's Detection Time passed: send its machine `bfd.detectionTimeExpired` (then `sync`) */
  expire(slot: number): void;
  /** the path's periodic control packet is due (sent only while the machine may transmit) */
  transmit(slot: number): void;
  /** runs `fn`; the packets sent inside leave together (router.batchPathMessages) */
  batch(fn: () => void): void;
}

const USED = 1;
const LOCAL_UP = 2;
const REMOTE_UP = 4;
const WATCHING = 8;
const MAY_TX = 16;
const STEADY = USED | LOCAL_UP | REMOTE_UP;

/** BFD header byte 1 (RFC 5880 §4.1): Sta(2) P F C A D M */
const STATE_UP = 3 << 6;
/** P, F, A, M: a packet with any of them is not steady state (C and D change nothing here) */
const NOT_STEADY_BITS = 0x20 | 0x10 | 0x04 | 0x01;
const BFD_LENGTH = 24;

const u32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

export class BfdSchedule {
  readonly #timers: Timers;
  readonly #hooks: BfdScheduleHooks;
  #flags = new Uint8Array(0);
  #myDiscr = new Uint32Array(0);
  #remoteDiscr = new Uint32Array(0);
  #remoteMult = new Uint8Array(0);
  #remoteTxUs = new Uint32Array(0);
  #remoteRxUs = new Uint32Array(0);
  #lastRx = new Float64Array(0);
  #detectMs = new Float64Array(0);
  #intervalMs = new Float64Array(0);
  #nextTx = new Float64Array(0);
  /** mulberry32 state per slot, for the transmit jitter */
  #rng = new Uint32Array(0);
  #used = 0;
  readonly #free: number[] = [];
  #handle: unknown = null;
  #armedAt = Infinity;
  #ticking = false;

  constructor(timers: Timers, hooks: BfdScheduleHooks) {
    this.#timers = timers;
    this.#hooks = hooks;
  }

  /** A new path: its slot. `sync` it with the machine's first snapshot. */
  add(jitterSeed: number): number {
    const slot = this.#free.pop() ?? this.#grow();
    this.#flags[slot] = USED;
    this.#intervalMs[slot] = 0;
    this.#nextTx[slot] = Infinity;
    this.#lastRx[slot] = this.#timers.now();
    this.#rng[slot] = jitterSeed >>> 0;
    return slot;
  }

  remove(slot: number): void {
    this.#flags[slot] = 0;
    this.#free.push(slot);
  }

  /** No timer left behind. */
  stop(): void {
    if (this.#handle !== null) this.#timers.clearTimeout(this.#handle);
    this.#handle = null;
    this.#armedAt = Infinity;
  }

  /** After every event the machine took: what the fast path compares with, the timers' inputs. */
  sync(slot: number, c: BfdContext, watching: boolean): void {
    let f = USED;
    if (c.state === 'up') f |= LOCAL_UP;
    if (c.remoteState === 'up') f |= REMOTE_UP;
    if (watching) f |= WATCHING;
    if (mayTransmit(c)) f |= MAY_TX;
    this.#flags[slot] = f;
    this.#myDiscr[slot] = c.myDiscr;
    this.#remoteDiscr[slot] = c.remoteDiscr;
    this.#remoteMult[slot] = c.remoteDetectMult;
    this.#remoteTxUs[slot] = c.remoteDesiredMinTxUs;
    this.#remoteRxUs[slot] = c.remoteMinRxUs;
    this.#detectMs[slot] = detectionTimeMs(c);
    const interval = transmitIntervalMs(c);
    if (interval !== this.#intervalMs[slot]) {
      // a new interval applies from now (as a restarted transmit timer would)
      this.#intervalMs[slot] = interval;
      this.#nextTx[slot] = this.#due(slot, this.#timers.now());
    }
    if (watching) this.#arm(this.#lastRx[slot]! + this.#detectMs[slot]!);
    this.#arm(this.#nextTx[slot]!);
  }

  /** The machine is about to accept a packet (§6.8.6): the Detection Time restarts (armed by the `sync` after). */
  accepted(slot: number): void {
    this.#lastRx[slot] = this.#timers.now();
  }

  /**
   * The fast path: true when `p` (a BFD control packet's bytes) is steady state for the slot's session (see
   * the header) and was taken here; false: decode it and hand it to the machine.
   */
  steady(slot: number, p: Uint8Array): boolean {
    if ((this.#flags[slot]! & STEADY) !== STEADY || p.length < BFD_LENGTH) return false;
    if (p[0]! >>> 5 !== 1 || (p[1]! & 0xc0) !== STATE_UP || (p[1]! & NOT_STEADY_BITS) !== 0 || p[3] !== BFD_LENGTH) return false;
    if (p[2] !== this.#remoteMult[slot] || u32(p, 4) !== this.#remoteDiscr[slot] || u32(p, 8) !== this.#myDiscr[slot]) return false;
    if (u32(p, 12) !== this.#remoteTxUs[slot] || u32(p, 16) !== this.#remoteRxUs[slot]) return false;
    this.#lastRx[slot] = this.#timers.now();
    return true;
  }

  /**
   * Authenticated data arrived on the path: while the session is Up it restarts the Detection Time like a
   * received packet (§6.6's idea, docs/paths.md "Data counts as liveness while Up"); it never brings a session
   * Up. Returns whether it applied.
   */
  traffic(slot: number): boolean {
    if ((this.#flags[slot]! & (USED | LOCAL_UP)) !== (USED | LOCAL_UP)) return false;
    this.#lastRx[slot] = this.#timers.now();
    return true;
  }

  /** A path's next periodic transmission (tests, `show`): ms on the schedule's clock. */
  nextTransmitAt(slot: number): number {
    return this.#nextTx[slot]!;
  }

  #grow(): number {
    const n = this.#flags.length;
    const cap = Math.max(16, n * 2);
    const grow = <T extends Uint8Array | Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.#flags = grow(this.#flags, (k) => new Uint8Array(k));
    this.#myDiscr = grow(this.#myDiscr, (k) => new Uint32Array(k));
    this.#remoteDiscr = grow(this.#remoteDiscr, (k) => new Uint32Array(k));
    this.#remoteMult = grow(this.#remoteMult, (k) => new Uint8Array(k));
    this.#remoteTxUs = grow(this.#remoteTxUs, (k) => new Uint32Array(k));
    this.#remoteRxUs = grow(this.#remoteRxUs, (k) => new Uint32Array(k));
    this.#lastRx = grow(this.#lastRx, (k) => new Float64Array(k));
    this.#detectMs = grow(this.#detectMs, (k) => new Float64Array(k));
    this.#intervalMs = grow(this.#intervalMs, (k) => new Float64Array(k));
    this.#nextTx = grow(this.#nextTx, (k) => new Float64Array(k));
    this.#rng = grow(this.#rng, (k) => new Uint32Array(k));
    for (let s = cap - 1; s > n; s--) this.#free.push(s);
    this.#used = cap;
    return n;
  }

  /**
   * §6.8.7: the next transmission, the interval reduced by 1-25 % at random, then rounded up to a hundredth of
   * the interval (so never more than 25 % early nor later than the interval).
   */
  #due(slot: number, now: number): number {
    const interval = this.#intervalMs[slot]!;
    if (!(interval > 0)) return Infinity;
    const grain = interval / 100;
    const gap = interval * (0.99 - 0.24 * this.#random(slot));
    return Math.ceil((now + gap) / grain) * grain;
  }

  /** mulberry32 step of the slot's PRNG: [0, 1). */
  #random(slot: number): number {
    let t = (this.#rng[slot]! + 0x6d2b79f5) >>> 0;
    this.#rng[slot] = t;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  #arm(at: number): void {
    if (this.#ticking || !(at < this.#armedAt)) return;
    if (this.#handle !== null) this.#timers.clearTimeout(this.#handle);
    this.#armedAt = at;
    this.#handle = this.#timers.setTimeout(() => this.#tick(), Math.max(0, at - this.#timers.now()));
  }

  /** Every expired detection and due transmission, the packets in one batch; then the timer for the next. */
  #tick(): void {
    this.#handle = null;
    this.#armedAt = Infinity;
    this.#ticking = true;
    const now = this.#timers.now();
    try {
      this.#hooks.batch(() => {
        for (let s = 0; s < this.#used; s++) {
          const f = this.#flags[s]!;
          if ((f & USED) === 0) continue;
          if ((f & WATCHING) !== 0 && this.#lastRx[s]! + this.#detectMs[s]! <= now) this.#hooks.expire(s);
          if (this.#nextTx[s]! <= now && (this.#flags[s]! & USED) !== 0) {
            if ((this.#flags[s]! & MAY_TX) !== 0) this.#hooks.transmit(s);
            this.#nextTx[s] = this.#due(s, now);
          }
        }
      });
    } finally {
      this.#ticking = false;
    }
    let next = Infinity;
    for (let s = 0; s < this.#used; s++) {
      const f = this.#flags[s]!;
      if ((f & USED) === 0) continue;
      if ((f & WATCHING) !== 0) next = Math.min(next, this.#lastRx[s]! + this.#detectMs[s]!);
      next = Math.min(next, this.#nextTx[s]!);
    }
    this.#arm(next);
  }
}
