/**
 * What the `police` stage needs per packet, in typed arrays: the service's queue and DSCP, its per-flow
 * buckets (by session row and direction), its shared per-service buckets (by service id and direction)
 * and the share scheduler. `limits` refills and tests the flow and service buckets without charging;
 * `charge` takes the bytes once the packet also got its share, so a dropped packet costs nothing.
 */
import type { PluginTables } from '../../api.js';
import { withRow } from '../shared/rows.js';
import { BEST_EFFORT, type QosOptions } from './options.js';
import { Policer } from './policer.js';
import { ShareScheduler } from './scheduler.js';

export const FITS = 0;
export const OVER_FLOW_RATE = 1;
export const OVER_SERVICE_RATE = 2;

export class QosPolicy {
  /** per service id */
  queue = new Uint8Array(0);
  dscp = new Int8Array(0);
  private serviceLimited = new Uint8Array(0);
  private flowRate = new Float64Array(0);
  private flowBurst = new Float64Array(0);
  private readonly services = new Policer(0);
  /** per row */
  private rowCap = 0;
  private flowLimited = new Uint8Array(0);
  private readonly flows = new Policer(0);
  readonly scheduler: ShareScheduler | null;
  private tables: PluginTables | null = null;
  /** frame number: buckets refill once per frame (the batch time is fixed within one) */
  private frame = 0;

  constructor(private readonly opts: QosOptions) {
    this.scheduler = opts.transmitCap > 0 ? new ShareScheduler(opts.transmitCap, opts.shares) : null;
    this.ensure(0);
  }

  /** Per-service arrays follow the router's tables (a config change resets the service buckets). */
  refresh(t: PluginTables): void {
    if (t === this.tables) return;
    this.tables = t;
    const n = t.services.length;
    this.queue = new Uint8Array(n).fill(BEST_EFFORT);
    this.dscp = new Int8Array(n).fill(-1);
    this.serviceLimited = new Uint8Array(n);
    this.flowRate = new Float64Array(n);
    this.flowBurst = new Float64Array(n);
    this.services.grow(2 * n);
    t.services.forEach((svc, id) => {
      const q = this.opts.services.get(svc.name);
      if (q === undefined) return;
      this.queue[id] = q.cls.queue;
      this.dscp[id] = q.cls.dscp;
      this.flowRate[id] = q.flowRate;
      this.flowBurst[id] = q.flowBurst;
      if (q.rate > 0 && this.opts.rateLimit === 'police') { // shape: the node's kernel shaper queues it
        this.serviceLimited[id] = 1;
        this.services.configure(2 * id, q.rate, q.burst);
        this.services.configure(2 * id + 1, q.rate, q.burst);
      }
    });
  }

  get capacity(): number {
    return this.rowCap;
  }

  ensure(row: number): void {
    if (row < this.rowCap) return;
    this.flowLimited = withRow(this.flowLimited, row);
    this.rowCap = this.flowLimited.length;
    this.flows.grow(2 * this.rowCap);
  }

  /** A new session on `row` (rows are reused): its flow buckets start full. */
  openRow(row: number, service: number): void {
    const rate = service >= 0 && service < this.flowRate.length ? this.flowRate[service]! : 0;
    this.flowLimited[row] = rate > 0 ? 1 : 0;
    if (rate > 0) {
      this.flows.configure(2 * row, rate, this.flowBurst[service]!);
      this.flows.configure(2 * row + 1, rate, this.flowBurst[service]!);
    }
  }

  /** Starts a frame at `now`: the scheduler refills, and every bucket will refill at its first use. */
  beginFrame(now: number): void {
    this.frame = this.frame === 0x3fffffff ? 0 : this.frame + 1;
    this.scheduler?.refill(0, now);
    this.scheduler?.refill(1, now);
  }

  /** FITS or OVER_* for `bytes` of row `row` (service `svc`) in direction d; charges nothing. */
  limits(row: number, svc: number, d: number, bytes: number, now: number): number {
    const f = this.frame;
    if (row < this.rowCap && this.flowLimited[row] === 1 && !this.flows.fits(2 * row + d, bytes, now, f)) return OVER_FLOW_RATE;
    if (svc >= 0 && svc < this.serviceLimited.length && this.serviceLimited[svc] === 1 && !this.services.fits(2 * svc + d, bytes, now, f)) return OVER_SERVICE_RATE;
    return FITS;
  }

  /** The packet passes: charges its flow and service buckets. */
  charge(row: number, svc: number, d: number, bytes: number): void {
    if (row < this.rowCap && this.flowLimited[row] === 1) this.flows.take(2 * row + d, bytes);
    if (svc >= 0 && svc < this.serviceLimited.length && this.serviceLimited[svc] === 1) this.services.take(2 * svc + d, bytes);
  }

  queueOf(svc: number): number {
    return svc >= 0 && svc < this.queue.length ? this.queue[svc]! : BEST_EFFORT;
  }

  dscpOf(svc: number): number {
    return svc >= 0 && svc < this.dscp.length ? this.dscp[svc]! : -1;
  }
}
