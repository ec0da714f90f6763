/**
 * A plain session's end as a row (ended-rows.ts: no record object) writes what its record writes: the same IPFIX
 * messages (encodeRowFlow), history block (BlockWriter.addRow) and postings (OpenBlock.addRow), byte for byte, for
 * every kind of plain session in the golden rows (ingress and egress, IPv4 and IPv6, NAT each way, local without a
 * path or egress interface, ICMP over a path, an application named at the end, no reply, a replaced session).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FactRing } from '../../../src/dataplane/fact-ring.js';
import { EndedRows } from '../../../src/telemetry/ended-rows.js';
import { FactReader, type RowSink } from '../../../src/telemetry/fact-rows.js';
import { BlockWriter } from '../../../src/telemetry/history/block.js';
import { OpenBlock } from '../../../src/telemetry/history/open-block.js';
import { IpfixMessageWriter } from '../../../src/telemetry/ipfix/message.js';
import { SessionRecordBuilder, type SessionRecord } from '../../../src/telemetry/record.js';
import { GOLDEN_T0, writeEndings, writeOpenings, writePlainEndings } from './golden-rows.js';

/** The golden rows' ends without interim records, through a builder given `rows` (or not): records, or row numbers of `rows`. */
function ends(rows: EndedRows | undefined): (SessionRecord | number)[] {
  const ring = new FactRing(FactRing.buffer(64));
  const reader = new FactReader(ring);
  reader.start();
  const builder = new SessionRecordBuilder({ router: 'r1', nowMs: GOLDEN_T0 });
  const out: (SessionRecord | number)[] = [];
  const sink: RowSink = {
    openRow: (words, w, atMs, names) => builder.openRow(words, w, atMs, names),
    totals: (words, id, pf, pr, bf, br) => builder.totals(words, id, pf, pr, bf, br),
    end: (words, id, atMs, reason, pf, pr, bf, br, app) => {
      const r = rows === undefined ? builder.end(words, id, atMs, reason, pf, pr, bf, br, app) : builder.end(words, id, atMs, reason, pf, pr, bf, br, app, rows);
      if (r instanceof EndedRows) out.push(r.length - 1);
      else if (r !== undefined) out.push(r);
    },
    apply: (f) => {
      const r = builder.apply(f);
      if (r !== undefined && r.closeReason !== 'denied') out.push(r);
    },
  };
  writeOpenings(ring, ring.epoch);
  reader.read(sink, Infinity);
  writePlainEndings(ring);
  reader.read(sink, Infinity);
  writeEndings(ring);
  reader.read(sink, Infinity);
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('ended rows: the plain sessions go as rows, the others as records', () => {
  const rows = new EndedRows('r1');
  const out = ends(rows);
  assert.is(out.filter((e) => typeof e === 'number').length, 9, 'sessions 1, 3-10: plain');
  assert.is(out.filter((e) => typeof e !== 'number').length, 1, 'session 2 (moved): a record');
  assert.is(ends(undefined).length, 10);
});

test('ended rows: the same IPFIX messages as their records, byte for byte (MTU 1500, and messages of a few flows)', () => {
  const rows = new EndedRows('r1');
  const mixed = ends(rows);
  const records = ends(undefined) as SessionRecord[];
  for (const max of [1400, 1000]) {
    const a = new IpfixMessageWriter({ observationDomainId: 7, maxMessageBytes: max }).encode(records, Math.floor(GOLDEN_T0 / 1000), true);
    const b = new IpfixMessageWriter({ observationDomainId: 7, maxMessageBytes: max }).encode(mixed, Math.floor(GOLDEN_T0 / 1000), true, false, rows);
    assert.ok(a.length >= 1);
    assert.equal(b.map((m) => hex(m.bytes)), a.map((m) => hex(m.bytes)));
    assert.equal(b.map((m) => [m.dataRecords, m.records]), a.map((m) => [m.dataRecords, m.records]));
  }
});

test('ended rows: the same history block, id filter and postings as their records', () => {
  const rows = new EndedRows('r1');
  const mixed = ends(rows);
  const records = ends(undefined) as SessionRecord[];
  const a = new BlockWriter();
  const b = new BlockWriter();
  for (const r of records) a.add(r);
  for (const e of mixed) typeof e === 'number' ? b.addRow(rows, e) : b.add(e);
  assert.is(hex(b.finish()), hex(a.finish()));
  const oa = new OpenBlock();
  const ob = new OpenBlock();
  for (const r of records) oa.add(r);
  for (const e of mixed) typeof e === 'number' ? ob.addRow(rows, e) : ob.add(e);
  const ca = oa.close();
  const cb = ob.close();
  assert.is(hex(cb.block), hex(ca.block));
  assert.is(hex(cb.filter), hex(ca.filter));
  assert.equal([cb.rows, cb.minEnd, cb.maxEnd], [ca.rows, ca.minEnd, ca.maxEnd]);
  const postings = (c: typeof ca): [string, number[]][] => {
    const all: [string, number[]][] = [];
    c.postings.each(1, (key, runs) => all.push([key, [...runs]]));
    return all;
  };
  assert.ok(postings(ca).length > 10);
  assert.equal(postings(cb), postings(ca));
});

test.run();
