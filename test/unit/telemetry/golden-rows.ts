/**
 * Fact-ring rows written by hand (layout: src/dataplane/fact-ring.ts), the same every run: sessions of every
 * kind a records thread meets (ingress with a path, source and destination NAT, egress over IPv6, local
 * without a path, a replaced one, one that moves to another path, live totals, denied first packets, an end
 * of a session never opened). For the golden test of the records built from rows (records-golden.test.ts).
 */
import {
  COUNTERS_ENTRY, FACT_CLOSED, FACT_COUNTERS, FACT_DENIED, FACT_GEN, FACT_MIGRATED, FACT_NAME, FACT_OPENED, FactRing,
  NAME_APP, NAME_BYTES, NAME_INTERFACE, NAME_PATH, NAME_SERVICE, NAME_TENANT, OPENED_DNAT, OPENED_SNAT,
} from '../../../src/dataplane/fact-ring.js';
import { CLOSE_CODES, MIGRATION_CODES } from '../../../src/dataplane/fact-writer.js';
import { DENY_REASONS, type CloseReason, type DenyReason, type MigrationReason } from '../../../src/dataplane/events.js';

export const GOLDEN_T0 = 1_700_000_000_000;
const ROLE_INGRESS = 1;
const ROLE_EGRESS = 2;
const ROLE_LOCAL = 3;
const UDP = 17;
const TCP = 6;

/** Session id k: 4 words, a version-4 UUID. */
const id = (k: number): number[] => [0x5e551000 + k, 0x0000_4000 + k, 0x8000_0000 + k, 0x0000_1000 * k + 7];
const v4 = (a: number, b: number, c: number, d: number): number[] => [((a << 24) | (b << 16) | (c << 8) | d) >>> 0, 0, 0, 0];
const v6 = (last: number): number[] => [0x2001_0db8, 0, 0, last];

class Rows {
  private k = 0;
  constructor(readonly ring: FactRing) {}

  private row(): number {
    const w = this.ring.nextRow(this.k++);
    this.ring.words.fill(0, w, w + 32);
    return w;
  }

  publish(): void {
    this.ring.publish(this.k);
    this.k = 0;
  }

  gen(generation: number, epoch: number): void {
    const w = this.row();
    this.ring.words[w] = FACT_GEN;
    this.ring.words[w + 1] = generation;
    this.ring.words[w + 2] = epoch;
  }

