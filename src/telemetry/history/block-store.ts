/**
 * Where the history's blocks live: from format 7 on in segment files (segments.ts, `<history dir>/segments`),
 * their places in the index database (keys.ts `l/<S>`). Older blocks stay where they were written and are read and
 * retired there: those of a format 4 to 6 history in a LevelDB database of their own, `<history dir>/blocks`
 * (seq below meta `segmentsFrom`; opened only when it is there), those of a format-3 history in the index
 * database (seq below meta `blocksFrom`).
 * Order of writes (SessionHistory's one chain): a batch's blocks before the index batch that names them, a
 * retired block after the index keys that name it. A crash in between leaves blocks that no manifest names
 * (newer than the index's seq, or older than its oldest manifest): prune() removes them at open.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openBytesDb, type BytesDb } from '../../store/store.js';
import { blockKey, seqOfKey } from './keys.js';
import { Segments, type Place } from './segments.js';

/** The index database's get (the history sublevel). */
export type LegacyGet = (key: string) => Promise<Uint8Array | undefined>;

export class BlockStore {
  private constructor(private readonly db: BytesDb | undefined, readonly segments: Segments, private readonly legacy: LegacyGet,
    private from: number, private segmentsFrom: number) {}

  /**
   * Opens `<historyDir>/segments` (made unless read-only) and `<historyDir>/blocks` when it is there (SVR_ERR_STORE_OPEN
   * when it cannot); blocks below `from` are read through `legacy`, below `segmentsFrom` from the blocks' database.
   */
  static async open(historyDir: string, legacy: LegacyGet, from: number, segmentsFrom: number, readOnly: boolean): Promise<BlockStore> {
    const dbDir = join(historyDir, 'blocks');
    const db = existsSync(dbDir) ? await openBytesDb(dbDir) : undefined;
    return new BlockStore(db, Segments.open(join(historyDir, 'segments'), readOnly), legacy, from, segmentsFrom);
  }

  /** Whether block `seq` is in the index database (a format-3 history's). */
  legacyHolds(seq: number): boolean {
    return seq < this.from;
  }

  /** From now on, blocks from `seq` on are in the blocks' database (a format-3 history converted) and segments from `segmentsFrom`. */
  setFrom(seq: number, segmentsFrom: number): void {
    this.from = seq;
    this.segmentsFrom = segmentsFrom;
  }

  get(seq: number): Promise<Uint8Array | undefined> {
    if (seq >= this.segmentsFrom) return this.segments.get(seq);
    if (this.legacyHolds(seq)) return this.legacy(blockKey(seq));
    return this.db === undefined ? Promise.resolve(undefined) : this.db.get(blockKey(seq));
  }

  /** Appends blocks `first`, `first + 1`, ... in one write; their places, to commit once the index names them. */
  put(first: number, blocks: readonly Uint8Array[], rollBytes: number): Promise<Place[]> {
    return this.segments.append(first, blocks, rollBytes);
  }

  /** Deletes retired blocks (not of the index database) where they are. */
  async del(seqs: readonly number[]): Promise<void> {
    const old = seqs.filter((s) => s < this.segmentsFrom);
    if (old.length > 0 && this.db !== undefined) await this.db.batch(old.map((s) => ({ type: 'del' as const, key: blockKey(s) })));
    if (old.length < seqs.length) await this.segments.retire(seqs.filter((s) => s >= this.segmentsFrom));
  }

  /** Removes the blocks outside [first, last] (no manifest names them); returns how many (segments count one each). */
  async prune(first: number, last: number): Promise<number> {
    const gone: number[] = [];
    if (this.db !== undefined) {
      for await (const k of this.db.keys({ lt: blockKey(first) })) gone.push(seqOfKey(k));
      for await (const k of this.db.keys({ gt: blockKey(last) })) gone.push(seqOfKey(k));
      if (gone.length > 0) await this.db.batch(gone.map((s) => ({ type: 'del' as const, key: blockKey(s) })));
    }
    return gone.length + (await this.segments.prune());
  }

  async close(): Promise<void> {
    await this.segments.close();
    await this.db?.close();
  }
}
