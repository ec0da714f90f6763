/** Two routers in memory for the built-in plugin tests: a client LAN (tenant `lan`) and a server LAN (tenant `dmz`). */
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../../src/model/validate.js';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import type { PluginSpec } from '../../../src/plugins/host.js';
import type { CreateRouterOptions } from '../../../src/control/router.js';

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * Services: web (tcp 80), echo (udp 7), bulk and voice and video and backup (udp 5001-5004) toward the
 * servers, for tenant lan; lan-echo (udp 7) toward the clients, for tenant dmz (the servers' side).
 */
export const BUILTIN_LAB = `
authority:
  name: builtin
  secret: 5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f
  tenants:
    - { name: lan, members: [198.18.1.0/24] }
    - { name: dmz, members: [198.18.3.0/24] }
  services:
    - { name: web, addresses: [198.18.3.0/24], transport: [{ protocol: tcp, ports: [80] }], access-policy: [{ source: lan }] }
    - { name: echo, addresses: [198.18.3.0/24], transport: [{ protocol: udp, ports: [7] }], access-policy: [{ source: lan }] }
    - { name: bulk, addresses: [198.18.3.0/24], transport: [{ protocol: udp, ports: [5001] }], access-policy: [{ source: lan }] }
    - { name: voice, addresses: [198.18.3.0/24], transport: [{ protocol: udp, ports: [5002] }], access-policy: [{ source: lan }] }
    - { name: video, addresses: [198.18.3.0/24], transport: [{ protocol: udp, ports: [5003] }], access-policy: [{ source: lan }] }
    - { name: backup, addresses: [198.18.3.0/24], transport: [{ protocol: udp, ports: [5004] }], access-policy: [{ source: lan }] }
    - { name: lan-echo, addresses: [198.18.1.0/24], transport: [{ protocol: udp, ports: [7] }], access-policy: [{ source: dmz }] }
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: 198.18.12.1, neighborhoods: [{ name: internet }] }
      routes: [{ prefix: 198.18.1.0/24, interface: lan0 }]
      service-routes:
        - { name: web-r2, service: web, peer: r2 }
        - { name: echo-r2, service: echo, peer: r2 }
        - { name: bulk-r2, service: bulk, peer: r2 }
        - { name: voice-r2, service: voice, peer: r2 }
        - { name: video-r2, service: video, peer: r2 }
        - { name: backup-r2, service: backup, peer: r2 }
        - { name: lan-echo-local, service: lan-echo, next-hop: { interface: lan0 } }
    - name: r2
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: 198.18.12.2, neighborhoods: [{ name: internet }] }
      routes: [{ prefix: 198.18.3.0/24, interface: lan0 }]
      service-routes:
        - { name: web-local, service: web, next-hop: { interface: lan0 } }
        - { name: echo-local, service: echo, next-hop: { interface: lan0 } }
        - { name: bulk-local, service: bulk, next-hop: { interface: lan0 } }
        - { name: voice-local, service: voice, next-hop: { interface: lan0 } }
        - { name: video-local, service: video, next-hop: { interface: lan0 } }
        - { name: backup-local, service: backup, next-hop: { interface: lan0 } }
        - { name: lan-echo-r1, service: lan-echo, peer: r1 }
`;

export function builtinLab(o: { clients?: string[]; servers?: string[]; router?: Omit<CreateRouterOptions, 'name'> } = {}): MemoryLab {
  return createMemoryLab({
    config: parseConfig(BUILTIN_LAB),
    clients: o.clients ?? ['198.18.1.10'],
    servers: o.servers ?? ['198.18.3.20'],
    ...(o.router ? { router: o.router } : {}),
  });
}

/** A plugin entry as a config would write it: `use: svrouter/plugins/<name>`. */
export function builtin(name: string, options: unknown, at = `plugins[${name}]`): PluginSpec {
  return { use: `svrouter/plugins/${name}`, with: options, baseDir: ROOT, at };
}

/** Lets every queued in-memory delivery run (each hop is one setImmediate). */
export async function settle(turns = 8): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * Heap growth allowed by `checkPluginCompliance` over its 100,000 packets: 10 bytes per packet, so any
 * per-packet object (16 bytes or more) still fails, while code V8 installs during the measured window
 * (up to ~230 KB of code space seen, even for a stage that allocates nothing) does not.
 */
export const HEAP_BUDGET = 1_000_000;
