/**
 * The configuration as written in code: the shape of a config file (docs/configuration.md) with camelCase
 * keys, where everything that has a default may be left out. `createRouter`, `router.applyConfig` and
 * `validateConfig` take it; validation fills the defaults (the result is `SvrConfig`, config.ts, where each
 * field and default is documented). A file's kebab-case keys (`service-routes`) are accepted here too.
 *
 * @example
 *   const config: ConfigInput = {
 *     authority: {
 *       name: 'demo', secret: '5f2c...',
 *       tenants: [{ name: 'lab', members: ['198.18.1.0/24'] }],
 *       services: [{ name: 'web', addresses: ['198.18.3.0/24'], accessPolicy: [{ source: 'lab' }] }],
 *       routers: [{ name: 'r1', interfaces: [{ name: 'lan0', kind: 'lan' }], serviceRoutes: [] }],
 *     },
 *   };
 */
import type {
  AppliesTo, BestPathCriteria, EncryptionCipher, EnforcedMss, Fragmentation, HmacCipher, HmacMode, IpfixTransport, KeyExchange, NeighborhoodTopology, PeerConnectivity, PortRange, SessionResiliency, StepMode,
  TransportProtocol, UdpTransformMode, VectorCost,
} from './config.js';

export type {
  AppliesTo, BestPathCriteria, EncryptionCipher, EnforcedMss, Fragmentation, HmacCipher, HmacMode, IpfixTransport, KeyExchange, NeighborhoodTopology, PortRange, SessionResiliency, StepMode,
  TransportProtocol, UdpTransformMode, VectorCost,
};

/** A port (`80`), a range as text (`'8000-8100'`) or as `{ from, to }`. */
export type PortInput = number | string | PortRange;

export interface SecurityPolicyInput {
  name: string;
  hmacMode?: HmacMode;
  hmacCipher?: HmacCipher;
  encrypt?: boolean;
  encryptionCipher?: EncryptionCipher;
  adaptiveEncryption?: boolean;
  /** 64 hex digits */
  key?: string;
  keyVersion?: number;
  rekeyDelay?: number;
  keyExchange?: KeyExchange;
  /** `handshake`: seconds between two key exchanges on a path; default 120 */
  rekeyInterval?: number;
}

export interface TenantInput {
  name: string;
  members?: string[];
  serviceChain?: string[];
}

export interface PluginInput {
  /** a package name, `svrouter/plugins/<builtin>` or a path (relative to the config file, or to `baseDir`) */
  use: string;
  /** the plugin's options, passed as written */
  with?: unknown;
  /** when it fails: true lets traffic go on without it, false drops its traffic; default closed for security functions */
  failOpen?: boolean;
}

export interface TransportInput {
  protocol: TransportProtocol;
  ports?: PortInput[];
}

export interface AccessRuleInput {
  /** `tenant`, `prefix` or `tenant@prefix` */
  source: string;
  permission?: 'allow' | 'deny';
}

export interface TimeoutsInput {
  tcpInitial?: number;
  tcp?: number;
  udp?: number;
  icmp?: number;
  other?: number;
}

export interface ServiceInput {
  name: string;
  addresses: string[];
  transport?: TransportInput[];
  accessPolicy?: AccessRuleInput[];
  servicePolicy?: string;
  security?: string;
  timeouts?: TimeoutsInput;
  serviceChain?: string[];
  appliesTo?: AppliesTo[];
}

export interface ServicePolicyInput {
  name: string;
  transportStateEnforcement?: 'reset' | 'allow' | 'block';
  vectors?: { name: string; cost: VectorCost }[];
  vectorOrder?: string[];
  pathQualityFilter?: boolean;
  maxLatency?: number;
  maxJitter?: number;
  maxLoss?: number;
  minMos?: number;
  bestEffort?: boolean;
  bestPathCriteria?: BestPathCriteria;
  sessionResiliency?: SessionResiliency;
  fec?: { enabled?: boolean; groupSize?: number; parity?: number; flushMs?: number };
}

export interface BfdInput {
  desiredTxInterval?: number;
  requiredMinRxInterval?: number;
  multiplier?: number;
  holdDownTime?: number;
  linkTestInterval?: number;
  linkTestLength?: number;
}

export interface NeighborhoodInput {
  name: string;
  vector?: string;
  topology?: NeighborhoodTopology;
  bfd?: BfdInput;
  peerConnectivity?: PeerConnectivity;
  /** s, 1-3600 */
  natKeepAlive?: number;
  pathMtuDiscovery?: { enabled?: boolean; interval?: number };
  udpTransform?: { mode?: UdpTransformMode; detectInterval?: number };
}

export interface AdjacencyInput {
  peer: string;
  interface: string;
  neighborhood: string;
  generated?: boolean;
}

