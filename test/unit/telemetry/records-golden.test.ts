/**
 * Records built from fact-ring rows stay what they were before open sessions moved into typed arrays
 * (open-sessions.ts): the same records, IPFIX messages and history block, byte for byte, as the builder that
 * kept a record object per open session made of the same hand-written rows (golden-rows.ts; the expected
 * output in records-golden-expected.ts was made by that builder): ingress with NAT, egress over IPv6, local,
 * replaced, interim records, a migration, denied first packets, an end of a session never opened.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FactRing } from '../../../src/dataplane/fact-ring.js';
import { FactReader, type RowSink } from '../../../src/telemetry/fact-rows.js';
import { Block, BlockWriter } from '../../../src/telemetry/history/block.js';
import { IpfixMessageWriter } from '../../../src/telemetry/ipfix/message.js';
import { SessionRecordBuilder, type SessionRecord } from '../../../src/telemetry/record.js';
import { GOLDEN_T0, writeEndings, writeOpenings } from './golden-rows.js';
import { GOLDEN_BLOCK, GOLDEN_BLOCK_V1, GOLDEN_COUNTERS, GOLDEN_IPFIX, GOLDEN_RECORDS } from './records-golden-expected.js';

function recordsOfRows(): { records: SessionRecord[]; builder: SessionRecordBuilder } {
  const ring = new FactRing(FactRing.buffer(64));
  const reader = new FactReader(ring);
  reader.start();
  const builder = new SessionRecordBuilder({ router: 'r1', nowMs: GOLDEN_T0 });
  const records: SessionRecord[] = [];
  const sink: RowSink = {
    openRow: (words, w, atMs, names) => builder.openRow(words, w, atMs, names),
    totals: (words, id, pf, pr, bf, br) => builder.totals(words, id, pf, pr, bf, br),
    end: (words, id, atMs, reason, pf, pr, bf, br, app) => {
      const r = builder.end(words, id, atMs, reason, pf, pr, bf, br, app);
      if (r !== undefined) records.push(r);
    },
    apply: (f) => {
      const r = builder.apply(f);
      if (r !== undefined) records.push(r);
    },
  };
  writeOpenings(ring, ring.epoch);
  reader.read(sink, Infinity);
  records.push(...builder.due(GOLDEN_T0 + 61_000));
  writeEndings(ring);
  reader.read(sink, Infinity);
  // denied records get random ids: fixed ones here, as the golden output has
  let d = 0;
  for (const r of records) if (r.closeReason === 'denied') r.sessionId = `00000000-0000-4000-8000-0000000000d${d++}`;
  return { records, builder };
}

test('records of fact rows: the same records as before (interim, NAT, IPv6, local, replaced, migration, denied)', () => {
  const { records, builder } = recordsOfRows();
  assert.equal(JSON.parse(JSON.stringify(records)), GOLDEN_RECORDS);
  assert.equal(builder.counters(), GOLDEN_COUNTERS);
});

test('records of fact rows: the same IPFIX messages and history block, byte for byte', () => {
  const { records } = recordsOfRows();
  const ipfix = new IpfixMessageWriter({ observationDomainId: 7, maxMessageBytes: 1400 }).encode(records, Math.floor(GOLDEN_T0 / 1000), true);
  assert.equal(ipfix.map((m) => Buffer.from(m.bytes).toString('hex')), GOLDEN_IPFIX);
  const blocks = new BlockWriter();
  for (const r of records) blocks.add(r);
  assert.is(Buffer.from(blocks.finish()).toString('hex'), GOLDEN_BLOCK);
});

test('the golden block of each version reads back as the golden records (version 1: a history of format 5 or before)', () => {
  for (const hex of [GOLDEN_BLOCK, GOLDEN_BLOCK_V1]) {
    const block = new Block(Buffer.from(hex, 'hex'));
    const rows = Array.from({ length: block.rows }, (_, i) => block.row(i));
    assert.equal(JSON.parse(JSON.stringify(rows)), GOLDEN_RECORDS, hex === GOLDEN_BLOCK ? 'version 2' : 'version 1');
  }
});

test.run();
