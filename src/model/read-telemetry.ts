/**
 * The authority's `telemetry` block (types in config.ts): IPFIX collectors every router exports session
 * records to, and the session history's retention. Every bad field is reported with its path:
 *
 *   telemetry:
 *     ipfix:
 *       template-interval: 60        # s between UDP template resends, 10-3600
 *       collectors:
 *         - name: nfcapd              # unique
 *           address: 198.18.9.10      # IPv4 or IPv6
 *           port: 4739                # default 4739 (IANA ipfix)
 *           transport: udp            # udp (default) | tcp
 *           interim-interval: 60      # s, 60-1800 (ssr-reference §1.11)
 *           tenants: [blue]           # only these tenants' records; default all
 *     history:
 *       enabled: true                 # false: no session history
 *       retention-days: 7             # 1-3650
 *       max-size-mb: 1024             # 16-1048576
 */
import { ConfigError, SvrError } from '../errors.js';
import type { CollectorConfig, HistorySettings, IpfixConfig, IpfixTransport, TelemetrySettings } from './config.js';
import { FieldReader, readList, type Raw, type ReadContext } from './fields.js';
import { addressProblem } from './formats.js';
import { NAME_RULES, isPlainName, isTenantName } from './names.js';
import { Problems, describe, formatPath, type ConfigProblem, type FieldPath } from './problems.js';

export const IPFIX_PORT = 4739;
export const DEFAULT_HISTORY: Readonly<HistorySettings> = Object.freeze({ enabled: true, retentionDays: 7, maxSizeMb: 1024 });
/** Interim records of live sessions: every 60-1800 s, default 60 (ssr-reference §1.11). */
export const INTERIM_MIN_S = 60;
export const INTERIM_MAX_S = 1800;
export const INTERIM_DEFAULT_S = 60;
export const TEMPLATE_INTERVAL_DEFAULT_S = 60;

export const TELEMETRY_KEYS = ['ipfix', 'history'] as const;
export const IPFIX_KEYS = ['template-interval', 'collectors'] as const;
export const COLLECTOR_KEYS = ['name', 'address', 'port', 'transport', 'interim-interval', 'tenants'] as const;
export const HISTORY_KEYS = ['enabled', 'retention-days', 'max-size-mb'] as const;

export function defaultTelemetry(): TelemetrySettings {
  return { ipfix: { templateInterval: TEMPLATE_INTERVAL_DEFAULT_S, collectors: [] }, history: { ...DEFAULT_HISTORY } };
}

/** Reads `telemetry` at `path` (absent = every default). Problems go to ctx.r.problems. */
export function readTelemetry(value: unknown, path: FieldPath, ctx: ReadContext): TelemetrySettings {
  const out = defaultTelemetry();
  if (value === undefined || value === null) return out;
  const o = ctx.r.object(value, path, 'a telemetry mapping ({ ipfix, history })', TELEMETRY_KEYS);
  if (o === undefined) return out;
  out.ipfix = readIpfix(o['ipfix'], [...path, 'ipfix'], ctx);
  out.history = readHistory(o['history'], [...path, 'history'], ctx);
  ctx.origins.set(out, path);
  return out;
}

function readIpfix(value: unknown, path: FieldPath, ctx: ReadContext): IpfixConfig {
  const out: IpfixConfig = { templateInterval: TEMPLATE_INTERVAL_DEFAULT_S, collectors: [] };
  if (value === undefined || value === null) return out;
  const o = ctx.r.object(value, path, 'an ipfix mapping ({ template-interval, collectors })', IPFIX_KEYS);
  if (o === undefined) return out;
  out.templateInterval = ctx.r.integer(o, 'template-interval', path, 10, 3600, TEMPLATE_INTERVAL_DEFAULT_S, ' seconds');
  out.collectors = readList(ctx, o, 'collectors', path, 'a list of collectors ({ name, address, port, transport, interim-interval, tenants })', (v, p) => readCollector(v, p, ctx));
  const seen = new Set<string>();
  out.collectors.forEach((c, i) => {
    if (seen.has(c.name)) ctx.r.problems.add([...path, 'collectors', i, 'name'], `duplicate collector name ${describe(c.name)}`);
    seen.add(c.name);
  });
  return out;
}

