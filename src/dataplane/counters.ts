import type { CounterName, InterfaceCounterName, PluginCounterName } from './counter-names.js';

/**
 * Named counters in one Float64Array (exact to 2^53). Stages resolve names to indices once, at build
 * time, and bump `values[i]` on the hot path; readers take snapshots by name.
 */
export class Counters {
  private readonly index = new Map<string, number>();
  private readonly names: string[] = [];
  values: Float64Array;
  private readonly shared: boolean;

  /** `shared`: values live in a SharedArrayBuffer another thread reads (fixed capacity, no growth). */
  constructor(shared?: SharedArrayBuffer) {
    this.shared = shared !== undefined;
    this.values = shared !== undefined ? new Float64Array(shared) : new Float64Array(64);
  }

  /** Counter names in index order (a reader of a shared buffer maps values with them). */
  get nameList(): readonly string[] {
    return this.names;
  }

  /** Index of `name` (documented in counter-names.ts), registering it on first use (build time, not per packet). */
  id(name: CounterName | PluginCounterName | InterfaceCounterName): number {
    let i = this.index.get(name);
    if (i === undefined) {
      if (this.shared && this.names.length >= this.values.length) return this.values.length - 1; // overflow slot
      i = this.names.length;
      this.names.push(name);
      this.index.set(name, i);
      if (i >= this.values.length) {
        const grown = new Float64Array(this.values.length * 2);
        grown.set(this.values);
        this.values = grown;
        this.onGrow?.();
      }
    }
    return i;
  }

  /** Called when `values` was replaced (a port's steady pass holds it: steady-pass.ts). */
  onGrow: (() => void) | null = null;

  add(i: number, n = 1): void {
    this.values[i]! += n;
  }

  get(name: string): number {
    const i = this.index.get(name);
    return i === undefined ? 0 : this.values[i]!;
  }

  /** Every counter, by name (zeros included so the set of names is stable). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.names.length; i++) out[this.names[i]!] = this.values[i]!;
    return out;
  }
}
