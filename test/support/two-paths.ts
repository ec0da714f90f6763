/** Two routers joined by two WAN links (paths wan0 and wan1), for path selection and resiliency tests. */
import { parseConfig } from '../../src/model/validate.js';
import type { SessionResiliency, SvrConfig } from '../../src/model/config.js';

export const TWO_PATHS = `
authority:
  name: two-paths
  secret: 5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f
  tenants: [{ name: lab, members: [198.18.1.0/24] }]
  services:
    - name: web
      addresses: [198.18.3.0/24]
      transport: [{ protocol: tcp, ports: [80] }]
      access-policy: [{ source: lab }]
    - name: stream
      addresses: [198.18.3.0/24]
      transport: [{ protocol: udp, ports: [5000] }]
      access-policy: [{ source: lab }]
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: 198.18.12.1, neighborhoods: [{ name: path1, vector: mpls }] }
        - { name: wan1, kind: wan, waypoint: 198.18.13.1, neighborhoods: [{ name: path2, vector: broadband }] }
      routes: [{ prefix: 198.18.1.0/24, interface: lan0 }]
      service-routes:
        - { name: web, service: web, peer: r2 }
        - { name: stream, service: stream, peer: r2 }
    - name: r2
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: 198.18.12.2, neighborhoods: [{ name: path1, vector: mpls }] }
        - { name: wan1, kind: wan, waypoint: 198.18.13.2, neighborhoods: [{ name: path2, vector: broadband }] }
      routes: [{ prefix: 198.18.3.0/24, interface: lan0 }]
      service-routes:
        - { name: web, service: web, next-hop: { interface: lan0 } }
        - { name: stream, service: stream, next-hop: { interface: lan0 } }
`;

/**
 * The two-paths config; with `resiliency`, both services get a service-policy with that session-resiliency
 * and every path a hold-down of 1 s (the least), so a revert after the hold-down happens within a test.
 */
export function twoPathsConfig(resiliency?: SessionResiliency): SvrConfig {
  const text = resiliency === undefined ? TWO_PATHS : TWO_PATHS
    .replace('  services:\n', `  service-policies: [{ name: resilient, session-resiliency: ${resiliency} }]\n  services:\n`)
    .replace(/access-policy: \[\{ source: lab \}\]/g, '$&\n      service-policy: resilient')
    .replace(/vector: (mpls|broadband) \}/g, 'vector: $1, bfd: { hold-down-time: 1 } }');
  return parseConfig(text, 'two-paths.yaml');
}
