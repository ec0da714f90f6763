/**
 * The validated configuration: what a router config file (YAML or JSON, kebab-case keys) becomes
 * after `parseConfig`/`loadConfig`. One file describes a whole authority (all routers), as an SSR
 * conductor does; a node picks its own router by name. Field docs live here, where they are declared.
 */

/** `disabled`: no HMAC. `metadata-only`: only metadata-bearing packets carry a trailer (our extension).
 *  `regular`: every packet to the peer is signed. `time-based` (SSR default): every packet, and the
 *  HMAC also covers a time slot so replays outside the window fail. */
export type HmacMode = 'disabled' | 'metadata-only' | 'regular' | 'time-based';
/** Tag sizes: sha256-128 = 16 bytes (SHA-256 truncated), sha256 = 32, sha1 = 20. */
export type HmacCipher = 'sha256-128' | 'sha256' | 'sha1';
export type EncryptionCipher = 'aes-cbc-128' | 'aes-cbc-256' | 'aes-gcm-256';
/** `enforced-mss` of an interface: `disabled`, `automatic` or an MSS in bytes (64-8960). */
export type EnforcedMss = 'disabled' | 'automatic' | number;

/** `fragmentation` of a wan interface: what happens to a packet that does not fit a path after svrouter's bytes
 *  (docs/wan.md "Fragmentation"). */
export type Fragmentation = 'unless-df' | 'always' | 'never';
/** `static`: path keys derive from the policy key or authority secret (one key a key-version).
 *  `handshake`: routers agree path keys by an authenticated key exchange between their identities
 *  (docs/security.md "Key exchange"), run by path control on every peer path of the policy. */
export type KeyExchange = 'static' | 'handshake';

export interface SecurityPolicy {
  name: string;
  /** default `time-based` (as SSR) */
  hmacMode: HmacMode;
  /** default `sha256-128` */
  hmacCipher: HmacCipher;
  /** Payload encryption end to end (default false). */
  encrypt: boolean;
  /** default `aes-cbc-256` */
  encryptionCipher: EncryptionCipher;
  /** Do not re-encrypt sessions that are already TLS/IPsec (default true). */
  adaptiveEncryption: boolean;
  /** Optional pre-shared key, hex (32 bytes = 64 hex digits). Without it keys derive from `authority.secret`. */
  key?: string;
  /** Key version sent as the Security ID (TLV 16). default 1 */
  keyVersion: number;
  /** Seconds a new key version is accepted before this router starts sending with it, so every router
   *  can load the new config first (SSR waits 30 s). default 30 */
  rekeyDelay: number;
  /** How a path's keys are made (wan interfaces). default `static` */
  keyExchange: KeyExchange;
  /** `handshake`: seconds between two key exchanges on a path (WireGuard REKEY_AFTER_TIME). default 120 */
  rekeyInterval: number;
}

export interface Tenant {
  /** Dotted hierarchy: `dev.engineering` is a child of `engineering`. */
  name: string;
  /** Source prefixes whose packets belong to this tenant (longest prefix wins over all tenants). */
  members: string[];
  /** Plugin stages every session of this tenant runs through (`<plugin>/<stage>`), with its service's. */
  serviceChain: string[];
}

/** A plugin to load: a module specifier (relative paths from the config file) and its options. */
export interface PluginRef {
  use: string;
  with?: unknown;
  /** When the plugin fails (a stage or hook throws, or it does not load): true lets traffic go on without
   *  it, false drops its traffic (fail closed). Default: fail closed for security functions (the plugin
   *  says so: builtin firewall, dos, nat), open for the others. */
  failOpen?: boolean;
}

export interface PortRange { from: number; to: number }

export type TransportProtocol = 'tcp' | 'udp' | 'icmp' | 'icmpv6';

export interface TransportSpec {
  protocol: TransportProtocol;
  /** Empty = every port of that protocol. Written as `80` or `"8000-8100"`. */
  ports: PortRange[];
}

export interface AccessRule {
  /** As written: `tenant`, `prefix` or `tenant@prefix`. */
  source: string;
  tenant?: string;
  prefix?: string;
  /** default `allow` */
  permission: 'allow' | 'deny';
}

