/**
 * Zone directionality: tenants belong to zones, and a zone may open sessions only to the services its
 * `allow` rules name. Compiled per forwarding tables into two arrays (tenant -> zone, zone x service ->
 * allowed), so the session-open hook does two array reads. A tenant with no zone of its own takes its
 * parent's (`dev.engineering` -> `engineering`); a tenant with none at all is not zone-filtered.
 */
import type { PluginTables } from '../../api.js';
import type { FirewallOptions } from './options.js';

export const NO_ZONE = -1;

/** `*` matches any run of characters, everything else itself: `web`, `web-*`, `*.internet`, `*`. */
export function globMatcher(pattern: string): (name: string) => boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (name) => re.test(name);
}

export class ZonePolicy {
  readonly zoneNames: readonly string[];
  private tables: PluginTables | null = null;
  private tenantZone = new Int16Array(0);
  private allowed = new Uint8Array(0);
  private services = 0;

  constructor(private readonly opts: FirewallOptions) {
    this.zoneNames = [...new Set(opts.zones.values())];
  }

  get active(): boolean {
    return this.opts.zones.size > 0;
  }

  /** Recompiles when the router's tables changed (config applied); otherwise one comparison. */
  refresh(t: PluginTables): void {
    if (t === this.tables) return;
    this.tables = t;
    this.services = t.services.length;
    this.tenantZone = new Int16Array(t.tenants.length).fill(NO_ZONE);
    t.tenants.forEach((name, id) => {
      this.tenantZone[id] = this.zoneOfName(name);
    });
    this.allowed = new Uint8Array(this.zoneNames.length * this.services);
    for (const rule of this.opts.allow) {
      const z = this.zoneNames.indexOf(rule.from);
      const match = globMatcher(rule.to);
      t.services.forEach((svc, id) => {
        if (match(svc.name)) this.allowed[z * this.services + id] = 1;
      });
    }
  }

  zoneOf(tenant: number): number {
    return tenant >= 0 && tenant < this.tenantZone.length ? this.tenantZone[tenant]! : NO_ZONE;
  }

  /** May a tenant of zone `zone` open a session to service `service`? */
  allows(zone: number, service: number): boolean {
    return zone === NO_ZONE || (service >= 0 && service < this.services && this.allowed[zone * this.services + service] === 1);
  }

  private zoneOfName(tenant: string): number {
    for (let name = tenant; name !== ''; name = name.includes('.') ? name.slice(name.indexOf('.') + 1) : '') {
      const zone = this.opts.zones.get(name);
      if (zone !== undefined) return this.zoneNames.indexOf(zone);
    }
    return NO_ZONE;
  }
}
