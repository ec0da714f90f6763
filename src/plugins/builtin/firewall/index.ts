/**
 * builtin.firewall: a stateful firewall as a plugin (ssr-reference §1.7).
 * - stage `tcp-state` (put it in a service's or tenant's service-chain): TCP flags and life cycle per
 *   session, and in `strict` mode a sequence-window check per direction (tcp-track.ts);
 * - session-open hook: zone directionality: a tenant's zone opens sessions only to the services its
 *   `allow` rules name (zones.ts); a refused session gets an audit line (audit.ts).
 * Replies never open sessions (they belong to the session their request opened), so "who may start"
 * is all a zone rule has to decide. See README.md.
 */
import { definePlugin, type PluginStageRuntime } from '../../api.js';
import type { PluginTables } from '../../api.js';
import { PROTO_TCP } from '../../../packet/ip.js';
import type { PacketBatch, PacketFrame } from '../../api.js';
import { HookCounter } from '../shared/counter.js';
import { perLoad } from '../shared/per-load.js';
import { DENY_ZONE, DenyAudit } from './audit.js';
import { readFirewallOptions, type FirewallOptions } from './options.js';
import { TCP_AFTER_CLOSE, TCP_INVALID_FLAGS, TCP_INVALID_STATE, TCP_OK, TCP_OUT_OF_WINDOW, TcpTracker } from './tcp-track.js';
import { ZonePolicy } from './zones.js';

/** Counters of the `tcp-state` stage (`plugin.builtin.firewall.<name>`), by index. */
const COUNTERS = ['tcp-packets', 'out-of-window', 'invalid-flags', 'invalid-state', 'after-close'] as const;
const C_PACKETS = 0;
/** counter index of each TcpTracker verdict */
const C_BY_VERDICT = new Int8Array(5);
C_BY_VERDICT[TCP_OUT_OF_WINDOW] = 1;
C_BY_VERDICT[TCP_INVALID_FLAGS] = 2;
C_BY_VERDICT[TCP_INVALID_STATE] = 3;
C_BY_VERDICT[TCP_AFTER_CLOSE] = 4;

interface Shared {
  audit: DenyAudit;
  zones: ZonePolicy;
  tables: (() => PluginTables) | null;
}

const shared = (opts: FirewallOptions): Shared => perLoad(opts, () => ({ audit: new DenyAudit(), zones: new ZonePolicy(opts), tables: null }));

export default definePlugin<FirewallOptions>({
  name: 'builtin.firewall',
  version: '1.0.0',
  api: '^1',
  security: true, // fails closed (docs/security.md)
  options: readFirewallOptions,

  control(ctx, opts) {
    const s = shared(opts);
    s.audit.attach(ctx.log, ctx.signal, opts.logRate, () => (s.tables ? s.tables() : null), s.zones.zoneNames);
  },

  dataplane(ctx, opts) {
    const s = shared(opts);
    s.tables = ctx.tables;
    const strict = opts.tcpState === 'strict';
    const enforce = opts.tcpState !== 'allow';
    const tcp = new TcpTracker(strict);
    const refusedZone = new HookCounter(ctx, 'refused-zone');
    const { zones, audit } = s;
    const { PASS, DROP, PF_REVERSE } = ctx;

    ctx.onSessionOpen((o) => {
      tcp.ensure(o.row);
      tcp.reset(o.row); // rows are reused
      if (!zones.active) return;
      zones.refresh(ctx.tables());
      const zone = zones.zoneOf(o.tenant);
      if (zones.allows(zone, o.service)) return;
      o.refuse();
      refusedZone.add();
      audit.record(DENY_ZONE, o, zone);
    });

    ctx.addStage({
      name: 'tcp-state',
      counters: COUNTERS,
      run(b: PacketBatch, f: PacketFrame, rt: PluginStageRuntime) {
        let checked = 0;
        for (let k = 0; k < f.n; k++) {
          const slot = f.slot[k]!;
          const pi = b.info[slot]!;
          const row = b.session[slot]!;
          rt.next[slot] = PASS;
          // non-TCP, later fragments (no header to read) and rows opened before the plugin loaded pass
          if (!enforce || pi.protocol !== PROTO_TCP || pi.fragment !== 0 || row < 0 || row >= tcp.capacity) continue;
          checked++;
          const v = tcp.check(b.data, pi, row, (b.flags[slot]! & PF_REVERSE) !== 0 ? 1 : 0);
          if (v !== TCP_OK) {
            rt.next[slot] = DROP;
            rt.count(C_BY_VERDICT[v]!);
          }
        }
        if (checked > 0) rt.count(C_PACKETS, checked);
      },
    });
  },
});

export { readFirewallOptions, type FirewallOptions } from './options.js';

export type * from './options.js';