/** Idle timeouts in seconds. Defaults: tcp-initial 10 (until established), tcp 1900, udp 180, icmp 10, other 180. */
export interface Timeouts { tcpInitial: number; tcp: number; udp: number; icmp: number; other: number }

export interface Service {
  name: string;
  /** Destination prefixes (`198.18.3.0/24`, `2001:db8::/32`); a bare address means /32 or /128. */
  addresses: string[];
  /** Empty = any protocol and port. A port-qualified service beats an address-only one. */
  transport: TransportSpec[];
  /** Deny by default: a tenant reaches a service only through an `allow` rule (children inherit). */
  accessPolicy: AccessRule[];
  /** Name of a service-policy; default `default` (built in). */
  servicePolicy: string;
  /** Name of a security policy for the payload (end to end); optional. */
  security?: string;
  timeouts: Timeouts;
  /** Plugin stages every session of this service runs through (`<plugin>/<stage>`), in stage order. */
  serviceChain: string[];
  /** Which routers have this service (ssr-reference §1.1 applies-to). Absent or empty = every router. */
  appliesTo?: AppliesTo[];
}

/** One `applies-to` entry: the whole authority, named routers, or routers in named groups. A router has the service when any entry matches. */
export type AppliesTo = { type: 'authority' } | { type: 'router'; routers: string[] } | { type: 'router-group'; groups: string[] };

/** A vector's cost in a service-policy: 1-999999 (lower is preferred) or `never` (paths with this vector are not used). */
export type VectorCost = number | 'never';

export interface VectorPreference {
  /** vector label, as on neighborhoods */
  name: string;
  cost: VectorCost;
}

/** How eligible paths are ordered (ssr-reference §1.4): lowest vector cost, lowest average latency, or highest MOS. */
export type BestPathCriteria = 'vector' | 'average-latency' | 'mos';

/** What a session does when its path fails or breaches the policy's SLA (ssr-reference §1.4). */
export type SessionResiliency = 'none' | 'failover' | 'revertible-failover' | 'packet-duplication';

export interface ServicePolicy {
  name: string;
  /** What a TCP packet that is not a SYN and matches no session gets: `reset` (default, RST), `allow`
   *  (forwarded as a new session) or `block` (silent drop). */
  transportStateEnforcement: 'reset' | 'allow' | 'block';
  /** Vector costs (default none: every vector costs 0). Exclusive with `vectorOrder`. */
  vectors: VectorPreference[];
  /** Vectors in order of preference: costs 1, 10, 100, ... by position (default none). Exclusive with `vectors`. */
  vectorOrder: string[];
  /** Drop paths that breach max-latency/max-jitter/max-loss/min-mos (default false). */
  pathQualityFilter: boolean;
  /** One-way latency limit in ms (default 250). */
  maxLatency: number;
  /** Jitter limit in ms (default 100). */
  maxJitter: number;
  /** Loss limit in percent (default 0.5). */
  maxLoss: number;
  /** Lowest acceptable MOS, 1.0-5.0 (default none). */
  minMos?: number;
  /** When no path meets the SLA, still use the best usable one (default true); false refuses the session. */
  bestEffort: boolean;
  /** default `vector` */
  bestPathCriteria: BestPathCriteria;
  /** default `none` */
  sessionResiliency: SessionResiliency;
  /** Forward error correction on the peer path (docs/wan.md "FEC"); default off. */
  fec: FecPolicy;
}

/** FEC of a service-policy: `parity` parity packets per `groupSize` packets of a session (UDP on the wire). */
export interface FecPolicy {
  /** default false */
  enabled: boolean;
  /** data packets per group, 2-64, default 8 */
  groupSize: number;
  /** parity packets per group, 1-4, default 2: a group survives that many lost packets (overhead parity/groupSize) */
  parity: number;
  /** ms, 1-1000, default 20: a group not full by then gets its parity anyway (bounds the wait for a rebuild) */
  flushMs: number;
}

/**
 * BFD and link-test settings of one neighborhood entry (ssr-reference §1.3, fact sheet §7.1). Each end of a
 * path uses its own entry; the two ends may differ, BFD negotiates the intervals (RFC 5880 §6.8.2-6.8.4).
 */
