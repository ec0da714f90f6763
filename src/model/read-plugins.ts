/** Plugins and service chains in the config: `plugins: [{ use, with, fail-open }]` (authority and router level) and
 *  `service-chain: [<plugin>/<stage>, ...]` on services and tenants. */
import type { PluginRef } from './config.js';
import { readList, type Raw, type ReadContext } from './fields.js';
import type { FieldPath } from './problems.js';

export const PLUGIN_KEYS = ['use', 'with', 'fail-open'] as const;
const STAGE_NAME = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

export function readPlugins(o: Raw, path: FieldPath, ctx: ReadContext): PluginRef[] {
  return readList(ctx, o, 'plugins', path, 'a list of plugins ({ use, with })', (v, p) => {
    const m = ctx.r.object(v, p, 'a plugin mapping ({ use: <module specifier>, with: <options> })', PLUGIN_KEYS);
    if (m === undefined) return undefined;
    const use = ctx.r.string(m, 'use', p, 'a module specifier: ./path/to/plugin, a package name, or svrouter/plugins/<builtin>', (s) => s.trim() !== '');
    if (use === undefined) return undefined;
    const ref: PluginRef = m['with'] === undefined ? { use } : { use, with: m['with'] };
    if (m['fail-open'] !== undefined) ref.failOpen = ctx.r.boolean(m, 'fail-open', p, false);
    return ref;
  });
}

export function readServiceChain(o: Raw, path: FieldPath, { r }: ReadContext): string[] {
  const out: string[] = [];
  for (const [item, at] of r.list(o, 'service-chain', path, 'a list of stage names (<plugin>/<stage>)')) {
    if (typeof item !== 'string' || !STAGE_NAME.test(item)) {
      r.problems.expected(at, 'a stage name <plugin>/<stage>, e.g. builtin.firewall/inspect', item);
      continue;
    }
    out.push(item);
  }
  return out;
}
