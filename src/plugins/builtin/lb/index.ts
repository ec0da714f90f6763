/**
 * builtin.lb: load balancing of a service across servers by destination NAT, at the egress (or a local
 * session's router): `hunt` or `proportional` over targets with capacities, live session counts from the
 * session hooks, TCP-connect health checks from the control part.
 *
 *   plugins: [{ use: svrouter/plugins/lb, with: { services: { web: { strategy: proportional, targets: [...] } } } }]
 */
import { definePlugin } from '../../api.js';
import { Balancer } from './balancer.js';
import { startHealthChecks } from './health.js';
import { lbOptions, type LbOptions } from './options.js';
import { lbState } from './state.js';

export type { LbOptions, ServiceOptions, TargetOptions } from './options.js';

export default definePlugin<LbOptions>({
  name: 'builtin.lb',
  version: '1.0.0',
  api: '^1',
  options: lbOptions,
  control(ctx, opts) {
    startHealthChecks(opts, lbState(opts), ctx.log, ctx.signal);
  },
  dataplane(ctx, opts) {
    const lb = new Balancer(ctx, opts, lbState(opts));
    ctx.onSessionOpen((s) => lb.open(s, ctx.tables()));
    ctx.onSessionClose((row) => lb.close(row));
  },
});

export type * from './options.js';
