/** The DoS plugin's options, checked field by field (see README.md for each field and its default). */
import { PluginOptionsError } from '../../api.js';
import { integer, join, record } from '../shared/options.js';
import { quantity } from '../shared/quantity.js';

export interface RateLimit {
  /** sessions per second; 0 = no limit */
  readonly rate: number;
  /** bucket depth: sessions that may open at once after a quiet time */
  readonly burst: number;
}

export interface DosOptions {
  /** per source address */
  readonly perSource: RateLimit;
  /** by service name */
  readonly perService: ReadonlyMap<string, RateLimit>;
  /** TCP sessions not yet established, router-wide; 0 = off */
  readonly halfOpen: number;
  /** sessions open through this plugin, router-wide; 0 = off */
  readonly maxSessions: number;
  /** source buckets (a power of two); sources that hash alike share one */
  readonly sourceBuckets: number;
  /** ms without a refusal after which a limit counts as stopped */
  readonly quietPeriod: number;
  /** limit-start/limit-stop lines per second at most */
  readonly logRate: number;
}

const MAX_RATE = 1e7;

function limit(v: unknown, path: string): RateLimit {
  if (typeof v === 'number' || typeof v === 'string') {
    const rate = quantity(v, path, 0, MAX_RATE);
    return { rate, burst: Math.max(1, Math.ceil(rate)) };
  }
  const o = record(v, path, ['rate', 'burst']);
  if (o['rate'] === undefined) throw new PluginOptionsError(join(path, 'rate'), 'expected sessions per second, got nothing');
  const rate = quantity(o['rate'], join(path, 'rate'), 0, MAX_RATE);
  return { rate, burst: integer(o['burst'], join(path, 'burst'), 1, MAX_RATE, Math.max(1, Math.ceil(rate))) };
}

export function readDosOptions(raw: unknown): DosOptions {
  const o = record(raw, '', ['per-source-rate', 'burst', 'per-service-rate', 'half-open', 'max-sessions', 'source-buckets', 'quiet-period', 'log-rate']);
  const srcRate = quantity(o['per-source-rate'], 'per-source-rate', 0, MAX_RATE);
  if (o['burst'] !== undefined && srcRate === 0) throw new PluginOptionsError('burst', 'burst is the per-source bucket depth: set per-source-rate too');
  const burst = integer(o['burst'], 'burst', 1, MAX_RATE, Math.max(1, Math.ceil(srcRate)));
  const perService = new Map<string, RateLimit>();
  for (const [svc, v] of Object.entries(record(o['per-service-rate'], 'per-service-rate'))) perService.set(svc, limit(v, join('per-service-rate', svc)));
  const sourceBuckets = integer(o['source-buckets'], 'source-buckets', 1, 1 << 24, 65536);
  if ((sourceBuckets & (sourceBuckets - 1)) !== 0) throw new PluginOptionsError('source-buckets', `expected a power of two, got ${sourceBuckets}`);
  return {
    perSource: { rate: srcRate, burst },
    perService,
    halfOpen: integer(o['half-open'], 'half-open', 0, 1e8, 0),
    maxSessions: integer(o['max-sessions'], 'max-sessions', 0, 1e8, 0),
    sourceBuckets,
    quietPeriod: integer(o['quiet-period'], 'quiet-period', 10, 3_600_000, 2000),
    logRate: integer(o['log-rate'], 'log-rate', 0, 10_000, 10),
  };
}
