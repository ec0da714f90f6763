/**
 * The lab's authority config (`<dir>/authority.yaml`): both routers with one wan interface per path,
 * one tenant, four services and their service-policies. Written as commented YAML because people read
 * it to learn the config format (docs/configuration.md).
 */
import { haNodeOfPath, haRedundancyYaml } from './ha.js';
import { BRANCH_SERVER } from './nat.js';
import { randomBytes } from 'node:crypto';
import { COLLECTOR_ADDRESS, COLLECTOR_NAME, COLLECTOR_PORT } from './collector.js';
import { FLOOD_RANGE, PE_AS, PE_LINKS, PE_PREFIX, PE_SERVER, ROUTER_AS } from './bgp.js';
import { DEFAULT_SHAPE, SLA_MAX_LATENCY_MS, type LabShape } from './shape.js';
import {
  DOS_BURST, DOS_PER_SOURCE_RATE, FLOOD_SOURCE, FN_IN, FN_NAME, FN_OUT, GUEST_CLIENT, GUEST_PREFIX, INTERNET_ECHO_PORT, INTERNET_NAT, INTERNET_PREFIX,
  LB_CAPACITY, LB_VIP, LIMITED_PORT, LIMITED_RATE_BPS, NAT_CLIENT, SERVER_B, TLS_PORT,
} from './plugins-profile.js';
import { CLIENT6_PREFIX, SERVER6_PREFIX, WAN6, WAYPOINTS6 } from './ipv6.js';
import { CLIENT_NO_TENANT, ECHO_PORT, HTTP_PORT, IPERF_PORT, LAN_TABLE, pathPlans, SERVER, STREAM_PORT, type PathPlan, type RouterRole } from './topology.js';

/** The nodes' management API in the lab: every address of the router's namespace, this port, two tokens. */
const LAB_API_PORT = 8443;
/** Token files next to authority.yaml, written by `svr lab up` (fresh random tokens per lab). */
export const LAB_API_TOKENS = { admin: 'api-admin.token', read: 'api-read.token' } as const;

/** Service-policy of web and stream (resiliency and SLA from the lab options). */
export const SESSIONS_POLICY = 'lab-sessions';
/** Service-policy of echo and iperf (path preference only). */
export const PATHS_POLICY = 'lab-paths';

export function bfdBlock(s: LabShape, indent: string): string {
  return `${indent}bfd:                     # BFD and link tests on this path (svr lab up --bfd-interval/--hold-down/--link-test-interval)
${indent}  desired-tx-interval: ${s.bfdIntervalMs}       # ms; the path is declared down after 3 missed packets
${indent}  required-min-rx-interval: ${s.bfdIntervalMs}
${indent}  multiplier: 3
${indent}  hold-down-time: ${s.holdDownS}          # s a path that came back must stay up before it is used again
${indent}  link-test-interval: ${s.linkTestIntervalS}       # s between two quality measurements (latency, jitter, loss, MOS)
${indent}  link-test-length: 10
`;
}

/** Service-policy of web6 (`--ipv6`): the IPv6 peer path only. */
export const V6_POLICY = 'lab-v6';

/** `--ipv6`: the IPv6 peer path over path 1's veths and emulator (lab/ipv6.ts). */
function wan6Interface(router: RouterRole): string {
  return `        - name: ${WAN6.iface}                 # --ipv6: an IPv6 peer path over path 1's veths and link emulator
          kind: wan
          waypoint: ${WAYPOINTS6[router]}       # routed into ${WAN6.device} by the node
          device: ${WAN6.device}
          neighborhoods:
            - name: ${WAN6.neighborhood}
              vector: ${WAN6.vector}
`;
}

/** `--nat`: r1's path 1 is behind the NAT box (lab/nat.ts); r2 learns where from r1's BFD. */
function natLines(indent: string): string {
  return `${indent}peer-connectivity: outbound-only   # svr lab up --nat: behind <prefix>-nat's masquerade; r2 answers where it sees us (docs/wan.md)
${indent}nat-keep-alive: 20           # s: an idle session sends a keep-alive this often, so its NAT binding stays
`;
}

/** `--middlebox` / `--udp-transform`: the firewall detector probes every 10 s (docs/wan.md "UDP transform"). */
function udpTransformLines(mode: string, indent: string): string {
  return `${indent}udp-transform:               # svr lab up --udp-transform / --middlebox: TCP as UDP when a firewall drops TCP (docs/wan.md)
${indent}  mode: ${mode}
${indent}  detect-interval: 10          # s between probe episodes (SSR's default 300)
`;
}