  name(table: number, nameId: number, text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > 128 - NAME_BYTES) throw new Error('one row per name here');
    const w = this.row();
    const words = this.ring.words;
    words[w] = FACT_NAME | (table << 8);
    words[w + 1] = nameId;
    words[w + 2] = bytes.length;
    words[w + 3] = 1;
    this.ring.bytes.set(bytes, w * 4 + NAME_BYTES);
  }

  opened(o: {
    k: number; atMs: number; role: number; family: 4 | 6; protocol: number; snat?: boolean; dnat?: boolean; natPorts?: number;
    tenant: number; service: number; app: number; path: number; inIf: number; outIf: number; ports: number; wpPorts: number;
    src: number[]; dst: number[]; natSrc?: number[]; natDst?: number[];
  }): void {
    const w = this.row();
    const words = this.ring.words;
    const flags = (o.snat === true ? OPENED_SNAT : 0) | (o.dnat === true ? OPENED_DNAT : 0);
    words[w] = (FACT_OPENED | (o.role << 8) | (o.family << 16) | (flags << 20) | (o.protocol << 24)) >>> 0;
    words[w + 1] = o.natPorts ?? 0;
    this.ring.f64[(w + 2) / 2] = o.atMs;
    words.set(id(o.k), w + 4);
    words[w + 8] = o.tenant;
    words[w + 9] = o.service;
    words[w + 10] = o.app;
    words[w + 11] = o.path + 1;
    words[w + 12] = o.inIf;
    words[w + 13] = o.outIf;
    words[w + 14] = o.ports;
    words[w + 15] = o.wpPorts;
    words.set(o.src, w + 16);
    words.set(o.dst, w + 20);
    if (o.natSrc !== undefined) words.set(o.natSrc, w + 24);
    if (o.natDst !== undefined) words.set(o.natDst, w + 28);
  }

  closed(k: number, atMs: number, reason: CloseReason, app: number, counts: [number, number, number, number]): void {
    const w = this.row();
    this.ring.words[w] = FACT_CLOSED | (CLOSE_CODES.indexOf(reason) << 8);
    this.ring.words[w + 1] = app;
    this.ring.f64[(w + 2) / 2] = atMs;
    this.ring.words.set(id(k), w + 4);
    counts.forEach((c, i) => (this.ring.f64[(w + 8) / 2 + i] = c));
  }

  counters(atMs: number, entries: { k: number; counts: [number, number, number, number] }[]): void {
    const w = this.row();
    this.ring.words[w] = FACT_COUNTERS;
    this.ring.words[w + 1] = entries.length;
    this.ring.f64[(w + 2) / 2] = atMs;
    entries.forEach((e, i) => {
      const o = w + 4 + i * COUNTERS_ENTRY;
      this.ring.words.set(id(e.k), o);
      e.counts.forEach((c, j) => (this.ring.f64[(o + 4) / 2 + j] = c));
    });
  }

  migrated(k: number, atMs: number, reason: MigrationReason, role: number, protocol: number, from: number, to: number, wpPorts: number): void {
    const w = this.row();
    this.ring.words[w] = (FACT_MIGRATED | (MIGRATION_CODES.indexOf(reason) << 8) | (role << 16) | (protocol << 24)) >>> 0;
    this.ring.words[w + 1] = wpPorts;
    this.ring.f64[(w + 2) / 2] = atMs;
    this.ring.words.set(id(k), w + 4);
    this.ring.words[w + 8] = from + 1;
    this.ring.words[w + 9] = to + 1;
  }

  denied(atMs: number, reason: DenyReason, suppressed: number, o: { protocol: number; inIf: number; tenant: number; service: number; ports: number; src: number[]; dst: number[] }): void {
    const w = this.row();
    const words = this.ring.words;
    words[w] = FACT_DENIED;
    words[w + 1] = suppressed;
    this.ring.f64[(w + 2) / 2] = atMs;
    const d = w + 4;
    words[d] = DENY_REASONS.indexOf(reason);
    words[d + 1] = 4 | (o.protocol << 8);
    words[d + 2] = o.inIf;
    words[d + 3] = o.tenant + 1;
    words[d + 4] = o.service + 1;
    words[d + 5] = o.ports;
    words.set(o.src.slice(0, 4), d + 6);
    words.set(o.dst.slice(0, 4), d + 10);
  }
}