export interface BfdSettings {
  /** ms, 50-600000, default 1000: how often this router would like to send BFD control packets */
  desiredTxInterval: number;
  /** ms, 50-600000, default 500: the fastest rate at which this router accepts BFD control packets */
  requiredMinRxInterval: number;
  /** 3-20, default 3: missed packets before the peer declares the path down */
  multiplier: number;
  /** s, 1-300, default 5: how long a path that went down must stay up again before it is usable */
  holdDownTime: number;
  /** s, 1-86400, default 10: time between two link tests (quality measurements) */
  linkTestInterval: number;
  /** packets, 1-100, default 10: echo requests per link test */
  linkTestLength: number;
}

/**
 * How an interface takes part in a neighborhood (ssr-reference §1.1): `mesh` peers with every other member,
 * `hub` with spokes and meshes (not other hubs), `spoke` with hubs and meshes (not other spokes).
 */
export type NeighborhoodTopology = 'mesh' | 'hub' | 'spoke';

export interface NeighborhoodRef {
  /** Interfaces of different routers sharing a neighborhood name are peers (as their topologies allow). */
  name: string;
  /** default `mesh` (absent = mesh) */
  topology?: NeighborhoodTopology;
  /** Vector label of the paths through this neighborhood (e.g. `mpls`, `broadband`, `lte`). */
  vector?: string;
  /** BFD and link tests on paths through this neighborhood; absent = every default. */
  bfd?: BfdSettings;
  /**
   * default `bidirectional`; `outbound-only`: this interface sits behind NAT (ssr-reference §1.6 "NAT
   * traversal"): it opens every path itself, and its peers learn its translated address and port from its
   * authenticated BFD and answer there (docs/wan.md).
   */
  peerConnectivity?: PeerConnectivity;
  /** s, 1-3600, default 20: with `outbound-only`, how often an idle session sends a NAT keep-alive */
  natKeepAlive?: number;
  /** path MTU discovery on paths through this neighborhood (docs/wan.md "Path MTU"); absent = on, every 600 s */
  pathMtuDiscovery?: PathMtuDiscoverySettings;
  /** TCP carried as UDP on paths through this neighborhood (docs/wan.md "UDP transform"); absent = disabled */
  udpTransform?: UdpTransformSettings;
}

/**
 * SSR's `udp-transform`: `auto-detect` probes each path for a firewall that drops TCP (the firewall detector,
 * paths/firewall-detector.ts) and carries new TCP sessions as UDP while one is found; `always-transform`
 * carries them as UDP always; `disabled` (ours, the default) never probes nor transforms.
 */
export type UdpTransformMode = 'auto-detect' | 'always-transform' | 'disabled';

export interface UdpTransformSettings {
  mode: UdpTransformMode;
  /** s, 10-86400, default 300: how often `auto-detect` probes a path again */
  detectInterval: number;
}

export interface PathMtuDiscoverySettings {
  /** default true; false: the path's MTU is the wan interface's `mtu` */
  enabled: boolean;
  /** s, 60-86400, default 600: how often a path's MTU is searched again */
  interval: number;
}

/** How a router reaches its peers through a neighborhood: both ways, or only by opening paths itself (behind NAT). */
export type PeerConnectivity = 'bidirectional' | 'outbound-only';

