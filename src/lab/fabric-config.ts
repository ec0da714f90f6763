/**
 * The N-router lab's authority config (`<dir>/authority.yaml`, lab/fabric.ts): one tenant, a service per
 * site, routers r1..rN with a lan and one wan interface whose neighborhoods give the topology. No
 * service-route points at a peer: every router learns by STEP which router delivers a site and which
 * peer leads there, so a session between two spokes goes spoke -> hub -> spoke (multi-hop SVR).
 */
import { randomBytes } from 'node:crypto';
import { bfdBlock } from './config.js';
import { FABRIC_ECHO_PORT, FABRIC_HTTP_PORT, FABRIC_TENANT_PREFIX, fabricPeers, type FabricPlan, type FabricRouter } from './fabric.js';
import type { LabShape } from './shape.js';
import { LAN_TABLE } from './topology.js';

function service(r: FabricRouter): string {
  return `    - name: ${r.service}                    # the host behind ${r.name} (${r.host}): HTTP and UDP echo
      addresses: [${r.lanPrefix}]
      transport:
        - protocol: tcp
          ports: [${FABRIC_HTTP_PORT}]
        - protocol: udp
          ports: [${FABRIC_ECHO_PORT}]
      access-policy:
        - source: engineering
`;
}

function router(r: FabricRouter, shape: LabShape): string {
  const hoods = r.neighborhoods.map((n) => `            - name: ${n.name}
              topology: ${n.topology}
${bfdBlock(shape, '              ')}`).join('');
  return `    - name: ${r.name}                       # namespace <prefix>-${r.name}
      interfaces:
        - name: lan0
          kind: lan
          device: svr-lan0
          kernel-routes:
            - prefix: default        # table ${LAN_TABLE}: where \`ip rule iif r-h\` sends the host's traffic
              table: ${LAN_TABLE}
        - name: wan0
          kind: wan
          waypoint: ${r.waypoint}       # routed into svr-wan0 by the node; the WAN namespace routes it to ${r.wanAddress}
          device: svr-wan0
          neighborhoods:
${hoods}      routes:
        - prefix: ${r.lanPrefix}
          interface: lan0
      service-routes:
        - name: ${r.service}-local
          service: ${r.service}
          next-hop:
            interface: lan0
`;
}

/** The YAML text; `secret` is 64 hex digits (a fresh random one per lab by default). */
export function fabricConfigYaml(plan: FabricPlan, shape: LabShape, secret: string = randomBytes(32).toString('hex')): string {
  const peers = fabricPeers(plan).map(([a, b]) => `${a}-${b}`).join(', ');
  return `# svrouter N-router lab: written by \`svr lab up --routers ${plan.routers.length} --topology ${plan.topology}\` (src/lab/fabric-config.ts).
#
# Every router has a host behind it (<prefix>-h<i>, 198.18.(100+i).10) and one wan interface on a shared
# WAN (<prefix>-wan routes every waypoint). Which routers peer comes from the neighborhoods: ${peers}.
# No service-route points at a peer: STEP tells each router which router delivers a site and through
# which peer; a router between the two continues the session as SVR (multi-hop).
authority:
  name: lab
  secret: ${secret}
${shape.conductor === true ? `  step:
    mode: conductor              # routers publish their STEP documents to the conductor and get what they need from it
` : `  # step: { mode: flood } (the default): routers flood their STEP documents to their peers
`}
  tenants:
    - name: engineering
      members: [${FABRIC_TENANT_PREFIX}]   # every site's host

  services:
${plan.routers.map(service).join('')}
  routers:
${plan.routers.map((r) => router(r, shape)).join('')}`;
}
