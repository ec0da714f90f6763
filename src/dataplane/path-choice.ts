/**
 * Which peer path a session of a service uses, read per packet from arrays control publishes between
 * batches: the service's paths ranked best first (policy: vectors, SLA filter, best-path criteria),
 * whether new sessions are refused because no path qualifies, and the session-resiliency mode.
 * Until control publishes, a service's ranking is its configured peer routes' paths, in order: the tables'
 * flat arrays (model/service-arrays.ts), taken as they are at a swap; a published ranking is kept per service.
 */
import { type ServiceArrays } from '../model/service-arrays.js';
import type { ForwardingTables } from '../model/tables.js';

const NONE: Int16Array = new Int16Array(0);

export class ServicePaths {
  /** the configured rankings: service s's paths at rankPaths[rankFrom[s] .. rankFrom[s + 1]) */
  private rankFrom: Int32Array = new Int32Array(1);
  private rankPaths: Int16Array = NONE;
  /** per service id: the ranking control published since the tables changed (undefined: the configured one) */
  private published: (Int16Array | undefined)[] = [];
  /** per service id: 1 = refuse new sessions (no path meets the SLA and best-effort is off) */
  refused: Uint8Array = new Uint8Array(0);
  /** per service id: RES_* (model/service-arrays.ts) */
  resiliency: Uint8Array = new Uint8Array(0);

  /** Resets to the configured order and policies (called when tables change; control republishes after). */
  reset(t: ForwardingTables): void {
    const a: ServiceArrays = t.serviceArrays;
    this.rankFrom = a.rankFrom;
    this.rankPaths = a.rankPaths;
    this.published = [];
    this.refused = new Uint8Array(t.services.length);
    this.resiliency = a.resiliency.slice(); // set() writes it
  }

  set(service: number, ranked: readonly number[], refused: boolean, resiliency: number): void {
    if (service < 0 || service >= this.refused.length) return;
    this.published[service] = Int16Array.from(ranked);
    this.refused[service] = refused ? 1 : 0;
    this.resiliency[service] = resiliency;
  }

  /** How many paths the service's ranking holds (0 for an unknown service). */
  count(service: number): number {
    if (service < 0 || service >= this.refused.length) return 0;
    const own = this.published[service];
    return own !== undefined ? own.length : this.rankFrom[service + 1]! - this.rankFrom[service]!;
  }

  /** The i-th path (0: best) of the service's ranking; i < count(service). */
  at(service: number, i: number): number {
    const own = this.published[service];
    return own !== undefined ? own[i]! : this.rankPaths[this.rankFrom[service]! + i]!;
  }

  /** The first path of the service's ranking that is up, skipping `except`; -1 when none. */
  best(service: number, pathUp: Uint8Array, except = -1): number {
    const n = this.count(service);
    for (let i = 0; i < n; i++) {
      const p = this.at(service, i);
      if (p !== except && pathUp[p] === 1) return p;
    }
    return -1;
  }

  /** True when `path` is in the service's ranking (it meets the policy). */
  accepts(service: number, path: number): boolean {
    const n = this.count(service);
    for (let i = 0; i < n; i++) if (this.at(service, i) === path) return true;
    return false;
  }

  /** The service's ranking as a list (control: `svr explain`; allocates). */
  list(service: number): number[] {
    return Array.from({ length: this.count(service) }, (_, i) => this.at(service, i));
  }
}