export interface Interface {
  /** Unique within the router. */
  name: string;
  /** `lan`: clients and servers; `wan`: SVR toward peer routers; `function`: toward an external network
   *  function (service-function chaining: the router diverts chained packets out of it and takes them back
   *  in on one; no sessions open here). */
  kind: 'lan' | 'wan' | 'function';
  /** LAN: every packet arriving here belongs to this tenant (wins over member prefixes). */
  tenant?: string;
  /** WAN: the waypoint address (the outer address of SVR packets). Required for `wan`. */
  waypoint?: string;
  /** WAN: neighborhoods this interface belongs to. */
  neighborhoods: NeighborhoodRef[];
  /** WAN: security policy (HMAC) for packets on paths through this interface; default `internal`. */
  security: string;
  /** WAN: waypoint port range, default 16384-65534 (even ports local, odd ports at the peer). */
  portRange: PortRange;
  /** `svr node`: the TUN device that carries this interface's packets; default `svr-<name>` (<= 15 chars). */
  device: string;
  /** `svr node`: MTU of that device; default 1500 (lan) or 1700 (wan: room for metadata and HMAC). */
  mtu: number;
  /** WAN: MSS clamping of TCP sessions on this interface's paths (ssr-reference `enforced-mss`): `automatic`
   *  (default) lowers the MSS of SYNs to the `mtu` minus headers and svrouter's per-packet overhead, a number
   *  lowers it to that number, `disabled` leaves it. LAN and function interfaces: always `disabled`. */
  enforcedMss: EnforcedMss;
  /** WAN: a packet that does not fit a path after svrouter's bytes: `unless-df` (default) fragments the SVR
   *  packet when the host's packet allows it (IPv4 without DF, IPv6 the host sent as fragments) and sends
   *  the host ICMP too big otherwise; `always` fragments every packet (SSR's fabric fragmentation); `never`
   *  always sends ICMP too big. The peer reassembles. Absent: `unless-df`. */
  fragmentation?: Fragmentation;
  /** `svr node`: kernel routes into the device, installed at start (`default` or a prefix, optional table). */
  kernelRoutes: KernelRoute[];
  /** `svr node`: egress shaping of what the router sends out of this interface (docs/shaping.md): the
   *  contracted rate in bits/s. Absent: not shaped. */
  shapingRate?: number;
  /** the guaranteed percent of `shapingRate` per queue [high, medium, low, best-effort], summing to 100
   *  (SSR's traffic-profile); default [40, 30, 20, 10] */
  shapingShares?: number[];
  /** A router pair (`redundancy`): the node whose own interface this is (non-shared: its own device and, for
   *  wan, its own waypoint and paths; docs/high-availability.md "Per-node WAN interfaces"). Absent: shared, on
   *  the active node. */
  node?: string;
  /**
   * WAN: paths to peer interfaces written out. They add to the paths neighborhoods and topologies give (or
   * choose the neighborhood of one); a conductor writes those out, marked generated, on every commit.
   */
  adjacencies?: Adjacency[];
}

/** One path end written out: this wan interface -> `peer`'s wan `interface`, through `neighborhood`. */
export interface Adjacency {
  /** the peer router */
  peer: string;
  /** the peer router's wan interface */
  interface: string;
  /** one of this interface's neighborhoods: the path's vector and BFD settings come from it */
  neighborhood: string;
  /** true: made by the conductor from neighborhoods and replaced on every commit; false (default): written by an operator and kept */
  generated: boolean;
}

export interface KernelRoute {
  /** `default` or a prefix */
  prefix: string;
  /** routing table id (policy routing), default the main table */
  table?: number;
}

export interface Route {
  /** Destination prefix delivered through `interface` (a LAN interface). */
  prefix: string;
  /** required unless `blackhole` */
  interface?: string;
  gateway?: string;
  /** true: packets to the prefix are dropped (no-route), however a shorter prefix would route them */
  blackhole?: boolean;
  /** A static route in the RIB: administrative distance 1-255, default 1 (docs/routing.md). */
  distance: number;
}

export interface ServiceRoute {
  name: string;
  service: string;
  /** Send the service's sessions to this peer router (SVR). */
  peer?: string;
  /** Deliver locally through this LAN interface. */
  nextHop?: { interface: string; gateway?: string };
  /** Deliver along the RIB (static and learned routes) toward the packet's destination; none -> no-route. */
  useLearnedRoutes?: boolean;
}

/** A router's routing instance (docs/routing.md): the RIB's learned routes and BGP through FRR. */
export interface Routing {
  /** The lan interface learned routes deliver through (the kernel of the node's namespace resolves the gateway). */
  interface: string;
  /** TCP port of the FPM listener on 127.0.0.1 in the node's namespace (zebra connects to it); default 2620. */
  fpmPort: number;
  /** Seconds learned routes stay in the FIB after the FPM connection is lost, 0-3600, default 30. */
  staleHold: number;
  bgp?: Bgp;
  /** Per-tenant VRFs (docs/routing.md "VRFs"); tenants in none use the default VRF (the router's `routes`). */
  vrfs: Vrf[];
}

