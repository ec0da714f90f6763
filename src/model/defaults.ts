/** Defaults filled in by validation (documented in config.ts and docs/configuration.md). */
import type { BfdSettings, EnforcedMss, Fragmentation, PortRange, SecurityPolicy, ServicePolicy, Timeouts } from './config.js';

/** Idle timeouts in seconds. */
export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({ tcpInitial: 10, tcp: 1900, udp: 180, icmp: 10, other: 180 });

/** WAN waypoint port range. */
export const DEFAULT_PORT_RANGE: Readonly<PortRange> = Object.freeze({ from: 16384, to: 65534 });

/** `enforced-mss` of a wan interface: clamp to what fits its MTU (SSR adjusts the MSS of SVR sessions to the path
 *  MTU by itself; its interface-level `enforced-mss` defaults to disabled). */
export const DEFAULT_WAN_ENFORCED_MSS: EnforcedMss = 'automatic';
/** `fragmentation` of a wan interface (docs/wan.md "Fragmentation"). */
export const DEFAULT_FRAGMENTATION: Fragmentation = 'unless-df';
/** The range SSR accepts for a fixed `enforced-mss`. */
export const ENFORCED_MSS_RANGE = Object.freeze({ min: 64, max: 8960 });

export const BUILTIN_SECURITY_POLICY = 'internal';
export const BUILTIN_SERVICE_POLICY = 'default';

/** Field defaults of a security policy; also the built-in `internal` policy. */
export const SECURITY_POLICY_DEFAULTS: Readonly<Omit<SecurityPolicy, 'name' | 'key'>> = Object.freeze({
  hmacMode: 'time-based',
  hmacCipher: 'sha256-128',
  encrypt: false,
  encryptionCipher: 'aes-cbc-256',
  adaptiveEncryption: true,
  keyVersion: 1,
  rekeyDelay: 30,
  keyExchange: 'static',
  rekeyInterval: 120,
});

export function builtinSecurityPolicy(): SecurityPolicy {
  return { name: BUILTIN_SECURITY_POLICY, ...SECURITY_POLICY_DEFAULTS };
}

/** Field defaults of a service-policy (ssr-reference §1.4); also the built-in `default` policy. */
export const SERVICE_POLICY_DEFAULTS: Readonly<Omit<ServicePolicy, 'name' | 'minMos' | 'vectors' | 'vectorOrder'>> = Object.freeze({
  transportStateEnforcement: 'reset',
  pathQualityFilter: false,
  maxLatency: 250,
  maxJitter: 100,
  maxLoss: 0.5,
  bestEffort: true,
  bestPathCriteria: 'vector',
  sessionResiliency: 'none',
  fec: Object.freeze({ enabled: false, groupSize: 8, parity: 2, flushMs: 20 }),
});

export function builtinServicePolicy(): ServicePolicy {
  return { name: BUILTIN_SERVICE_POLICY, ...SERVICE_POLICY_DEFAULTS, vectors: [], vectorOrder: [] };
}

/** Path MTU discovery of a neighborhood entry (SSR's `path-mtu-discovery`: enabled, interval 600 s). */
export const PATH_MTU_DISCOVERY_DEFAULTS = Object.freeze({ enabled: true, interval: 600 });

/** `udp-transform` of a neighborhood entry: SSR's defaults, auto-detect every 300 s (docs/wan.md "UDP transform"). */
export const UDP_TRANSFORM_DEFAULTS = Object.freeze({ mode: 'auto-detect' as const, detectInterval: 300 });

/** s between NAT keep-alives of an idle session on an `outbound-only` path (a UDP NAT binding lasts 30-120 s). */
export const NAT_KEEP_ALIVE_S = 20;

/** BFD and link-test defaults of a neighborhood entry (ssr-reference §1.3, fact sheet §7.1). */
export const BFD_DEFAULTS: Readonly<BfdSettings> = Object.freeze({
  desiredTxInterval: 1000,
  requiredMinRxInterval: 500,
  multiplier: 3,
  holdDownTime: 5,
  linkTestInterval: 10,
  linkTestLength: 10,
});

/** The management API (`management` of a router): loopback, port 8443, `/metrics` behind a token (its session-capacity: the router's). */
export const MANAGEMENT_DEFAULTS = Object.freeze({ address: '127.0.0.1', port: 8443, metricsAuth: 'token' as const });
/** A router pair (`redundancy`): heartbeats every 100 ms, partner lost after 3 missed (failover within about 300 ms). */
export const REDUNDANCY_DEFAULTS = Object.freeze({ preempt: false, heartbeatInterval: 100, heartbeatMisses: 3, syncPort: 4797, priority: 100 });
/** Shortest accepted API token: 16 characters. */
export const API_TOKEN_MIN_LENGTH = 16;

/** Egress shaping of an interface (`shaping-rate`, `shaping-shares`; docs/shaping.md): its priority queues, the
 *  default guaranteed percent of each (SSR's traffic-profile), and the rates the kernel shaper takes. */
export const SHAPING_QUEUES = ['high', 'medium', 'low', 'best-effort'] as const;
export const DEFAULT_SHAPING_SHARES: readonly [number, number, number, number] = Object.freeze([40, 30, 20, 10]) as readonly [number, number, number, number];
export const MIN_SHAPING_RATE = 8000;
export const MAX_SHAPING_RATE = 100e9;

/** Bytes per data-path thread for packets being reassembled from fragments (router `reassembly-memory`). */
export const DEFAULT_REASSEMBLY_MEMORY = 1 << 20;
