/**
 * The `telemetry` settings as data: IPFIX collectors and history retention. Read with the model's field
 * readers (src/model/fields.ts), so every bad field is reported with its path, all in one pass:
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
 *       retention-days: 7             # 1-3650
 *       max-size-mb: 1024             # 16-1048576
 */
import { ConfigError } from '../errors.js';
import { FieldReader, readList, type Raw, type ReadContext } from '../model/fields.js';
import { addressProblem } from '../model/formats.js';
import { NAME_RULES, isPlainName, isTenantName } from '../model/names.js';
import { Problems, describe, formatPath, type ConfigProblem, type FieldPath } from '../model/problems.js';
import { INTERIM_DEFAULT_S, INTERIM_MAX_S, INTERIM_MIN_S } from './record.js';

export type IpfixTransport = 'udp' | 'tcp';

export interface CollectorConfig {
  name: string;
  address: string;
  port: number;
  transport: IpfixTransport;
  /** seconds between interim records, 60-1800 */
  interimIntervalS: number;
  /** only records of these tenants; empty = all */
  tenants: string[];
}

export interface IpfixConfig {
  /** seconds between UDP template resends */
  templateIntervalS: number;
  collectors: CollectorConfig[];
}

export interface HistoryRetention {
  maxAgeDays: number;
  maxSizeMb: number;
}

export interface TelemetryConfig {
  ipfix: IpfixConfig;
  history: HistoryRetention;
}

export const IPFIX_PORT = 4739;
export const DEFAULT_RETENTION: HistoryRetention = { maxAgeDays: 7, maxSizeMb: 1024 };

const TELEMETRY_KEYS = ['ipfix', 'history'] as const;
const IPFIX_KEYS = ['template-interval', 'collectors'] as const;
const COLLECTOR_KEYS = ['name', 'address', 'port', 'transport', 'interim-interval', 'tenants'] as const;
const HISTORY_KEYS = ['retention-days', 'max-size-mb'] as const;

/** Reads `telemetry` at `path` (absent = every default). Problems go to ctx.r.problems. */
export function readTelemetry(value: unknown, path: FieldPath, ctx: ReadContext): TelemetryConfig {
  const out: TelemetryConfig = { ipfix: { templateIntervalS: 60, collectors: [] }, history: { ...DEFAULT_RETENTION } };
  if (value === undefined || value === null) return out;
  const o = ctx.r.object(value, path, 'a telemetry mapping ({ ipfix, history })', TELEMETRY_KEYS);
  if (o === undefined) return out;
  out.ipfix = readIpfix(o['ipfix'], [...path, 'ipfix'], ctx);
  out.history = readHistory(o['history'], [...path, 'history'], ctx);
  return out;
}

function readIpfix(value: unknown, path: FieldPath, ctx: ReadContext): IpfixConfig {
  const out: IpfixConfig = { templateIntervalS: 60, collectors: [] };
  if (value === undefined || value === null) return out;
  const o = ctx.r.object(value, path, 'an ipfix mapping ({ template-interval, collectors })', IPFIX_KEYS);
  if (o === undefined) return out;
  out.templateIntervalS = ctx.r.integer(o, 'template-interval', path, 10, 3600, 60, ' seconds');
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
  const interimIntervalS = r.integer(o, 'interim-interval', path, INTERIM_MIN_S, INTERIM_MAX_S, INTERIM_DEFAULT_S, ' seconds');
  const tenants = readTenants(o, path, r);
  if (name === undefined || address === undefined) return undefined;
  return { name, address, port, transport, interimIntervalS, tenants };
}

function readTenants(o: Raw, path: FieldPath, r: FieldReader): string[] {
  const out: string[] = [];
  for (const [item, at] of r.list(o, 'tenants', path, 'a list of tenant names (only their records go to this collector)')) {
    if (typeof item !== 'string' || !isTenantName(item)) r.problems.expected(at, NAME_RULES.tenant, item);
    else out.push(item);
  }
  return out;
}

function readHistory(value: unknown, path: FieldPath, ctx: ReadContext): HistoryRetention {
  if (value === undefined || value === null) return { ...DEFAULT_RETENTION };
  const o = ctx.r.object(value, path, 'a history mapping ({ retention-days, max-size-mb })', HISTORY_KEYS);
  if (o === undefined) return { ...DEFAULT_RETENTION };
  return {
    maxAgeDays: ctx.r.integer(o, 'retention-days', path, 1, 3650, DEFAULT_RETENTION.maxAgeDays, ' days'),
    maxSizeMb: ctx.r.integer(o, 'max-size-mb', path, 16, 1_048_576, DEFAULT_RETENTION.maxSizeMb, ' MiB'),
  };
}

/**
 * Validates a `telemetry` value on its own (before it is part of the config file): the settings, or
 * ConfigError SVR_ERR_CONFIG_INVALID listing every problem with its field path (data.problems).
 */
export function parseTelemetry(value: unknown, path: FieldPath = ['telemetry']): TelemetryConfig {
  const problems = new Problems();
  const config = readTelemetry(value, path, { r: new FieldReader(problems), origins: new WeakMap() });
  if (problems.list.length > 0) {
    const errors: ConfigProblem[] = problems.list.map((p) => ({ path: formatPath(p.segments), message: p.message }));
    const n = errors.length;
    throw new ConfigError('SVR_ERR_CONFIG_INVALID', `invalid telemetry settings (${n} problem${n === 1 ? '' : 's'}):\n${errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`, { source: formatPath(path), problems: errors });
  }
  return config;
}
