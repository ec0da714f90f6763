/**
 * Requests from the worker host to its workers, each with a deadline: a request resolves once every asked
 * worker answered, lost its thread (it crashed: its part counts as lost, not missing), or the time is up
 * (the workers that had not answered are `missing`). It never waits forever: `svr show`, `svr node stop`
 * and plugin loading answer even when a worker hangs or dies.
 */

export interface Answers<T> {
  /** answers by worker index */
  answers: Map<number, T>;
  /** workers whose thread ended before answering (they are being restarted) */
  lost: number[];
  /** workers that did not answer in time */
  missing: number[];
}

interface Pending {
  waiting: Set<number>;
  answers: Map<number, unknown>;
  lost: number[];
  timer: NodeJS.Timeout | undefined;
  resolve: (a: Answers<unknown>) => void;
}

export class WorkerRequests {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /**
   * Sends request `send(id)` to `workers` (the caller posts it) and resolves within `timeoutMs`, counted on
   * `elapsed` (ms since the call; default wall time: runnable-time.ts counts only the time the process could run).
   */
  ask<T>(workers: readonly number[], timeoutMs: number, send: (id: number) => void, elapsed?: () => number): Promise<Answers<T>> {
    const id = this.nextId++;
    const done = new Promise<Answers<T>>((resolve) => {
      const p: Pending = { waiting: new Set(workers), answers: new Map(), lost: [], timer: undefined, resolve: resolve as (a: Answers<unknown>) => void };
      const arm = (ms: number): void => {
        p.timer = setTimeout(() => {
          const left = elapsed === undefined ? 0 : timeoutMs - elapsed();
          if (left > 0) arm(left);
          else this.finish(id);
        }, ms);
        p.timer.unref();
      };
      arm(timeoutMs);
      this.pending.set(id, p);
    });
    if (workers.length === 0) this.finish(id);
    else send(id);
    return done;
  }

  /** Worker `w` answered request `id` (late answers are ignored). */
  answer(id: number, w: number, value: unknown): void {
    const p = this.pending.get(id);
    if (p === undefined || !p.waiting.delete(w)) return;
    p.answers.set(w, value);
    if (p.waiting.size === 0) this.finish(id);
  }

  /** Worker `w`'s thread ended: it answers nothing it was asked. */
  lose(w: number): void {
    for (const [id, p] of this.pending) {
      if (!p.waiting.delete(w)) continue;
      p.lost.push(w);
      if (p.waiting.size === 0) this.finish(id);
    }
  }

  private finish(id: number): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve({ answers: p.answers, lost: p.lost, missing: [...p.waiting] });
  }
}
