/**
 * builtin.appid: names each session's application from its first data packets (TLS SNI, HTTP Host, DNS
 * answers seen earlier, well-known ports), once per session; at the ingress the name reaches the egress
 * router in metadata (TLV 35). A stage on the service chain: `builtin.appid/classify`.
 *
 *   plugins: [{ use: svrouter/plugins/appid, with: { max-packets: 4 } }]
 *   service chain: services: { web: [builtin.appid/classify] }
 */
import { definePlugin } from '../../api.js';
import { Classifier, COUNTERS } from './classifier.js';
import { appidOptions, type AppidOptions } from './options.js';

export type { AppidOptions } from './options.js';

export default definePlugin<AppidOptions>({
  name: 'builtin.appid',
  version: '1.0.0',
  api: '^1',
  options: appidOptions,
  dataplane(ctx, opts) {
    const c = new Classifier(ctx, opts);
    ctx.onSessionOpen((s) => c.reset(s.row));
    ctx.onSessionClose((row) => c.closed(row));
    ctx.addStage({ name: 'classify', counters: COUNTERS, run: (b, f, rt) => c.run(b, f, rt) });
  },
});

export type * from './options.js';
