/**
 * NAT decisions for builtin.nat, made in the session-open hook (the core translates every packet):
 *   1. egress/local IPv4 sessions only (the ingress keeps the original addresses for the metadata);
 *   2. source NAT: the first pool for the session's service whose tenant filter matches (none -> refused,
 *      `refused-tenant`); a port on a pool address (static: the address the source hashes to; dynamic: the
 *      first address), spilling to the next address when one is out of ports (`spilled`); every address out
 *      of ports -> refused (`exhausted`). ICMP echo keeps its identifier (the core keys ICMP by it);
 *   3. destination NAT: the service's target address (and port, if given).
 * The binding lives in per-row columns and is released by the close hook, or when the row is reopened
 * (a session refused by a later hook is removed without a close call). A row installed from the HA partner
 * (the installed hook) takes its port here too, so a later session cannot get it and replace it as stale.
 */
import { fmix32 } from '../../../dataplane/hash.js';
import type { InstalledSession, OpeningSession, PluginDataplaneContext } from '../../api.js';
import { HookCounter } from '../shared/counter.js';
import type { Endpoint } from '../shared/options.js';
import { bytesOf, u32 } from '../shared/options.js';
import { withRow } from '../shared/rows.js';
import { PerTables, tenantWithin, type Tables } from '../shared/tables.js';
import type { NatOptions } from './options.js';
import { AddressPorts } from './ports.js';

const ICMP = 1;
const TCP = 6;
const UDP = 17;
const BOUND_PORT = 1;
const BOUND_ICMP_ID = 2;

interface View {
  /** per service id: pool indexes that translate it, in config order */
  pools: (readonly number[])[];
  /** per pool: per tenant id, 1 when the pool's tenant filter admits it; null = no filter */
  tenantOk: (Uint8Array | null)[];
  /** per service id: destination NAT target */
  targets: (Endpoint | null)[];
}

export class NatBindings {
  /** every pool address once (pools may share one), its bytes and its lazily made port map */
  private readonly addrBytes: Uint8Array[] = [];
  /** u32 address -> index into the address arrays */
  private readonly addrIndex = new Map<number, number>();
  private readonly ports: (AddressPorts | null)[] = [];
  /** per pool: indexes into the address arrays */
  private readonly poolAddrs: Int32Array[];
  private readonly poolStatic: Uint8Array;
  private rowAddr = new Int32Array(1024); // address index + 1; 0 = no source binding
  private rowPort = new Uint16Array(1024);
  private rowKind = new Uint8Array(1024);
  private readonly view: PerTables<View>;
  private readonly cTranslations: HookCounter;
  private readonly cPorts: HookCounter;
  private readonly cExhausted: HookCounter;
  private readonly cSpilled: HookCounter;
  private readonly cRefusedTenant: HookCounter;
  private readonly cInstallCollisions: HookCounter;

  constructor(ctx: PluginDataplaneContext, private readonly opts: NatOptions) {
    const index = this.addrIndex;
    this.poolAddrs = opts.pools.map((p) => Int32Array.from(p.addresses, (a) => {
      let i = index.get(a);
      if (i === undefined) {
        i = this.addrBytes.length;
        index.set(a, i);
        this.addrBytes.push(bytesOf(a));
        this.ports.push(null);
      }
      return i;
    }));
    this.poolStatic = Uint8Array.from(opts.pools, (p) => (p.type === 'static' ? 1 : 0));
    this.view = new PerTables((t) => this.resolve(t));
    this.cTranslations = new HookCounter(ctx, 'translations');
    this.cPorts = new HookCounter(ctx, 'ports-in-use');
    this.cExhausted = new HookCounter(ctx, 'exhausted');
    this.cSpilled = new HookCounter(ctx, 'spilled');
    this.cRefusedTenant = new HookCounter(ctx, 'refused-tenant');
    this.cInstallCollisions = new HookCounter(ctx, 'install-collisions');
  }

  open(s: OpeningSession, tables: Tables): void {
    const r = s.row;
    this.ensure(r);
    this.release(r); // a binding left by a session that was never installed
    if (s.role === 'ingress' || s.family !== 4) return;
    const v = this.view.get(tables);
    let translated = false;
    const pools = v.pools[s.service];
    if (pools !== undefined && pools.length > 0) {
      let pool = -1;
      for (let k = 0; k < pools.length && pool < 0; k++) {
        const ok = v.tenantOk[pools[k]!] ?? null;
        if (ok === null || (s.tenant >= 0 && ok[s.tenant] === 1)) pool = pools[k]!;
      }
      if (pool < 0) {
        this.cRefusedTenant.add();
        s.refuse();
        return;
      }
      const bound = this.bindSource(s, pool);
      if (bound < 0) {
        this.cExhausted.add();
        s.refuse();
        return;
      }
      translated = bound > 0;
    }
    const target = v.targets[s.service];
    if (target) {
      const port = s.protocol === ICMP ? s.dstPort : target.port === 0 ? s.dstPort : target.port;
      if (s.natDestination(target.addr, port)) translated = true;
    }
    if (translated) this.cTranslations.add();
  }

