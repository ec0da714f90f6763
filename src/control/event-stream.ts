/**
 * A multicast stream of control events for the router's `events$`: each event handed to each subscriber in
 * turn, from a list replaced on (un)subscribe, so one taken at the start of `next` is the one delivered to (as
 * RxJS's Subject). Subject.next allocates per event (a closure, an iterator and its results: ~190 B at two
 * session events a session and router, 2026-12-06 wave 15 in docs/performance.md); this allocates nothing.
 * `without` is the same stream less the events `perSession` picks (one per session: created, confirmed,
 * removed; and the sessions' periodic counters): while only such subscribers listen, `sessionsWanted` is false and the router builds no object for
 * those (control/session-facts.ts).
 */
import { Observable, type Subscriber } from 'rxjs';

export class EventStream<T> {
  private subscribers: readonly Subscriber<T>[] = [];
  private others: readonly Subscriber<T>[] = [];
  private completed = false;

  constructor(private readonly perSession: (e: T) => boolean = () => false) {}

  readonly observable: Observable<T> = this.stream(true);
  /** every event but the per-session ones */
  readonly without: Observable<T> = this.stream(false);

  private stream(all: boolean): Observable<T> {
    return new Observable<T>((s) => {
      if (this.completed) {
        s.complete();
        return undefined;
      }
      if (all) this.subscribers = [...this.subscribers, s];
      else this.others = [...this.others, s];
      return () => {
        if (all) this.subscribers = this.subscribers.filter((x) => x !== s);
        else this.others = this.others.filter((x) => x !== s);
      };
    });
  }

  /** true while a subscriber takes the per-session events */
  get sessionsWanted(): boolean {
    return this.subscribers.length > 0;
  }

  next(event: T): void {
    const subs = this.subscribers;
    for (let i = 0; i < subs.length; i++) subs[i]!.next(event);
    const others = this.others;
    if (others.length === 0 || this.perSession(event)) return;
    for (let i = 0; i < others.length; i++) others[i]!.next(event);
  }

  /** Ends every subscription; later subscribers complete at once. */
  complete(): void {
    this.completed = true;
    const subs = [...this.subscribers, ...this.others];
    this.subscribers = [];
    this.others = [];
    for (const s of subs) s.complete();
  }
}
