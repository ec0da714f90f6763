/** Options of builtin.nat (README.md in this folder), validated with field paths. */
import { PluginOptionsError } from '../../api.js';
import { endpoint, ipv4Range, join, list, oneOf, portRange, record, text, type Endpoint } from '../shared/options.js';

export const DEFAULT_PORT_RANGE = [16384, 65534] as const; // 49,151 ports per address (SSR)
const MAX_POOL_ADDRESSES = 4096;

export interface PoolOptions {
  readonly name: string;
  /** u32 addresses in order: the first is used first */
  readonly addresses: readonly number[];
  /** static: the source address hashes to a pool address (N:M); dynamic: any address, in order */
  readonly type: 'static' | 'dynamic';
  /** only sessions of this tenant (or its children); others are refused */
  readonly tenant: string | null;
  /** the services this pool translates; null = every service */
  readonly services: readonly string[] | null;
}

export interface NatOptions {
  readonly pools: readonly PoolOptions[];
  /** destination NAT per service name */
  readonly targets: ReadonlyMap<string, Endpoint>;
  readonly portFirst: number;
  readonly portLast: number;
}

export function natOptions(raw: unknown): NatOptions {
  const o = record(raw, '', ['pools', 'targets', 'port-range']);
  const [portFirst, portLast] = portRange(o['port-range'], 'port-range', 1024, 65535, DEFAULT_PORT_RANGE);
  const pools = list(o['pools'] ?? [], 'pools').map((p, i) => pool(p, join('pools', i)));
  const names = new Set<string>();
  pools.forEach((p, i) => {
    if (names.has(p.name)) throw new PluginOptionsError(join(join('pools', i), 'name'), `pool "${p.name}" is defined twice`);
    names.add(p.name);
  });
  const targets = new Map<string, Endpoint>();
  const t = record(o['targets'], 'targets');
  for (const [service, v] of Object.entries(t)) targets.set(service, endpoint(v, join('targets', service)));
  return { pools, targets, portFirst, portLast };
}

function pool(raw: unknown, path: string): PoolOptions {
  const o = record(raw, path, ['name', 'addresses', 'type', 'tenant', 'services']);
  const name = text(o['name'], join(path, 'name'));
  const addresses: number[] = [];
  list(o['addresses'], join(path, 'addresses')).forEach((a, i) => addresses.push(...ipv4Range(a, join(join(path, 'addresses'), i), MAX_POOL_ADDRESSES)));
  if (addresses.length === 0) throw new PluginOptionsError(join(path, 'addresses'), 'a pool needs at least one address');
  if (addresses.length > MAX_POOL_ADDRESSES) throw new PluginOptionsError(join(path, 'addresses'), `at most ${MAX_POOL_ADDRESSES} addresses per pool`);
  if (new Set(addresses).size !== addresses.length) throw new PluginOptionsError(join(path, 'addresses'), 'an address is listed twice');
  const type = oneOf(o['type'], join(path, 'type'), ['static', 'dynamic'] as const, 'static');
  const tenant = o['tenant'] === undefined ? null : text(o['tenant'], join(path, 'tenant'));
  const services = o['services'] === undefined ? null : list(o['services'], join(path, 'services')).map((s, i) => text(s, join(join(path, 'services'), i)));
  return { name, addresses, type, tenant, services };
}

