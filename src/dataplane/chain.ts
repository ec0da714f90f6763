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
  /** a security function's stage: when it throws, its traffic is dropped (fail closed), not let through */
  failClosed?: boolean;
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
  /** stages disabled after throwing or breaking the contract (fail open: their packets go on without them) */
  disabled = 0;
  /** fail-closed stages that threw: the packets of every session whose chain holds one are dropped */
  failed = 0;
  /** per (tenant, service), as masks: 1 when its configured chain names a stage no loaded plugin provides */
  private incompleteChains = new Uint8Array(0);
  /** some chain is incomplete (the per-packet check is skipped otherwise) */
  anyIncomplete = false;

  setStages(ordered: ChainStageEntry[]): void {
    this.stages = ordered;
    this.bitOf = new Map(ordered.map((e, i) => [e.fullName, i]));
    this.disabled = 0;
    this.failed = 0;
  }

  bit(fullName: string): number {
    return this.bitOf.get(fullName) ?? -1;
  }

  /** Compiles chains: names per tenant id and per service id -> masks. A chain that names a stage no
   *  loaded plugin provides is incomplete: its sessions' packets are dropped (fail closed; the loader
   *  refuses such a config, this covers the time until it is replaced). */
  compile(tenantChains: readonly (readonly string[])[], serviceChains: readonly (readonly string[])[]): void {
    const nt = tenantChains.length;
    const ns = serviceChains.length;
    this.services = ns;
    this.masks = new Uint32Array((nt + 1) * ns);
    this.incompleteChains = new Uint8Array((nt + 1) * ns);
    const maskOf = (names: readonly string[]) => names.reduce((m, n) => (this.bit(n) >= 0 ? m | (1 << this.bit(n)) : m), 0);
    const missing = (names: readonly string[]) => names.some((n) => this.bit(n) < 0);
    const sm = serviceChains.map(maskOf);
    const tm = tenantChains.map(maskOf);
    const sx = serviceChains.map(missing);
    const tx = tenantChains.map(missing);
    this.anyIncomplete = sx.includes(true) || tx.includes(true);
    for (let t = 0; t <= nt; t++) {
      for (let s = 0; s < ns; s++) {
        this.masks[t * ns + s] = ((t < nt ? tm[t]! : 0) | sm[s]!) >>> 0;
        this.incompleteChains[t * ns + s] = (t < nt && tx[t]!) || sx[s]! ? 1 : 0;
      }
    }
  }

  /** True when the chain of (tenant, service) names a stage that is not loaded. */
  incomplete(tenant: number, service: number): boolean {
    if (!this.anyIncomplete || this.services === 0 || service < 0) return false;
    const t = tenant < 0 ? this.masks.length / this.services - 1 : tenant;
    return this.incompleteChains[t * this.services + service] === 1;
  }

  /** The chain a new session of (tenant, service) starts with. */
  maskFor(tenant: number, service: number): number {
    if (this.services === 0 || service < 0) return 0;
    const t = tenant < 0 ? this.masks.length / this.services - 1 : tenant;
    return this.masks[t * this.services + service] ?? 0;
  }
}
