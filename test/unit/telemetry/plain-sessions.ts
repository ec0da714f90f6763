/**
 * Plain sessions (open-sessions.ts `plain`) of every kind their flows and history rows are written from a slot for:
 * NAT each way, IPv6 over IPv4 and IPv6 paths, local, ICMP, no reply, an application at the end, counts past 2^32,
 * UTF-8 and over-long names, tenants; opened in a builder as a fact ring's OPENED rows (ipfix-plain, history-plain).
 */
import { OPENED_DNAT, OPENED_SNAT } from '../../../src/dataplane/fact-ring.js';
import { pathNames, type RowNames } from '../../../src/telemetry/open-sessions.js';
import type { CloseReason, SessionRecordBuilder } from '../../../src/telemetry/record.js';

export const T0 = 1_700_000_000_000;
export const INGRESS = 1;
const EGRESS = 2;
const LOCAL = 3;
const v4 = (a: number, b: number, c: number, d: number): number[] => [((a << 24) | (b << 16) | (c << 8) | d) >>> 0, 0, 0, 0];
const v6 = (last: number): number[] => [0x2001_0db8, 0, 0x1234_0000, last];
export const lan = { name: 'lan0', index: 1 };
const wan = { name: 'wan0', index: 2 };
const v4Path = pathNames('wan0->r2/wan0', 'r2', '198.18.12.1', '198.18.12.2');
const v6Path = pathNames('wan6->r3/wan6', 'r3', '2001:db8:12::1', '2001:db8:12::2');
const badPath = pathNames('odd', 'r4', 'not-an-address', '');

export interface Session {
  role: number; family: 4 | 6; protocol: number; flags?: number; natPorts?: number; ports: number; wpPorts?: number;
  src: number[]; dst: number[]; natSrc?: number[]; natDst?: number[];
  names?: Partial<RowNames>; reason?: CloseReason; counts: [number, number, number, number]; app?: string;
}

