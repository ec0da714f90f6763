/**
 * The lab's authority config (`<dir>/authority.yaml`): both routers with one wan interface per path,
 * one tenant, four services and their service-policies. Written as commented YAML because people read
 * it to learn the config format (docs/configuration.md).
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_SHAPE, SLA_MAX_LATENCY_MS, type LabShape } from './shape.js';
import { CLIENT_NO_TENANT, ECHO_PORT, HTTP_PORT, IPERF_PORT, LAN_TABLE, pathPlans, SERVER, STREAM_PORT, type PathPlan, type RouterRole } from './topology.js';

/** Service-policy of web and stream (resiliency and SLA from the lab options). */
export const SESSIONS_POLICY = 'lab-sessions';
/** Service-policy of echo and iperf (path preference only). */
export const PATHS_POLICY = 'lab-paths';

function bfdBlock(s: LabShape, indent: string): string {
  return `${indent}bfd:                     # BFD and link tests on this path (svr lab up --bfd-interval/--hold-down/--link-test-interval)
${indent}  desired-tx-interval: ${s.bfdIntervalMs}       # ms; the path is declared down after 3 missed packets
${indent}  required-min-rx-interval: ${s.bfdIntervalMs}
${indent}  multiplier: 3
${indent}  hold-down-time: ${s.holdDownS}          # s a path that came back must stay up before it is used again
${indent}  link-test-interval: ${s.linkTestIntervalS}       # s between two quality measurements (latency, jitter, loss, MOS)
${indent}  link-test-length: 10
`;
}

function wanInterfaces(router: RouterRole, paths: readonly PathPlan[], s: LabShape): string {
  return paths.map((p) => {
    const veth = router === 'r1' ? p.r1Dev : p.r2Dev;
    return `        - name: ${p.iface}                 # path ${p.k}: ${veth} -> ${p.namespace} (link emulator) -> ${router === 'r1' ? p.r2Dev : p.r1Dev}
          kind: wan
          waypoint: ${p.waypoints[router]}       # routed into ${p.device} by the node; not a local address
          device: ${p.device}          # mtu 1700 by default for wan: room for metadata and the HMAC
          neighborhoods:
            - name: ${p.neighborhood}            # ${router === 'r1' ? 'r2' : 'r1'}/${p.iface} is in it too: the path ${p.iface}->${router === 'r1' ? 'r2' : 'r1'}/${p.iface}
              vector: ${p.vector}          # service-policies rank paths by vector
${bfdBlock(s, '              ')}`;
  }).join('');
}

function slaLines(s: LabShape): string {
  if (s.sla === 'off') return '      path-quality-filter: false       # svr lab up --sla turns the SLA filter on\n';
  return `      path-quality-filter: true        # svr lab up --sla: paths that breach these limits are not used
      max-latency: ${SLA_MAX_LATENCY_MS}                 # ms
      max-jitter: 100                  # ms
      max-loss: 0.5                    # percent
      best-effort: ${s.sla === 'strict' ? 'false               # --sla strict: no path meets the SLA -> new sessions are refused' : 'true                # no path meets the SLA -> use the best usable one anyway'}
`;
}