function wanInterfaces(router: RouterRole, paths: readonly PathPlan[], s: LabShape): string {
  return paths.map((p) => {
    const veth = router === 'r1' ? p.r1Dev : p.r2Dev;
    return `        - name: ${p.iface}                 # path ${p.k}: ${veth} -> ${p.namespace} (link emulator) -> ${router === 'r1' ? p.r2Dev : p.r1Dev}
          kind: wan
          waypoint: ${p.waypoints[router]}       # routed into ${p.device} by the node; not a local address
          device: ${p.device}          # mtu 1700 by default for wan: room for metadata and the HMAC
${router === 'r1' && s.haWan === 'per-node' ? `          node: ${haNodeOfPath(p.k)}                 # --ha-wan per-node: ${haNodeOfPath(p.k)}'s own WAN interface (docs/high-availability.md)
` : ''}          neighborhoods:
            - name: ${p.neighborhood}            # ${router === 'r1' ? 'r2' : 'r1'}/${p.iface} is in it too: the path ${p.iface}->${router === 'r1' ? 'r2' : 'r1'}/${p.iface}
              vector: ${p.vector}          # service-policies rank paths by vector
${router === 'r1' && p.k === 1 && s.nat === true ? natLines('              ') : ''}${s.udpTransform !== undefined ? udpTransformLines(s.udpTransform, '              ') : ''}${bfdBlock(s, '              ')}`;
  }).join('');
}

