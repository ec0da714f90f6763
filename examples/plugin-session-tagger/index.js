// svrouter-plugin-session-tagger: a third-party-style plugin (see docs/plugins.md).
// - data path: a stage that counts packets and sessions of the services it is chained to, and tags
//   each session (a u32 any plugin can read) with a configured value;
// - control: a hook that stores one record per session in the plugin's own LevelDB sublevel.
// Plain JavaScript, no build, no runtime import of svrouter (types come from `svrouter/plugins`).

/** @typedef {{ tag: number }} Options */

/** @type {import('svrouter/plugins').RouterPlugin<Options>} */
const plugin = {
  name: 'example.session-tagger',
  version: '1.0.0',
  api: '^1',

  /** @param {unknown} raw */
  options(raw) {
    const o = /** @type {Record<string, unknown>} */ (raw ?? {});
    const tag = o.tag ?? 7;
    if (typeof tag !== 'number' || !Number.isInteger(tag) || tag < 1 || tag > 0xffffffff) {
      const err = new Error(`expected a whole number 1-4294967295, got ${JSON.stringify(tag)}`);
      // PluginOptionsError shape: the loader reports `<config path>.with.tag: ...`
      Object.assign(err, { name: 'PluginOptionsError', path: 'tag' });
      throw err;
    }
    return { tag };
  },

  async control(ctx) {
    ctx.hooks.onSessionCreated((s) => {
      void ctx.store.put(`session/${s.id}`, { tenant: s.tenant, service: s.service, role: s.role, at: Date.now() });
    });
    ctx.hooks.onSessionClosed((s) => {
      void ctx.store.get(`session/${s.id}`).then((rec) => rec && ctx.store.put(`session/${s.id}`, { ...rec, closed: s.reason }));
    });
    ctx.log.info('ready', { router: ctx.routerName });
  },

  dataplane(ctx, opts) {
    const PACKETS = 0;
    const SESSIONS = 1;
    ctx.addStage({
      name: 'tag',
      counters: ['packets', 'sessions-tagged'],
      // hot path: no allocation, no await; every slot gets an outcome
      run(batch, frame, rt) {
        for (let k = 0; k < frame.n; k++) {
          const slot = frame.slot[k];
          const row = batch.session[slot];
          if (ctx.sessions.tag(row) !== opts.tag) {
            ctx.sessions.setTag(row, opts.tag);
            rt.count(SESSIONS);
          }
          rt.next[slot] = ctx.PASS;
        }
        rt.count(PACKETS, frame.n);
      },
    });
  },
};

export default plugin;
