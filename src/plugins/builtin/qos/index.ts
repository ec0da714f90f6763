/**
 * builtin.qos: service classes, DSCP marking, rate limits and guaranteed shares (ssr-reference §1.7
 * rate limiting, §1.8 traffic engineering).
 * - session-open hook: resets the session's per-flow buckets (rows are reused);
 * - stage `police` (put it in a service's or tenant's service-chain), per packet, both directions:
 *   per-flow limit -> per-service limit (`rate-limit: police` only) -> its queue's share of `transmit-cap`;
 *   a packet over a limit is dropped and counted; one that passes is marked with its class's DSCP.
 * - control part, `rate-limit: shape` (default): each rate-limited service's DSCP gets a queue of its own
 *   at its rate in the node's kernel egress shaper (ctx.shapeEgress; node/egress-shaper.ts), so packets
 *   over the rate wait instead of being dropped. Packets over their queue's
 *   share borrow unused share in a second pass over the batch, highest queue first (scheduler.ts).
 * See README.md.
 */
import { definePlugin, PluginOptionsError, type PluginStageRuntime } from '../../api.js';
import { MAX_BATCH } from '../../../dataplane/batch.js';
import type { PacketBatch, PacketFrame } from '../../api.js';
import { setDscp } from './dscp.js';
import { egressRates, readQosOptions, type QosOptions } from './options.js';
import { FITS, OVER_FLOW_RATE, QosPolicy } from './policy.js';

const COUNTERS = [
  'packets', 'marked', 'bytes-high', 'bytes-medium', 'bytes-low', 'bytes-best-effort', 'borrowed-bytes',
  'dropped-flow-rate', 'dropped-service-rate', 'dropped-transmit-cap',
] as const;
const C_PACKETS = 0, C_MARKED = 1, C_BYTES = 2, C_BORROWED = 6, C_FLOW = 7, C_SERVICE = 8, C_CAP = 9;

export default definePlugin<QosOptions>({
  name: 'builtin.qos',
  version: '1.1.0',
  api: '^1.3',
  options: readQosOptions,

  control(ctx, opts) {
    const rates = egressRates(opts);
    if (rates.length > 0 && !ctx.shapeEgress(rates)) {
      throw new PluginOptionsError('rate-limit', 'shape needs the kernel shaper of `svr node` (this router has none: an embedded router); set rate-limit: police');
    }
  },

  dataplane(ctx, opts) {
    const policy = new QosPolicy(opts);
    const { PASS, DROP, PF_REVERSE } = ctx;
    // per frame: counts (int32: no boxing even in unoptimized code), and the slots waiting to borrow
    const counts = new Int32Array(COUNTERS.length);
    const waiting = new Uint16Array(MAX_BATCH);

    ctx.onSessionOpen((o) => {
      policy.ensure(o.row);
      policy.refresh(ctx.tables());
      policy.openRow(o.row, o.service);
    });

    /** A packet passes: mark it and count its bytes under its queue. */
    const pass = (b: PacketBatch, slot: number, svc: number, bytes: number): void => {
      const dscp = policy.dscpOf(svc);
      if (dscp >= 0 && setDscp(b.data, b.info[slot]!, dscp)) counts[C_MARKED]!++;
      counts[C_BYTES + policy.queueOf(svc)]! += bytes;
    };

    ctx.addStage({
      name: 'police',
      counters: COUNTERS,
      run(b: PacketBatch, f: PacketFrame, rt: PluginStageRuntime) {
        if (f.n === 0) return;
        policy.refresh(ctx.tables());
        counts.fill(0);
        const now = rt.now;
        const sched = policy.scheduler;
        policy.beginFrame(now);
        let nWaiting = 0;
        for (let k = 0; k < f.n; k++) {
          const slot = f.slot[k]!;
          const row = b.session[slot]!;
          const svc = ctx.sessions.service(row);
          const bytes = b.info[slot]!.end - b.info[slot]!.l3;
          const d = (b.flags[slot]! & PF_REVERSE) !== 0 ? 1 : 0;
          rt.next[slot] = DROP;
          const v = policy.limits(row, svc, d, bytes, now);
          if (v !== FITS) counts[v === OVER_FLOW_RATE ? C_FLOW : C_SERVICE]!++;
          else if (sched !== null && !sched.takeOwn(d, policy.queueOf(svc), bytes)) waiting[nWaiting++] = slot;
          else {
            policy.charge(row, svc, d, bytes);
            pass(b, slot, svc, bytes);
            rt.next[slot] = PASS;
          }
        }
        // over their queue's share: borrow unused share, highest queue first
        for (let q = 0; q < 4 && nWaiting > 0; q++) {
          for (let w = 0; w < nWaiting; w++) {
            const slot = waiting[w]!;
            const row = b.session[slot]!;
            const svc = ctx.sessions.service(row);
            if (policy.queueOf(svc) !== q) continue;
            const bytes = b.info[slot]!.end - b.info[slot]!.l3;
            const d = (b.flags[slot]! & PF_REVERSE) !== 0 ? 1 : 0;
            const v = policy.limits(row, svc, d, bytes, now); // other packets of its flow may have passed meanwhile
            if (v !== FITS) counts[v === OVER_FLOW_RATE ? C_FLOW : C_SERVICE]!++;
            else if (!sched!.borrow(d, bytes)) counts[C_CAP]!++;
            else {
              policy.charge(row, svc, d, bytes);
              pass(b, slot, svc, bytes);
              counts[C_BORROWED]! += bytes;
              rt.next[slot] = PASS;
            }
          }
        }
        counts[C_PACKETS] = f.n;
        for (let c = 0; c < counts.length; c++) if (counts[c]! > 0) rt.count(c, counts[c]!);
      },
    });
  },
});

export { readQosOptions, type QosOptions } from './options.js';

export type * from './options.js';
