/** Options of builtin.lb (README.md in this folder), validated with field paths. */
import { PluginOptionsError } from '../../api.js';
import { dotted, endpoint, integer, join, list, oneOf, record, text, u32, type Endpoint } from '../shared/options.js';

export type { Endpoint };

export const DEFAULT_INTERVAL_MS = 5000;
export const DEFAULT_TIMEOUT_MS = 1000;

export interface TargetOptions {
  /** where sessions go: address, and port (0 = the session's own) */
  readonly to: Endpoint;
  /** concurrent sessions this target takes; also its weight for `proportional` */
  readonly capacity: number;
  /** where the health check connects (host and port); null when the service has no health check */
  readonly check: { readonly host: string; readonly port: number } | null;
  /** `<service>/<address>[:port]`: the prefix of this target's counters */
  readonly label: string;
}

export interface ServiceOptions {
  readonly service: string;
  readonly strategy: 'hunt' | 'proportional';
  readonly targets: readonly TargetOptions[];
  readonly health: { readonly intervalMs: number; readonly timeoutMs: number } | null;
}

export interface LbOptions {
  readonly services: readonly ServiceOptions[];
}

export function lbOptions(raw: unknown): LbOptions {
  const o = record(raw, '', ['services']);
  const services = Object.entries(record(o['services'], 'services')).map(([name, v]) => service(name, v, join('services', name)));
  return { services };
}

function service(name: string, raw: unknown, path: string): ServiceOptions {
  const o = record(raw, path, ['strategy', 'targets', 'health']);
  const strategy = oneOf(o['strategy'], join(path, 'strategy'), ['hunt', 'proportional'] as const, 'hunt');
  const h = o['health'] === undefined ? null : record(o['health'], join(path, 'health'), ['tcp-connect', 'interval', 'timeout']);
  const hp = join(path, 'health');
  const checkPort = h === null ? 0 : integer(h['tcp-connect'], join(hp, 'tcp-connect'), 1, 65535, 0);
  const intervalMs = h === null ? 0 : integer(h['interval'], join(hp, 'interval'), 10, 3_600_000, DEFAULT_INTERVAL_MS);
  const timeoutMs = h === null ? 0 : integer(h['timeout'], join(hp, 'timeout'), 5, 60_000, Math.min(DEFAULT_TIMEOUT_MS, intervalMs));
  if (h !== null && timeoutMs > intervalMs) throw new PluginOptionsError(join(hp, 'timeout'), `must not exceed the interval (${intervalMs} ms)`);
  const tp = join(path, 'targets');
  const targets = list(o['targets'], tp).map((t, i) => target(name, t, join(tp, i), h === null ? null : checkPort));
  if (targets.length === 0) throw new PluginOptionsError(tp, 'a service needs at least one target');
  const labels = new Set<string>();
  targets.forEach((t, i) => {
    if (labels.has(t.label)) throw new PluginOptionsError(join(tp, i), `target ${t.label} is listed twice`);
    labels.add(t.label);
  });
  return { service: name, strategy, targets, health: h === null ? null : { intervalMs, timeoutMs } };
}

/** `checkPort`: null = no health check; 0 = health on but no `tcp-connect` (each target must name a port). */
function target(service: string, raw: unknown, path: string, checkPort: number | null): TargetOptions {
  const o = record(raw, path, ['address', 'port', 'capacity', 'health-address']);
  const addr = endpoint(text(o['address'], join(path, 'address')), join(path, 'address'));
  if (addr.port !== 0) throw new PluginOptionsError(join(path, 'address'), 'an address without a port (use `port`)');
  const port = integer(o['port'], join(path, 'port'), 1, 65535, 0);
  if (o['capacity'] === undefined) throw new PluginOptionsError(join(path, 'capacity'), 'required: concurrent sessions this target takes (and its weight)');
  const capacity = integer(o['capacity'], join(path, 'capacity'), 1, 10_000_000, 1);
  let check: TargetOptions['check'] = null;
  if (checkPort !== null) {
    const at = o['health-address'] === undefined ? null : endpoint(o['health-address'], join(path, 'health-address'));
    const host = at === null ? addr.text : dotted(u32(at.addr));
    const p = at !== null && at.port !== 0 ? at.port : checkPort;
    if (p === 0) throw new PluginOptionsError(join(path, 'health-address'), 'no port to check: set health.tcp-connect or a port here');
    check = { host, port: p };
  } else if (o['health-address'] !== undefined) {
    throw new PluginOptionsError(join(path, 'health-address'), 'only with a `health` check on the service');
  }
  const to: Endpoint = { addr: addr.addr, port, text: port === 0 ? addr.text : `${addr.text}:${port}` };
  return { to, capacity, check, label: `${service}/${to.text}` };
}