/** A VRF: its own RIB (static routes here, learned routes of FRR's table `table`) for the tenants bound to it. */
export interface Vrf {
  name: string;
  /** the kernel/FRR routing table id (1-4294967295, not 253-255: default, main, local); FPM routes of this table are its learned routes */
  table: number;
  /** the tenants whose sessions route in this VRF (a tenant is in one VRF at most) */
  tenants: string[];
  /** static routes of this VRF (as the router's `routes`) */
  routes: Route[];
}

export interface Bgp {
  /** this router's AS number, 1-4294967295 */
  as: number;
  /** BGP router id (an IPv4 address) */
  routerId: string;
  /** true: announce the prefixes of services reachable through usable peer paths (`redistribute service`) */
  redistributeService: boolean;
  neighbors: BgpNeighbor[];
}

export interface BgpNeighbor {
  address: string;
  remoteAs: number;
  /** eBGP multihop TTL 1-255; absent = directly connected */
  multihop?: number;
  /** seconds, default 3 / 9 (0 / 0 = no keepalives) */
  keepalive: number;
  hold: number;
  /** BFD for this neighbour through FRR's bfdd */
  bfd: boolean;
  /** at most this many prefixes from this neighbour (FRR's maximum-prefix), default 20000 */
  maxPrefix: number;
  /** accept only prefixes in these (prefix-list `le 32` semantics); absent = accept all */
  acceptPrefixes?: string[];
}

/** A router's long-term key for the key exchange (X25519); the conductor will enrol these. */
export interface RouterIdentity {
  /** its public key: base64 of 32 bytes (every router of the authority reads it) */
  publicKey: string;
  /** where this router's node reads its private key (32 raw bytes or their base64); never in the file */
  privateKeyFile?: string;
}

export interface Router {
  /** `[A-Za-z0-9_-]{1,63}`, not `all`, `any` or `unknown`. */
  name: string;
  /** IPFIX observation domain id of this router's exports (RFC 7011 §3.1), 1-4294967295, unique in the
   *  authority; default its position in `routers` + 1 (see `observationDomainOf`). */
  observationDomainId?: number;
  /** needed by the routers whose wan interfaces use a `key-exchange: handshake` policy */
  identity?: RouterIdentity;
  interfaces: Interface[];
  routes: Route[];
  serviceRoutes: ServiceRoute[];
  /** RIB and BGP (docs/routing.md); absent = static routes only. */
  routing?: Routing;
  /** Plugins loaded on this router only (after the authority's). */
  plugins: PluginRef[];
  /** Groups this router belongs to, for services' `applies-to` (`router-group`). Absent = none. */
  routerGroups?: string[];
  /** The asset id a node presents to the conductor (ZTP) to become this router; default the router's name. */
  assetId?: string;
  /** Sessions this router holds at most (all its data-path threads together); new ones beyond are refused
   *  and counted (`drop-session-table-full`). Default: sized from the host's memory (docs/security.md). */
  sessionCapacity?: number;
  /** Bytes each data-path thread holds for packets being reassembled from fragments (65,536-268,435,456);
   *  a fragment beyond is dropped with its packet (`fragment-no-memory`). Default 1,048,576 (docs/wan.md). */
  reassemblyMemory?: number;
  /** `svr node`: the management API (REST, OpenAPI, /metrics) of this router; absent = no API. */
  management?: Management;
  /** The router is a pair of nodes (docs/high-availability.md); absent = one node. */
  redundancy?: Redundancy;
}

/** One node of a router pair. */
export interface RedundancyNode {
  name: string;
  /** 0-255, higher wins the election (after links up); default 100 */
  priority: number;
  /** its address on the sync link */
  syncAddress: string;
  /** its address on another link: heartbeats there too tell split brain from a dead partner (both nodes or neither) */
  probeAddress?: string;
}

