/** First validation pass for a service: addresses, transport, access-policy, timeouts. */
import { readServiceChain } from './read-plugins.js';
import type { AccessRule, AppliesTo, Service, Timeouts, TransportProtocol, TransportSpec, PortRange } from './config.js';
import { BUILTIN_SERVICE_POLICY, DEFAULT_TIMEOUTS } from './defaults.js';
import { readList, type Raw, type ReadContext } from './fields.js';
import { PORT_SPEC_EXPECTED, parseAccessSource, parsePortSpec, prefixProblem } from './formats.js';
import { NAME_RULES, isDottedName, isPlainName, isRouterName } from './names.js';
import type { FieldPath } from './problems.js';

export const SERVICE_KEYS = ['name', 'addresses', 'transport', 'access-policy', 'service-policy', 'security', 'timeouts', 'service-chain', 'applies-to'] as const;
export const APPLIES_TO_KEYS = ['type', 'routers', 'groups'] as const;
const APPLIES_TO_TYPES = ['authority', 'router', 'router-group'] as const;
export const TRANSPORT_KEYS = ['protocol', 'ports'] as const;
export const ACCESS_RULE_KEYS = ['source', 'permission'] as const;
export const TIMEOUT_KEYS = ['tcp-initial', 'tcp', 'udp', 'icmp', 'other'] as const;

const PROTOCOLS: readonly TransportProtocol[] = ['tcp', 'udp', 'icmp', 'icmpv6'];
const PERMISSIONS: readonly AccessRule['permission'][] = ['allow', 'deny'];
/** Largest timeout in seconds whose milliseconds still fit an int32. */
const MAX_TIMEOUT_SECONDS = 2147483;

export function readService(value: unknown, path: FieldPath, ctx: ReadContext): Service | undefined {
  const { r } = ctx;
  const o = r.object(value, path, 'a service mapping', SERVICE_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, NAME_RULES.service, isDottedName);

  const addresses: string[] = [];
  const addressItems = r.list(o, 'addresses', path, 'a list of destination prefixes', true);
  if (Array.isArray(o['addresses']) && addressItems.length === 0) {
    r.problems.add([...path, 'addresses'], 'expected at least one destination prefix, got an empty list');
  }
  for (const [item, at] of addressItems) {
    if (typeof item !== 'string') {
      r.problems.expected(at, 'a destination prefix like 198.18.3.0/24', item);
      continue;
    }
    const problem = prefixProblem(item);
    if (problem !== undefined) r.problems.add(at, problem);
    addresses.push(item);
  }

  const transport = readList(ctx, o, 'transport', path, 'a list of protocol/ports entries', (v, p) => readTransport(v, p, ctx));
  const accessPolicy = readList(ctx, o, 'access-policy', path, 'a list of access rules', (v, p) => readAccessRule(v, p, ctx));
  const servicePolicy = r.optionalString(o, 'service-policy', path, NAME_RULES.plain, isPlainName) ?? BUILTIN_SERVICE_POLICY;
  const security = r.optionalString(o, 'security', path, NAME_RULES.plain, isPlainName);
  const timeouts = readTimeouts(o, path, ctx);
  const serviceChain = readServiceChain(o, path, ctx);
  const appliesTo = o['applies-to'] === undefined || o['applies-to'] === null ? undefined : readAppliesTo(o, path, ctx);
  if (name === undefined) return undefined;
  const service: Service = { name, addresses, transport, accessPolicy, servicePolicy, timeouts, serviceChain };
  if (security !== undefined) service.security = security;
  if (appliesTo !== undefined) service.appliesTo = appliesTo;
  return service;
}

/** `applies-to`: entries by type, each type once; routers and groups are checked against the routers later. */
function readAppliesTo(o: Raw, path: FieldPath, ctx: ReadContext): AppliesTo[] {
  const list = readList(ctx, o, 'applies-to', path, 'a list of applies-to entries ({ type, routers | groups })', (v, p) => readAppliesToEntry(v, p, ctx));
  const seen = new Set<string>();
  list.forEach((e, i) => {
    if (seen.has(e.type)) ctx.r.problems.add([...path, 'applies-to', i, 'type'], `duplicate applies-to type "${e.type}"; list every router or group in one entry`);
    seen.add(e.type);
  });
  return list;
}

