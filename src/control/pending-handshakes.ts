/**
 * Handshakes waiting for their first retry (control/episodes.ts), in the order they started: a ring of typed
 * columns (row, generation, start time, the session id's 4 words; a move and an id given as text beside them)
 * and an index from row to ring slot (open addressing in an Int32Array, backward-shift deletes). A sweep takes
 * the due ones from the head and stops at the first that is not: they started in time order.
 * Measured (in process, a window of 8,000 handshakes): a Map entry and an object per handshake cost ~0.8 µs a
 * session (the objects outlive a scavenge and are promoted); the ring allocates nothing per handshake. A new
 * session's id stays words until a reader asks for its text (`releasedId`): nearly every handshake is
 * confirmed before its first retry, where only a subscriber to session events reads it (~110 B of garbage
 * and ~0.07 µs a session on r1 otherwise, in process; docs/performance.md "Wave 24, sus19").
 */
import { uuidString } from '../dataplane/random-pool.js';

/** The move a handshake confirms: a session of `service` the ingress moved to `path`. */
export interface EpisodeMove {
  service: string;
  path: number;
}

/** One handshake handed over (due, or resolved); during the call its session id's text is `releasedId()` and its start
 *  `releasedSince()` (no string made, no number boxed per call). */
export type TakeDue = (row: number, gen: number, move: EpisodeMove | undefined) => void;

const EMPTY = -1;

export class PendingHandshakes {
  /** live entries */
  size = 0;
  private mask = 0;
  private rows!: Int32Array;
  private gens!: Uint32Array;
  private since!: Float64Array;
  /** the session id as 4 big-endian words a slot, when it was given so */
  private idWords!: Uint32Array;
  /** the session id when it was given as text */
  private ids!: (string | undefined)[];
  private moves!: (EpisodeMove | undefined)[];
  /** ring positions (slot = position & mask): [head, tail) holds live and resolved (row EMPTY) entries */
  private head = 0;
  private tail = 0;
  /** row -> slot + 1 (0: empty), twice the ring's slots */
  private index!: Int32Array;
  private shift = 0;
  /** the slot being handed over (releasedId) */
  private released = -1;
  /** the start time of the handshakes `addWords` adds (set once per batch: a number passed per call is boxed) */
  startAt = 0;

  constructor(slots = 1024) {
    this.make(slots);
  }

  /** Empty columns of `slots` slots (a power of 2). */
  private make(slots: number): void {
    this.mask = slots - 1;
    this.rows = new Int32Array(slots);
    this.gens = new Uint32Array(slots);
    this.since = new Float64Array(slots);
    this.idWords = new Uint32Array(slots * 4);
    this.ids = new Array<string | undefined>(slots).fill(undefined);
    this.moves = new Array<EpisodeMove | undefined>(slots).fill(undefined);
    this.index = new Int32Array(slots * 2);
    this.shift = 32 - Math.log2(slots * 2);
    this.head = this.tail = this.size = 0;
  }

  /** Starts row's handshake (one of the row already waiting is superseded), its session id given as text. */
  add(row: number, gen: number, sessionId: string, since: number, move: EpisodeMove | undefined): void {
    const s = this.place(row, gen);
    this.since[s] = since;
    this.ids[s] = sessionId;
    this.moves[s] = move;
  }

  /** Starts row's handshake at `startAt`, its session id the 4 words at words[at, at+4) (a created session's record). */
  addWords(row: number, gen: number, words: Uint32Array, at: number): void {
    const s = this.place(row, gen);
    this.since[s] = this.startAt;
    for (let w = 0; w < 4; w++) this.idWords[s * 4 + w] = words[at + w]!;
  }

  /** Starts here, at `since`, the handshake `from` is handing over (inside its TakeDue call): its session id (words
   *  or text) and move come along, no string made. */
  addReleased(from: PendingHandshakes, row: number, gen: number, move: EpisodeMove | undefined, since: number): void {
    const s = this.place(row, gen), f = from.released;
    this.since[s] = since;
    this.ids[s] = from.ids[f];
    this.moves[s] = move;
    for (let w = 0; w < 4; w++) this.idWords[s * 4 + w] = from.idWords[f * 4 + w]!;
  }

  /** The session id's text of the handshake being handed over (inside a TakeDue call only). */
  releasedId(): string {
    const s = this.released;
    return this.ids[s] ?? uuidString(this.idWords, s * 4);
  }

