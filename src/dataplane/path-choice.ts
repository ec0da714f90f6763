/**
 * Which peer path a session of a service uses, read per packet from arrays control publishes between
 * batches: the service's paths ranked best first (policy: vectors, SLA filter, best-path criteria),
 * whether new sessions are refused because no path qualifies, and the session-resiliency mode.
 * Until control publishes, a service's ranking is its configured peer routes' paths, in order.
 */
import type { SessionResiliency } from '../model/config.js';
import type { ForwardingTables } from '../model/tables.js';

export const RES_NONE = 0;
export const RES_FAILOVER = 1;
export const RES_REVERTIBLE = 2;
export const RES_DUPLICATE = 3;

export function resiliencyCode(r: SessionResiliency): number {
  return r === 'failover' ? RES_FAILOVER : r === 'revertible-failover' ? RES_REVERTIBLE : r === 'packet-duplication' ? RES_DUPLICATE : RES_NONE;
}

export class ServicePaths {
  /** per service id: candidate paths, best first */
  ranked: Int16Array[] = [];
  /** per service id: 1 = refuse new sessions (no path meets the SLA and best-effort is off) */
  refused = new Uint8Array(0);
  /** per service id: RES_* */
  resiliency = new Uint8Array(0);

  /** Resets to the configured order and policies (called when tables change; control republishes after). */
  reset(t: ForwardingTables): void {
    this.ranked = t.services.map((svc) => {
      const ids: number[] = [];
      for (const route of svc.routes) if (route.kind === 'peer') ids.push(...t.peers[route.peer]!.paths);
      return Int16Array.from(ids);
    });
    this.refused = new Uint8Array(t.services.length);
    this.resiliency = Uint8Array.from(t.services, (svc) => resiliencyCode(svc.policy.sessionResiliency));
  }

  set(service: number, ranked: readonly number[], refused: boolean, resiliency: number): void {
    if (service < 0 || service >= this.ranked.length) return;
    this.ranked[service] = Int16Array.from(ranked);
    this.refused[service] = refused ? 1 : 0;
    this.resiliency[service] = resiliency;
  }

  /** The first path of the service's ranking that is up, skipping `except`; -1 when none. */
  best(service: number, pathUp: Uint8Array, except = -1): number {
    const list = this.ranked[service];
    if (list === undefined) return -1;
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      if (p !== except && pathUp[p] === 1) return p;
    }
    return -1;
  }

  /** True when `path` is in the service's ranking (it meets the policy). */
  accepts(service: number, path: number): boolean {
    const list = this.ranked[service];
    if (list === undefined) return false;
    for (let i = 0; i < list.length; i++) if (list[i] === path) return true;
    return false;
  }
}
