/** One of a plugin's counters, resolved once at load, for session hooks and control events. */
import type { PluginDataplaneContext } from '../../api.js';

export class HookCounter {
  private readonly id: number;

  constructor(private readonly ctx: PluginDataplaneContext, name: string) {
    this.id = ctx.counter(name);
  }

  /** n may be negative (a gauge); no allocation */
  add(n = 1): void {
    this.ctx.count(this.id, n);
  }
}
