/**
 * Virtual time for tests: now/setTimeout/clearTimeout that only move when told. `runFor` fires due
 * timers in time order (synchronously); `advance` does the same but lets the event loop turn after each
 * timer so packets in flight on in-memory links (delivered on setImmediate) land at that virtual instant.
 */
export class VirtualTime {
  #now = 0;
  #seq = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  readonly now = (): number => this.#now;

  readonly setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.#seq++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  };

  readonly clearTimeout = (handle: unknown): void => {
    this.#timers.delete(handle as number);
  };

  /** Timers waiting. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, earliest (then oldest) first. */
  runFor(ms: number): void {
    const end = this.#now + ms;
    for (let next = this.#due(end); next !== undefined; next = this.#due(end)) this.#fire(next);
    this.#now = end;
  }

  /** As runFor, and after each timer (and at the end) `turns` event-loop turns for in-flight packets. */
  async advance(ms: number, turns = 6): Promise<void> {
    const end = this.#now + ms;
    await settle(turns);
    for (let next = this.#due(end); next !== undefined; next = this.#due(end)) {
      this.#fire(next);
      await settle(turns);
    }
    this.#now = end;
  }

  #due(end: number): number | undefined {
    let best: number | undefined;
    let bestAt = Infinity;
    for (const [id, t] of this.#timers) {
      if (t.at <= end && t.at < bestAt) {
        best = id;
        bestAt = t.at;
      }
    }
    return best;
  }

  #fire(id: number): void {
    const t = this.#timers.get(id)!;
    this.#timers.delete(id);
    this.#now = t.at;
    t.fn();
  }
}

async function settle(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
