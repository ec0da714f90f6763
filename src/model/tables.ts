/**
 * Forwarding tables: one router's view of the configuration, compiled for the data path.
 * Everything here is indexed by small integer ids; every lookup is allocation-free and reads
 * addresses straight out of packet bytes (`buf`, offset, family 4|6).
 */
import type { AccessDecision } from './access-table.js';
import type { PreparedTables } from './compile.js';
import type { ServiceArrays } from './service-arrays.js';
import type { FibEntry } from './service-fib.js';
import type { LearnedRoute, RibEntry } from './rib.js';
import type { BestPathCriteria, HmacCipher, HmacMode, KeyExchange, SessionResiliency, UdpTransformMode, VectorCost } from './config.js';

export const NO_TENANT = -1;
export const LOOKUP_NO_SERVICE = -1;
export const LOOKUP_ACCESS_DENIED = -2;
export const NO_INTERFACE = -1;
/** the route trie's value for a blackhole route (routeLocal answers NO_INTERFACE: the packet has no route) */
export const ROUTE_BLACKHOLE = 0x7fffffff;
export const NO_PATH = -1;

export type Family = 4 | 6;

export interface CompiledInterface {
  readonly index: number;
  readonly name: string;
  readonly kind: 'lan' | 'wan' | 'function';
  /** Interface tenant id, or NO_TENANT. */
  readonly tenant: number;
  /** WAN only: waypoint address bytes (4 or 16) and family; LAN: empty array, family 0. */
  readonly waypoint: Uint8Array;
  readonly waypointFamily: 0 | Family;
  /** Paths that leave through this interface. */
  readonly paths: readonly number[];
  /** MTU of the interface's device (config `mtu`): for now the MTU of every path through it. */
  readonly mtu: number;
  /** MSS clamping on this interface's paths: MSS_CLAMP_AUTOMATIC, MSS_CLAMP_DISABLED or a fixed MSS. */
  readonly enforcedMss: number;
  /** What svr-out does with a packet too big for a path: FRAGMENT_NEVER, FRAGMENT_UNLESS_DF or FRAGMENT_ALWAYS. */
  readonly fragmentation: number;
}

/** CompiledInterface.fragmentation: ICMP too big to the host, never fragment. */
export const FRAGMENT_NEVER = 0;
/** CompiledInterface.fragmentation: fragment the SVR packet of an IPv4 packet without DF, else ICMP too big. */
export const FRAGMENT_UNLESS_DF = 1;
/** CompiledInterface.fragmentation: fragment every SVR packet that does not fit. */
export const FRAGMENT_ALWAYS = 2;

/** CompiledInterface.enforcedMss: lower SYNs' MSS to what fits the path MTU after svrouter's overhead. */
export const MSS_CLAMP_AUTOMATIC = -1;
/** CompiledInterface.enforcedMss: leave SYNs' MSS alone. */
export const MSS_CLAMP_DISABLED = 0;

export interface CompiledHmac {
  readonly mode: HmacMode;
  readonly cipher: HmacCipher;
  /** 16 (sha256-128), 32 (sha256) or 20 (sha1); 0 when disabled. */
  readonly tagLength: number;
  /** 32 bytes, derived per path; never logged or shown. */
  readonly key: Uint8Array;
  /** Security ID (TLV 16) = key version. */
  readonly keyVersion: number;
  /** ms a new key version is accepted before this router signs with it (the policy's rekey-delay) */
  readonly rekeyDelayMs: number;
}

/** BFD and link-test settings of a path, from this router's neighborhood entry (defaults when it has no `bfd`). */
export interface CompiledBfd {
  /** RFC 5880 Desired Min TX Interval, ms */
  readonly desiredTxMs: number;
  /** RFC 5880 Required Min RX Interval, ms */
  readonly requiredMinRxMs: number;
  /** RFC 5880 Detect Mult */
  readonly multiplier: number;
  /** how long a path that went down must stay up again before it is usable, ms */
  readonly holdDownMs: number;
  /** time between link tests, ms */
  readonly linkTestIntervalMs: number;
  /** echo requests per link test */
  readonly linkTestLength: number;
}

/** Cost of a `never` vector: paths with it are excluded (ssr-reference §1.4). */
export const VECTOR_NEVER = Number.POSITIVE_INFINITY;

