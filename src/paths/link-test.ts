/**
 * Link tests of one path (ssr-reference §1.3 "Echo link test"): every `intervalMs`, send `length` echo
 * requests `spacingMs` apart; the peer reflects each at once. A request is lost when no reply came within
 * max(1 s, 3 x the current RTT). The round ends when every request is answered or timed out; its RTTs
 * become a LinkTestRound (quality.ts).
 *
 * 1. start(): a round at once, then one every `intervalMs` (start to start; never two at a time)
 * 2. each request: sequence number + send time (messages.ts), remembered until answered or lost
 * 3. handleReply(): an outstanding sequence number with the time we sent -> RTT sample
 * 4. stop(): timers cancelled, an unfinished round forgotten
 */
import { encodeLinkTestInto, LINK_TEST_LENGTH, type LinkTestEcho } from './messages.js';
import { roundQuality, type LinkTestRound, type PathQuality } from './quality.js';

/** Time and timers, injectable so tests can run on virtual time. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface LinkTestSettings {
  readonly intervalMs: number;
  readonly length: number;
  /** gap between two requests of a round (default 100 ms in the supervisor) */
  readonly spacingMs: number;
}

export interface LinkTesterDeps {
  readonly timers: Timers;
  /** sends one request on the path; false when it could not be sent (counted as lost); reads `payload` before it
   *  returns (one buffer serves every tester) */
  send(payload: Uint8Array): boolean;
  onRound(round: LinkTestRound): void;
  /** the latest smoothed quality, for the loss timeout (3 x RTT) and for rounds with no answer */
  quality(): PathQuality | undefined;
}

/** Every request is written here and sent at once (LinkTesterDeps.send reads it before returning). */
const requestOut = new Uint8Array(LINK_TEST_LENGTH);

/** A request is lost after max(1 s, 3 x current RTT). */
export const MIN_LOSS_TIMEOUT_MS = 1000;

/**
 * One tester's state, no allocation per request or reply (a hub sends and matches ~2,000 of each a second):
 * the round's requests are `firstSequence + index`, their send times, deadlines, outstanding flags and RTTs in
 * arrays every round reuses (plain arrays: an ArrayBuffer per tester costs the garbage collector more than it
 * saves), the timer callbacks bound once.
 */
export class LinkTester {
  #timer: unknown = null;
  #sequence = 0;
  #running = false;
  /** a round is under way: its start, first sequence number, requests sent and still outstanding */
  #inRound = false;
  #startedAtMs = 0;
  #firstSequence = 0;
  #sent = 0;
  #outstanding = 0;
  /** requests in this round (settings.length when it started) */
  #length = 0;
  #lastDeadlineMs = 0;
  readonly #sentAtMs: number[] = [];
  readonly #deadlineMs: number[] = [];
  /** 1 while request `index` waits for its reply */
  readonly #pending: number[] = [];
  readonly #rtts: (number | undefined)[] = [];
  readonly #onSendNext = (): void => {
    this.#timer = null;
    this.#sendNext();
  };
  readonly #onFinish = (): void => {
    this.#timer = null;
    this.#finish();
  };
  readonly #onStartRound = (): void => {
    this.#timer = null;
    this.#startRound();
  };
  /** replies that matched no outstanding request (late, duplicated or unknown) */
  unmatchedReplies = 0;

  constructor(private settings: LinkTestSettings, private readonly deps: LinkTesterDeps) {}

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#startRound();
  }

  stop(): void {
    this.#running = false;
    this.#inRound = false;
    this.#clearTimer();
  }

  /** New settings apply from the next round. */
  configure(settings: LinkTestSettings): void {
    this.settings = settings;
  }

  /** A reply from the peer that arrived at `atMs`; true when it answered an outstanding request of this round. */
  handleReply(echo: LinkTestEcho, atMs = this.deps.timers.now()): boolean {
    return this.reply(echo.sequence, echo.sentAtMs, atMs);
  }

  /** handleReply without the echo object (the data path's kept replies: ControlFastPath.drainReplies). */
  reply(sequence: number, sentAtMs: number, atMs: number): boolean {
    const index = (sequence - this.#firstSequence) >>> 0;
    if (!this.#inRound || index >= this.#sent || this.#pending[index] === 0 || this.#sentAtMs[index] !== sentAtMs) {
      this.unmatchedReplies++;
      return false;
    }
    this.#pending[index] = 0;
    this.#outstanding--;
    // a reply after the deadline is a loss (the slot stays undefined)
    if (atMs <= this.#deadlineMs[index]!) this.#rtts[index] = Math.max(0, atMs - sentAtMs);
    if (this.#sent === this.#length && this.#outstanding === 0) this.#finish();
    return true;
  }

  #startRound(): void {
    this.#length = this.settings.length;
    this.#rtts.length = 0;
    this.#inRound = true;
    this.#startedAtMs = this.deps.timers.now();
    this.#firstSequence = this.#sequence;
    this.#sent = 0;
    this.#outstanding = 0;
    this.#lastDeadlineMs = 0;
    this.#sendNext();
  }

  #sendNext(): void {
    if (!this.#inRound) return;
    const now = this.deps.timers.now();
    const index = this.#sent++;
    const sequence = this.#sequence;
    this.#sequence = (this.#sequence + 1) >>> 0;
    this.#rtts.push(undefined);
    const deadlineMs = now + this.#lossTimeoutMs();
    this.#lastDeadlineMs = deadlineMs;
    this.#sentAtMs[index] = now;
    this.#deadlineMs[index] = deadlineMs;
    this.#pending[index] = 1;
    this.#outstanding++;
    // a request that cannot be sent is lost right away
    if (!this.deps.send(encodeLinkTestInto(requestOut, sequence, now)) && this.#pending[index] === 1) {
      this.#pending[index] = 0;
      this.#outstanding--;
    }
    if (this.#sent < this.#length) {
      this.#schedule(this.settings.spacingMs, this.#onSendNext);
    } else if (this.#outstanding === 0) {
      this.#finish();
    } else {
      this.#schedule(Math.max(0, this.#lastDeadlineMs - now), this.#onFinish);
    }
  }

  #lossTimeoutMs(): number {
    const q = this.deps.quality();
    return Math.max(MIN_LOSS_TIMEOUT_MS, q === undefined ? 0 : 3 * 2 * q.latencyMs);
  }

  #finish(): void {
    if (!this.#inRound) return;
    this.#inRound = false;
    this.#clearTimer();
    const now = this.deps.timers.now();
    this.deps.onRound(roundQuality(this.#rtts, now, this.deps.quality()));
    if (!this.#running) return;
    this.#schedule(Math.max(0, this.#startedAtMs + this.settings.intervalMs - now), this.#onStartRound);
  }

  #schedule(ms: number, fn: () => void): void {
    this.#clearTimer();
    this.#timer = this.deps.timers.setTimeout(fn, ms);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.deps.timers.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
