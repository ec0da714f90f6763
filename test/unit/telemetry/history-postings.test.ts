/**
 * A block's postings made from its rows' names entries (open-block.ts): the same keys, in the same order, with the
 * same rows as every record's own index entries give (indexEntries row by row, as before 2026-12-07), over entries
 * that interleave, repeat row after row, span minutes, and rows sorted by end time at close.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OpenBlock, unionRuns } from '../../../src/telemetry/history/open-block.js';
import { INDEXED_FIELDS, canonicalAddress, decodeRuns, encodeRuns, indexEntries, minuteOf, postingPrefix, postingSuffix } from '../../../src/telemetry/history/keys.js';
import type { SessionRecord } from '../../../src/telemetry/record.js';
import { T0, makeRecord } from './records.js';

/** The postings as each record's index entries give them, row by row: keys in the order they first came, rows ascending. */
function reference(records: readonly SessionRecord[], seq: number): [string, number[]][] {
  const order = records.map((_, i) => i).sort((a, b) => records[a]!.endMs - records[b]!.endMs || a - b);
  const rank: number[] = [];
  order.forEach((i, k) => (rank[i] = k));
  const minutes = new Map<number, { fields: number[]; values: Map<string, number[]>[] }>();
  records.forEach((r, i) => {
    const minute = minuteOf(r.endMs);
    let m = minutes.get(minute);
    if (m === undefined) minutes.set(minute, (m = { fields: [], values: INDEXED_FIELDS.map(() => new Map<string, number[]>()) }));
    const mm = m;
    indexEntries({ ...r, closeReason: r.closeReason, dst: r.forward.dst, dstPort: r.forward.dstPort }, canonicalAddress(r.forward.src), {
      add(field: number, value: string): void {
        const values = mm.values[field]!;
        if (values.size === 0) mm.fields.push(field);
        const rows = values.get(value) ?? [];
        if (!rows.includes(rank[i]!)) rows.push(rank[i]!);
        values.set(value, rows);
      },
    });
  });
  const out: [string, number[]][] = [];
  for (const [minute, m] of minutes) {
    for (const f of m.fields) for (const [value, rows] of m.values[f]!) out.push([postingPrefix(INDEXED_FIELDS[f]!, value) + postingSuffix(minute, seq), rows.sort((a, b) => a - b)]);
  }
  return out;
}

function postingsOf(records: readonly SessionRecord[], seq: number): [string, number[]][] {
  const block = new OpenBlock();
  for (const r of records) block.add(r);
  const out: [string, number[]][] = [];
  block.close().postings.each(seq, (key, runs) => out.push([key, decodeRuns(encodeRuns(runs))]));
  return out;
}

/** Record k of entry `of` (makeRecord's names repeat every 60), its own id, client address and end time. */
const rec = (k: number, of: number, endMs: number, client = `198.18.9.${k % 5}`): SessionRecord => {
  const base = makeRecord(of);
  return { ...base, sessionId: makeRecord(100_000 + k).sessionId, forward: { ...base.forward, src: client }, endMs, startMs: endMs - 1000 };
};

test('postings by names entry: the keys, their order and rows of every record\'s own entries, entries interleaved, repeated and across minutes', () => {
  const records: SessionRecord[] = [];
  for (let k = 0; k < 400; k++) {
    // runs of one entry (k / 7), a few entries interleaving (k % 3), an entry seen again later, three minutes
    const of = k % 11 < 7 ? Math.floor(k / 7) % 13 : (k % 3) * 17;
    records.push(rec(k, of, T0 + k * 450));
  }
  assert.equal(postingsOf(records, 7), reference(records, 7));
});

test('postings by names entry: rows put out of end-time order are sorted at close, their postings mapped', () => {
  const records: SessionRecord[] = [];
  for (let k = 0; k < 300; k++) records.push(rec(k, k % 4 === 0 ? 5 : Math.floor(k / 20), T0 + ((k * 7919) % 300) * 400, `198.18.9.${k % 3}`));
  assert.equal(postingsOf(records, 3), reference(records, 3));
});

test('postings when every row makes a names entry of its own (makeRecord\'s names repeat every 60, the writer looks back 8): each value\'s runs gathered from hundreds of entries', () => {
  const records = Array.from({ length: 1200 }, (_, i) => makeRecord(i, { endMs: T0 + i * 37 }));
  assert.equal(postingsOf(records, 11), reference(records, 11));
});

test('runs joined: the union of any number of lists, adjacent runs joined, none changed', () => {
  const a = [0, 2, 6, 6, 10, 12];
  const b = [3, 5, 8, 8, 13, 20];
  const c = [7, 7, 21, 30];
  assert.equal(unionRuns([a, b]), [0, 6, 8, 8, 10, 20]);
  assert.equal(unionRuns([b, a]), [0, 6, 8, 8, 10, 20]);
  assert.equal(unionRuns([c, a, b]), [0, 8, 10, 30]);
  assert.equal(unionRuns([[], [1, 1]]), [1, 1]);
  assert.equal(a, [0, 2, 6, 6, 10, 12]);
  assert.equal(b, [3, 5, 8, 8, 13, 20]);
});

test.run();