/** A service's service-policy, compiled for path selection (ssr-reference §1.4; see paths/select.ts). */
export interface CompiledServicePolicy {
  readonly name: string;
  /** The vector costs as configured; `vector-order` becomes costs 1, 10, 100, ... by position. */
  readonly vectors: readonly { readonly vector: string; readonly cost: VectorCost }[];
  /** Cost of a path with this vector label: the listed cost, 0 when not listed (or no label), VECTOR_NEVER for `never`. */
  costOf(vector: string): number;
  readonly pathQualityFilter: boolean;
  readonly maxLatencyMs: number;
  readonly maxJitterMs: number;
  readonly maxLossPercent: number;
  /** undefined: no MOS limit */
  readonly minMos?: number;
  readonly bestEffort: boolean;
  readonly bestPathCriteria: BestPathCriteria;
  readonly sessionResiliency: SessionResiliency;
  /** FEC (docs/wan.md "FEC"); groupSize 0 = off */
  readonly fec: { readonly groupSize: number; readonly parity: number; readonly flushMs: number };
}

/** One peer path: a (local WAN interface, remote WAN interface) pair sharing a neighborhood. */
export interface CompiledPath {
  readonly id: number;
  /** `<local interface>-><peer router>/<remote interface>`, e.g. `wan0->r2/wan0`. */
  readonly name: string;
  readonly peer: number;
  readonly localInterface: number;
  readonly localWaypoint: Uint8Array;
  readonly remoteWaypoint: Uint8Array;
  readonly family: Family;
  readonly neighborhood: string;
  /** Vector label from the neighborhood, '' when none. */
  readonly vector: string;
  readonly hmac: CompiledHmac;
  /** `static`: keys from the config (hmac.key, metadataCipher.key); `handshake`: keys from the path key exchange
   *  (none until it completed; hmac.key is then its pre-shared key) */
  readonly keyExchange: KeyExchange;
  /** `handshake`: ms between two key exchanges */
  readonly rekeyIntervalMs: number;
  /** Metadata encryption on this path (its security policy has `encrypt`): payload TLVs only, header TLVs clear. */
  readonly metadataCipher?: { readonly cipher: 'aes-cbc-128' | 'aes-cbc-256' | 'aes-gcm-256'; readonly key: Uint8Array };
  /** Waypoint port range used when this router sends (even local ports, odd remote ports). */
  readonly portFrom: number;
  readonly portTo: number;
  /** BFD timers, hold-down and link tests of this end of the path */
  readonly bfd: CompiledBfd;
  /** this end is `outbound-only` (behind NAT): it re-signals its sessions when the peer sees it move, and keeps idle ones alive */
  readonly outboundOnly: boolean;
  /** the far end is `outbound-only`: its address and control port are learned from its authenticated packets */
  readonly peerBehindNat: boolean;
  /** the far end is a router pair's node's own interface (`interfaces[].node`): that node's name */
  readonly remoteNode?: string;
  /** this end is one node's own interface of this router pair: that node (the path is up only on it) */
  readonly localNode?: string;
  /** ms between NAT keep-alives of an idle session (outboundOnly paths) */
  readonly natKeepAliveMs: number;
  /** path MTU discovery: searched every intervalMs (paths/path-mtu.ts) unless disabled */
  readonly mtuDiscovery: { readonly enabled: boolean; readonly intervalMs: number };
  /** UDP transform of this end's TCP sessions (paths/firewall-detector.ts): the mode and how often auto-detect probes */
  readonly udpTransform: { readonly mode: UdpTransformMode; readonly detectIntervalMs: number };
}

export interface CompiledPeer {
  readonly id: number;
  readonly name: string;
  readonly nameBytes: Uint8Array;
  readonly paths: readonly number[];
}

export type CompiledServiceRoute =
  | { readonly kind: 'peer'; readonly name: string; readonly peer: number }
  | { readonly kind: 'local'; readonly name: string; readonly interface: number; readonly gateway?: Uint8Array }
  /** `use-learned-routes`: deliver along the RIB's selected route for the packet's destination (`routeLocal`) */
  | { readonly kind: 'learned'; readonly name: string };

export interface CompiledPayloadSecurity {
  readonly policy: string;
  readonly cipher: 'aes-cbc-128' | 'aes-cbc-256' | 'aes-gcm-256';
  /** TLS/IPsec sessions are not encrypted again */
  readonly adaptive: boolean;
  readonly keyVersion: number;
  /** ms a new key version is accepted before this router sends with it */
  readonly rekeyDelayMs: number;
  /** 16 or 32 bytes, derived; never logged or shown */
  readonly key: Uint8Array;
}

