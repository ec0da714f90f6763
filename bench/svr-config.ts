/**
 * The authority config both benchmark nodes load: one tenant (the client LAN), one service with every
 * port the benchmark uses (iperf3 tcp/udp 5201, UDP echo 7, the session test's udp 10000-11023 and tcp 9,
 * the TCP wire check's sink 5202), r1 -> r2 over one wan path whose interfaces run at the veths' MTU 1500
 * (`enforced-mss` keeps its default, automatic). `encrypt` names a security policy with `encrypt: true` on
 * the service; `r1Local` routes the service out of r1's own LAN device instead ("r1 alone"); the visibility
 * case (visibility.ts) shortens the UDP idle timeout; the WAN case (wan.ts) adds FEC to the service; `handshake` gives both routers an identity and the wan
 * interfaces' policy `key-exchange: handshake` (path keys from the key exchange instead of the secret); `pair` makes r1 a router pair (ha.ts). Session records are off (no collector, no history)
 * unless `collector` names one: then every router exports to it and keeps its history.
 */
import { randomBytes } from 'node:crypto';
import { CLIENT_NET, SERVER_NET, WAN_MTU } from './topology.js';

export const WAYPOINT_R1 = '198.18.12.1';
export const WAYPOINT_R2 = '198.18.12.2';
export const LAN_TABLE = 100;
export const ECHO_PORT = 7;
export const TCP_SESSION_PORT = 9;
export const IPERF_PORT = 5201;
/** the TCP wire check: the client writes a marked stream, the server reads it to the end */
export const TCP_SINK_PORT = 5202;
/** `mtu` of the nodes' wan interfaces: the veth's, as for every mode */
export const WAN_INTERFACE_MTU = WAN_MTU;
export const UDP_SESSION_PORTS = { from: 10000, to: 11023 } as const;

export interface SvrConfigOptions {
  encrypt: boolean;
  /** `encryption-cipher` of the payload policy (default: the build's default) */
  cipher?: string;
  /** 64 hex digits; fresh by default */
  secret?: string;
  /** r1 routes the service to a local next hop (lan0) instead of to r2: "r1 alone", r2 forwarding in the kernel */
  r1Local?: boolean;
  /** idle timeout of the service's UDP sessions, s (default: the config's) */
  udpIdleTimeoutS?: number;
  /** session records on: every router exports them to this IPFIX collector (UDP 4739) and keeps its history */
  collector?: string;
  /** FEC on the service (a service policy `bench-fec` with these; the WAN case, wan.ts) */
  fec?: { groupSize: number; parity: number };
  /** the path keys from the key exchange (`key-exchange: handshake` on the wan interfaces' policy, `internal`):
   *  each router's identity (public key, base64) and the file of its private key */
  handshake?: Record<'r1' | 'r2', { publicKey: string; privateKeyFile: string }>;
  /** `udp-transform` mode of the wan interfaces' neighborhood (default: the config's, auto-detect; TCP stays TCP
   *  on this clean path). always-transform: TCP sessions travel as UDP, as every tunnel carries them */
  udpTransform?: 'always-transform';
  /** r1 is a router pair (the HA case, ha.ts): nodes r1a and r1b with these sync addresses, the pair's key (base64);
   *  heartbeat-misses 50 (a 5 s dead time: the cost case must not fail over on a loaded machine) */
  pair?: { r1a: string; r1b: string; key: string };
}

/**
 * r1's and r2's lan0, and what the kernel routes into its TUN: the other side's LAN, in the main table, as the
 * tunnel modes route it into their devices (no `ip rule`: a namespace with a rule walks the rules and checks the
 * source in full on every packet it routes, the SVR packets too). `viaTable`: a default route in table LAN_TABLE
 * instead, which `ip rule iif <lan veth> lookup 100` steers the LAN into ("r1 alone": the kernel then also
 * routes the server LAN via r2 in the main table).
 */
