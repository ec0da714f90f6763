// svrouter-plugin-session-guard: refuses new sessions to chosen ports and keeps a record of each refusal
// (a complete plugin of the contract in docs/plugins.md; plain JavaScript, no runtime import of svrouter).
// - data path: a session-open hook refuses a TCP/UDP session to a guarded port (answering as configured:
//   drop, a TCP reset, or ICMP unreachable) and sends one record per refusal on its channel "refused";
// - control: stores each record in the plugin's store (refused/<time>-<n>), counts it (records-stored),
//   and logs a line per refusal at most once a second.
// With --workers N each worker runs the data-path part; the records of all of them reach the control part.

/** @typedef {{ ports: number[], reply: 'drop' | 'reset' | 'unreachable' }} Options */

/** @type {Record<number, string>} */
const PROTOCOLS = { 6: 'tcp', 17: 'udp' };

/** @type {import('svrouter/plugins').RouterPlugin<Options>} */
const plugin = {
  name: 'example.session-guard',
  version: '1.0.0',
  api: '^1.2',

  /** @param {unknown} raw */
  options(raw) {
    const o = /** @type {Record<string, unknown>} */ (raw ?? {});
    const fail = (/** @type {string} */ path, /** @type {string} */ message) => {
      // PluginOptionsError's shape: the router reports `<config path>.with.<path>: <message>`
      throw Object.assign(new Error(message), { name: 'PluginOptionsError', path });
    };
    const ports = o.ports ?? [23];
    if (!Array.isArray(ports) || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) fail('ports', `expected a list of ports 1-65535, got ${JSON.stringify(ports)}`);
    const reply = o.reply ?? 'reset';
    if (reply !== 'drop' && reply !== 'reset' && reply !== 'unreachable') fail('reply', `expected drop, reset or unreachable, got ${JSON.stringify(reply)}`);
    for (const key of Object.keys(o)) if (key !== 'ports' && key !== 'reply') fail(key, 'unknown option; expected ports, reply');
    return { ports: /** @type {number[]} */ (ports), reply: /** @type {Options['reply']} */ (reply) };
  },

  dataplane(ctx, opts) {
    const guarded = new Uint8Array(65536);
    for (const p of opts.ports) guarded[p] = 1;
    // one record per refusal: [source port, destination port, protocol, tenant id] and the two addresses
    const refused = ctx.channel('refused', { ints: 4 });
    ctx.onSessionOpen((s) => {
      if ((s.protocol !== 6 && s.protocol !== 17) || guarded[s.dstPort] !== 1) return;
      s.refuse(opts.reply);
      refused.ints[0] = s.srcPort;
      refused.ints[1] = s.dstPort;
      refused.ints[2] = s.protocol;
      refused.ints[3] = s.tenant;
      refused.family = s.family;
      refused.addressA.set(s.src);
      refused.addressB.set(s.dst);
      refused.send(); // no allocation; a full channel counts plugin.example.session-guard.records-lost
    });
  },

  async control(ctx) {
    const stored = ctx.counter('records-stored');
    let n = 0;
    let lastLog = 0;
    ctx.hooks.onRecords('refused', (r) => {
      const [srcPort, dstPort, protocol] = r.ints;
      const record = { at: new Date(r.atMs).toISOString(), src: `${r.addressA}:${srcPort}`, dst: `${r.addressB}:${dstPort}`, protocol: PROTOCOLS[protocol] ?? protocol };
      void ctx.store.put(`refused/${String(r.atMs).padStart(15, '0')}-${String(n++).padStart(9, '0')}`, record).then(() => ctx.count(stored));
      if (r.atMs - lastLog >= 1000) {
        lastLog = r.atMs;
        ctx.log.info('refused', { src: record.src, dst: record.dst });
      }
    });
  },
};

export default plugin;