function management(router: RouterRole, tokenDir: string): string {
  const file = (name: string): string => (tokenDir === '' ? name : `${tokenDir}/${name}`);
  return `      management:                    # the node's API (REST, OpenAPI, /metrics; docs/visibility.md): in <prefix>-${router}
        address: 0.0.0.0             # every address of the namespace (127.0.0.1 inside it)
        port: ${LAB_API_PORT}
        tokens:                      # fresh for each \`svr lab up\`
          - { name: lab-admin, role: admin, token-file: ${file(LAB_API_TOKENS.admin)} }
          - { name: lab-read, role: read-only, token-file: ${file(LAB_API_TOKENS.read)} }
`;
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

/** `--profile plugins`: the services it adds (r1 reaches each through r2, r2 delivers on lan0). */
const PLUGIN_SERVICES = ['tls', 'iperf-limited', 'web-lb', 'internet'] as const;

function pluginServices(): string {
  return `    # --- profile plugins (svr lab up --profile plugins; docs/lab.md "The plugins profile") ---
    - name: tls                      # a TLS server you run on ${SERVER}:${TLS_PORT}; builtin.appid (r1) names each session by its SNI
      addresses: [198.18.3.0/24]
      transport:
        - protocol: tcp
          ports: [${TLS_PORT}]
      access-policy:
        - source: engineering
      service-chain: [builtin.appid/classify]   # loaded on r1 only: r2 learns the name from metadata (TLV 35)
    - name: iperf-limited            # iperf3 -s -p ${LIMITED_PORT}: builtin.qos polices it to ${LIMITED_RATE_BPS / 1e6} Mbit/s per direction
      addresses: [198.18.3.0/24]
      transport:
        - protocol: tcp
          ports: [${LIMITED_PORT}]
        - protocol: udp
          ports: [${LIMITED_PORT}]
      access-policy:
        - source: engineering
      service-policy: ${PATHS_POLICY}
      service-chain: [builtin.qos/police]
    - name: web-lb                   # a virtual address: builtin.lb (r2) spreads sessions over ${SERVER} and ${SERVER_B}, 1:3
      addresses: [${LB_VIP}/32]
      transport:
        - protocol: tcp
          ports: [${HTTP_PORT}]
      access-policy:
        - source: engineering
      service-policy: ${PATHS_POLICY}
    - name: internet                 # <prefix>-internet behind r2; builtin.nat (r2) translates the source to ${INTERNET_NAT}
      addresses: [${INTERNET_PREFIX}]
      transport:
        - protocol: udp
          ports: [${INTERNET_ECHO_PORT}]
      access-policy:
        - source: engineering
      service-policy: ${PATHS_POLICY}
`;
}

/** `--collector`: every router exports its session records to nfcapd in `<prefix>-collector`. */
function telemetryBlock(): string {
  return `  telemetry:                         # svr lab up --collector (docs/visibility.md)
    ipfix:
      collectors:
        - name: ${COLLECTOR_NAME}
          address: ${COLLECTOR_ADDRESS}       # nfcapd in <prefix>-collector; each router routes it over its veth
          port: ${COLLECTOR_PORT}
          interim-interval: 60       # s: long sessions get an interim record this often
    history:
      retention-days: 7

`;
}

/** The authority's plugins: the profile's, then those of `svr lab up --plugin` (options as JSON, which is YAML). */
/** `--bgp`: the PE's server (reached along the learned route) and the clients (announced by r2). */
function bgpServices(): string {
  return `    # --- svr lab up --bgp (docs/routing.md) ---
    - name: bgp-web                  # the PE's server ${PE_SERVER}: r1 follows the route the PE announces
      addresses: [${PE_PREFIX}]
      transport:
        - protocol: tcp
          ports: [80]
        - protocol: udp
          ports: [7]
      access-policy:
        - source: engineering
      service-policy: ${PATHS_POLICY}
    - name: clients                  # the clients, as seen from r2: announced to the PE (redistribute-service)
      addresses: [198.18.1.0/24]
      access-policy:
        - source: engineering
      service-policy: ${PATHS_POLICY}
`;
}

/** `--nat`: a server on the client (svr lab serve, lab/nat.ts) that the server side reaches through r2 and the NAT to r1. */
function natServices(): string {
  return `    # --- svr lab up --nat (docs/wan.md "Sessions toward a router behind NAT") ---
    - name: branch                   # the branch server on the client (${BRANCH_SERVER}): r2 opens these toward r1 behind the NAT
      addresses: [${BRANCH_SERVER}/32]
      transport:
        - protocol: tcp
          ports: [${HTTP_PORT}]
        - protocol: udp
          ports: [${STREAM_PORT}]
      access-policy:
        - source: servers
      service-policy: ${SESSIONS_POLICY}
`;
}

/** `--bgp`: a router's routing block (the PE is its eBGP neighbour). */
function bgpRouting(r: RouterRole): string {
  const l = PE_LINKS[r];
  return `      routing:                       # --bgp: FRR (zebra, bgpd, bfdd) run by the node; routes learned over FPM
        interface: lan0              # learned routes deliver through lan0 (the kernel, programmed by zebra, resolves the gateway)
        bgp:
          as: ${ROUTER_AS[r]}
          router-id: ${l.routerAddress}
${r === 'r2' ? '          redistribute-service: true   # announce services reachable through usable peer paths\n' : ''}          neighbors:
            - address: ${l.peAddress}     # the provider edge (<prefix>-pe)
              remote-as: ${PE_AS}
              keepalive: 1
              hold: 3
              bfd: true
              max-prefix: 20000
${r === 'r1' ? `              accept-prefixes: [${PE_PREFIX}, ${FLOOD_RANGE}]\n` : ''}`;
}

function authorityPlugins(shape: LabShape): string {
  const extra = (shape.plugins ?? []).map((p) => `    - use: ${JSON.stringify(p.use)}      # svr lab up --plugin
${p.with !== undefined ? `      with: ${JSON.stringify(p.with)}
` : ''}`).join('');
  if (shape.profile !== 'plugins' && extra === '') return '';
  return `  plugins:                           # every router${shape.profile === 'plugins' ? ' (profile plugins first)' : ''}
${shape.profile === 'plugins' ? profilePlugins() : ''}${extra}
`;
}

function profilePlugins(): string {
  return `    - use: svrouter/plugins/qos
      with:
        rate-limit: police             # the packets over the rate are dropped here (shape: the node's kernel shaper queues them)
        classes:
          bulk: { queue: low, dscp: 10 }
        services:
          iperf-limited: { class: bulk, rate: ${LIMITED_RATE_BPS / 1e6}M }   # bits/s per direction, shared by the service's sessions
`;
}

function r1Plugins(): string {
  return `      plugins:                       # r1 only (profile plugins)
        - use: svrouter/plugins/firewall
          with:
            zones: { engineering: inside, guest: outside }
            allow:
              - { from: inside, to: '*' }   # outside (guest) has no rule: it opens nothing, even where access-policy allows it
        - use: svrouter/plugins/dos
          with:
            per-source-rate: ${DOS_PER_SOURCE_RATE}          # new sessions/s per source address
            burst: ${DOS_BURST}                  # a quiet source may open this many at once (the NAT test opens 1000)
        - use: svrouter/plugins/appid
          with: { max-packets: 4 }
        - use: svrouter/plugins/external-function
          with:
            functions:
              ${FN_NAME}: { out: ${FN_OUT}, in: ${FN_IN} }   # svr lab up moves both TUN devices into <prefix>-fn
`;
}

function r2Plugins(): string {
  const targets = Object.entries(LB_CAPACITY).map(([a, c]) => `                - { address: ${a}, capacity: ${c} }`).join('\n');
  return `      plugins:                       # r2 only (profile plugins)
        - use: svrouter/plugins/nat
          with:
            pools:
              - name: internet
                addresses: [${INTERNET_NAT}]   # r2's address on the internet link (node-owned; ports 16384-65534)
                type: dynamic
                services: [internet]
        - use: svrouter/plugins/lb
          with:
            services:
              web-lb:
                strategy: proportional
                targets:
${targets}
`;
}

/**
 * The YAML text; `secret` is 64 hex digits (a fresh random one per lab by default); the API token files are
 * in `tokenDir` (absolute: a node managed by a conductor gets the config without its folder), default next
 * to the config.
 */
export function labConfigYaml(shape: LabShape = DEFAULT_SHAPE, secret: string = randomBytes(32).toString('hex'), tokenDir = ''): string {
  const paths = pathPlans('<prefix>', shape.paths);
  const order = `[${[...paths.map((p) => p.vector), ...(shape.ipv6 === true ? [WAN6.vector] : [])].join(', ')}]`; // --ipv6: the IPv6 path last
  const p1 = paths[0]!;
  const plugins = shape.profile === 'plugins';
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
      members: [198.18.1.0/24${shape.ipv6 === true ? `, ${CLIENT6_PREFIX}` : ''}]${shape.ipv6 === true ? '   # --ipv6: the client\'s IPv6 address too' : ''}
${shape.nat === true ? `    - name: servers                  # --nat: the server side, so that it may open sessions toward the branch behind r1
      members: [198.18.3.0/24]
` : ''}${plugins ? `      # profile plugins: the client's ${FLOOD_SOURCE} (a flooding source) and ${NAT_CLIENT} (the NAT client) are members too
    - name: guest                    # profile plugins: ${GUEST_CLIENT} on the client; the firewall's zones keep it out
      members: [${GUEST_PREFIX}]
` : ''}
  service-policies:
    - name: ${SESSIONS_POLICY}               # web and stream: what people watch fail over
      vector-order: ${order}   # path 1 preferred, then path 2, ...
      session-resiliency: ${shape.resiliency}${' '.repeat(Math.max(1, 20 - shape.resiliency.length))}# svr lab up --resiliency none|failover|revertible-failover|packet-duplication
${slaLines(shape)}${shape.fec !== undefined ? `      fec: { enabled: true, group-size: ${shape.fec.groupSize}, parity: ${shape.fec.parity} }   # svr lab up --fec ${shape.fec.groupSize}/${shape.fec.parity}
` : ''}    - name: ${PATHS_POLICY}                  # echo and iperf: the same path preference, no resiliency
      vector-order: ${order}
${shape.ipv6 === true ? `    - name: ${V6_POLICY}                    # --ipv6: web6 only over the IPv6 peer path
      vectors: [{ name: ${WAN6.vector}, cost: 1 }${paths.map((p) => `, { name: ${p.vector}, cost: never }`).join('')}]
` : ''}
  # Deny by default: each service allows engineering explicitly.
  services:
${shape.ipv6 === true ? `    - name: web6                     # --ipv6: the lab's HTTP server on its IPv6 address, over the IPv6 peer path
      addresses: [${SERVER6_PREFIX}]
      transport:
        - protocol: tcp
          ports: [${HTTP_PORT}]
      access-policy:
        - source: engineering
      service-policy: ${V6_POLICY}
    - name: echo6                    # --ipv6: UDP echo on the server's IPv6 address, over the IPv6 peer path
      addresses: [${SERVER6_PREFIX}]
      transport:
        - protocol: udp
          ports: [${ECHO_PORT}]
      access-policy:
        - source: engineering
      service-policy: ${V6_POLICY}
` : ''}    - name: web                      # the lab's HTTP server (svr lab serve)
      addresses: [198.18.3.0/24]
      transport:
        - protocol: tcp
          ports: [${HTTP_PORT}]
      access-policy:
        - source: engineering
${plugins ? '        - source: guest              # allowed here, refused by the firewall zone (refused-zone)\n' : ''}      service-policy: ${SESSIONS_POLICY}
    - name: stream                   # UDP stream receiver (svr lab serve; svr lab send-stream sends)
      addresses: [198.18.3.0/24]
      transport:
        - protocol: udp
          ports: [${STREAM_PORT}]
      access-policy:
        - source: engineering
      service-policy: ${SESSIONS_POLICY}
${plugins ? `      service-chain: [builtin.external-function/${FN_NAME}]   # through r1's external function (<prefix>-fn)
` : ''}    - name: echo                     # UDP echo (svr lab serve)
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
${plugins ? pluginServices() : ''}${shape.bgp === true ? bgpServices() : ''}${shape.nat === true ? natServices() : ''}
${authorityPlugins(shape)}${shape.collector === true ? telemetryBlock() : ''}  routers:
    - name: r1                       # runs in namespace <prefix>-r1
      interfaces:
        - name: lan0
          kind: lan
          device: svr-lan0           # the TUN the node creates (mtu 1500 by default for lan)
          kernel-routes:
            - prefix: default        # table ${LAN_TABLE}: where \`ip rule iif r1-c\` sends client traffic
              table: ${LAN_TABLE}
${shape.ipv6 === true ? `            - prefix: ::/0           # --ipv6: the same for IPv6 (\`ip -6 rule iif r1-c\`)
              table: ${LAN_TABLE}
` : ''}${wanInterfaces('r1', paths, shape)}${shape.ipv6 === true ? wan6Interface('r1') : ''}${plugins ? `        - name: ${FN_OUT}              # toward the external function: TUN svr-${FN_OUT}, moved into <prefix>-fn
          kind: function
        - name: ${FN_IN}               # back from it: TUN svr-${FN_IN}
          kind: function
` : ''}      routes:
        - prefix: 198.18.1.0/24      # the clients (replies go back out of lan0)
          interface: lan0
${shape.ipv6 === true ? `        - prefix: ${CLIENT6_PREFIX}      # --ipv6: the client's IPv6 subnet
          interface: lan0
` : ''}${shape.bgp === true ? bgpRouting('r1') : ''}      service-routes:
${shape.bgp === true ? `        - name: bgp-web-learned      # --bgp: along the route the PE announces (none: new sessions refused, no-route)
          service: bgp-web
          use-learned-routes: true
` : ''}${shape.ipv6 === true ? `        - name: web6-via-r2
          service: web6
          peer: r2
        - name: echo6-via-r2
          service: echo6
          peer: r2
` : ''}        - name: web-via-r2
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
${shape.nat === true ? `        - name: branch-local         # --nat: sessions r2 opens toward r1 behind the NAT
          service: branch
          next-hop:
            interface: lan0
` : ''}${plugins ? PLUGIN_SERVICES.map((n) => `        - name: ${n}-via-r2
          service: ${n}
          peer: r2
`).join('') + r1Plugins() : ''}${management('r1', tokenDir)}${shape.ha === true ? haRedundancyYaml(shape.haWan === 'per-node') : ''}
    - name: r2                       # runs in namespace <prefix>-r2
      interfaces:
${wanInterfaces('r2', paths, shape)}${shape.ipv6 === true ? wan6Interface('r2') : ''}        - name: lan0
          kind: lan
          device: svr-lan0
          kernel-routes:
            - prefix: default        # table ${LAN_TABLE}: where \`ip rule iif r2-s\` sends the server's replies
              table: ${LAN_TABLE}
${shape.ipv6 === true ? `            - prefix: ::/0
              table: ${LAN_TABLE}
` : ''}      routes:
        - prefix: 198.18.3.0/24      # the servers
          interface: lan0
${shape.ipv6 === true ? `        - prefix: ${SERVER6_PREFIX}
          interface: lan0
` : ''}${plugins ? `        - prefix: ${INTERNET_PREFIX}     # the internet (veth r2-i; the kernel forwards what lan0 writes)
          interface: lan0
` : ''}${shape.bgp === true ? bgpRouting('r2') : ''}      service-routes:
${shape.bgp === true ? `        - name: clients-via-r1       # --bgp: r2 reaches the clients through r1, and announces them while a path is up
          service: clients
          peer: r1
` : ''}${shape.ipv6 === true ? `        - name: web6-local
          service: web6
          next-hop:
            interface: lan0
        - name: echo6-local
          service: echo6
          next-hop:
            interface: lan0
` : ''}        - name: web-local
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
${shape.nat === true ? `        - name: branch-via-r1        # --nat: r2 opens these toward r1 behind the NAT (docs/wan.md)
          service: branch
          peer: r1
` : ''}${plugins ? PLUGIN_SERVICES.map((n) => `        - name: ${n}-local
          service: ${n}
          next-hop:
            interface: lan0
`).join('') + r2Plugins() : ''}${management('r2', tokenDir)}`;
}