  /** The start time of the handshake being handed over (inside a TakeDue call only). */
  releasedSince(): number {
    return this.since[this.released]!;
  }

  /** A new entry at the tail (indexed); its slot (the caller writes its start and id). */
  private place(row: number, gen: number): number {
    this.resolve(row);
    while (this.head < this.tail && this.rows[this.head & this.mask] === EMPTY) this.head++; // resolved ones at the head
    if (this.tail - this.head > this.mask) this.grow();
    const s = this.tail & this.mask;
    this.tail++;
    this.rows[s] = row;
    this.gens[s] = gen;
    let h = this.home(row);
    while (this.index[h] !== 0) h = (h + 1) & (this.index.length - 1);
    this.index[h] = s + 1;
    this.size++;
    return s;
  }

  /** Ends row's waiting handshake (none: nothing); `done` gets it when it waited. */
  resolve(row: number, done?: TakeDue): void {
    this.resolveGen(row, -1, done);
  }

  /** Ends row's waiting handshake when it is of generation `gen` (-1: any), in one probe; false when none was. */
  resolveGen(row: number, gen: number, done?: TakeDue): boolean {
    const h = this.find(row);
    if (h < 0) return false;
    const s = this.index[h]! - 1;
    if (gen >= 0 && this.gens[s] !== gen) return false;
    this.unindex(h);
    this.release(s, done);
    if (this.size === 0) this.head = this.tail; // all resolved: the ring starts over
    return true;
  }

  /** Hands over (and ends) every handshake started at `before` or earlier, oldest first. */
  takeDue(before: number, take: TakeDue): void {
    while (this.head < this.tail) {
      const s = this.head & this.mask;
      const row = this.rows[s]!;
      if (row !== EMPTY) {
        if (this.since[s]! > before) return;
        this.unindex(this.find(row));
        this.release(s, take);
      }
      this.head++;
    }
  }

  clear(): void {
    for (let p = this.head; p < this.tail; p++) this.release(p & this.mask);
    this.head = this.tail = 0;
    this.index.fill(0);
  }

  private release(s: number, done?: TakeDue): void {
    if (this.rows[s] === EMPTY) return;
    const row = this.rows[s]!, move = this.moves[s];
    this.rows[s] = EMPTY;
    this.moves[s] = undefined;
    this.size--;
    if (done !== undefined) {
      this.released = s;
      done(row, this.gens[s]!, move);
      this.released = -1;
    }
    this.ids[s] = undefined;
  }

  private home(row: number): number {
    return Math.imul(row, 0x9e3779b1) >>> this.shift;
  }

  /** Index position of row, or -1. */
  private find(row: number): number {
    const m = this.index.length - 1;
    for (let h = this.home(row); ; h = (h + 1) & m) {
      const v = this.index[h]!;
      if (v === 0) return -1;
      if (this.rows[v - 1] === row) return h;
    }
  }

  /** Empties index position h, moving back the entries after it whose home is not after it. */
  private unindex(h: number): void {
    const m = this.index.length - 1;
    let hole = h;
    for (let j = (h + 1) & m; this.index[j] !== 0; j = (j + 1) & m) {
      const home = this.home(this.rows[this.index[j]! - 1]!);
      if (hole <= j ? home > hole && home <= j : home > hole || home <= j) continue;
      this.index[hole] = this.index[j]!;
      hole = j;
    }
    this.index[hole] = 0;
  }

  /** The live entries moved to the start in their order, in twice the slots when they fill half. */
  private grow(): void {
    const old = { rows: this.rows, gens: this.gens, since: this.since, idWords: this.idWords, ids: this.ids, moves: this.moves, mask: this.mask, head: this.head, tail: this.tail };
    this.make((this.mask + 1) * (this.size * 2 > this.mask ? 2 : 1));
    for (let p = old.head; p < old.tail; p++) {
      const s = p & old.mask;
      if (old.rows[s] === EMPTY) continue;
      const n = this.place(old.rows[s]!, old.gens[s]!);
      this.since[n] = old.since[s]!;
      this.idWords.set(old.idWords.subarray(s * 4, s * 4 + 4), n * 4);
      this.ids[n] = old.ids[s];
      this.moves[n] = old.moves[s];
    }
  }
}
