/** The QoS plugin's options, checked field by field (see README.md for each field and its default). */
import { PluginOptionsError } from '../../api.js';
import { integer, join, oneOf, record, text } from '../shared/options.js';
import { quantity } from '../shared/quantity.js';
import { MAX_DEPTH } from './policer.js';

/** bits/s: 100 Gbit/s keeps every bucket depth within int32 bytes */
const MAX_RATE = 1e11;

export const QUEUES = ['high', 'medium', 'low', 'best-effort'] as const;
export type Queue = (typeof QUEUES)[number];
export const BEST_EFFORT = 3;

export interface ServiceClass {
  /** index into QUEUES (0 = high) */
  readonly queue: number;
  /** DSCP to mark, or -1 to leave packets as they are */
  readonly dscp: number;
}

export interface ServiceQos {
  readonly cls: ServiceClass;
  /** bits/s per direction for the whole service, 0 = none; burst in bytes */
  readonly rate: number;
  readonly burst: number;
  /** bits/s per direction for each session, 0 = none; burst in bytes */
  readonly flowRate: number;
  readonly flowBurst: number;
}

/** `shape`: the node's kernel shaper queues a service's packets over `rate` (docs/shaping.md); `police`: dropped here */
export const RATE_LIMITS = ['shape', 'police'] as const;
export type RateLimit = (typeof RATE_LIMITS)[number];

export interface QosOptions {
  readonly rateLimit: RateLimit;
  readonly classes: ReadonlyMap<string, ServiceClass>;
  readonly services: ReadonlyMap<string, ServiceQos>;
  /** bits/s per direction shared by the four queues; 0 = no scheduler */
  readonly transmitCap: number;
  /** percent per queue (QUEUES order), summing to 100 */
  readonly shares: readonly number[];
}

/** A burst large enough for two full-size packets, else 100 ms of the rate. */
export function defaultBurst(bitsPerSecond: number): number {
  return Math.max(3000, Math.ceil(bitsPerSecond / 80));
}

function readClass(v: unknown, path: string): ServiceClass {
  const o = record(v, path, ['queue', 'dscp']);
  if (o['queue'] === undefined) throw new PluginOptionsError(join(path, 'queue'), `expected one of ${QUEUES.join(' | ')}, got nothing`);
  const queue = QUEUES.indexOf(oneOf(o['queue'], join(path, 'queue'), QUEUES, 'best-effort'));
  return { queue, dscp: integer(o['dscp'], join(path, 'dscp'), 0, 63, -1) };
}

function readService(v: unknown, path: string, classes: ReadonlyMap<string, ServiceClass>): ServiceQos {
  const o = record(v, path, ['class', 'rate', 'burst', 'flow-rate', 'flow-burst']);
  let cls: ServiceClass = { queue: BEST_EFFORT, dscp: -1 };
  if (o['class'] !== undefined) {
    const name = text(o['class'], join(path, 'class'));
    const c = classes.get(name);
    if (c === undefined) throw new PluginOptionsError(join(path, 'class'), `no class ${JSON.stringify(name)} in classes (classes: ${[...classes.keys()].join(', ') || 'none'})`);
    cls = c;
  }
  const rate = quantity(o['rate'], join(path, 'rate'), 0, MAX_RATE);
  const flowRate = quantity(o['flow-rate'], join(path, 'flow-rate'), 0, MAX_RATE);
  if (o['burst'] !== undefined && rate === 0) throw new PluginOptionsError(join(path, 'burst'), 'burst needs rate');
  if (o['flow-burst'] !== undefined && flowRate === 0) throw new PluginOptionsError(join(path, 'flow-burst'), 'flow-burst needs flow-rate');
  const burst = quantity(o['burst'], join(path, 'burst'), defaultBurst(rate), MAX_DEPTH);
  const flowBurst = quantity(o['flow-burst'], join(path, 'flow-burst'), defaultBurst(flowRate), MAX_DEPTH);
  for (const [k, b] of [['burst', burst], ['flow-burst', flowBurst]] as const) {
    if (b < 1500) throw new PluginOptionsError(join(path, k), `a burst below one full-size packet (1500 bytes) passes nothing, got ${b}`);
  }
  return { cls, rate, burst, flowRate, flowBurst };
}

export function readQosOptions(raw: unknown): QosOptions {
  const o = record(raw, '', ['rate-limit', 'classes', 'services', 'transmit-cap', 'shares']);
  const rateLimit = oneOf(o['rate-limit'], 'rate-limit', RATE_LIMITS, 'shape');
  const classes = new Map<string, ServiceClass>();
  for (const [name, c] of Object.entries(record(o['classes'], 'classes'))) classes.set(name, readClass(c, join('classes', name)));
  const services = new Map<string, ServiceQos>();
  for (const [name, s] of Object.entries(record(o['services'], 'services'))) services.set(name, readService(s, join('services', name), classes));
  const transmitCap = quantity(o['transmit-cap'], 'transmit-cap', 0, MAX_RATE);
  const rawShares = record(o['shares'], 'shares', QUEUES);
  const dflt = [40, 30, 20, 10];
  // listed shares replace the defaults as a whole: the ones not listed are 0
  const shares = QUEUES.map((q, i) => integer(rawShares[q], join('shares', q), 0, 100, o['shares'] === undefined ? dflt[i]! : 0));
  const sum = shares.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 100) > 1e-9) throw new PluginOptionsError('shares', `must sum to 100, got ${sum} (${QUEUES.map((q, i) => `${q} ${shares[i]}`).join(', ')})`);
  if (rateLimit === 'shape') checkShapedDscps(services);
  return { rateLimit, classes, services, transmitCap, shares };
}

/** The kernel shaper picks a shaped service's queue by DSCP: its class must mark one that no other service carries. */
function checkShapedDscps(services: ReadonlyMap<string, ServiceQos>): void {
  for (const [name, s] of services) {
    if (s.rate === 0) continue;
    if (s.cls.dscp < 0) throw new PluginOptionsError(join(join('services', name), 'class'), 'a service with rate is shaped by DSCP (rate-limit: shape): give it a class with a dscp, or set rate-limit: police');
    for (const [other, t] of services) {
      if (other !== name && t.cls.dscp === s.cls.dscp) {
        throw new PluginOptionsError(join(join('services', name), 'class'), `dscp ${s.cls.dscp} is also marked on service ${other}: a shaped service (rate-limit: shape) needs a dscp of its own, or set rate-limit: police`);
      }
    }
  }
}

/** What the node's egress shaper gets: one queue per shaped service's DSCP, `burst` bytes deep. */
export function egressRates(o: QosOptions): { dscp: number; rate: number; queueBytes: number }[] {
  if (o.rateLimit !== 'shape') return [];
  return [...o.services.values()].filter((s) => s.rate > 0).map((s) => ({ dscp: s.cls.dscp, rate: s.rate, queueBytes: s.burst }));
}
