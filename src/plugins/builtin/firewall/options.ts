/** The firewall's options, checked field by field (see README.md for each field and its default). */
import { PluginOptionsError } from '../../api.js';
import { integer, join, list, oneOf, record, text } from '../shared/options.js';

export type TcpStateMode = 'reset' | 'allow' | 'strict';

export interface ZoneRule {
  readonly from: string;
  /** a service name or a pattern with `*` */
  readonly to: string;
}

export interface FirewallOptions {
  readonly tcpState: TcpStateMode;
  /** tenant name -> zone name */
  readonly zones: ReadonlyMap<string, string>;
  readonly allow: readonly ZoneRule[];
  /** audit lines (`deny`) per second at most */
  readonly logRate: number;
}

export function readFirewallOptions(raw: unknown): FirewallOptions {
  const o = record(raw, '', ['tcp-state', 'zones', 'allow', 'log-rate']);
  const tcpState = oneOf(o['tcp-state'], 'tcp-state', ['reset', 'allow', 'strict'] as const, 'reset');
  const zones = new Map<string, string>();
  for (const [tenant, zone] of Object.entries(record(o['zones'], 'zones'))) zones.set(tenant, text(zone, join('zones', tenant)));
  const known = new Set(zones.values());
  const allow = list(o['allow'] ?? [], 'allow').map((r, i): ZoneRule => {
    const path = join('allow', i);
    const rule = record(r, path, ['from', 'to']);
    const from = text(rule['from'], join(path, 'from'));
    if (!known.has(from)) {
      throw new PluginOptionsError(join(path, 'from'), `zone ${JSON.stringify(from)} is given to no tenant in zones (zones: ${[...known].join(', ') || 'none'})`);
    }
    const to = text(rule['to'], join(path, 'to'));
    if (!/^[A-Za-z0-9_.*-]+$/.test(to)) throw new PluginOptionsError(join(path, 'to'), `expected a service name or a pattern with *, got ${JSON.stringify(to)}`);
    return { from, to };
  });
  const logRate = integer(o['log-rate'], 'log-rate', 0, 10_000, 10);
  return { tcpState, zones, allow, logRate };
}
