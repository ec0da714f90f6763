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
import { encodeLinkTest, LINK_TEST_LENGTH, type LinkTestEcho } from './messages.js';
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

interface Outstanding {
  readonly index: number;
  readonly sentAtMs: number;
  readonly deadlineMs: number;
}

interface Round {
  readonly startedAtMs: number;
  readonly rtts: (number | undefined)[];
  readonly outstanding: Map<number, Outstanding>;
  lastDeadlineMs: number;
}

export class LinkTester {
  #round: Round | null = null;
  #timer: unknown = null;
  #sequence = 0;
  #running = false;
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
    this.#round = null;
    this.#clearTimer();
  }

  /** New settings apply from the next round. */
  configure(settings: LinkTestSettings): void {
    this.settings = settings;
  }

  /** A reply from the peer that arrived at `atMs`; true when it answered an outstanding request of this round. */
  handleReply(echo: LinkTestEcho, atMs = this.deps.timers.now()): boolean {
    const round = this.#round;
    const request = round?.outstanding.get(echo.sequence);
    if (round === null || request === undefined || request.sentAtMs !== echo.sentAtMs) {
      this.unmatchedReplies++;
      return false;
    }
    round.outstanding.delete(echo.sequence);
    // a reply after the deadline is a loss (the slot stays undefined)
    if (atMs <= request.deadlineMs) round.rtts[request.index] = Math.max(0, atMs - request.sentAtMs);
    if (round.rtts.length === this.settings.length && round.outstanding.size === 0) this.#finish();
    return true;
  }

  #startRound(): void {
    this.#round = { startedAtMs: this.deps.timers.now(), rtts: [], outstanding: new Map(), lastDeadlineMs: 0 };
    this.#sendNext();
  }

  #sendNext(): void {
    const round = this.#round;
    if (round === null) return;
    const now = this.deps.timers.now();
    const index = round.rtts.length;
    const sequence = this.#sequence;
    this.#sequence = (this.#sequence + 1) >>> 0;
    round.rtts.push(undefined);
    const deadlineMs = now + this.#lossTimeoutMs();
    round.lastDeadlineMs = deadlineMs;
    round.outstanding.set(sequence, { index, sentAtMs: now, deadlineMs });
    // a request that cannot be sent is lost right away
    if (!this.deps.send(encodeLinkTest({ sequence, sentAtMs: now }, false, requestOut))) round.outstanding.delete(sequence);
    if (round.rtts.length < this.settings.length) {
      this.#schedule(this.settings.spacingMs, () => this.#sendNext());
    } else if (round.outstanding.size === 0) {
      this.#finish();
    } else {
      this.#schedule(Math.max(0, round.lastDeadlineMs - now), () => this.#finish());
    }
  }

  #lossTimeoutMs(): number {
    const q = this.deps.quality();
    return Math.max(MIN_LOSS_TIMEOUT_MS, q === undefined ? 0 : 3 * 2 * q.latencyMs);
  }

  #finish(): void {
    const round = this.#round;
    if (round === null) return;
    this.#round = null;
    this.#clearTimer();
    const now = this.deps.timers.now();
    this.deps.onRound(roundQuality(round.rtts, now, this.deps.quality()));
    if (!this.#running) return;
    const wait = Math.max(0, round.startedAtMs + this.settings.intervalMs - now);
    this.#schedule(wait, () => this.#startRound());
  }

  #schedule(ms: number, fn: () => void): void {
    this.#clearTimer();
    this.#timer = this.deps.timers.setTimeout(() => {
      this.#timer = null;
      fn();
    }, ms);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.deps.timers.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
