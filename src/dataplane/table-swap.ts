/**
 * What a swap of the forwarding tables does to live sessions (dataplane.ts setTables): their tenant, service, path
 * ids are mapped to the new tables by name; a session whose service or path no longer exists, or whose interfaces
 * moved (flow keys hold interface indexes), ends (reason 'config'). One walk to remove when some name is gone or
 * an interface moved, one to renumber when some id changed (a config that only changes services' addresses or rules
 * needs neither).
 */
import type { ForwardingTables } from '../model/tables.js';
import type { DataplaneContext } from './context.js';
import { removeSession } from './session-ops.js';
import type { SessionTable } from './session-table.js';

/** Old id -> new id by name (-1: gone); null when every name kept its id (no lookups: ~4-10 ms for 10,000 services). */
function idMap<T>(from: readonly T[], to: readonly T[], name: (x: T) => string, find: (name: string) => number): Int32Array | null {
  let same = from.length === to.length;
  for (let i = 0; same && i < from.length; i++) same = name(from[i]!) === name(to[i]!);
  if (same) return null;
  const map = Int32Array.from(from, (x) => find(name(x)));
  return map.every((id, i) => id === i) ? null : map;
}

/** Old tables' ids -> new ones (null: unchanged). */
export interface IdMaps {
  tenant: Int32Array | null;
  service: Int32Array | null;
  iface: Int32Array | null;
  path: Int32Array | null;
}

export function idMaps(old: ForwardingTables, t: ForwardingTables): IdMaps {
  return {
    tenant: idMap(old.tenants, t.tenants, (n) => n, (n) => t.tenantId(n)),
    service: idMap(old.services, t.services, (x) => x.name, (n) => t.serviceId(n)),
    iface: idMap(old.interfaces, t.interfaces, (x) => x.name, (n) => t.interfaceIndex(n)),
    path: idMap(old.paths, t.paths, (x) => x.name, (n) => t.paths.findIndex((q) => q.name === n)),
  };
}

/** Ends the sessions that cannot go on (before the swap, while their names are still those of the old tables). */
export function endGoneSessions(ctx: DataplaneContext, m: IdMaps, now: number): void {
  if (m.service?.includes(-1) !== true && m.iface === null && m.path?.includes(-1) !== true) return;
  const s = ctx.sessions;
  const to = (map: Int32Array | null, id: number): number => (map === null ? id : map[id] ?? -1);
  for (let r = 0; r < s.capacity; r++) {
    if (!s.isActive(r)) continue;
    const path = s.path[r]!;
    if (to(m.service, s.service[r]!) < 0 || to(m.iface, s.inIf[r]!) !== s.inIf[r] || to(m.iface, s.outIf[r]!) !== s.outIf[r] || (path >= 0 && to(m.path, path) < 0)) removeSession(ctx, r, 'config', now);
  }
}

/** The live sessions' ids in the new tables' numbering (the counts per id follow each row: session-counts.ts). */
export function renumberSessions(s: SessionTable, m: IdMaps): void {
  if (m.service === null && m.tenant === null && m.path === null) return;
  for (let r = 0; r < s.capacity; r++) {
    if (!s.isActive(r)) continue;
    if (m.service !== null || m.tenant !== null) {
      s.setClass(r, m.tenant === null ? s.tenant[r]! : m.tenant[s.tenant[r]!] ?? -1, m.service === null ? s.service[r]! : m.service[s.service[r]!] ?? -1);
    }
    if (m.path !== null && s.path[r]! >= 0) s.setPath(r, m.path[s.path[r]!]!);
  }
}
