/**
 * Where the history's blocks live from format 7 on: appended to segment files, `<history dir>/segments/<S>.seg`
 * (S: the first block in it, 8 hex digits), a batch's blocks in one positioned write (pwritev, no copy). Each block's
 * place (segment, offset, length) is an index key (`l/<S>`, keys.ts) written in the index batch that names the
 * block, and kept in memory (loaded at open, as the id filters are). A segment is unlinked when retention has
 * taken all its blocks; a new one starts when the current one is past `rollBytes`.
 * Why not LevelDB (format 4 to 6): it wrote every block byte twice (log, then table: two copies, two CRCs, snappy)
 * and classic-level copied each block twice on the records thread: LevelDB's threads 0.28-0.33 µs a session of
 * records-cost `history` against 0.04 with the blocks' writes left out (2026-12-07, rech2).
 * Crash: a batch's blocks are written before the index batch that names them; a SIGKILL between leaves bytes past
 * the last named block (truncated at open) or segments no key names (unlinked at open). No fsync, as LevelDB's
 * writes here (the page cache outlives a SIGKILL).
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { open, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SvrError } from '../../errors.js';
import { hex } from './keys.js';

/** A block's place: its segment (the segment's first block), offset and length. */
export interface Place {
  seg: number;
  at: number;
  len: number;
}

/** A place as its index value (16 bytes). */
export function placeValue(p: Place): Uint8Array {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setFloat64(0, p.seg);
  v.setUint32(8, p.at);
  v.setUint32(12, p.len);
  return out;
}

export function placeOf(value: Uint8Array): Place {
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return { seg: v.getFloat64(0), at: v.getUint32(8), len: v.getUint32(12) };
}

const SUFFIX = '.seg';

export class Segments {
  /** block seq -> place, oldest first (loaded in key order, appended in seq order) */
  private readonly places = new Map<number, Place>();
  /** the segment being appended to, and its size */
  private file: FileHandle | undefined;
  private seg = -1;
  private size = 0;

  private constructor(private readonly dir: string, private readonly readOnly: boolean) {}

  static open(dir: string, readOnly: boolean): Segments {
    if (!readOnly) mkdirSync(dir, { recursive: true });
    return new Segments(dir, readOnly);
  }

  /** A block's place, from its index key (at open). */
  load(seq: number, value: Uint8Array): void {
    this.places.set(seq, placeOf(value));
  }

  private path(seg: number): string {
    return join(this.dir, `${hex(seg, 8)}${SUFFIX}`);
  }

  /**
   * At open (after load): unlinks the segments no place names (a crash before their index batch, or after
   * retention's), cuts the newest named one to its last block's end and appends to it from there.
   */
  async prune(): Promise<number> {
    let files: string[];
    try {
      files = readdirSync(this.dir).filter((f) => f.endsWith(SUFFIX));
    } catch {
      return 0;
    }
    const named = new Map<number, number>();
    for (const p of this.places.values()) named.set(p.seg, Math.max(named.get(p.seg) ?? 0, p.at + p.len));
    let removed = 0;
    let newest = -1;
    for (const f of files) {
      const seg = parseInt(f.slice(0, f.length - SUFFIX.length), 16);
      if (!named.has(seg)) {
        await unlink(join(this.dir, f));
        removed++;
      } else newest = Math.max(newest, seg);
    }
    if (newest >= 0) {
      const end = named.get(newest)!;
      await truncate(this.path(newest), end);
      this.file = await open(this.path(newest), 'r+');
      this.seg = newest;
      this.size = end;
    }
    return removed;
  }

  /**
   * Appends blocks `first`, `first + 1`, ... in one write (a new segment first when the current one is past
   * `rollBytes`); returns their places, which count once commit() is called (after the index batch naming them).
   */
  async append(first: number, blocks: readonly Uint8Array[], rollBytes: number): Promise<Place[]> {
    if (this.readOnly) throw new SvrError('SVR_ERR_HISTORY_STORE', 'the history is open read-only');
    if (this.file === undefined || this.size >= rollBytes) {
      await this.file?.close();
      this.file = undefined;
      this.file = await open(this.path(first), 'w');
      this.seg = first;
      this.size = 0;
    }
    const at = this.size;
    const places: Place[] = [];
    let len = 0;
    for (const b of blocks) {
      places.push({ seg: this.seg, at: at + len, len: b.length });
      len += b.length;
    }
    const { bytesWritten } = await this.file.writev(blocks as Uint8Array[], at);
    if (bytesWritten !== len) throw new SvrError('SVR_ERR_HISTORY_STORE', `short write to ${this.path(this.seg)}: ${bytesWritten} of ${len} bytes`);
    this.size = at + len;
    return places;
  }

  /** The appended blocks' places count from now on (their index is written). */
  commit(first: number, places: readonly Place[]): void {
    for (let i = 0; i < places.length; i++) this.places.set(first + i, places[i]!);
  }

  /** The appended blocks' index was not written: the next append writes over them. */
  undo(places: readonly Place[]): void {
    const p = places[0];
    if (p !== undefined && p.seg === this.seg) this.size = Math.min(this.size, p.at);
  }

  async get(seq: number): Promise<Uint8Array | undefined> {
    const p = this.places.get(seq);
    if (p === undefined) return undefined;
    let f: FileHandle;
    try {
      f = await open(this.path(p.seg), 'r');
    } catch {
      return undefined; // retired meanwhile
    }
    try {
      const out = new Uint8Array(p.len);
      const { bytesRead } = await f.read(out, 0, p.len, p.at);
      return bytesRead === p.len ? out : undefined;
    } finally {
      await f.close();
    }
  }

  /**
   * Retired blocks (their index keys are gone): their places dropped, and the segments before the oldest block
   * left unlinked (all of them, the current one too, when none is left).
   */
  async retire(seqs: readonly number[]): Promise<void> {
    for (const s of seqs) this.places.delete(s);
    const oldest = this.places.values().next();
    const keepFrom = oldest.done === true ? Infinity : oldest.value.seg;
    let files: string[];
    try {
      files = readdirSync(this.dir).filter((f) => f.endsWith(SUFFIX));
    } catch {
      return;
    }
    for (const f of files) {
      const seg = parseInt(f.slice(0, f.length - SUFFIX.length), 16);
      if (seg >= keepFrom) continue;
      if (seg === this.seg) {
        await this.file?.close();
        this.file = undefined;
        this.seg = -1;
        this.size = 0;
      }
      await unlink(join(this.dir, f));
    }
  }

  async close(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
  }
}
