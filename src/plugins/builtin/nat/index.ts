/**
 * builtin.nat: source NAT (NAPT to pool addresses, ports 16384-65534 per address, spill to the next
 * address) and destination NAT (a target per service) for egress and local sessions. The plugin only
 * decides bindings in its session hooks; the core translates every packet both ways. NAT44 only.
 *
 *   plugins: [{ use: svrouter/plugins/nat, with: { pools: [{ name: public, addresses: [203.0.113.10/31] }] } }]
 */
import { definePlugin } from '../../api.js';
import { NatBindings } from './bindings.js';
import { natOptions, type NatOptions } from './options.js';

export type { NatOptions, PoolOptions } from './options.js';

export default definePlugin<NatOptions>({
  name: 'builtin.nat',
  version: '1.1.0',
  api: '^1.4', // onSessionInstalled
  security: true, // fails closed (docs/security.md)
  options: natOptions,
  dataplane(ctx, opts) {
    const nat = new NatBindings(ctx, opts);
    ctx.onSessionOpen((s) => nat.open(s, ctx.tables()));
    ctx.onSessionClose((row) => nat.close(row));
    ctx.onSessionInstalled((s) => nat.installed(s));
  },
});

export type * from './options.js';
