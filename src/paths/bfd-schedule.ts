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
 *   transmit  every `transmitIntervalMs(context)`, 0-25 % earlier (§6.8.7): `hooks.transmit(slot, packet)` while
 *             `mayTransmit(context)`; the periodic packet's 24 bytes were written at the last `sync` (slot by slot in
 *             one array: a hub's 2,000 transmissions a second read no machine snapshot). Due times are rounded up to a hundredth of the interval, so paths with
 *             the same timers fall due together: one tick sends them in one batch (`hooks.batch`: one TUN write).
 *   late tick a passed Detection Time expires only after the input waiting by then was read (`hooks.afterInput`: the
 *             event loop runs timers before I/O, so after a stall of this thread the tick came before the packets
 *             that arrived meanwhile: a cause of the lab's false downs at load 20-25). Detection counts
 *             missed packets, not a late timer; a path whose packets are really missing goes down in the same turn.
 *   one timer armed at the earliest due time (detection exact). A tick takes the due transmissions from a heap
 *             of next transmit times (deadline-heap.ts) and scans the slots for expired Detection Times only once
 *             the earliest deadline seen by the last scan has come: arrivals only move deadlines later, so that
 *             deadline is a lower bound (a `sync` that shortens one lowers it). A steady hub scans every ~2 s
 *             instead of at each of its ~100 ticks a second.
 *   data path with a ControlFastPath (dataplane/control-fast-path.ts, same thread): each `bind`ed slot's
 *             steady state is armed there too, so its steady packets never reach control; a detection scan first
 *             folds their arrival stamps into the Detection Times (`hooks.steadyInDataPath`: how many), then
 *             decides (the caller also `fold`s before it reads its counters).
 *
 * Measured (bench/bfd-paths.ts, 2,000 paths at default timers, in process): 3.8 µs of CPU per control message
 * against 38.6 µs with a timer and an XState event per packet; a tick sends ~20 packets in one write
 * (docs/performance.md, "The BFD fast path").
 */
import { detectionTimeMs, mayTransmit, transmitIntervalMs, type BfdContext } from '../machines/bfd.js';
import type { Timers } from './link-test.js';
import type { ControlFastPath } from '../dataplane/control-fast-path.js';
import { BFD_CONTROL_LENGTH, bfdSteady, writeBfdControl } from '../packet/bfd.js';
import { DeadlineHeap } from './deadline-heap.js';

export interface BfdScheduleHooks {
  /** the path's Detection Time passed: send its machine `bfd.detectionTimeExpired` (then `sync`) */
  expire(slot: number): void;
  /**
   * the path's periodic control packet is due (sent only while the machine may transmit): `packet` holds what
   * the machine's context at the last `sync` says (machines/bfd.ts controlPacket(context, false), the Diag as the
   * machine has it); read it before returning (one buffer serves every slot)
   */
  transmit(slot: number, packet: Uint8Array): void;
  /** runs `fn`; the packets sent inside leave together (router.batchPathMessages) */
  batch(fn: () => void): void;
  /** `n` steady packets the data path took since the last tick (with a ControlFastPath) */
  steadyInDataPath?(n: number): void;
  /**
   * runs `fn` once the input already waiting has been read (the router: setImmediate, after the event loop's I/O
   * phase); without it a passed Detection Time expires in the tick (virtual time)
   */
  afterInput?(fn: () => void): void;
  /** `n` passed Detection Times the input read before the verdict restarted (counted, not expired) */
  spared?(n: number): void;
}

const USED = 1;
const LOCAL_UP = 2;
const REMOTE_UP = 4;
const WATCHING = 8;
const MAY_TX = 16;
const STEADY = USED | LOCAL_UP | REMOTE_UP;


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
  /** per slot the periodic packet (BFD_CONTROL_LENGTH bytes at slot * BFD_CONTROL_LENGTH), written at `sync` */
  #packets = new Uint8Array(0);
  readonly #out = new Uint8Array(BFD_CONTROL_LENGTH);
  readonly #written = new Uint8Array(BFD_CONTROL_LENGTH);
  /** the used slots by next transmit time */
  readonly #txHeap = new DeadlineHeap(() => this.#nextTx);
  /** no watching slot's Detection Time ends before this (a lower bound: see the header) */
  #detectAt = Infinity;
  /** mulberry32 state per slot, for the transmit jitter */
  #rng = new Uint32Array(0);
  /** path id in the data path's ControlFastPath (-1: not bound), its steady packets counted so far, standby far end */
  #pathOf = new Int32Array(0);
  #seenRx = new Uint32Array(0);
  #standby = new Uint8Array(0);
  readonly #fast: ControlFastPath | null;
  #used = 0;
  readonly #free: number[] = [];
  #handle: unknown = null;
  #armedAt = Infinity;
  #ticking = false;
  /** the earliest deadline `#arm` was asked for while ticking */
  #wantedAt = Infinity;
  /** passed Detection Times waiting for `afterInput` (0: no verdict pending); a `stop` drops the pending one */
  #late = 0;
  #verdicts = 0;

  constructor(timers: Timers, hooks: BfdScheduleHooks, fast: ControlFastPath | null = null) {
    this.#timers = timers;
    this.#hooks = hooks;
    this.#fast = fast;
  }

  /** A new path: its slot. `sync` it with the machine's first snapshot. */
  add(jitterSeed: number): number {
    const slot = this.#free.pop() ?? this.#grow();
    this.#flags[slot] = USED;
    this.#intervalMs[slot] = 0;
    this.#nextTx[slot] = Infinity;
    this.#lastRx[slot] = this.#timers.now();
    this.#rng[slot] = jitterSeed >>> 0;
    this.#pathOf[slot] = -1;
    this.#standby[slot] = 0;
    this.#txHeap.insert(slot);
    return slot;
  }

  remove(slot: number): void {
    this.#flags[slot] = 0;
    this.#txHeap.delete(slot);
    this.#disarm(slot);
    this.#pathOf[slot] = -1;
    this.#free.push(slot);
  }

  /**
   * The slot's path id in the ControlFastPath's tables (the caller `fast.bind`s the generation first, after
   * `fold`ing what the old ids took). Its steady state is armed there from the last `sync` on.
   */
  bind(slot: number, path: number): void {
    const fast = this.#fast;
    if (fast === null) return;
    this.#pathOf[slot] = path;
    this.#seenRx[slot] = fast.bfdRx[path] ?? 0;
    this.#publish(slot);
  }

  /** The far end's Up packets say it is a router pair's standby node (Diag 31): only such packets are steady. */
  setPeerStandby(slot: number, standby: boolean): void {
    this.#standby[slot] = standby ? 1 : 0;
    this.#publish(slot);
  }

  /** Takes the arrivals of the steady packets the data path took into the Detection Time. */
  fold(): void {
    const fast = this.#fast;
    if (fast === null) return;
    let taken = 0;
    for (let s = 0; s < this.#used; s++) {
      const p = this.#pathOf[s]!;
      if (p < 0 || (this.#flags[s]! & USED) === 0) continue;
      const n = fast.bfdRx[p]!;
      if (n === this.#seenRx[s]) continue;
      taken += (n - this.#seenRx[s]!) >>> 0;
      this.#seenRx[s] = n;
      this.#lastRx[s] = Math.max(this.#lastRx[s]!, fast.bfdRxAt[p]!);
    }
    if (taken > 0) this.#hooks.steadyInDataPath?.(taken);
  }

  /** No timer left behind. */
  stop(): void {
    if (this.#handle !== null) this.#timers.clearTimeout(this.#handle);
    this.#handle = null;
    this.#armedAt = Infinity;
    this.#late = 0;
    this.#verdicts++;
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
    writeBfdControl(this.#written, c.diag, c.state, c.polling ? 0x20 : 0, c.multiplier, c.myDiscr, c.remoteDiscr, c.desiredMinTxUs, c.requiredMinRxUs);
    this.#packets.set(this.#written, slot * BFD_CONTROL_LENGTH);
    this.#publish(slot);
    const interval = transmitIntervalMs(c);
    if (interval !== this.#intervalMs[slot]) {
      // a new interval applies from now (as a restarted transmit timer would)
      this.#intervalMs[slot] = interval;
      this.#nextTx[slot] = this.#due(slot, this.#timers.now());
      this.#txHeap.fix(slot);
    }
    if (watching) {
      const at = this.#lastRx[slot]! + this.#detectMs[slot]!;
      if (at < this.#detectAt) this.#detectAt = at;
      this.#arm(at);
    }
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
    if ((this.#flags[slot]! & STEADY) !== STEADY) return false;
    if (!bfdSteady(p, 0, p.length, this.#remoteMult[slot]!, this.#remoteDiscr[slot]!, this.#myDiscr[slot]!, this.#remoteTxUs[slot]!, this.#remoteRxUs[slot]!)) return false;
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
    const grow = <T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
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
    const packets = new Uint8Array(cap * BFD_CONTROL_LENGTH);
    packets.set(this.#packets);
    this.#packets = packets;
    this.#rng = grow(this.#rng, (k) => new Uint32Array(k));
    this.#pathOf = grow(this.#pathOf, (k) => new Int32Array(k));
    this.#seenRx = grow(this.#seenRx, (k) => new Uint32Array(k));
    this.#standby = grow(this.#standby, (k) => new Uint8Array(k));
    this.#txHeap.grow(cap);
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

  /** The slot's steady state to the data path (armed while both ends are Up). */
  #publish(slot: number): void {
    const p = this.#pathOf[slot]!;
    if (this.#fast === null || p < 0) return;
    this.#fast.armBfd(p, (this.#flags[slot]! & STEADY) === STEADY, this.#standby[slot] === 1, this.#remoteMult[slot]!, this.#myDiscr[slot]!,
      this.#remoteDiscr[slot]!, this.#remoteTxUs[slot]!, this.#remoteRxUs[slot]!);
  }

  #disarm(slot: number): void {
    const p = this.#pathOf[slot]!;
    if (this.#fast !== null && p >= 0) this.#fast.armBfd(p, false, false, 0, 0, 0, 0, 0);
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
    if (this.#ticking) {
      this.#wantedAt = Math.min(this.#wantedAt, at); // a slot the tick already passed changed: armed after it
      return;
    }
    if (!(at < this.#armedAt)) return;
    if (this.#handle !== null) this.#timers.clearTimeout(this.#handle);
    this.#armedAt = at;
    this.#handle = this.#timers.setTimeout(() => this.#tick(), Math.max(0, at - this.#timers.now()));
  }

  /**
   * Every expired detection (when the lower bound says one may be) and due transmission, the packets in one
   * batch; then the timer for the next (and what the hooks changed meanwhile: `#wantedAt`). ~100 ticks a second
   * with 2,000 paths at default timers, ~20 transmissions each.
   */
  #tick(): void {
    this.#handle = null;
    this.#armedAt = Infinity;
    this.#ticking = true;
    this.#wantedAt = Infinity;
    const now = this.#timers.now();
    const heap = this.#txHeap;
    try {
      this.#hooks.batch(() => {
        if (this.#detectAt <= now) this.#detect(now, this.#hooks.afterInput === undefined);
        for (let s = heap.top(); s >= 0 && this.#nextTx[s]! <= now; s = heap.top()) {
          if ((this.#flags[s]! & MAY_TX) !== 0) this.#transmit(s);
          this.#nextTx[s] = this.#due(s, now);
          heap.fix(s);
        }
      });
    } finally {
      this.#ticking = false;
    }
    this.#arm(Math.min(heap.earliest(), this.#detectAt, this.#wantedAt));
  }

  /** After `afterInput`: the Detection Times still passed expire, those an arrival restarted are spared. */
  #verdict(): void {
    const late = this.#late;
    this.#late = 0;
    this.#ticking = true;
    this.#wantedAt = Infinity;
    let expired = 0;
    try {
      this.#hooks.batch(() => {
        expired = this.#detect(this.#timers.now(), true);
      });
    } finally {
      this.#ticking = false;
    }
    if (late > expired) this.#hooks.spared?.(late - expired);
    this.#arm(Math.min(this.#txHeap.earliest(), this.#detectAt, this.#wantedAt));
  }

  #transmit(slot: number): void {
    const out = this.#out;
    const packets = this.#packets;
    const at = slot * BFD_CONTROL_LENGTH;
    for (let i = 0; i < BFD_CONTROL_LENGTH; i++) out[i] = packets[at + i]!;
    this.#hooks.transmit(slot, out);
  }

  /**
   * The arrivals folded in, every passed Detection Time expired (`expire`; else counted and left to `#verdict`
   * after the waiting input), and the next lower bound from the same pass. Returns how many expired.
   */
  #detect(now: number, expire: boolean): number {
    this.fold();
    this.#detectAt = Infinity; // the expiries' `sync`s may lower it meanwhile
    let next = Infinity;
    let passed = 0;
    for (let s = 0; s < this.#used; s++) {
      if ((this.#flags[s]! & (USED | WATCHING)) !== (USED | WATCHING)) continue;
      const at = this.#lastRx[s]! + this.#detectMs[s]!;
      if (at > now) {
        if (at < next) next = at;
      } else {
        passed++;
        if (expire) this.#hooks.expire(s);
      }
    }
    if (next < this.#detectAt) this.#detectAt = next;
    if (!expire && passed > 0) {
      if (this.#late === 0) {
        const verdicts = this.#verdicts;
        this.#hooks.afterInput!(() => {
          if (verdicts === this.#verdicts) this.#verdict();
        });
      }
      this.#late = Math.max(this.#late, passed);
    }
    return expire ? passed : 0;
  }
}