export interface InterfaceInput {
  name: string;
  kind: 'lan' | 'wan' | 'function';
  tenant?: string;
  /** required for `wan` */
  waypoint?: string;
  /** required for `wan` */
  neighborhoods?: NeighborhoodInput[];
  adjacencies?: AdjacencyInput[];
  security?: string;
  /** `'16384-65534'` or `{ from, to }` */
  portRange?: string | PortRange;
  device?: string;
  mtu?: number;
  enforcedMss?: EnforcedMss;
  fragmentation?: Fragmentation;
  kernelRoutes?: { prefix: string; table?: number }[];
  /** bits/s, or text with k, M or G (`'50M'`) */
  shapingRate?: number | string;
  /** percent per queue [high, medium, low, best-effort], summing to 100 */
  shapingShares?: number[];
}

export interface RouteInput {
  prefix: string;
  /** required unless `blackhole: true` */
  interface?: string;
  gateway?: string;
  blackhole?: boolean;
  /** administrative distance 1-255, default 1 */
  distance?: number;
}

export interface ServiceRouteInput {
  name: string;
  service: string;
  /** exactly one of `peer`, `nextHop` and `useLearnedRoutes: true` */
  peer?: string;
  nextHop?: { interface: string; gateway?: string };
  useLearnedRoutes?: boolean;
}

/** A router's RIB and BGP through FRR (docs/routing.md). */
export interface RoutingInput {
  interface: string;
  fpmPort?: number;
  staleHold?: number;
  bgp?: {
    as: number;
    routerId: string;
    redistributeService?: boolean;
    neighbors?: { address: string; remoteAs: number; multihop?: number; keepalive?: number; hold?: number; bfd?: boolean; maxPrefix?: number; acceptPrefixes?: string[] }[];
  };
}

/** A router's key-exchange identity: its X25519 public key (base64) and where its node reads the private key. */
export interface IdentityInput {
  publicKey: string;
  privateKeyFile?: string;
}

export interface RouterInput {
  name: string;
  identity?: IdentityInput;
  routerGroups?: string[];
  assetId?: string;
  /** IPFIX observation domain of this router's exports, 1-4294967295, unique; default position + 1 */
  observationDomainId?: number;
  /** sessions this router holds at most (all its data-path threads); default sized from memory */
  sessionCapacity?: number;
  /** bytes per data-path thread for packets being reassembled, 65536-268435456; default 1048576 */
  reassemblyMemory?: number;
  interfaces: InterfaceInput[];
  /** `svr node`: the management API (REST, OpenAPI, /metrics); absent = no API */
  management?: ManagementInput;
  routes?: RouteInput[];
  serviceRoutes?: ServiceRouteInput[];
  plugins?: PluginInput[];
  routing?: RoutingInput;
  /** a router pair (docs/high-availability.md); absent = one node */
  redundancy?: RedundancyInput;
}

/** A router of two nodes (docs/high-availability.md "The router pair"). */
export interface RedundancyInput {
  nodes: { name: string; priority?: number; syncAddress: string; probeAddress?: string }[];
  preempt?: boolean;
  heartbeatInterval?: number;
  heartbeatMisses?: number;
  syncPort?: number;
  sharedKey: string;
  /** addresses the active node holds on its host's devices and announces (gratuitous ARP / unsolicited NA) */
  sharedAddresses?: { device: string; address: string }[];
}

export interface AuthorityInput {
  name: string;
  secret?: string;
  securityPolicies?: SecurityPolicyInput[];
  tenants?: TenantInput[];
  services?: ServiceInput[];
  servicePolicies?: ServicePolicyInput[];
  routers: RouterInput[];
  plugins?: PluginInput[];
  telemetry?: TelemetryInput;
  /** how routers exchange STEP documents (docs/step.md); default flood */
  step?: { mode: StepMode };
}

/** The management API of a router (docs/configuration.md#management). */
export interface ManagementInput {
  /** default 127.0.0.1 */
  address?: string;
  /** default 8443 */
  port?: number;
  /** HTTPS with these PEM files; absent = HTTP */
  tls?: { certificate: string; key: string };
  tokens?: { name: string; role: 'admin' | 'read-only'; token?: string; tokenFile?: string }[];
  /** default `token` */
  metricsAuth?: 'token' | 'none';
  /** sessions the session-table alarm measures against; default 1,000,000 */
  sessionCapacity?: number;
}

/** An IPFIX collector of the routers' session records (docs/configuration.md#telemetry). */
export interface CollectorInput {
  name: string;
  address: string;
  /** default 4739 */
  port?: number;
  transport?: IpfixTransport;
  /** seconds between interim records of a live session, 60-1800; default 60 */
  interimInterval?: number;
  /** only these tenants' records; default all */
  tenants?: string[];
}

/** Session records: IPFIX export and the routers' session history. */
export interface TelemetryInput {
  ipfix?: {
    /** seconds between UDP template resends, 10-3600; default 60 */
    templateInterval?: number;
    collectors?: CollectorInput[];
  };
  history?: {
    /** default true */
    enabled?: boolean;
    /** 1-3650; default 7 */
    retentionDays?: number;
    /** 16-1048576; default 1024 */
    maxSizeMb?: number;
  };
}

export interface ConfigInput {
  authority: AuthorityInput;
}
