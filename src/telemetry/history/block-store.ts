/**
 * Where the history's blocks live (format 4): a LevelDB database of their own, `<history dir>/blocks`, apart
 * from the index (manifests, id filters, postings, meta counters: keys.ts) in the history's database.
 * Its keys only grow (`k/<S>`, batch after batch), so each memtable LevelDB flushes overlaps no file before
 * it and goes down the levels without being rewritten. Mixed with the postings (field-major keys) in one
 * database, every table overlapped every other and compaction rewrote each block once per level it passed
 * (1,000,000 records in process: 44 MB flushed, 116 MB more written by compaction; here none).
 * Blocks of a format-3 history (seq < `from`, meta `blocksFrom`) stay in the index database and are read and
 * retired there.
 * Order of writes (SessionHistory's one chain): a batch's blocks before the index batch that names them, a
 * retired block after the index keys that name it. A crash in between leaves blocks that no manifest names
 * (newer than the index's seq, or older than its oldest manifest): prune() removes them at open.
 */
import { join } from 'node:path';
import { openBytesDb, type BytesDb } from '../../store/store.js';
import { blockKey, seqOfKey } from './keys.js';

/** The index database's get (the history sublevel). */
export type LegacyGet = (key: string) => Promise<Uint8Array | undefined>;

export class BlockStore {
  private constructor(private readonly db: BytesDb, private readonly legacy: LegacyGet, private from: number) {}

  /** Opens (creates) `<historyDir>/blocks` (SVR_ERR_STORE_OPEN when it cannot); blocks below `from` are read through `legacy`. */
  static async open(historyDir: string, legacy: LegacyGet, from: number): Promise<BlockStore> {
    return new BlockStore(await openBytesDb(join(historyDir, 'blocks')), legacy, from);
  }

  /** Whether block `seq` is in the index database (a format-3 history's). */
  legacyHolds(seq: number): boolean {
    return seq < this.from;
  }

  /** From now on, blocks from `seq` on are here (a history converted, or started again empty). */
  setFrom(seq: number): void {
    this.from = seq;
  }

  get(seq: number): Promise<Uint8Array | undefined> {
    return this.legacyHolds(seq) ? this.legacy(blockKey(seq)) : this.db.get(blockKey(seq));
  }

  /** Puts blocks (of this database) in one write. */
  put(blocks: readonly { seq: number; bytes: Uint8Array }[]): Promise<void> {
    return this.db.batch(blocks.map((b) => ({ type: 'put' as const, key: blockKey(b.seq), value: b.bytes })));
  }

  /** Deletes blocks of this database in one write. */
  del(seqs: readonly number[]): Promise<void> {
    return this.db.batch(seqs.map((s) => ({ type: 'del' as const, key: blockKey(s) })));
  }

  /** Removes the blocks outside [first, last] (no manifest names them); returns how many. */
  async prune(first: number, last: number): Promise<number> {
    const gone: number[] = [];
    for await (const k of this.db.keys({ lt: blockKey(first) })) gone.push(seqOfKey(k));
    for await (const k of this.db.keys({ gt: blockKey(last) })) gone.push(seqOfKey(k));
    if (gone.length > 0) await this.del(gone);
    return gone.length;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