function lan(prefix: string, viaTable: boolean): string {
  return `        - name: lan0
          kind: lan
          kernel-routes: [{ prefix: ${viaTable ? `default, table: ${LAN_TABLE}` : prefix} }]
`;
}

function wan(waypoint: string, udpTransform?: string): string {
  const transform = udpTransform !== undefined ? `, udp-transform: { mode: ${udpTransform} }` : '';
  return `        - name: wan0
          kind: wan
          mtu: ${WAN_INTERFACE_MTU}
          waypoint: ${waypoint}
          neighborhoods: [{ name: bench${transform} }]
`;
}

export function svrConfigYaml(o: SvrConfigOptions): string {
  const secret = o.secret ?? randomBytes(32).toString('hex');
  const payload = o.encrypt ? `    - name: payload
      encrypt: true
${o.cipher !== undefined ? `      encryption-cipher: ${o.cipher}\n` : ''}` : '';
  // the wan interfaces' policy is the built-in `internal`; only its key-exchange changes
  const internal = o.handshake !== undefined ? `    - name: internal
      key-exchange: handshake
` : '';
  const policies = payload + internal !== '' ? `  security-policies:\n${payload}${internal}` : '';
  const identity = (r: 'r1' | 'r2'): string => (o.handshake === undefined ? ''
    : `      identity: { public-key: "${o.handshake[r].publicKey}", private-key-file: "${o.handshake[r].privateKeyFile}" }\n`);
  return `# written by bench/svr-config.ts (npm run bench); both nodes load this file
authority:
  name: bench
  secret: ${secret}
${policies}${o.fec !== undefined ? `  service-policies:
    - name: bench-fec
      fec: { enabled: true, group-size: ${o.fec.groupSize}, parity: ${o.fec.parity} }
` : ''}  tenants:
    - name: bench
      members: [${CLIENT_NET}]
  services:
    - name: bench
      addresses: [${SERVER_NET}]
      transport:
        - { protocol: tcp, ports: [${TCP_SESSION_PORT}, ${IPERF_PORT}, ${TCP_SINK_PORT}] }
        - { protocol: udp, ports: [${ECHO_PORT}, ${IPERF_PORT}, "${UDP_SESSION_PORTS.from}-${UDP_SESSION_PORTS.to}"] }
      access-policy: [{ source: bench }]
${o.encrypt ? '      security: payload\n' : ''}${o.fec !== undefined ? '      service-policy: bench-fec\n' : ''}${o.udpIdleTimeoutS !== undefined ? `      timeouts: { udp: ${o.udpIdleTimeoutS} }\n` : ''}${o.collector !== undefined ? `  telemetry:
    ipfix:
      collectors: [{ name: bench, address: ${o.collector}, port: 4739 }]
` : `  telemetry:
    history: { enabled: false }   # session records off: the visibility case measures them
`}  routers:
    - name: r1
${identity('r1')}      interfaces:
${lan(SERVER_NET, o.r1Local === true)}${wan(WAYPOINT_R1, o.udpTransform)}      routes: [{ prefix: ${CLIENT_NET}, interface: lan0 }]
      service-routes: [${o.r1Local === true ? '{ name: bench-local, service: bench, next-hop: { interface: lan0 } }' : '{ name: bench-via-r2, service: bench, peer: r2 }'}]
${o.pair !== undefined ? `      redundancy:
        nodes: [{ name: r1a, priority: 200, sync-address: ${o.pair.r1a} }, { name: r1b, priority: 100, sync-address: ${o.pair.r1b} }]
        shared-key: "${o.pair.key}"
        heartbeat-misses: 50
` : ''}    - name: r2
${identity('r2')}      interfaces:
${lan(CLIENT_NET, false)}${wan(WAYPOINT_R2, o.udpTransform)}      routes: [{ prefix: ${SERVER_NET}, interface: lan0 }]
      service-routes: [{ name: bench-local, service: bench, next-hop: { interface: lan0 } }]
`;
}
