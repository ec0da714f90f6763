/**
 * Support for the nat, lb and appid tests: an authority with the services they need (web, tls, echo,
 * discard, dns, ping) for two tenants, and specs that load a built-in plugin by its public specifier.
 */
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../../src/model/validate.js';
import type { SvrConfig } from '../../../src/model/config.js';
import type { PluginSpec } from '../../../src/plugins/host.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

const SERVICES = ['web', 'tls', 'echo', 'discard', 'dns', 'ping'];

const CONFIG = `
authority:
  name: builtin-lab
  secret: 5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f
  tenants:
    - { name: engineering, members: [198.18.1.0/24] }
    - { name: guest, members: [198.18.9.0/24] }
  services:
    - { name: web, addresses: [198.18.3.0/24], transport: [{ protocol: tcp, ports: [80] }], access-policy: [{ source: engineering }, { source: guest }] }
    - { name: tls, addresses: [198.18.3.0/24], transport: [{ protocol: tcp, ports: [443] }], access-policy: [{ source: engineering }, { source: guest }] }
    - { name: echo, addresses: [198.18.3.0/24], transport: [{ protocol: udp, ports: [7] }], access-policy: [{ source: engineering }, { source: guest }] }
    - { name: discard, addresses: [198.18.3.0/24], transport: [{ protocol: udp, ports: [9] }], access-policy: [{ source: engineering }] }
    - { name: dns, addresses: [198.18.3.0/24], transport: [{ protocol: udp, ports: [53] }], access-policy: [{ source: engineering }] }
    - { name: ping, addresses: [198.18.3.0/24], transport: [{ protocol: icmp }], access-policy: [{ source: engineering }] }
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: 198.18.12.1, neighborhoods: [{ name: internet }] }
      routes: [{ prefix: 198.18.1.0/24, interface: lan0 }, { prefix: 198.18.9.0/24, interface: lan0 }]
      service-routes:
${SERVICES.map((s) => `        - { name: ${s}-via-r2, service: ${s}, peer: r2 }`).join('\n')}
    - name: r2
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: 198.18.12.2, neighborhoods: [{ name: internet }] }
      routes: [{ prefix: 198.18.3.0/24, interface: lan0 }]
      service-routes:
${SERVICES.map((s) => `        - { name: ${s}-local, service: ${s}, next-hop: { interface: lan0 } }`).join('\n')}
`;

export function labConfig(): SvrConfig {
  return parseConfig(CONFIG, 'builtin-lab');
}

/** Loads `svrouter/plugins/<name>` the way a config file next to the package would. */
export function builtin(name: string, options: unknown): PluginSpec {
  return { use: `svrouter/plugins/${name}`, with: options, baseDir: ROOT, at: `plugins[${name}]` };
}

/** Counters of one plugin, without the `plugin.<name>.` prefix. */
export function pluginCounters(all: Record<string, number>, plugin: string): Record<string, number> {
  const prefix = `plugin.${plugin}.`;
  return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}
