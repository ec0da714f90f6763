/** Text formats inside config values: ports, port ranges, hex keys, prefixes, access-rule sources. */
import { formatPrefix, hasHostBits, maskPrefix, parseAddress, parsePrefix } from '../packet/addr.js';
import type { PortRange } from './config.js';
import { describe } from './problems.js';
import { isDottedName } from './names.js';

export const PORT_SPEC_EXPECTED = 'a port 0-65535 or a range "from-to" with from <= to';
export const PORT_RANGE_EXPECTED = 'a port range "from-to" with 1 <= from < to <= 65535';

/** A transport port: `80`, `"80"` or `"8000-8100"`. */
export function parsePortSpec(value: unknown): PortRange | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 0 && value <= 65535 ? { from: value, to: value } : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(value);
  if (m === null) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return from <= to && to <= 65535 ? { from, to } : undefined;
}

/** A WAN waypoint port range `"16384-65534"`: at least two ports (one even, one odd), never port 0. */
export function parsePortRange(value: unknown): PortRange | undefined {
  if (typeof value !== 'string' || !value.includes('-')) return undefined;
  const range = parsePortSpec(value);
  return range !== undefined && range.from >= 1 && range.from < range.to ? range : undefined;
}

/** Hex digits only, an even count of at least `minDigits`. */
export function isHexSecret(text: string, minDigits: number): boolean {
  return text.length >= minDigits && text.length % 2 === 0 && /^[0-9A-Fa-f]+$/.test(text);
}

/** Standard base64 of exactly `bytes` bytes (an X25519 key: 32 bytes, 44 characters). */
export function isBase64Key(text: string, bytes: number): boolean {
  return /^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length === 4 * Math.ceil(bytes / 3) && Buffer.from(text, 'base64').length === bytes;
}

/** Exactly `digits` hex digits. */
export function isHexKey(text: string, digits: number): boolean {
  return text.length === digits && /^[0-9A-Fa-f]+$/.test(text);
}

/** Why `text` is not a usable destination/source prefix, or undefined when it is. */
export function prefixProblem(text: string): string | undefined {
  const p = parsePrefix(text);
  if (p === undefined) return `expected an IPv4 or IPv6 prefix like 198.18.3.0/24 or 2001:db8::/32, got ${describe(text)}`;
  if (hasHostBits(p)) return `expected a prefix without host bits (${formatPrefix(maskPrefix(p))}), got ${describe(text)}`;
  return undefined;
}

/** Why `text` is not a single IP address, or undefined when it is. */
export function addressProblem(text: string): string | undefined {
  return parseAddress(text) === undefined ? `expected an IPv4 or IPv6 address like 198.18.12.1, got ${describe(text)}` : undefined;
}

export type AccessSource = { tenant?: string; prefix?: string };

/**
 * Split an access-rule source: `tenant`, `prefix` or `tenant@prefix`. A text that parses as an
 * address or prefix is a prefix (tenant names that look like addresses are rejected elsewhere).
 * Returns a problem message instead when malformed.
 */
export function parseAccessSource(source: string): AccessSource | string {
  const expected = `expected a tenant name, a prefix or "tenant@prefix", got ${describe(source)}`;
  const at = source.indexOf('@');
  if (at !== -1) {
    const tenant = source.slice(0, at);
    const prefix = source.slice(at + 1);
    if (!isDottedName(tenant) || parsePrefix(prefix) === undefined) return expected;
    return prefixProblem(prefix) ?? { tenant, prefix };
  }
  if (parsePrefix(source) !== undefined) return prefixProblem(source) ?? { prefix: source };
  if (isDottedName(source)) return { tenant: source };
  return expected;
}
