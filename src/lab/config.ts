/**
 * The lab's authority config (`<dir>/authority.yaml`): both routers, one tenant, three services. Written
 * as commented YAML because people read it to learn the config format (docs/configuration.md).
 */
import { randomBytes } from 'node:crypto';
import { CLIENT_NO_TENANT, ECHO_PORT, HTTP_PORT, IPERF_PORT, LAN_TABLE, SERVER, WAYPOINT_R1, WAYPOINT_R2 } from './topology.js';

/** The YAML text; `secret` is 64 hex digits (a fresh random one per lab by default). */
export function labConfigYaml(secret: string = randomBytes(32).toString('hex')): string {
  return `# svrouter lab: written by \`svr lab up\` (src/lab/config.ts); both nodes load this same file.
#
#   svr-client            svr-r1                                  svr-r2                        svr-server
#   198.18.1.10 --- r1-c [r1 lan0 | wan0] r1-r2 ~~ veth ~~ r2-r1 [r2 wan0 | lan0] r2-s --- ${SERVER}
#                        waypoint ${WAYPOINT_R1}          waypoint ${WAYPOINT_R2}
#
# Client traffic arriving on r1-c is steered (ip rule, table ${LAN_TABLE}) into r1's lan TUN svr-lan0; r1 sends
# it as SVR (outer ${WAYPOINT_R1} -> ${WAYPOINT_R2}) into svr-wan0, the kernel forwards it over the veth, and
# r2 restores the original packet into its svr-lan0, from where the kernel delivers it to the server.
# Reference for every field: docs/configuration.md.
authority:
  name: lab
  # Per-path HMAC keys derive from this secret (HKDF-SHA256); fresh for each \`svr lab up\`.
  secret: ${secret}

  tenants:
    # Sources are classified by member prefix (the lan interfaces name no tenant).
    # ${CLIENT_NO_TENANT} (a second address of the client) is in no tenant: r1 drops it (drop-no-tenant).
    - name: engineering
      members: [198.18.1.0/24]

  # Deny by default: each service allows engineering explicitly.
  services:
    - name: web                      # the lab's HTTP server (svr lab serve)
      addresses: [198.18.3.0/24]
      transport:
        - protocol: tcp
          ports: [${HTTP_PORT}]
      access-policy:
        - source: engineering
    - name: echo                     # UDP echo (svr lab serve)
      addresses: [198.18.3.0/24]
      transport:
        - protocol: udp
          ports: [${ECHO_PORT}]
      access-policy:
        - source: engineering
    - name: iperf                    # iperf3 -s on the server; tcp for the test, udp for -u
      addresses: [198.18.3.0/24]
      transport:
        - protocol: tcp
          ports: [${IPERF_PORT}]
        - protocol: udp
          ports: [${IPERF_PORT}]
      access-policy:
        - source: engineering

  routers:
    - name: r1                       # runs in namespace <prefix>-r1
      interfaces:
        - name: lan0
          kind: lan
          device: svr-lan0           # the TUN the node creates (mtu 1500 by default for lan)
          kernel-routes:
            - prefix: default        # table ${LAN_TABLE}: where \`ip rule iif r1-c\` sends client traffic
              table: ${LAN_TABLE}
        - name: wan0
          kind: wan
          waypoint: ${WAYPOINT_R1}         # routed into svr-wan0 by the node; not a local address
          device: svr-wan0           # mtu 1700 by default for wan: room for metadata and the HMAC
          neighborhoods:
            - name: lab              # r2/wan0 is in it too: the path wan0->r2/wan0
      routes:
        - prefix: 198.18.1.0/24      # the clients (replies go back out of lan0)
          interface: lan0
      service-routes:
        - name: web-via-r2
          service: web
          peer: r2
        - name: echo-via-r2
          service: echo
          peer: r2
        - name: iperf-via-r2
          service: iperf
          peer: r2

    - name: r2                       # runs in namespace <prefix>-r2
      interfaces:
        - name: wan0
          kind: wan
          waypoint: ${WAYPOINT_R2}
          device: svr-wan0
          neighborhoods:
            - name: lab
        - name: lan0
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
