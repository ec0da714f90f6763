/**
 * Audit lines for refused sessions. The session-open hook writes one record into an `EventRing` (no
 * allocation); the control side drains it 200 ms after it wakes and writes `deny` lines through the
 * plugin logger, at most `log-rate` per second. What it holds back is summed up in one
 * `deny-suppressed` line per drain ({ count, lost }: held back by the rate, dropped by a full ring).
 */
import type { OpeningSession, PluginLogger } from '../../api.js';
import type { PluginTables } from '../../api.js';
import { addressText } from '../shared/address.js';
import { EventRing, LogLimiter, RING_INTS, drainOnWake } from '../shared/event-ring.js';

export const DENY_ZONE = 1;

const REASONS: Record<number, string> = { [DENY_ZONE]: 'zone' };
const ROLES = ['ingress', 'egress', 'local'] as const;
const DRAIN_MS = 200;

export class DenyAudit {
  readonly ring = new EventRing(256);

  /** Data path: records a refusal of `s` (the hook's reusable object; copied, not kept). */
  record(reason: number, s: OpeningSession, zone: number): void {
    const r = this.ring;
    const i = r.claim();
    if (i < 0) return;
    const o = i * RING_INTS;
    r.kind[i] = reason;
    r.ints[o] = s.tenant;
    r.ints[o + 1] = s.service;
    r.ints[o + 2] = zone;
    r.ints[o + 3] = s.protocol;
    r.ints[o + 4] = (s.srcPort << 16) | s.dstPort;
    r.ints[o + 5] = ROLES.indexOf(s.role);
    r.setAddresses(i, s.family, s.src, s.dst);
    r.commit();
  }

  /** Control side: drain into `log`, naming tenants, services and zones, until `signal` aborts. */
  attach(log: PluginLogger, signal: AbortSignal, perSecond: number, tables: () => PluginTables | null, zoneNames: readonly string[]): void {
    const limiter = new LogLimiter(perSecond);
    let lostSeen = 0;
    drainOnWake(this.ring, DRAIN_MS, signal, () => {
      const t = tables();
      const r = this.ring;
      r.drain((i) => {
        if (!limiter.allow(Date.now())) return;
        const o = i * RING_INTS;
        const fam = r.family[i] as 4 | 6;
        const ports = r.ints[o + 4]!;
        log.info('deny', {
          reason: REASONS[r.kind[i]!] ?? String(r.kind[i]),
          role: ROLES[r.ints[o + 5]!] ?? '?',
          tenant: t?.tenants[r.ints[o]!] ?? String(r.ints[o]),
          zone: zoneNames[r.ints[o + 2]!] ?? '',
          service: t?.services[r.ints[o + 1]!]?.name ?? String(r.ints[o + 1]),
          protocol: r.ints[o + 3]!,
          source: `${addressText(r.addrs, i * 32, fam)}:${ports >>> 16}`,
          destination: `${addressText(r.addrs, i * 32 + 16, fam)}:${ports & 0xffff}`,
        });
      });
      if (limiter.suppressed > 0 || r.lost > lostSeen) {
        log.info('deny-suppressed', { count: limiter.suppressed, lost: r.lost - lostSeen });
        limiter.suppressed = 0;
        lostSeen = r.lost;
      }
      return false;
    });
  }
}
