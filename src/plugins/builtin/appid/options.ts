/** Options of builtin.appid (README.md in this folder), validated with field paths. */
import { PluginOptionsError } from '../../api.js';
import { integer, join, record } from '../shared/options.js';
import { DEFAULT_PORT_NAMES } from './ports.js';

export const DEFAULT_MAX_PACKETS = 4;
export const DEFAULT_DNS_CACHE_SIZE = 1024;

export interface AppidOptions {
  /** data packets (either direction) inspected per session before falling back */
  readonly maxPackets: number;
  /** addresses learned from DNS answers (rounded up to a power of two) */
  readonly dnsCacheSize: number;
  /** server port -> application name (the defaults with the `ports` overrides applied) */
  readonly ports: ReadonlyMap<number, string>;
}

export function appidOptions(raw: unknown): AppidOptions {
  const o = record(raw, '', ['max-packets', 'dns-cache-size', 'ports']);
  const maxPackets = integer(o['max-packets'], 'max-packets', 1, 64, DEFAULT_MAX_PACKETS);
  const dnsCacheSize = integer(o['dns-cache-size'], 'dns-cache-size', 16, 1 << 20, DEFAULT_DNS_CACHE_SIZE);
  const ports = new Map<number, string>(Object.entries(DEFAULT_PORT_NAMES).map(([p, n]) => [Number(p), n]));
  for (const [key, v] of Object.entries(record(o['ports'], 'ports'))) {
    const path = join('ports', key);
    const port = /^\d{1,5}$/.test(key) ? Number(key) : 0;
    if (port < 1 || port > 65535) throw new PluginOptionsError(path, `expected a port number 1-65535 as the key, got "${key}"`);
    if (v === false || v === null) ports.delete(port); // drop a default
    else if (typeof v === 'string' && /^[a-z0-9][a-z0-9._-]{0,62}$/i.test(v)) ports.set(port, v);
    else throw new PluginOptionsError(path, `expected an application name (letters, digits, . _ -) or false, got ${JSON.stringify(v)}`);
  }
  return { maxPackets, dnsCacheSize, ports };
}