function readAppliesToEntry(value: unknown, path: FieldPath, { r }: ReadContext): AppliesTo | undefined {
  const o = r.object(value, path, 'an applies-to mapping ({ type: authority } | { type: router, routers: [...] } | { type: router-group, groups: [...] })', APPLIES_TO_KEYS);
  if (o === undefined) return undefined;
  const type = r.oneOf(o, 'type', path, APPLIES_TO_TYPES, undefined);
  const names = (key: 'routers' | 'groups', valid: (s: string) => boolean, rule: string): string[] => {
    const out: string[] = [];
    const items = r.list(o, key, path, `a list of ${key === 'routers' ? 'router' : 'router-group'} names`, true);
    if (Array.isArray(o[key]) && items.length === 0) r.problems.add([...path, key], `expected at least one name, got an empty list`);
    for (const [item, at] of items) {
      if (typeof item !== 'string' || !valid(item)) r.problems.expected(at, rule, item);
      else out.push(item);
    }
    return out;
  };
  for (const key of ['routers', 'groups'] as const) {
    const wanted = type === 'router' ? 'routers' : type === 'router-group' ? 'groups' : undefined;
    if (o[key] !== undefined && type !== undefined && key !== wanted) r.problems.add([...path, key], `applies-to type "${type}" has no \`${key}\`${wanted === undefined ? '' : `; use \`${wanted}\``}`);
  }
  if (type === 'router') return { type, routers: names('routers', isRouterName, NAME_RULES.router) };
  if (type === 'router-group') return { type, groups: names('groups', isPlainName, NAME_RULES.plain) };
  return type === undefined ? undefined : { type };
}

function readTransport(value: unknown, path: FieldPath, { r }: ReadContext): TransportSpec | undefined {
  const o = r.object(value, path, 'a transport mapping (protocol, ports)', TRANSPORT_KEYS);
  if (o === undefined) return undefined;
  const protocol = r.oneOf(o, 'protocol', path, PROTOCOLS, undefined);
  const ports: PortRange[] = [];
  const items = r.list(o, 'ports', path, `a list of ports (each ${PORT_SPEC_EXPECTED})`);
  if ((protocol === 'icmp' || protocol === 'icmpv6') && items.length > 0) {
    r.problems.add([...path, 'ports'], `${protocol} has no ports; remove \`ports\` or use tcp/udp`);
    return { protocol, ports };
  }
  for (const [item, at] of items) {
    const range = parsePortSpec(item);
    if (range === undefined) r.problems.expected(at, PORT_SPEC_EXPECTED, item);
    else ports.push(range);
  }
  return protocol === undefined ? undefined : { protocol, ports };
}

function readAccessRule(value: unknown, path: FieldPath, { r }: ReadContext): AccessRule | undefined {
  const o = r.object(value, path, 'an access rule mapping (source, permission)', ACCESS_RULE_KEYS);
  if (o === undefined) return undefined;
  const source = r.string(o, 'source', path, 'a tenant name, a prefix or "tenant@prefix"');
  const permission = r.oneOf(o, 'permission', path, PERMISSIONS, 'allow');
  if (source === undefined) return undefined;
  const parsed = parseAccessSource(source);
  if (typeof parsed === 'string') {
    r.problems.add([...path, 'source'], parsed);
    return { source, permission };
  }
  const rule: AccessRule = { source, permission };
  if (parsed.tenant !== undefined) rule.tenant = parsed.tenant;
  if (parsed.prefix !== undefined) rule.prefix = parsed.prefix;
  return rule;
}

function readTimeouts(service: Raw, path: FieldPath, { r }: ReadContext): Timeouts {
  const d = DEFAULT_TIMEOUTS;
  if (service['timeouts'] === undefined || service['timeouts'] === null) return { ...d };
  const at = [...path, 'timeouts'];
  const o = r.object(service['timeouts'], at, 'a mapping of idle timeouts in seconds', TIMEOUT_KEYS);
  if (o === undefined) return { ...d };
  const seconds = (key: string, fallback: number): number => r.integer(o, key, at, 1, MAX_TIMEOUT_SECONDS, fallback, ' (seconds)');
  return {
    tcpInitial: seconds('tcp-initial', d.tcpInitial),
    tcp: seconds('tcp', d.tcp),
    udp: seconds('udp', d.udp),
    icmp: seconds('icmp', d.icmp),
    other: seconds('other', d.other),
  };
}
