/**
 * Service chains (VPP SFDP style): every plugin stage gets a bit; a session's chain is a u32 of bits,
 * set at creation from its tenant's and service's configured chains and extended live by plugins.
 * `service-chain` pops the lowest bit not yet run and sends the packet to that stage, which sends it
 * back; with no bits left the packet goes on (to svr-out toward a peer, or to tx toward the LAN).
 * Stage order comes from runsBefore/runsAfter (topological, ties by name), so bit order = run order.
 */
import type { PluginStage } from './plugin-contract.js';

export const MAX_CHAIN_STAGES = 32;

export interface ChainStageEntry {
  /** `<plugin>/<stage>` */
  fullName: string;
  plugin: string;
  stage: PluginStage;
}

/** Orders stages by runsBefore/runsAfter (ties by name); throws naming the cycle or the overflow. */
export function orderStages(entries: readonly ChainStageEntry[]): ChainStageEntry[] {
  if (entries.length > MAX_CHAIN_STAGES) throw new Error(`at most ${MAX_CHAIN_STAGES} chain stages can be loaded, got ${entries.length}`);
  const byName = new Map(entries.map((e) => [e.fullName, e]));
  const after = new Map<string, Set<string>>(entries.map((e) => [e.fullName, new Set<string>()]));
  for (const e of entries) {
    for (const b of e.stage.runsAfter ?? []) if (byName.has(b)) after.get(e.fullName)!.add(b);
    for (const b of e.stage.runsBefore ?? []) if (byName.has(b)) after.get(b)!.add(e.fullName);
  }
  const out: ChainStageEntry[] = [];
  const done = new Set<string>();
  while (out.length < entries.length) {
    const ready = [...after.entries()]
      .filter(([n, deps]) => !done.has(n) && [...deps].every((d) => done.has(d)))
      .map(([n]) => n)
      .sort();
    if (ready.length === 0) {
      const left = [...after.keys()].filter((n) => !done.has(n));
      throw new Error(`chain stages ${left.join(', ')} have a runsBefore/runsAfter cycle`);
    }
    const next = ready[0]!;
    done.add(next);
    out.push(byName.get(next)!);
  }
  return out;
}

/** The loaded chain stages, their bits, and the compiled chain of every (tenant, service). */
export class ChainTable {
  stages: ChainStageEntry[] = [];
  private bitOf = new Map<string, number>();
  /** tenant * services + service -> mask; tenant -1 uses row `tenants` */
  masks = new Uint32Array(0);
  private services = 0;
  /** stages disabled after throwing or breaking the contract */
  disabled = 0;

  setStages(ordered: ChainStageEntry[]): void {
    this.stages = ordered;
    this.bitOf = new Map(ordered.map((e, i) => [e.fullName, i]));
    this.disabled = 0;
  }

  bit(fullName: string): number {
    return this.bitOf.get(fullName) ?? -1;
  }

  /** Compiles chains: names per tenant id and per service id -> masks. Unknown names are skipped
   *  (the loader reports them). */
  compile(tenantChains: readonly (readonly string[])[], serviceChains: readonly (readonly string[])[]): void {
    const nt = tenantChains.length;
    const ns = serviceChains.length;
    this.services = ns;
    this.masks = new Uint32Array((nt + 1) * ns);
    const maskOf = (names: readonly string[]) => names.reduce((m, n) => (this.bit(n) >= 0 ? m | (1 << this.bit(n)) : m), 0);
    const sm = serviceChains.map(maskOf);
    const tm = tenantChains.map(maskOf);
    for (let t = 0; t <= nt; t++) {
      for (let s = 0; s < ns; s++) this.masks[t * ns + s] = ((t < nt ? tm[t]! : 0) | sm[s]!) >>> 0;
    }
  }

  /** The chain a new session of (tenant, service) starts with. */
  maskFor(tenant: number, service: number): number {
    if (this.services === 0 || service < 0) return 0;
    const t = tenant < 0 ? this.masks.length / this.services - 1 : tenant;
    return this.masks[t * this.services + service] ?? 0;
  }
}
