/**
 * Names in options (services, tenants) resolved to the router's ids, once per forwarding-table generation:
 * hooks and stages then index plain arrays. Config changes renumber ids, so the cache is keyed by the
 * tables object.
 */
import type { PluginDataplaneContext } from '../../api.js';

export type Tables = ReturnType<PluginDataplaneContext['tables']>;

export class PerTables<T> {
  private seen: Tables | null = null;
  private value!: T;

  constructor(private readonly build: (t: Tables) => T) {}

  get(t: Tables): T {
    if (t !== this.seen) {
      this.value = this.build(t);
      this.seen = t;
    }
    return this.value;
  }
}

/** True when tenant `name` is `filter` or one of its children (`dev.engineering` is in `engineering`). */
export function tenantWithin(name: string, filter: string): boolean {
  return name === filter || name.endsWith(`.${filter}`);
}