function readCollector(value: unknown, path: FieldPath, ctx: ReadContext): CollectorConfig | undefined {
  const { r } = ctx;
  const o = r.object(value, path, 'a collector mapping ({ name, address, port, transport, interim-interval, tenants })', COLLECTOR_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, NAME_RULES.plain, isPlainName);
  const address = r.string(o, 'address', path, 'the collector\'s IPv4 or IPv6 address', (s) => addressProblem(s) === undefined);
  const port = r.integer(o, 'port', path, 1, 65535, IPFIX_PORT);
  const transport = r.oneOf<IpfixTransport>(o, 'transport', path, ['udp', 'tcp'], 'udp');
  const interimInterval = r.integer(o, 'interim-interval', path, INTERIM_MIN_S, INTERIM_MAX_S, INTERIM_DEFAULT_S, ' seconds');
  const tenants = readTenants(o, path, r);
  if (name === undefined || address === undefined) return undefined;
  return { name, address, port, transport, interimInterval, tenants };
}

function readTenants(o: Raw, path: FieldPath, r: FieldReader): string[] {
  const out: string[] = [];
  for (const [item, at] of r.list(o, 'tenants', path, 'a list of tenant names (only their records go to this collector)')) {
    if (typeof item !== 'string' || !isTenantName(item)) r.problems.expected(at, NAME_RULES.tenant, item);
    else out.push(item);
  }
  return out;
}

function readHistory(value: unknown, path: FieldPath, ctx: ReadContext): HistorySettings {
  if (value === undefined || value === null) return { ...DEFAULT_HISTORY };
  const o = ctx.r.object(value, path, 'a history mapping ({ enabled, retention-days, max-size-mb })', HISTORY_KEYS);
  if (o === undefined) return { ...DEFAULT_HISTORY };
  return {
    enabled: ctx.r.boolean(o, 'enabled', path, DEFAULT_HISTORY.enabled),
    retentionDays: ctx.r.integer(o, 'retention-days', path, 1, 3650, DEFAULT_HISTORY.retentionDays, ' days'),
    maxSizeMb: ctx.r.integer(o, 'max-size-mb', path, 16, 1_048_576, DEFAULT_HISTORY.maxSizeMb, ' MiB'),
  };
}

/**
 * Validates a `telemetry` value on its own (before it is part of the config file): the settings, or
 * ConfigError SVR_ERR_CONFIG_INVALID listing every problem with its field path (data.problems).
 */
export function parseTelemetry(value: unknown, path: FieldPath = ['telemetry']): TelemetrySettings {
  const problems = new Problems();
  const config = readTelemetry(value, path, { r: new FieldReader(problems), origins: new WeakMap() });
  if (problems.list.length > 0) {
    const errors: ConfigProblem[] = problems.list.map((p) => ({ path: formatPath(p.segments), message: p.message }));
    const n = errors.length;
    throw new ConfigError('SVR_ERR_CONFIG_INVALID', `invalid telemetry settings (${n} problem${n === 1 ? '' : 's'}):\n${errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`, { source: formatPath(path), problems: errors });
  }
  return config;
}

/** The telemetry block in file form (kebab-case), only what differs from the defaults; undefined when all default. */
export function telemetryToDocument(t: TelemetrySettings): Record<string, unknown> | undefined {
  const d = defaultTelemetry();
  const ipfix: Record<string, unknown> = {};
  if (t.ipfix.templateInterval !== d.ipfix.templateInterval) ipfix['template-interval'] = t.ipfix.templateInterval;
  if (t.ipfix.collectors.length > 0) {
    ipfix['collectors'] = t.ipfix.collectors.map((c) => ({
      name: c.name, address: c.address, port: c.port, transport: c.transport, 'interim-interval': c.interimInterval,
      ...(c.tenants.length > 0 ? { tenants: c.tenants } : {}),
    }));
  }
  const h = t.history;
  const history = h.enabled !== d.history.enabled || h.retentionDays !== d.history.retentionDays || h.maxSizeMb !== d.history.maxSizeMb
    ? { ...(h.enabled ? {} : { enabled: false }), 'retention-days': h.retentionDays, 'max-size-mb': h.maxSizeMb } : undefined;
  const out = { ...(Object.keys(ipfix).length > 0 ? { ipfix } : {}), ...(history !== undefined ? { history } : {}) };
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The IPFIX observation domain id of each router, in order: its `observation-domain-id`, else its position + 1. */
export function observationDomains(routers: readonly { observationDomainId?: number }[]): number[] {
  return routers.map((r, i) => r.observationDomainId ?? i + 1);
}

/** The IPFIX observation domain id of the router called `name` (see observationDomains). */
export function observationDomainOf(routers: readonly { name: string; observationDomainId?: number }[], name: string): number {
  const i = routers.findIndex((r) => r.name === name);
  if (i < 0) throw new SvrError('SVR_ERR_CONFIG_ROUTER', `no router named ${describe(name)} in the authority`);
  return observationDomains(routers)[i]!;
}
