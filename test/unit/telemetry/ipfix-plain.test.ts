/**
 * A plain session's flows written by the addon from its open-session slot (native/ipfix-flows.c, through
 * IpfixMessageWriter.plain) are the bytes message.ts encodes of its end record: varied sessions (NAT each way,
 * IPv6 over IPv4 and IPv6 paths, local, ICMP, no reply, an application at the end, counts past 2^32, UTF-8 and
 * over-long names, no interface) side by side, byte for byte, in messages small enough to fill.
 */
import * as assert from 'uvu/assert';
import { OPENED_DNAT, OPENED_SNAT } from '../../../src/dataplane/fact-ring.js';
import { IpfixMessageWriter, type EncodedMessage } from '../../../src/telemetry/ipfix/message.js';
import { ENTRY, nativePlainFlows } from '../../../src/telemetry/ipfix/plain-abi.js';
import { PlainShapes } from '../../../src/telemetry/ipfix/plain-flows.js';
import { pathNames, type RowNames, type SlotNames } from '../../../src/telemetry/open-sessions.js';
import { SessionRecordBuilder, type CloseReason, type SessionRecord } from '../../../src/telemetry/record.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url); // the addon (skipped without it)

const T0 = 1_700_000_000_000;
const INGRESS = 1;
const EGRESS = 2;
const LOCAL = 3;
const v4 = (a: number, b: number, c: number, d: number): number[] => [((a << 24) | (b << 16) | (c << 8) | d) >>> 0, 0, 0, 0];
const v6 = (last: number): number[] => [0x2001_0db8, 0, 0x1234_0000, last];
const lan = { name: 'lan0', index: 1 };
const wan = { name: 'wan0', index: 2 };
const v4Path = pathNames('wan0->r2/wan0', 'r2', '198.18.12.1', '198.18.12.2');
const v6Path = pathNames('wan6->r3/wan6', 'r3', '2001:db8:12::1', '2001:db8:12::2');
const badPath = pathNames('odd', 'r4', 'not-an-address', '');

interface Session {
  role: number; family: 4 | 6; protocol: number; flags?: number; natPorts?: number; ports: number; wpPorts?: number;
  src: number[]; dst: number[]; natSrc?: number[]; natDst?: number[];
  names?: Partial<RowNames>; reason?: CloseReason; counts: [number, number, number, number]; app?: string;
}

const base: RowNames = { tenant: 'blue', service: 'dns', application: '', path: v4Path, ingressInterface: lan, egressInterface: wan };
const SESSIONS: Session[] = [
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

/** sessions a call of the addon writes (a few calls a round) */
const BATCH = 5;
const idWords = (k: number): number[] => [0x5e551000 + k, 0x0000_4000 + k, 0x8000_0000 + k, (0xabcd_0000 + k * 7) >>> 0];

/** Opens every session in a builder (as a fact ring's OPENED rows) and ends it: flows by the addon or by the TS encoder. */
function messages(native: boolean, maxMessageBytes: number, repeat: number): string[] {
  const flows = nativePlainFlows()!;
  const builder = new SessionRecordBuilder({ router: 'r1', nowMs: T0 });
  const writer = new IpfixMessageWriter({ observationDomainId: 7, maxMessageBytes });
  const shapes = new PlainShapes('r1');
  const words = new Uint32Array(32);
  const ids = new Uint32Array(4);
  const out: EncodedMessage[] = [];
  const records: SessionRecord[] = [];
  const list = new Float64Array(BATCH * ENTRY);
  const held: number[] = [];
  const t = Math.floor(T0 / 1000);
  for (let round = 0; round < repeat; round++) {
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
    SESSIONS.forEach((s, i) => {
      const k = round * 100 + i;
      ids.set(idWords(k));
      const [pf, pr, bf, br] = s.counts;
      const slot = builder.endSlot(ids, 0, pf, pr, bf, br, s.app);
      const endMs = T0 + 1_000 + k * 3;
      const reason = s.reason ?? 'idle';
      const open = builder.sessions;
      assert.ok(open.plain(slot));
      if (native) {
        const n: SlotNames = { tenant: '', service: '', application: '', path: undefined, ingressInterface: lan, egressInterface: lan, role: 0 };
        open.names(slot, n);
        let shape = shapes.find(n, reason);
        if (shape === -1) shape = shapes.add(n, reason);
        builder.hold(slot);
        list.set([slot, shape, endMs], held.length * ENTRY);
        held.push(slot);
        if (held.length === BATCH || i === SESSIONS.length - 1) {
          // in batches, as session-records.ts: the slots held until the call
          writer.plain(flows, open.slotWords, shapes.table, list, held.length, t, out);
          for (const h of held) builder.dropHeld(h);
          held.length = 0;
        }
      } else records.push(builder.recordEnd(slot, endMs, reason));
    });
  }
  if (!native) out.push(...writer.encode(records, t, false, true));
  out.push(...writer.flushOpen(t));
  return out.map((m) => Buffer.from(m.bytes).toString('hex'));
}

test('plain flows: the addon writes what the TS encoder writes of the end records, byte for byte (loopback-sized messages)', () => {
  assert.ok(nativePlainFlows() !== undefined, 'the addon has ipfixPlainFlows (npm run build:native)');
  const ts = messages(false, 65_000, 3);
  assert.is(ts.length, 1);
  assert.equal(messages(true, 65_000, 3), ts);
});

test('plain flows: the same messages where they fill (1400 and 1000 bytes: a flow moved to the next message, sets closed)', () => {
  for (const max of [1400, 1000]) {
    const ts = messages(false, max, 3);
    assert.ok(ts.length > 3, `${max}: ${ts.length} messages`);
    assert.equal(messages(true, max, 3), ts, `max ${max}`);
  }
});

test('plain flows: a session of another family, or with an interim record before its end, is not plain (its record is made)', () => {
  const builder = new SessionRecordBuilder({ router: 'r1', nowMs: T0, interimIntervalS: 60 });
  const words = new Uint32Array(32);
  for (const [k, family] of [[1, 0], [2, 4]] as const) {
    words.fill(0);
    words[0] = (3 | (INGRESS << 8) | (family << 16) | (17 << 24)) >>> 0;
    words.set(idWords(k), 4);
    builder.openRow(words, 0, T0, base);
  }
  assert.is(builder.due(T0 + 61_000).length, 2);
  const ids = new Uint32Array(idWords(2));
  const slot = builder.endSlot(ids, 0, 1, 1, 1, 1);
  assert.is(builder.sessions.plain(slot), false);
  const fresh = new SessionRecordBuilder({ router: 'r1', nowMs: T0 });
  words.set(idWords(1), 4);
  fresh.openRow(words, 0, T0, base);
  words[0] = (3 | (INGRESS << 8) | (0 << 16) | (17 << 24)) >>> 0;
  words.set(idWords(3), 4);
  fresh.openRow(words, 0, T0, base);
  assert.is(fresh.sessions.plain(fresh.endSlot(new Uint32Array(idWords(1)), 0, 1, 1, 1, 1)), true);
  assert.is(fresh.sessions.plain(fresh.endSlot(new Uint32Array(idWords(3)), 0, 1, 1, 1, 1)), false);
});

test.run();
