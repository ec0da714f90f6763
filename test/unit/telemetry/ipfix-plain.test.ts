/**
 * A plain session's flows written by the addon from its open-session slot (native/ipfix-flows.c, through
 * IpfixMessageWriter.plain) are the bytes message.ts encodes of its end record: varied sessions (NAT each way,
 * IPv6 over IPv4 and IPv6 paths, local, ICMP, no reply, an application at the end, counts past 2^32, UTF-8 and
 * over-long names, no interface) side by side, byte for byte, in messages small enough to fill.
 */
import * as assert from 'uvu/assert';
import { IpfixMessageWriter, type EncodedMessage } from '../../../src/telemetry/ipfix/message.js';
import { ENTRY, nativePlainFlows } from '../../../src/telemetry/ipfix/plain-abi.js';
import { PlainShapes } from '../../../src/telemetry/ipfix/plain-flows.js';
import type { SlotNames } from '../../../src/telemetry/open-sessions.js';
import { SessionRecordBuilder, type SessionRecord } from '../../../src/telemetry/record.js';
import { requires } from '../../support/prerequisites.js';
import { INGRESS, SESSIONS, T0, base, endAll, idWords, lan } from './plain-sessions.js';

const test = requires(import.meta.url); // the addon (skipped without it)

/** sessions a call of the addon writes (a few calls a round) */
const BATCH = 5;

/** Opens every session in a builder (as a fact ring's OPENED rows) and ends it: flows by the addon or by the TS encoder. */
function messages(native: boolean, maxMessageBytes: number, repeat: number): string[] {
  const flows = nativePlainFlows()!;
  const builder = new SessionRecordBuilder({ router: 'r1', nowMs: T0 });
  const writer = new IpfixMessageWriter({ observationDomainId: 7, maxMessageBytes });
  const shapes = new PlainShapes('r1');
  const out: EncodedMessage[] = [];
  const records: SessionRecord[] = [];
  const list = new Float64Array(BATCH * ENTRY);
  const held: number[] = [];
  const t = Math.floor(T0 / 1000);
  endAll(builder, repeat, (slot, k, s, i) => {
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
