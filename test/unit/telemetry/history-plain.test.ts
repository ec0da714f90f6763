/**
 * A plain session's history row and postings written from its open-session slot (OpenBlock.addPlain: BlockWriter.addPlain)
 * are the bytes put() writes of its end record (OpenBlock.add of OpenSessions.record): varied plain sessions (NAT each way,
 * IPv6, ICMP, no reply, waypoints over IPv4 and IPv6 paths, local, tenants, an application at the end, counts past 2^32,
 * UTF-8 names), some ends made as records in both writers (names entries and strings a record's row made, then met by a
 * slot's), ends out of order and across minutes (rows sorted at close), blocks that close mid-round; side by side, byte for byte.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Block } from '../../../src/telemetry/history/block.js';
import { OpenBlock, type ClosedBlock } from '../../../src/telemetry/history/open-block.js';
import { encodeRuns } from '../../../src/telemetry/history/keys.js';
import { plainRow } from '../../../src/telemetry/open-sessions.js';
import { SessionRecordBuilder } from '../../../src/telemetry/record.js';
import { SESSIONS, T0, endAll, idWords, openAll } from './plain-sessions.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A closed block as text: its bytes, filter, rows, end range, and every posting's key and runs (block seq 1). */
function describe(c: ClosedBlock): string[] {
  const out = [`rows ${c.rows} ends ${c.minEnd}..${c.maxEnd}`, `block ${hex(c.block)}`, `filter ${hex(c.filter)}`];
  c.postings.each(1, (key, runs) => out.push(`${JSON.stringify(key)} ${hex(encodeRuns(runs))}`));
  return out;
}

/**
 * Every session of `rounds` rounds opened and ended, blocks of `blockRows`: each end's row from its slot (`fromSlot`, but
 * every fifth one) or from its end record (all of them otherwise, as before). Returns the blocks and how many rows came from slots.
 */
function blocks(fromSlot: boolean, blockRows: number, rounds: number): { blocks: string[][]; fromSlots: number } {
  const builder = new SessionRecordBuilder({ router: 'r1', nowMs: T0 });
  const open = builder.sessions;
  const block = new OpenBlock();
  const row = plainRow();
  const out: string[][] = [];
  let fromSlots = 0;
  endAll(builder, rounds, (slot, k, s) => {
    assert.ok(open.plain(slot));
    const endMs = T0 + 1_000 + ((k * 7_919) % 211) * 1_500 + 0.4;
    const reason = s.reason ?? 'idle';
    builder.hold(slot);
    if (fromSlot && k % 5 !== 0) {
      open.plainRow(slot, row);
      block.addPlain(open.slotWords, row, endMs, reason);
      builder.dropHeld(slot);
      fromSlots++;
    } else {
      block.add(builder.heldRecord(slot, endMs, reason), open.slotWords, open.idAt(slot));
      builder.releaseHeld(slot);
    }
    if (block.rows === blockRows) out.push(describe(block.close()));
  });
  if (block.rows > 0) out.push(describe(block.close()));
  return { blocks: out, fromSlots };
}

test('history rows from the slot: the blocks, filters and postings of the end records, byte for byte', () => {
  for (const [blockRows, rounds] of [[512, 40], [9, 6]] as const) {
    const records = blocks(false, blockRows, rounds);
    const slots = blocks(true, blockRows, rounds);
    assert.ok(slots.fromSlots >= rounds * SESSIONS.length * 0.7, `${slots.fromSlots} rows from slots`);
    assert.is(slots.blocks.length, records.blocks.length);
    slots.blocks.forEach((b, i) => assert.equal(b, records.blocks[i], `blocks of ${blockRows}: block ${i}`));
  }
});

test('history rows from the slot: read back, each row is the session\'s end record', () => {
  const builder = new SessionRecordBuilder({ router: 'r1', nowMs: T0 });
  const reference = new SessionRecordBuilder({ router: 'r1', nowMs: T0 });
  const open = builder.sessions;
  const block = new OpenBlock();
  const row = plainRow();
  const ids = new Uint32Array(4);
  openAll(builder, 0);
  openAll(reference, 0);
  const expected = SESSIONS.map((s, k) => {
    ids.set(idWords(k));
    const [pf, pr, bf, br] = s.counts;
    const endMs = T0 + 5_000 + k;
    const slot = builder.endSlot(ids, 0, pf, pr, bf, br, s.app);
    open.plainRow(slot, row);
    block.addPlain(open.slotWords, row, endMs, s.reason ?? 'idle');
    return reference.end(ids, 0, endMs, s.reason ?? 'idle', pf, pr, bf, br, s.app)!;
  });
  const read = new Block(block.close().block);
  assert.is(read.rows, SESSIONS.length);
  expected.forEach((r, i) => assert.equal(read.row(i), r, `session ${i}`));
});

test.run();
