/**
 * builtin.dos: denial-of-service limits on new sessions (ssr-reference §1.5 half-open limit, §1.7 DoS).
 * - session-open hook: max-sessions, half-open TCP, per-service and per-source session rates (limits.ts);
 *   a refusal is counted by reason and starts a logged episode (episodes.ts);
 * - stage `track`: notices a TCP handshake completing (the server's SYN/ACK, then the client's ACK of
 *   it), so the session stops counting as half-open. With `half-open` set the hook chains this stage
 *   to every TCP session itself (dynamic chaining); you need not list it. See README.md.
 */
import { definePlugin, type PluginStageRuntime } from '../../api.js';
import type { PacketBatch, PacketFrame } from '../../api.js';
import type { PluginTables } from '../../api.js';
import { readU32 } from '../../../packet/checksum.js';
import { PROTO_TCP, TCP_ACK, TCP_RST, TCP_SYN } from '../../../packet/ip.js';
import { HookCounter } from '../shared/counter.js';
import { perLoad } from '../shared/per-load.js';
import { REASONS } from './episodes.js';
import { ADMIT, DosLimits } from './limits.js';
import { readDosOptions, type DosOptions } from './options.js';

const TRACK = 'builtin.dos/track';
/** Counter of the `track` stage (the hook counts the refusal reasons itself). */
const C_ESTABLISHED = 0;

interface Shared {
  limits: DosLimits;
  tables: (() => PluginTables) | null;
}

const shared = (opts: DosOptions): Shared => perLoad(opts, () => ({ limits: new DosLimits(opts), tables: null }));

/**
 * Session hooks get no batch time in plugin API 1.0, so the buckets run on the monotonic clock; a router
 * built with a simulated clock does not move them (a `now()` for hooks would fix that).
 */
const clock = (): number => performance.now();

export default definePlugin<DosOptions>({
  name: 'builtin.dos',
  version: '1.0.0',
  api: '^1',
  security: true, // fails closed (docs/security.md)
  options: readDosOptions,

  control(ctx, opts) {
    const s = shared(opts);
    s.limits.episodes.attach(ctx.log, ctx.signal, {
      perSecond: opts.logRate,
      quietMs: opts.quietPeriod,
      clock,
      tables: () => (s.tables ? s.tables() : null),
    });
  },

  dataplane(ctx, opts) {
    const s = shared(opts);
    s.tables = ctx.tables;
    const { limits } = s;
    const refusals = REASONS.map((name) => new HookCounter(ctx, name));
    // gauges: sessions open through this plugin, and how many of them are half-open TCP
    const openGauge = new HookCounter(ctx, 'open-sessions');
    const halfOpenGauge = new HookCounter(ctx, 'half-open-sessions');
    let shownOpen = 0;
    let shownHalfOpen = 0;
    const syncGauges = (): void => {
      if (limits.open !== shownOpen) openGauge.add(limits.open - shownOpen);
      if (limits.halfOpen !== shownHalfOpen) halfOpenGauge.add(limits.halfOpen - shownHalfOpen);
      shownOpen = limits.open;
      shownHalfOpen = limits.halfOpen;
    };
    const { PASS, PF_REVERSE } = ctx;

    ctx.onSessionOpen((o) => {
      limits.ensure(o.row);
      limits.refresh(ctx.tables());
      const tcp = o.protocol === PROTO_TCP;
      const verdict = limits.admit(o, clock(), tcp);
      if (verdict !== ADMIT) {
        o.refuse();
        refusals[verdict]!.add();
      } else if (tcp && limits.tracksHalfOpen) {
        ctx.sessions.addToChain(o.row, TRACK);
      }
      syncGauges();
    });
    ctx.onSessionClose((row) => {
      limits.forget(row);
      syncGauges();
    });

    ctx.addStage({
      name: 'track',
      counters: ['established'],
      run(b: PacketBatch, f: PacketFrame, rt: PluginStageRuntime) {
        for (let k = 0; k < f.n; k++) {
          const slot = f.slot[k]!;
          rt.next[slot] = PASS;
          const row = b.session[slot]!;
          const pi = b.info[slot]!;
          if (pi.protocol !== PROTO_TCP || pi.fragment === 2 || !limits.isHalfOpen(row)) continue;
          const flags = pi.tcpFlags & (TCP_SYN | TCP_ACK | TCP_RST);
          const reverse = (b.flags[slot]! & PF_REVERSE) !== 0;
          if (reverse && flags === (TCP_SYN | TCP_ACK)) limits.sawSynAck(row, readU32(b.data, pi.l4 + 4));
          else if (!reverse && flags === TCP_ACK && limits.sawClientAck(row, readU32(b.data, pi.l4 + 8))) {
            rt.count(C_ESTABLISHED);
            syncGauges();
          }
        }
      },
    });
  },
});

export { readDosOptions, type DosOptions } from './options.js';

export type * from './options.js';
