/**
 * The life cycle of a path episode runner that answers control messages and looks at its paths every tick
 * (path MTU, firewall detector): subscribe, poll now and every tick (unref'd), and undo both at stop.
 */
import type { Observable, Subscription } from 'rxjs';

export class PolledRunner<M> {
  #sub: Subscription | null = null;
  #tick: NodeJS.Timeout | null = null;

  start(messages$: Observable<M>, onMessage: (m: M) => void, poll: () => void, tickMs: number): void {
    this.#sub = messages$.subscribe(onMessage);
    this.#tick = setInterval(poll, tickMs);
    this.#tick.unref();
    poll();
  }

  stop(): void {
    this.#sub?.unsubscribe();
    this.#sub = null;
    if (this.#tick !== null) clearInterval(this.#tick);
    this.#tick = null;
  }
}
