/** Defaults filled in by validation (documented in config.ts and docs/configuration.md). */
import type { PortRange, SecurityPolicy, ServicePolicy, Timeouts } from './config.js';

/** Idle timeouts in seconds. */
export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({ tcpInitial: 10, tcp: 1900, udp: 180, icmp: 10, other: 180 });

/** WAN waypoint port range. */
export const DEFAULT_PORT_RANGE: Readonly<PortRange> = Object.freeze({ from: 16384, to: 65534 });

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
});

export function builtinSecurityPolicy(): SecurityPolicy {
  return { name: BUILTIN_SECURITY_POLICY, ...SECURITY_POLICY_DEFAULTS };
}

export function builtinServicePolicy(): ServicePolicy {
  return { name: BUILTIN_SERVICE_POLICY, transportStateEnforcement: 'reset' };
}