/** A router of two nodes: active/standby, session state synced over the sync link (docs/high-availability.md). */
export interface Redundancy {
  nodes: [RedundancyNode, RedundancyNode];
  /** a higher-priority standby takes the role back; default false */
  preempt: boolean;
  /** ms between heartbeats; default 100 */
  heartbeatInterval: number;
  /** heartbeats missed before the partner counts as lost; default 3 */
  heartbeatMisses: number;
  /** UDP port of the sync link; default 4797 */
  syncPort: number;
  /** base64 of 32 bytes: the HMAC key of every sync message */
  sharedKey: string;
  /** addresses the active node holds on host devices (the shared LAN/WAN segments) and announces; default none */
  sharedAddresses: SharedAddress[];
}

/** An address that moves with the active role: on `device` (an Ethernet device of each node's host), CIDR `address`. */
export interface SharedAddress {
  device: string;
  address: string;
}

/** Who may use the management API: `admin` reads and changes (e.g. reloads the config), `read-only` reads. */
export type ApiRole = 'admin' | 'read-only';

/** A bearer token of the management API: its value written here or in a file (one line). */
export interface ApiToken {
  /** unique; names the caller in the node's log */
  name: string;
  role: ApiRole;
  /** the token itself, at least 16 characters (prefer `tokenFile`: the value then stays out of the config) */
  token?: string;
  /** a file whose first line is the token (relative paths from the config file's folder) */
  tokenFile?: string;
}

/**
 * The management API of a router (`svr node start`): REST under /api/v1, the OpenAPI document, a browsable
 * /documentation and Prometheus' /metrics on one listener, on the node's main thread.
 */
export interface Management {
  /** listen address; default 127.0.0.1 (this host only) */
  address: string;
  /** TCP port, 1-65535; default 8443 */
  port: number;
  /** HTTPS with this certificate and key (PEM files, relative paths from the config file's folder); absent = HTTP */
  tls?: { certificate: string; key: string };
  /** bearer tokens; everything but /api/v1/health needs one */
  tokens: ApiToken[];
  /** `token` (default): /metrics needs a token like the REST routes; `none`: /metrics is open */
  metricsAuth: 'token' | 'none';
  /** sessions the session-table alarm measures against: raised at 90 %, cleared at 80 % (default: the
   *  sessions the router holds at most, its `session-capacity` or sized from memory) */
  sessionCapacity?: number;
}

export interface Authority {
  name: string;
  /** Hex secret (at least 32 bytes) from which per-path HMAC keys derive when a policy has no `key`. */
  secret?: string;
  securityPolicies: SecurityPolicy[];
  tenants: Tenant[];
  services: Service[];
  servicePolicies: ServicePolicy[];
  routers: Router[];
  /** Plugins loaded on every router. */
  plugins: PluginRef[];
  /** Session records: IPFIX collectors every router exports to, and the session history's retention. */
  telemetry: TelemetrySettings;
  /** How routers exchange STEP documents (absent: flood) */
  step?: StepSettings;
}

export type IpfixTransport = 'udp' | 'tcp';

export interface CollectorConfig {
  /** unique among the collectors */
  name: string;
  address: string;
  /** default 4739 (IANA ipfix) */
  port: number;
  /** default udp */
  transport: IpfixTransport;
  /** seconds between interim records of a live session, 60-1800 (ssr-reference §1.11); default 60 */
  interimInterval: number;
  /** only records of these tenants; empty = all */
  tenants: string[];
}

export interface IpfixConfig {
  /** seconds between UDP template resends, 10-3600; default 60 */
  templateInterval: number;
  collectors: CollectorConfig[];
}

export interface HistorySettings {
  /** default true; false: this authority's routers keep no session history */
  enabled: boolean;
  /** 1-3650; default 7 */
  retentionDays: number;
  /** 16-1048576; default 1024 */
  maxSizeMb: number;
}

export interface TelemetrySettings {
  ipfix: IpfixConfig;
  history: HistorySettings;
}

/**
 * `flood`: routers flood their STEP documents to each other over the path channel (no conductor needed);
 * `conductor`: each router publishes its document to the conductor's STEP repository and gets from it
 * the documents it needs (routers managed by a conductor only).
 */
export type StepMode = 'flood' | 'conductor';

export interface StepSettings {
  mode: StepMode;
}

export interface SvrConfig {
  authority: Authority;
}
