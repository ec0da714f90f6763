/**
 * Real routers in memory, each with a StepAgent wired the way the lead will wire it: the router's path
 * control channel, tables and path state through `stepDepsFromRouter`, plus test knobs for what other
 * engineers own (service health, BFD latency).
 */
import { MemoryLink } from '../../../src/io/memory/link.js';
import { MemorySegment } from '../../../src/io/memory/segment.js';
import type { PacketPort } from '../../../src/dataplane/port.js';
import { parseConfig } from '../../../src/model/validate.js';
import { createRouter, type Router } from '../../../src/control/router.js';
import { StepAgent, stepDepsFromRouter, type RouterStepSources, type StepOptions } from '../../../src/step/agent.js';

export const SECRET = '5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f';

export interface LabNode {
  router: Router;
  agent: StepAgent;
  /** service -> reachable, overriding "has a local service-route" (health / operator) */
  health: Map<string, boolean>;
  /** path name -> latency in ms (what BFD would measure); a function is asked on every poll */
  latency: Map<string, number | (() => number)>;
}

export interface Lab {
  nodes: Record<string, LabNode>;
  links: Record<string, MemoryLink>;
  close(): Promise<void>;
}

export interface LabOptions {
  /** false: the agents use stepDepsFromRouter's defaults (local service-routes, path up/down only) */
  knobs?: boolean;
  /** runs before the agents start (set latencies and health here) */
  setup?: (nodes: Record<string, LabNode>) => void;
}

/** `links`: [link name, router a, interface a, router b, interface b]; every lan interface gets a segment. */
export function startLab(yaml: string, links: [string, string, string, string, string][], options: StepOptions, lab: LabOptions = {}): Lab {
  const knobs = lab.knobs ?? true;
  const config = parseConfig(yaml, 'step-lab.yaml');
  const io: Record<string, Record<string, PacketPort>> = {};
  const linkByName: Record<string, MemoryLink> = {};
  const segments: MemorySegment[] = [];
  for (const [name, ra, ia, rb, ib] of links) {
    const link = new MemoryLink(name, `${ra}.${ia}`, `${rb}.${ib}`);
    linkByName[name] = link;
    (io[ra] ??= {})[ia] = link.a;
    (io[rb] ??= {})[ib] = link.b;
  }
  for (const r of config.authority.routers) {
    for (const i of r.interfaces.filter((x) => x.kind === 'lan')) {
      const seg = new MemorySegment(`${r.name}.${i.name}`);
      segments.push(seg);
      (io[r.name] ??= {})[i.name] = seg.gatewayPort();
    }
  }
  const nodes: Record<string, LabNode> = {};
  for (const r of config.authority.routers) {
    const router = createRouter(config, io[r.name]!, { name: r.name, liveness: 'static' });
    const health = new Map<string, boolean>();
    const latency = new Map<string, number | (() => number)>();
    const sources: RouterStepSources = knobs ? {
      localServices: () => router.tables.services.map((s) => ({ name: s.name, reachable: health.get(s.name) ?? s.routes.some((x) => x.kind === 'local') })),
      pathStatus: (id) => {
        const name = router.tables.paths[id]!.name;
        const up = router.peers().some((p) => p.paths.some((x) => x.name === name && x.up));
        const l = latency.get(name);
        return l === undefined ? { usable: up } : { usable: up, latencyMs: typeof l === 'function' ? l() : l };
      },
    } : {};
    nodes[r.name] = { router, agent: new StepAgent(stepDepsFromRouter(router, sources), options), health, latency };
  }
  for (const n of Object.values(nodes)) n.router.start();
  lab.setup?.(nodes);
  for (const n of Object.values(nodes)) n.agent.start();
  return {
    nodes, links: linkByName,
    async close() {
      for (const n of Object.values(nodes)) n.agent.stop();
      for (const n of Object.values(nodes)) await n.router.stop();
      for (const l of Object.values(linkByName)) l.close();
      for (const s of segments) s.close();
    },
  };
}

/** Path id of `router`'s path named `name`. */
export function pathId(router: Router, name: string): number {
  const p = router.tables.paths.find((x) => x.name === name);
  if (p === undefined) throw new Error(`no path ${name} on ${router.name}: ${router.tables.paths.map((x) => x.name).join(', ')}`);
  return p.id;
}

const head = `authority:
  name: step-lab
  secret: ${SECRET}
  tenants:
    - name: eng
      members: [198.18.1.0/24]
  services:
    - name: S
      addresses: [198.18.30.0/24]
      access-policy:
        - source: eng
  routers:`;

const wan = (name: string, waypoint: string, hood: string) => `
        - name: ${name}
          kind: wan
          waypoint: ${waypoint}
          neighborhoods:
            - name: ${hood}`;

const deliversS = `
      service-routes:
        - name: s-local
          service: S
          next-hop:
            interface: lan0`;

/** r1 -(n12)- r2 -(n23)- r3; S is delivered by r3. */
export const CHAIN = `${head}
    - name: r1
      interfaces:
        - name: lan0
          kind: lan${wan('wan0', '198.18.12.1', 'n12')}
    - name: r2
      interfaces:${wan('wan0', '198.18.12.2', 'n12')}${wan('wan1', '198.18.23.2', 'n23')}
    - name: r3
      interfaces:
        - name: lan0
          kind: lan${wan('wan0', '198.18.23.3', 'n23')}${deliversS}
`;

export const CHAIN_LINKS: [string, string, string, string, string][] = [
  ['l12', 'r1', 'wan0', 'r2', 'wan0'],
  ['l23', 'r2', 'wan1', 'r3', 'wan0'],
];

/** r1 peers r2 (n12) and r3 (n13); r2 and r3 peer too (n23); S is delivered by r2 and r3. */
export const TRIANGLE = `${head}
    - name: r1
      interfaces:
        - name: lan0
          kind: lan${wan('wan0', '198.18.12.1', 'n12')}${wan('wan1', '198.18.13.1', 'n13')}
    - name: r2
      interfaces:
        - name: lan0
          kind: lan${wan('wan0', '198.18.12.2', 'n12')}${wan('wan1', '198.18.23.2', 'n23')}${deliversS}
    - name: r3
      interfaces:
        - name: lan0
          kind: lan${wan('wan0', '198.18.13.3', 'n13')}${wan('wan1', '198.18.23.3', 'n23')}${deliversS}
`;

export const TRIANGLE_LINKS: [string, string, string, string, string][] = [
  ['l12', 'r1', 'wan0', 'r2', 'wan0'],
  ['l13', 'r1', 'wan1', 'r3', 'wan0'],
  ['l23', 'r2', 'wan1', 'r3', 'wan1'],
];
