/**
 * builtin.external-function: service-function chaining through a network function outside the router
 * (ssr-reference §1.14): a Linux namespace or box doing inspection, reached over `kind: function`
 * interfaces (TUN devices like LAN ones).
 * - stage `<name>` per configured function (put it in a service's or tenant's service-chain): every packet
 *   of the session, both directions, in its original form, leaves through the function's `out` interface
 *   instead of going on (ctx.divert: the first packet installs the session's return key);
 * - the core takes the packet back on the `in` interface, finds the session by that key and resumes the
 *   chain after this stage (then svr-out or the LAN as usual); a packet the function drops never comes
 *   back; one that comes back for no session is dropped and counted.
 * Counters per function: `<name>.diverted`, `<name>.not-diverted`, `<name>.returned`, `<name>.no-session`.
 * See README.md.
 */
import { definePlugin, type PacketBatch, type PacketFrame, type PluginStageRuntime } from '../../api.js';
import { readExternalFunctionOptions, type ExternalFunctionOptions } from './options.js';

const C_DIVERTED = 0, C_NOT_DIVERTED = 1;

export default definePlugin<ExternalFunctionOptions>({
  name: 'builtin.external-function',
  version: '1.0.0',
  api: '^1.1',
  options: readExternalFunctionOptions,

  dataplane(ctx, opts) {
    const { PASS, DROP } = ctx;
    for (const f of opts.functions) {
      const id = ctx.addFunction({
        stage: `builtin.external-function/${f.name}`,
        out: f.out,
        in: f.in,
        returned: ctx.counter(`${f.name}.returned`),
        noSession: ctx.counter(`${f.name}.no-session`),
      });
      const failed = f.onFailure === 'drop' ? DROP : PASS;
      ctx.addStage({
        name: f.name,
        counters: [`${f.name}.diverted`, `${f.name}.not-diverted`],
        run(b: PacketBatch, fr: PacketFrame, rt: PluginStageRuntime) {
          let diverted = 0;
          for (let k = 0; k < fr.n; k++) {
            const slot = fr.slot[k]!;
            if (ctx.divert(b, slot, id)) {
              diverted++;
              rt.next[slot] = PASS;
            } else {
              rt.next[slot] = failed;
            }
          }
          if (diverted > 0) rt.count(C_DIVERTED, diverted);
          if (diverted < fr.n) rt.count(C_NOT_DIVERTED, fr.n - diverted);
        },
      });
    }
  },
});

export type * from './options.js';