/** The YAML text; `secret` is 64 hex digits (a fresh random one per lab by default). */
export function labConfigYaml(shape: LabShape = DEFAULT_SHAPE, secret: string = randomBytes(32).toString('hex')): string {
  const paths = pathPlans('<prefix>', shape.paths);
  const order = `[${paths.map((p) => p.vector).join(', ')}]`;
  const p1 = paths[0]!;
  return `# svrouter lab: written by \`svr lab up\` (src/lab/config.ts); both nodes load this same file.
#
#   svr-client            svr-r1                                                            svr-r2                        svr-server
#   198.18.1.10 --- r1-c [r1 lan0 | wan0] r1-r2 --- [svr-link1: emulator] --- r2-r1 [r2 wan0 | lan0] r2-s --- ${SERVER}
#                        waypoint ${p1.waypoints.r1}                                  waypoint ${p1.waypoints.r2}
${paths.slice(1).map((p) => `#                             [wan${p.k - 1}] ${p.r1Dev} --- [svr-link${p.k}: emulator] --- ${p.r2Dev} [wan${p.k - 1}]   waypoints ${p.waypoints.r1} / ${p.waypoints.r2}\n`).join('')}#
# Client traffic arriving on r1-c is steered (ip rule, table ${LAN_TABLE}) into r1's lan TUN svr-lan0; r1 sends
# it as SVR (outer ${p1.waypoints.r1} -> ${p1.waypoints.r2} on path 1) into svr-wan0, the kernel forwards it over
# the veth into the link emulator's namespace, the emulator delays/drops it (svr lab impair) and r2
# restores the original packet into its svr-lan0, from where the kernel delivers it to the server.
# ${shape.paths} path${shape.paths === 1 ? '' : 's'}, path 1 preferred (vector-order). Reference for every field: docs/configuration.md.
authority:
  name: lab
  # Per-path HMAC keys derive from this secret (HKDF-SHA256); fresh for each \`svr lab up\`.
  secret: ${secret}

  tenants:
    # Sources are classified by member prefix (the lan interfaces name no tenant).
    # ${CLIENT_NO_TENANT} (a second address of the client) is in no tenant: r1 drops it (drop-no-tenant).
    - name: engineering
      members: [198.18.1.0/24]

  service-policies:
    - name: ${SESSIONS_POLICY}               # web and stream: what people watch fail over
      vector-order: ${order}   # path 1 preferred, then path 2, ...
      session-resiliency: ${shape.resiliency}${' '.repeat(Math.max(1, 20 - shape.resiliency.length))}# svr lab up --resiliency none|failover|revertible-failover|packet-duplication
${slaLines(shape)}    - name: ${PATHS_POLICY}                  # echo and iperf: the same path preference, no resiliency
      vector-order: ${order}

  # Deny by default: each service allows engineering explicitly.
  services:
    - name: web                      # the lab's HTTP server (svr lab serve)
      addresses: [198.18.3.0/24]
      transport:
        - protocol: tcp
          ports: [${HTTP_PORT}]
      access-policy:
        - source: engineering
      service-policy: ${SESSIONS_POLICY}
    - name: stream                   # UDP stream receiver (svr lab serve; svr lab send-stream sends)
      addresses: [198.18.3.0/24]
      transport:
        - protocol: udp
          ports: [${STREAM_PORT}]
      access-policy:
        - source: engineering
      service-policy: ${SESSIONS_POLICY}
    - name: echo                     # UDP echo (svr lab serve)
      addresses: [198.18.3.0/24]
      transport:
        - protocol: udp
          ports: [${ECHO_PORT}]
      access-policy:
        - source: engineering
      service-policy: ${PATHS_POLICY}
    - name: iperf                    # iperf3 -s on the server; tcp for the test, udp for -u
      addresses: [198.18.3.0/24]
      transport:
        - protocol: tcp
          ports: [${IPERF_PORT}]
        - protocol: udp
          ports: [${IPERF_PORT}]
      access-policy:
        - source: engineering
      service-policy: ${PATHS_POLICY}

  routers:
    - name: r1                       # runs in namespace <prefix>-r1
      interfaces:
        - name: lan0
          kind: lan
          device: svr-lan0           # the TUN the node creates (mtu 1500 by default for lan)
          kernel-routes:
            - prefix: default        # table ${LAN_TABLE}: where \`ip rule iif r1-c\` sends client traffic
              table: ${LAN_TABLE}
${wanInterfaces('r1', paths, shape)}      routes:
        - prefix: 198.18.1.0/24      # the clients (replies go back out of lan0)
          interface: lan0
      service-routes:
        - name: web-via-r2
          service: web
          peer: r2
        - name: stream-via-r2
          service: stream
          peer: r2
        - name: echo-via-r2
          service: echo
          peer: r2
        - name: iperf-via-r2
          service: iperf
          peer: r2

    - name: r2                       # runs in namespace <prefix>-r2
      interfaces:
${wanInterfaces('r2', paths, shape)}        - name: lan0
          kind: lan
          device: svr-lan0
          kernel-routes:
            - prefix: default        # table ${LAN_TABLE}: where \`ip rule iif r2-s\` sends the server's replies
              table: ${LAN_TABLE}
      routes:
        - prefix: 198.18.3.0/24      # the servers
          interface: lan0
      service-routes:
        - name: web-local
          service: web
          next-hop:
            interface: lan0
        - name: stream-local
          service: stream
          next-hop:
            interface: lan0
        - name: echo-local
          service: echo
          next-hop:
            interface: lan0
        - name: iperf-local
          service: iperf
          next-hop:
            interface: lan0
`;
}