export const base: RowNames = { tenant: 'blue', service: 'dns', application: '', path: v4Path, ingressInterface: lan, egressInterface: wan };
export const SESSIONS: Session[] = [
  { role: INGRESS, family: 4, protocol: 17, ports: (40000 << 16) | 53, wpPorts: (16400 << 16) | 16401, src: v4(198, 18, 1, 10), dst: v4(198, 18, 3, 20), counts: [3, 2, 300, 200] },
  { role: INGRESS, family: 4, protocol: 17, ports: (40001 << 16) | 53, wpPorts: (16402 << 16) | 16403, src: v4(198, 18, 1, 11), dst: v4(198, 18, 3, 20), counts: [1, 1, 80, 120] },
  {
    role: INGRESS, family: 4, protocol: 6, flags: OPENED_SNAT | OPENED_DNAT, natPorts: (61000 << 16) | 8080, ports: (40002 << 16) | 80, wpPorts: (1 << 16) | 2,
    src: v4(198, 18, 1, 12), dst: v4(198, 18, 3, 21), natSrc: v4(198, 18, 2, 1), natDst: v4(198, 18, 4, 9), reason: 'fin-rst', counts: [60, 45, 61_000, 4_500],
    names: { tenant: 'red', service: 'web' }, app: 'http',
  },
  { role: EGRESS, family: 4, protocol: 6, flags: OPENED_SNAT, natPorts: (62000 << 16) | 443, ports: (40003 << 16) | 443, src: v4(10, 0, 0, 1), dst: v4(10, 0, 0, 2), natSrc: v4(10, 9, 9, 9), counts: [5, 4, 500, 400] },
  { role: EGRESS, family: 4, protocol: 6, flags: OPENED_DNAT, natPorts: (40004 << 16) | 8443, ports: (40004 << 16) | 443, src: v4(10, 0, 0, 3), dst: v4(10, 0, 0, 4), natDst: v4(10, 8, 8, 8), reason: 'admin', counts: [5, 0, 500, 0] },
  { role: EGRESS, family: 6, protocol: 6, ports: (40005 << 16) | 443, wpPorts: (16404 << 16) | 16405, src: v6(0x10), dst: v6(0x20), reason: 'replaced', counts: [9, 7, 900, 700] },
  { role: INGRESS, family: 6, protocol: 17, ports: (40006 << 16) | 53, wpPorts: (16406 << 16) | 16407, src: v6(0x11), dst: v6(0x21), names: { path: v6Path }, counts: [2, 2, 2 ** 40 + 3, 2 ** 33] },
  { role: INGRESS, family: 4, protocol: 17, ports: (40007 << 16) | 53, wpPorts: 7, src: v4(198, 18, 1, 13), dst: v4(198, 18, 3, 22), names: { path: v6Path }, counts: [1, 0, 64, 0] },
  { role: LOCAL, family: 4, protocol: 1, ports: 0x0800_0001, src: v4(198, 18, 1, 14), dst: v4(198, 18, 1, 1), names: { path: undefined, egressInterface: { name: '', index: -1 } }, reason: 'shutdown', counts: [1, 1, 84, 84] },
  { role: LOCAL, family: 6, protocol: 58, ports: 0x8000_0002, src: v6(0x12), dst: v6(1), names: { path: v4Path }, counts: [4, 4, 416, 416] },
  { role: INGRESS, family: 4, protocol: 1, ports: 0x0800_0003, wpPorts: (16408 << 16) | 16409, src: v4(198, 18, 1, 15), dst: v4(198, 18, 3, 23), reason: 'path-lost', counts: [7, 6, 588, 504] },
  {
    role: INGRESS, family: 4, protocol: 17, ports: (40008 << 16) | 53, wpPorts: (16410 << 16) | 16411, src: v4(198, 18, 1, 16), dst: v4(198, 18, 3, 24),
    names: { tenant: 'grün-€', service: 's'.repeat(120), application: 'ä'.repeat(70), ingressInterface: { name: 'lan-ü', index: 7 } }, reason: 'no-route', counts: [2, 1, 200, 100],
  },
  { role: EGRESS, family: 4, protocol: 17, ports: (40009 << 16) | 53, wpPorts: 9, src: v4(198, 18, 1, 17), dst: v4(198, 18, 3, 25), names: { path: badPath }, reason: 'config', counts: [1, 1, 1, 1] },
  { role: INGRESS, family: 4, protocol: 17, ports: (40010 << 16) | 53, wpPorts: (16412 << 16) | 16413, src: v4(198, 18, 1, 18), dst: v4(198, 18, 3, 20), counts: [0, 0, 0, 0] },
];

/** session k's id (4 words) */
export const idWords = (k: number): number[] => [0x5e551000 + k, 0x0000_4000 + k, 0x8000_0000 + k, (0xabcd_0000 + k * 7) >>> 0];

/** Opens every session in `builder` (as OPENED rows), round `round`'s ids (round * 100 + its index), session k at T0 + k. */
export function openAll(builder: SessionRecordBuilder, round: number): void {
  const words = new Uint32Array(32);
  SESSIONS.forEach((s, i) => {
    const k = round * 100 + i;
    words.fill(0);
    words[0] = (3 | (s.role << 8) | (s.family << 16) | ((s.flags ?? 0) << 20) | (s.protocol << 24)) >>> 0;
    words[1] = s.natPorts ?? 0;
    words.set(idWords(k), 4);
    words[14] = s.ports;
    words[15] = s.wpPorts ?? 0;
    words.set(s.src, 16);
    words.set(s.dst, 20);
    if (s.natSrc !== undefined) words.set(s.natSrc, 24);
    if (s.natDst !== undefined) words.set(s.natDst, 28);
    builder.openRow(words, 0, T0 + k, { ...base, ...s.names });
  });
}

/** Opens every session of `rounds` rounds in `builder` (openAll) and ends each: `ended` gets its slot (endSlot: its last totals and application), k and the session. */
export function endAll(builder: SessionRecordBuilder, rounds: number, ended: (slot: number, k: number, s: Session, i: number) => void): void {
  const ids = new Uint32Array(4);
  for (let round = 0; round < rounds; round++) {
    openAll(builder, round);
    SESSIONS.forEach((s, i) => {
      const k = round * 100 + i;
      ids.set(idWords(k));
      const [pf, pr, bf, br] = s.counts;
      ended(builder.endSlot(ids, 0, pf, pr, bf, br, s.app), k, s, i);
    });
  }
}
