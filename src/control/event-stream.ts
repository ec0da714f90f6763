/**
 * A multicast stream of control events for the router's `events$`: each event handed to each subscriber in
 * turn, from a list replaced on (un)subscribe, so one taken at the start of `next` is the one delivered to (as
 * RxJS's Subject). Subject.next allocates per event (a closure, an iterator and its results: ~190 B at two
 * session events a session and router, 2026-12-06 wave 15 in docs/performance.md); this allocates nothing.
 */
import { Observable, type Subscriber } from 'rxjs';

export class EventStream<T> {
  private subscribers: readonly Subscriber<T>[] = [];
  private completed = false;

  readonly observable: Observable<T> = new Observable<T>((s) => {
    if (this.completed) {
      s.complete();
      return undefined;
    }
    this.subscribers = [...this.subscribers, s];
    return () => {
      this.subscribers = this.subscribers.filter((x) => x !== s);
    };
  });

  next(event: T): void {
    const subs = this.subscribers;
    for (let i = 0; i < subs.length; i++) subs[i]!.next(event);
  }

  /** Ends every subscription; later subscribers complete at once. */
  complete(): void {
    this.completed = true;
    const subs = this.subscribers;
    this.subscribers = [];
    for (const s of subs) s.complete();
  }
}
