/**
 * Target choice for builtin.lb, in the session-open hook (egress and local IPv4 sessions of a balanced
 * service). Eligible targets are healthy and below their capacity (live sessions, counted by the open and
 * close hooks). `hunt`: the first eligible in order of capacity, highest first (config order on ties).
 * `proportional`: smooth weighted round robin (nginx) over the eligible targets, weights = capacities:
 * deterministic, a 1:3 pair repeats every 4 sessions. No eligible target -> refused (`unavailable`).
 * The choice is destination NAT: the core rewrites every packet to and from the target.
 */
import type { OpeningSession, PluginDataplaneContext } from '../../api.js';
import { HookCounter } from '../shared/counter.js';
import { withRow } from '../shared/rows.js';
import { PerTables, type Tables } from '../shared/tables.js';
import type { LbOptions, ServiceOptions } from './options.js';
import type { LbState } from './state.js';

const ICMP = 1;

interface TargetCounters {
  sessions: HookCounter;
  active: HookCounter;
  up: HookCounter;
  down: HookCounter;
}

export class Balancer {
  /** per service (option order): first global target index, and the hunt order (global indexes) */
  private readonly first: number[] = [];
  private readonly huntOrder: Int32Array[] = [];
  private readonly services: readonly ServiceOptions[];
  private readonly addr: Uint8Array[] = [];
  private readonly port: Int32Array;
  private readonly capacity: Int32Array;
  private readonly active: Int32Array;
  /** smooth weighted round robin: current weight per target */
  private readonly current: Float64Array;
  private rowTarget = new Int32Array(1024); // global target + 1; 0 = none
  private readonly counters: TargetCounters[];
  private readonly cUnavailable: HookCounter;
  private readonly view: PerTables<Int32Array>;

  constructor(ctx: PluginDataplaneContext, opts: LbOptions, private readonly state: LbState) {
    this.services = opts.services;
    const all = opts.services.flatMap((s) => s.targets);
    this.port = Int32Array.from(all, (t) => t.to.port);
    this.capacity = Int32Array.from(all, (t) => t.capacity);
    this.active = new Int32Array(all.length);
    this.current = new Float64Array(all.length);
    let at = 0;
    for (const svc of opts.services) {
      this.first.push(at);
      const order = svc.targets.map((_, i) => at + i).sort((a, b) => all[b]!.capacity - all[a]!.capacity || a - b);
      this.huntOrder.push(Int32Array.from(order));
      at += svc.targets.length;
    }
    for (const t of all) this.addr.push(t.to.addr);
    this.counters = all.map((t) => ({
      sessions: new HookCounter(ctx, `${t.label}.sessions`),
      active: new HookCounter(ctx, `${t.label}.active`),
      up: new HookCounter(ctx, `${t.label}.up`),
      down: new HookCounter(ctx, `${t.label}.down`),
    }));
    this.counters.forEach((c, t) => c.up.add(state.up[t]!));
    state.onChange = (t, up) => {
      this.counters[t]!.up.add(up ? 1 : -1);
      if (!up) this.counters[t]!.down.add();
    };
    this.cUnavailable = new HookCounter(ctx, 'unavailable');
    this.view = new PerTables((t) => Int32Array.from(t.services, (s) => opts.services.findIndex((o) => o.service === s.name)));
  }

  open(s: OpeningSession, tables: Tables): void {
    this.ensure(s.row);
    this.release(s.row); // a session refused by a later hook is removed without a close call
    if (s.role === 'ingress' || s.family !== 4) return;
    const svc = this.view.get(tables)[s.service] ?? -1;
    if (svc < 0) return;
    const t = this.services[svc]!.strategy === 'hunt' ? this.hunt(svc) : this.proportional(svc);
    if (t < 0) {
      this.cUnavailable.add();
      s.refuse();
      return;
    }
    const port = s.protocol === ICMP || this.port[t] === 0 ? s.dstPort : this.port[t]!;
    if (!s.natDestination(this.addr[t]!, port)) return;
    this.active[t]!++;
    this.rowTarget[s.row] = t + 1;
    this.counters[t]!.sessions.add();
    this.counters[t]!.active.add(1);
  }

  close(row: number): void {
    if (row < this.rowTarget.length) this.release(row);
  }

  private eligible(t: number): boolean {
    return this.state.up[t] === 1 && this.active[t]! < this.capacity[t]!;
  }

  private hunt(svc: number): number {
    const order = this.huntOrder[svc]!;
    for (let k = 0; k < order.length; k++) if (this.eligible(order[k]!)) return order[k]!;
    return -1;
  }

  private proportional(svc: number): number {
    const from = this.first[svc]!;
    const to = from + this.services[svc]!.targets.length;
    let best = -1;
    let total = 0;
    for (let t = from; t < to; t++) {
      if (!this.eligible(t)) continue;
      this.current[t]! += this.capacity[t]!;
      total += this.capacity[t]!;
      if (best < 0 || this.current[t]! > this.current[best]!) best = t;
    }
    if (best >= 0) this.current[best]! -= total;
    return best;
  }

  private release(row: number): void {
    const t = this.rowTarget[row]! - 1;
    if (t < 0) return;
    this.active[t]!--;
    this.counters[t]!.active.add(-1);
    this.rowTarget[row] = 0;
  }

  private ensure(row: number): void {
    this.rowTarget = withRow(this.rowTarget, row);
  }
}