/** Phase 1: names and opened sessions, live totals (read, then interim records fall due at GOLDEN_T0 + 61 s). */
export function writeOpenings(ring: FactRing, epoch: number): void {
  const r = new Rows(ring);
  const T = GOLDEN_T0;
  r.gen(3, epoch);
  r.name(NAME_TENANT, 0, 'blue');
  r.name(NAME_TENANT, 1, 'red');
  r.name(NAME_SERVICE, 0, 'dns');
  r.name(NAME_SERVICE, 1, 'web');
  r.name(NAME_PATH, 0, ['wan0->r2/wan0', 'r2', '198.18.12.1', '198.18.12.2'].join('\0'));
  r.name(NAME_PATH, 1, ['wan1->r2/wan1', 'r2', '198.18.13.1', '198.18.13.2'].join('\0'));
  r.name(NAME_INTERFACE, 0, 'lan0');
  r.name(NAME_INTERFACE, 1, 'wan0');
  r.name(NAME_INTERFACE, 2, 'wan1');
  r.name(NAME_APP, 1, 'http');
  const lanToWan = { inIf: 0, outIf: 1 };
  // ingress UDP with a path
  r.opened({ k: 1, atMs: T + 1, role: ROLE_INGRESS, family: 4, protocol: UDP, tenant: 0, service: 0, app: 0, path: 0, ...lanToWan, ports: (40000 << 16) | 53, wpPorts: (16400 << 16) | 16401, src: v4(198, 18, 1, 10), dst: v4(198, 18, 3, 20) });
  // ingress TCP, source and destination NAT, an application from the start
  r.opened({
    k: 2, atMs: T + 2, role: ROLE_INGRESS, family: 4, protocol: TCP, snat: true, dnat: true, natPorts: (61000 << 16) | 8080,
    tenant: 1, service: 1, app: 1, path: 0, ...lanToWan, ports: (40001 << 16) | 80, wpPorts: (16402 << 16) | 16403,
    src: v4(198, 18, 1, 11), dst: v4(198, 18, 3, 21), natSrc: v4(198, 18, 2, 1), natDst: v4(198, 18, 4, 9),
  });
  // egress TCP over IPv6 on path 1
  r.opened({ k: 3, atMs: T + 3, role: ROLE_EGRESS, family: 6, protocol: TCP, tenant: 1, service: 1, app: 0, path: 1, inIf: 2, outIf: 0, ports: (40002 << 16) | 443, wpPorts: (16404 << 16) | 16405, src: v6(0x10), dst: v6(0x20) });
  // local, no path, no egress interface
  r.opened({ k: 4, atMs: T + 4, role: ROLE_LOCAL, family: 4, protocol: UDP, tenant: 0, service: 0, app: 0, path: -1, inIf: 0, outIf: -1, ports: (40003 << 16) | 7, wpPorts: 0, src: v4(198, 18, 1, 12), dst: v4(198, 18, 1, 1) });
  // opened twice (the second replaces the first)
  r.opened({ k: 5, atMs: T + 5, role: ROLE_INGRESS, family: 4, protocol: UDP, tenant: 0, service: 0, app: 0, path: 0, ...lanToWan, ports: (40004 << 16) | 53, wpPorts: (16406 << 16) | 16407, src: v4(198, 18, 1, 13), dst: v4(198, 18, 3, 22) });
  r.opened({ k: 5, atMs: T + 6, role: ROLE_INGRESS, family: 4, protocol: UDP, tenant: 0, service: 0, app: 0, path: 1, inIf: 0, outIf: 2, ports: (40005 << 16) | 53, wpPorts: (16408 << 16) | 16409, src: v4(198, 18, 1, 13), dst: v4(198, 18, 3, 22) });
  r.counters(T + 50_000, [{ k: 2, counts: [40, 30, 40_000, 3_000] }, { k: 3, counts: [7, 0, 700, 0] }]);
  r.publish();
}

/** Phase 2 (after the interim records): a move, more totals, the ends, denied first packets. */
export function writeEndings(ring: FactRing): void {
  const r = new Rows(ring);
  const T = GOLDEN_T0;
  r.migrated(2, T + 62_000, 'path-down', ROLE_INGRESS, TCP, 0, 1, (16410 << 16) | 16411);
  r.counters(T + 70_000, [{ k: 2, counts: [50, 41, 50_000, 4_100] }]);
  r.closed(1, T + 1_500, 'idle', 0, [3, 2, 300, 200]);
  r.closed(2, T + 80_000, 'fin', 1, [60, 45, 61_000, 4_500]);
  r.closed(3, T + 90_000, 'admin', 0, [9, 0, 900, 0]);
  r.closed(4, T + 2_000, 'rst', 0, [1, 0, 64, 0]);
  r.closed(5, T + 3_000, 'path-lost', 0, [2, 2, 128, 128]);
  r.closed(99, T + 3_000, 'idle', 0, [1, 1, 1, 1]); // never opened
  r.denied(T + 4_000, 'access-denied', 2, { protocol: TCP, inIf: 0, tenant: 1, service: 1, ports: (40100 << 16) | 22, src: v4(198, 18, 1, 14), dst: v4(198, 18, 3, 23) });
  r.denied(T + 4_001, 'no-tenant', 0, { protocol: UDP, inIf: 0, tenant: -1, service: -1, ports: (40101 << 16) | 53, src: v4(198, 18, 9, 1), dst: v4(198, 18, 3, 23) });
  r.publish();
}