export interface CompiledService {
  readonly id: number;
  readonly name: string;
  readonly nameBytes: Uint8Array;
  /** Idle timeouts in milliseconds. */
  readonly timeouts: { readonly tcpInitial: number; readonly tcp: number; readonly udp: number; readonly icmp: number; readonly other: number };
  readonly transportStateEnforcement: 'reset' | 'allow' | 'block';
  /** Path selection and resiliency from the service's service-policy. */
  readonly policy: CompiledServicePolicy;
  /** Payload security policy name, '' when none. */
  readonly security: string;
  /** End-to-end payload encryption of the service's sessions (its security policy has `encrypt`). */
  readonly payload?: CompiledPayloadSecurity;
  /** Service-routes of this router for the service, in config order. */
  readonly routes: readonly CompiledServiceRoute[];
}

export interface ForwardingTables {
  readonly generation: number;
  /** sessions the router holds at most (config `session-capacity`), 0: sized from memory by the data path */
  readonly sessionCapacity: number;
  /** bytes of this data path's reassembly pool (config `reassembly-memory`) */
  readonly reassemblyMemory: number;
  readonly routerName: string;
  readonly routerNameBytes: Uint8Array;
  readonly authority: string;
  /** id -> dotted tenant name */
  readonly tenants: readonly string[];
  readonly tenantNameBytes: readonly Uint8Array[];
  readonly services: readonly CompiledService[];
  readonly interfaces: readonly CompiledInterface[];
  readonly peers: readonly CompiledPeer[];
  readonly paths: readonly CompiledPath[];
  /** Per-service arrays the data path takes at a swap (rankings, resiliency, FEC, route kinds; service-arrays.ts). */
  readonly serviceArrays: ServiceArrays;
  /** The access table and service FIB as typed arrays (data-path workers wrap them: compileRouter's `prepared`). */
  readonly prepared: PreparedTables;
  /** The RIB now (static + learned, selected marked): `svr show rib|fib`. Tables of one config generation
   *  share their RIB, which a RIB change updates route by route (model/rib.ts). */
  readonly rib: readonly RibEntry[];
  /** The RIB's learned routes now (a worker thread compiles its tables from the config and these). */
  learnedRoutes(): LearnedRoute[];

  interfaceIndex(name: string): number;
  tenantId(name: string): number;
  serviceId(name: string): number;
  peerId(name: string): number;
  /** Tenant id from raw name bytes (metadata TLV 7), or NO_TENANT. Allocation-free. */
  tenantIdFromBytes(buf: Uint8Array, off: number, len: number): number;
  /** Service id from raw name bytes (metadata TLV 10), or LOOKUP_NO_SERVICE. Allocation-free. */
  serviceIdFromBytes(buf: Uint8Array, off: number, len: number): number;
  /** Peer id from raw router-name bytes (metadata TLV 14), or -1. Allocation-free. */
  peerIdFromBytes(buf: Uint8Array, off: number, len: number): number;

  /** Tenant of a packet arriving on `ifIndex` with its source address at buf[srcOff]:
   *  the interface tenant if set, else the longest member prefix, else NO_TENANT. */
  classifyTenant(ifIndex: number, buf: Uint8Array, srcOff: number, family: Family): number;
  /** Service for a packet of `tenant` to (dst, protocol, port): the service id, LOOKUP_NO_SERVICE when no
   *  service of the authority matches the destination, or LOOKUP_ACCESS_DENIED when one matches but its
   *  access policy does not allow this tenant/source. Port-qualified entries beat address-only ones, then
   *  the longest prefix wins, then config order. `port` is ignored for protocols without ports. */
  lookupService(tenant: number, buf: Uint8Array, srcOff: number, dstOff: number, family: Family, protocol: number, port: number): number;
  /** The FIB entries behind the last `lookupService` (`svr explain`): the one chosen, the first one access refused. */
  lastServiceLookup(): { chosen?: FibEntry; refused?: FibEntry };
  /** The access decision of (tenant, service) for a source, with the rules (indexes into the service's
   *  access-policy) that made it: the same rule `lookupService` applies (`svr explain`; allocates). */
  accessDecision(tenant: number, service: number, buf: Uint8Array, srcOff: number, family: Family): AccessDecision;
  /** RIB lookup (selected static and learned routes) for local delivery, in the VRF of `tenant` (NO_TENANT or a
   *  tenant in no VRF: the default VRF): LAN interface index for the destination, or NO_INTERFACE. */
  routeLocal(tenant: number, buf: Uint8Array, dstOff: number, family: Family): number;
  /** The VRF a tenant routes in (`routing.vrfs`; DEFAULT_VRF for NO_TENANT and tenants in none). */
  vrfName(tenant: number): string;
  /** Path on local interface `ifIndex` whose remote waypoint equals the address at buf[srcOff], or NO_PATH. */
  pathFrom(ifIndex: number, buf: Uint8Array, srcOff: number, family: Family): number;
}