  /** A row from the HA partner: its source binding, when on one of our pool addresses, is taken here. */
  installed(s: InstalledSession): void {
    const r = s.row;
    this.ensure(r);
    this.release(r);
    if (s.natSourcePort < 0 || s.family !== 4) return;
    const proto = s.protocol;
    if (proto !== TCP && proto !== UDP && proto !== ICMP) return;
    const ai = this.addrIndex.get(u32(s.natSource));
    if (ai === undefined) return;
    const ap = this.portsOf(ai);
    const kind = proto === ICMP ? BOUND_ICMP_ID : BOUND_PORT;
    // a port outside our range (the partner's range differs): no session here takes it, nothing to hold or free
    if (kind === BOUND_PORT && !ap.covers(s.natSourcePort)) return;
    if (kind === BOUND_ICMP_ID ? !ap.takeIdentifier(s.natSourcePort) : !ap.takePort(s.natSourcePort)) {
      this.cInstallCollisions.add(); // a session opened here holds it: it stays that session's to free
      return;
    }
    this.rowAddr[r] = ai + 1;
    this.rowPort[r] = s.natSourcePort;
    this.rowKind[r] = kind;
    if (kind === BOUND_PORT) this.cPorts.add(1);
  }

  close(r: number): void {
    if (r < this.rowKind.length) this.release(r);
  }

  /** 1 bound, 0 nothing to bind (protocol without ports), -1 every address is out of ports. */
  private bindSource(s: OpeningSession, pool: number): number {
    const proto = s.protocol;
    if (proto !== TCP && proto !== UDP && proto !== ICMP) return 0;
    const addrs = this.poolAddrs[pool]!;
    const n = addrs.length;
    const start = this.poolStatic[pool] === 1 ? fmix32(u32(s.src)) % n : 0;
    for (let k = 0; k < n; k++) {
      const ai = addrs[(start + k) % n]!;
      const ap = this.portsOf(ai);
      let port: number;
      if (proto === ICMP) {
        if (!ap.takeIdentifier(s.srcPort)) continue;
        port = s.srcPort;
      } else {
        port = ap.take();
        if (port < 0) continue;
      }
      const kind = proto === ICMP ? BOUND_ICMP_ID : BOUND_PORT;
      if (!s.natSource(this.addrBytes[ai]!, port)) {
        this.free(ai, port, kind);
        return 0;
      }
      this.rowAddr[s.row] = ai + 1;
      this.rowPort[s.row] = port;
      this.rowKind[s.row] = kind;
      if (kind === BOUND_PORT) this.cPorts.add(1);
      if (k > 0) this.cSpilled.add();
      return 1;
    }
    return -1;
  }

  private release(r: number): void {
    const a = this.rowAddr[r]!;
    if (a === 0) return;
    this.free(a - 1, this.rowPort[r]!, this.rowKind[r]!);
    this.rowAddr[r] = 0;
    this.rowKind[r] = 0;
  }

  private free(ai: number, port: number, kind: number): void {
    const ap = this.ports[ai]!;
    if (kind === BOUND_ICMP_ID) {
      ap.releaseIdentifier(port);
    } else {
      ap.release(port);
      this.cPorts.add(-1);
    }
  }

  private portsOf(ai: number): AddressPorts {
    return (this.ports[ai] ??= new AddressPorts(this.opts.portFirst, this.opts.portLast));
  }

  private ensure(r: number): void {
    if (r < this.rowKind.length) return;
    this.rowAddr = withRow(this.rowAddr, r);
    this.rowPort = withRow(this.rowPort, r);
    this.rowKind = withRow(this.rowKind, r);
  }

  private resolve(t: Tables): View {
    const pools = t.services.map((svc) => this.opts.pools.flatMap((p, i) => (p.services === null || p.services.includes(svc.name) ? [i] : [])));
    const tenantOk = this.opts.pools.map((p) => (p.tenant === null ? null : Uint8Array.from(t.tenants, (name) => (tenantWithin(name, p.tenant!) ? 1 : 0))));
    const targets = t.services.map((svc) => this.opts.targets.get(svc.name) ?? null);
    return { pools, tenantOk, targets };
  }
}

