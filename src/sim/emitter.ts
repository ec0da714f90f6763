/**
 * A small typed event emitter. Events are declared as a map from name to argument tuple, e.g.
 * `{ data: [Uint8Array]; end: [] }`. Listeners run synchronously, in registration order.
 */
export type EventMap<M> = { [K in keyof M]: unknown[] };
export type Listener<A extends unknown[]> = (...args: A) => void;

export class TypedEmitter<M extends EventMap<M>> {
  private readonly listeners: { [K in keyof M]?: Array<Listener<M[K]>> } = {};

  on<K extends keyof M>(event: K, fn: Listener<M[K]>): this {
    (this.listeners[event] ??= []).push(fn);
    this.listenerAdded(event);
    return this;
  }

  once<K extends keyof M>(event: K, fn: Listener<M[K]>): this {
    const wrapper: Listener<M[K]> = (...args) => {
      this.off(event, wrapper);
      fn(...args);
    };
    return this.on(event, wrapper);
  }

  off<K extends keyof M>(event: K, fn: Listener<M[K]>): this {
    const list = this.listeners[event];
    if (list !== undefined) this.listeners[event] = list.filter((l) => l !== fn);
    return this;
  }

  listenerCount<K extends keyof M>(event: K): number {
    return this.listeners[event]?.length ?? 0;
  }

  protected emit<K extends keyof M>(event: K, ...args: M[K]): void {
    const list = this.listeners[event];
    if (list === undefined) return;
    for (const fn of list.slice()) fn(...args);
  }

  /** Hook for subclasses (e.g. start delivering buffered data once someone listens). */
  protected listenerAdded(_event: keyof M): void {}
}
