/**
 * A pair node's heartbeat timing, outside the role machine (src/machines/ha-node.ts sees only its edges):
 *
 *   every heartbeatMs   beat(): the node sends its heartbeat (the machine's context as it is)
 *   heard()             a heartbeat from the partner: one number written, no timer touched
 *   dead time passed    lost(): once, when the dead time (heartbeatMs x misses) has passed since the last
 *                       heartbeat heard (or the start); heard() after that arms the watch again
 *   a beat that late    stalled(lateMs): this node's own beat fired a dead time or more after it was due (its
 *                       event loop was blocked or starved of CPU that long): the partner may have taken over
 *
 * The dead-time timer is lazy: it fires at (last heard + dead time) as known when it was armed, and if a heartbeat
 * came meanwhile it re-arms for what is left. A steady pair costs one timer a heartbeat interval (the beat) and one
 * per dead time, instead of clearing and setting the dead timer at every heartbeat (ha15: docs/performance.md "HA").
 * The clock's timers fire only after the I/O already waiting (pair-node.ts IO_FIRST_CLOCK): heartbeats queued in
 * the socket while a loaded host's event loop was blocked are read before the partner counts as lost.
 */
export interface HeartbeatTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface HeartbeatClockOptions {
  heartbeatMs: number;
  deadMs: number;
  beat: () => void;
  lost: () => void;
  stalled?: (lateMs: number) => void;
  timers: HeartbeatTimers;
}

export class HeartbeatClock {
  private heardAt = 0;
  private watching = false;
  private beatTimer: unknown;
  private beatDue = 0;
  private deadTimer: unknown;
  private running = false;

  constructor(private readonly o: HeartbeatClockOptions) {}

  /** Starts the beat and the watch; the partner counts as lost if nothing is heard within the dead time. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.heardAt = this.o.timers.now();
    this.scheduleBeat();
    this.watch(this.o.deadMs);
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.o.timers.clearTimeout(this.beatTimer);
    if (this.watching) this.o.timers.clearTimeout(this.deadTimer);
    this.watching = false;
  }

  /** A heartbeat from the partner. */
  heard(): void {
    this.heardAt = this.o.timers.now();
    if (this.running && !this.watching) this.watch(this.o.deadMs);
  }

  /** ms since the last heartbeat heard (or the start). */
  get silentMs(): number {
    return this.o.timers.now() - this.heardAt;
  }

  private scheduleBeat(): void {
    this.beatDue = this.o.timers.now() + this.o.heartbeatMs;
    this.beatTimer = this.o.timers.setTimeout(() => {
      if (!this.running) return;
      const late = this.o.timers.now() - this.beatDue;
      this.scheduleBeat();
      this.o.beat();
      if (late >= this.o.deadMs) this.o.stalled?.(late);
    }, this.o.heartbeatMs);
  }

  private watch(ms: number): void {
    this.watching = true;
    this.deadTimer = this.o.timers.setTimeout(() => {
      if (!this.running) return;
      const left = this.heardAt + this.o.deadMs - this.o.timers.now();
      if (left > 0) {
        this.watch(left);
        return;
      }
      this.watching = false;
      this.o.lost();
    }, ms);
  }
}
