/**
 * Steady control messages the data path takes itself (docs/paths.md "Steady packets stay in the data path"):
 * what would reach path control only to restart a timer or to add an RTT sample is kept here, in typed
 * arrays that control reads at its own ticks. No event, copy or subscriber call per message.
 *
 *   BFD      control (paths/bfd-schedule.ts) writes per path id what the session's machine last accepted
 *            (`armBfd`: discriminators, Detect Mult, intervals, whether the far end is a pair's standby);
 *            wan-verify's `take` matches a verified control packet against it (packet/bfd bfdSteady, and the
 *            Diag says standby exactly when the arms say so): a match stamps its arrival (`bfdRxAt`, control's
 *            clock) and counts it (`bfdRx`); anything else goes to control as an event
 *   replies  a well-formed link-test reply goes into a ring (path, sequence, send time, arrival); control
 *            drains it (`drainReplies`) before its link-test timers run and at its traffic poll; a full ring:
 *            an event as before
 * Path ids are those of the tables of `generation` (control `bind`s after each config change; until then
 * every message goes to control). Same thread only: an InThreadHost's data path (a worker's has none);
 * SVR_STEADY_PATH_MESSAGES=0 turns it off (to compare).
 * Cost (bench/hub.ts, 2,000 paths): 4,000 messages a second no longer travel as events to control.
 */
import { BfdDiag, bfdSteady } from '../packet/bfd.js';
import { readF64, readU32 } from '../packet/checksum.js';
import { LINK_TEST_REPLY, linkTestWellFormed } from '../packet/path-message.js';

const ARMED = 1;
const STANDBY = 2;
const BFD_VERSION_BITS = 1;
/** replies waiting for control (2,000 paths send ~2,000 a second; control drains every 100 ms at most) */
export const REPLY_RING = 4096;

export class ControlFastPath {
  /** tables generation the path ids belong to (-1: none bound, nothing taken) */
  generation = -1;
  /** per path id: ARMED | STANDBY */
  #flags = new Uint8Array(0);
  #mult = new Uint8Array(0);
  #localDiscr = new Uint32Array(0);
  #remoteDiscr = new Uint32Array(0);
  #txUs = new Uint32Array(0);
  #rxUs = new Uint32Array(0);
  /** per path id: steady BFD packets taken (wraps at 2^32) and the last one's arrival on `now` */
  bfdRx = new Uint32Array(0);
  bfdRxAt = new Float64Array(0);
  readonly #replyPath = new Int32Array(REPLY_RING);
  readonly #replySequence = new Uint32Array(REPLY_RING);
  readonly #replySentAt = new Float64Array(REPLY_RING);
  readonly #replyAt = new Float64Array(REPLY_RING);
  #replies = 0;

  /** `now`: control's clock (the stamps are compared with its timers) */
  constructor(readonly now: () => number) {}

  /** Path ids of the tables of `generation` from now on, `paths` of them; nothing armed, no reply queued. */
  bind(generation: number, paths: number): void {
    if (this.#flags.length < paths) {
      const n = Math.max(paths, 16);
      this.#flags = new Uint8Array(n);
      this.#mult = new Uint8Array(n);
      this.#localDiscr = new Uint32Array(n);
      this.#remoteDiscr = new Uint32Array(n);
      this.#txUs = new Uint32Array(n);
      this.#rxUs = new Uint32Array(n);
      this.bfdRx = new Uint32Array(n);
      this.bfdRxAt = new Float64Array(n);
    } else this.#flags.fill(0);
    this.#replies = 0;
    this.generation = generation;
  }

  /**
   * Steady packets of this session are taken here from now on (or, `up` false, no longer): the far end's Detect
   * Mult, our and its discriminators, its Desired Min TX and Required Min RX (µs), as the machine accepted them.
   */
  armBfd(path: number, up: boolean, standby: boolean, mult: number, localDiscr: number, remoteDiscr: number, txUs: number, rxUs: number): void {
    if (path < 0 || path >= this.#flags.length) return;
    this.#flags[path] = up ? ARMED | (standby ? STANDBY : 0) : 0;
    this.#mult[path] = mult;
    this.#localDiscr[path] = localDiscr;
    this.#remoteDiscr[path] = remoteDiscr;
    this.#txUs[path] = txUs;
    this.#rxUs[path] = rxUs;
  }

  /**
   * wan-verify, for a verified control message d[off, end) on `path` (tables of `generation`): true when it
   * was taken here (a steady BFD packet, or a link-test reply queued for control).
   */
  take(generation: number, path: number, d: Uint8Array, off: number, end: number): boolean {
    if (generation !== this.generation || path >= this.#flags.length) return false;
    const first = d[off]!;
    if (first >>> 5 === BFD_VERSION_BITS) {
      const f = this.#flags[path]!;
      if ((f & ARMED) === 0 || ((first & 0x1f) === BfdDiag.pairStandby) !== ((f & STANDBY) !== 0)) return false;
      // the far end's packet: its discriminator is My Discriminator, ours Your Discriminator
      if (!bfdSteady(d, off, end - off, this.#mult[path]!, this.#remoteDiscr[path]!, this.#localDiscr[path]!, this.#txUs[path]!, this.#rxUs[path]!)) return false;
      this.bfdRx[path] = (this.bfdRx[path]! + 1) >>> 0;
      this.bfdRxAt[path] = this.now();
      return true;
    }
    if (first !== LINK_TEST_REPLY || this.#replies === REPLY_RING || !linkTestWellFormed(d, off, end - off)) return false;
    const k = this.#replies++;
    this.#replyPath[k] = path;
    this.#replySequence[k] = readU32(d, off + 4);
    this.#replySentAt[k] = readF64(d, off + 8);
    this.#replyAt[k] = this.now();
    return true;
  }

  /** The queued replies in arrival order (path, sequence, send time, arrival), then none. */
  drainReplies(fn: (path: number, sequence: number, sentAtMs: number, atMs: number) => void): void {
    const n = this.#replies;
    this.#replies = 0;
    for (let k = 0; k < n; k++) fn(this.#replyPath[k]!, this.#replySequence[k]!, this.#replySentAt[k]!, this.#replyAt[k]!);
  }
}
