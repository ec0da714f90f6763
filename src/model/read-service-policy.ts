/**
 * First validation pass for a service-policy: transport-state enforcement and the path-selection
 * settings of ssr-reference §1.4 (vector costs or vector order, SLA filter, best-path criteria,
 * session resiliency), with their SSR defaults.
 */
import type { BestPathCriteria, FecPolicy, ServicePolicy, SessionResiliency, VectorPreference } from './config.js';
import { SERVICE_POLICY_DEFAULTS } from './defaults.js';
import { readList, type Raw, type ReadContext } from './fields.js';
import { NAME_RULES, isPlainName } from './names.js';
import { describe, type FieldPath } from './problems.js';

export const SERVICE_POLICY_KEYS = [
  'name', 'transport-state-enforcement', 'vectors', 'vector-order', 'path-quality-filter', 'max-latency', 'max-jitter',
  'max-loss', 'min-mos', 'best-effort', 'best-path-criteria', 'session-resiliency', 'fec',
] as const;
export const FEC_KEYS = ['enabled', 'group-size', 'parity', 'flush-ms'] as const;
export const VECTOR_KEYS = ['name', 'cost'] as const;

const STATE_ENFORCEMENTS: readonly ServicePolicy['transportStateEnforcement'][] = ['reset', 'allow', 'block'];
const CRITERIA: readonly BestPathCriteria[] = ['vector', 'average-latency', 'mos'];
const RESILIENCY: readonly SessionResiliency[] = ['none', 'failover', 'revertible-failover', 'packet-duplication'];

/** Vector costs 1-999999 (ssr-reference §1.4). */
export const MAX_VECTOR_COST = 999999;
/** Latency and jitter limits, whole milliseconds. */
const MAX_LIMIT_MS = 3600000;

export function readServicePolicy(value: unknown, path: FieldPath, ctx: ReadContext): ServicePolicy | undefined {
  const { r } = ctx;
  const o = r.object(value, path, 'a service-policy mapping', SERVICE_POLICY_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, NAME_RULES.plain, isPlainName);
  const d = SERVICE_POLICY_DEFAULTS;
  const vectors = readVectors(o, path, ctx);
  const vectorOrder = readVectorOrder(o, path, ctx);
  if (vectors.length > 0 && vectorOrder.length > 0) {
    r.problems.add([...path, 'vector-order'], 'a service-policy uses `vectors` (a cost per vector) or `vector-order` (costs by position), not both; remove one');
  }
  const policy: ServicePolicy = {
    name: name ?? '',
    transportStateEnforcement: r.oneOf(o, 'transport-state-enforcement', path, STATE_ENFORCEMENTS, d.transportStateEnforcement),
    vectors,
    vectorOrder,
    pathQualityFilter: r.boolean(o, 'path-quality-filter', path, d.pathQualityFilter),
    maxLatency: r.integer(o, 'max-latency', path, 0, MAX_LIMIT_MS, d.maxLatency, ' (ms)'),
    maxJitter: r.integer(o, 'max-jitter', path, 0, MAX_LIMIT_MS, d.maxJitter, ' (ms)'),
    maxLoss: decimal(o, 'max-loss', path, 0, 100, ctx, ' (percent)') ?? d.maxLoss,
    bestEffort: r.boolean(o, 'best-effort', path, d.bestEffort),
    bestPathCriteria: r.oneOf(o, 'best-path-criteria', path, CRITERIA, d.bestPathCriteria),
    sessionResiliency: r.oneOf(o, 'session-resiliency', path, RESILIENCY, d.sessionResiliency),
    fec: readFec(o, path, ctx),
  };
  const minMos = decimal(o, 'min-mos', path, 1, 5, ctx);
  if (minMos !== undefined) policy.minMos = minMos;
  return name === undefined ? undefined : policy;
}

/** `fec: { enabled, group-size, parity, flush-ms }` (docs/wan.md "FEC"); absent = off. */
function readFec(o: Raw, path: FieldPath, { r }: ReadContext): FecPolicy {
  const d = SERVICE_POLICY_DEFAULTS.fec;
  if (o['fec'] === undefined || o['fec'] === null) return { ...d };
  const at = [...path, 'fec'];
  const f = r.object(o['fec'], at, 'an fec mapping ({ enabled, group-size, parity, flush-ms })', FEC_KEYS);
  if (f === undefined) return { ...d };
  return {
    enabled: r.boolean(f, 'enabled', at, true),
    groupSize: r.integer(f, 'group-size', at, 2, 64, d.groupSize, ' (data packets per group)'),
    parity: r.integer(f, 'parity', at, 1, 4, d.parity, ' (parity packets per group)'),
    flushMs: r.integer(f, 'flush-ms', at, 1, 1000, d.flushMs, ' (ms)'),
  };
}

/** A number (decimals allowed) in [min, max]; undefined when absent or wrong (wrong is a problem). */
function decimal(o: Raw, key: string, path: FieldPath, min: number, max: number, { r }: ReadContext, unit = ''): number | undefined {
  const value = o[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max) return value;
  r.problems.expected([...path, key], `a number ${min}-${max}${unit}`, value);
  return undefined;
}

function readVectors(o: Raw, path: FieldPath, ctx: ReadContext): VectorPreference[] {
  const list = readList(ctx, o, 'vectors', path, 'a list of vector costs ({ name, cost })', (v, p) => readVector(v, p, ctx));
  noDuplicates(list.map((v) => [v.name, [...(ctx.origins.get(v) ?? path), 'name']]), ctx);
  return list;
}

function readVector(value: unknown, path: FieldPath, { r }: ReadContext): VectorPreference | undefined {
  const o = r.object(value, path, 'a vector cost mapping ({ name, cost })', VECTOR_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, NAME_RULES.plain, isPlainName);
  const cost = o['cost'];
  const what = `a cost 1-${MAX_VECTOR_COST} or "never"`;
  if (cost === undefined || cost === null) {
    r.problems.missing([...path, 'cost'], what);
    return undefined;
  }
  const valid = cost === 'never' || (typeof cost === 'number' && Number.isInteger(cost) && cost >= 1 && cost <= MAX_VECTOR_COST);
  if (!valid) {
    r.problems.expected([...path, 'cost'], what, cost);
    return undefined;
  }
  return name === undefined ? undefined : { name, cost: cost as VectorPreference['cost'] };
}

function readVectorOrder(o: Raw, path: FieldPath, ctx: ReadContext): string[] {
  const named: Array<[string, FieldPath]> = [];
  for (const [item, at] of ctx.r.list(o, 'vector-order', path, 'a list of vector names, most preferred first')) {
    if (typeof item !== 'string' || !isPlainName(item)) ctx.r.problems.expected(at, NAME_RULES.plain, item);
    else named.push([item, at]);
  }
  noDuplicates(named, ctx);
  return named.map(([name]) => name);
}

function noDuplicates(named: ReadonlyArray<readonly [string, FieldPath]>, { r }: ReadContext): void {
  const seen = new Set<string>();
  for (const [name, at] of named) {
    if (seen.has(name)) r.problems.add(at, `duplicate vector ${describe(name)} in this service-policy`);
    seen.add(name);
  }
}
