/**
 * Handshakes waiting for their first retry (control/episodes.ts), in the order they started: a ring of typed
 * columns (row, generation, start time; the session id and the move beside them) and an index from row to
 * ring slot (open addressing in an Int32Array, backward-shift deletes). A sweep takes the due ones from the
 * head and stops at the first that is not: they started in time order.
 * Measured (in process, a window of 8,000 handshakes): a Map entry and an object per handshake cost ~0.8 µs a
 * session (the objects outlive a scavenge and are promoted); the ring allocates nothing per handshake.
 */

/** The move a handshake confirms: a session of `service` the ingress moved to `path`. */
export interface EpisodeMove {
  service: string;
  path: number;
}

/** One due handshake, as the sweep hands it over. */
export type TakeDue = (row: number, gen: number, sessionId: string, since: number, move: EpisodeMove | undefined) => void;

const EMPTY = -1;

export class PendingHandshakes {
  /** live entries */
  size = 0;
  private mask = 0;
  private rows!: Int32Array;
  private gens!: Uint32Array;
  private since!: Float64Array;
  private ids!: (string | undefined)[];
  private moves!: (EpisodeMove | undefined)[];
  /** ring positions (slot = position & mask): [head, tail) holds live and resolved (row EMPTY) entries */
  private head = 0;
  private tail = 0;
  /** row -> slot + 1 (0: empty), twice the ring's slots */
  private index!: Int32Array;
  private shift = 0;

  constructor(slots = 1024) {
    this.make(slots);
  }

  /** Empty columns of `slots` slots (a power of 2). */
  private make(slots: number): void {
    this.mask = slots - 1;
    this.rows = new Int32Array(slots);
    this.gens = new Uint32Array(slots);
    this.since = new Float64Array(slots);
    this.ids = new Array<string | undefined>(slots).fill(undefined);
    this.moves = new Array<EpisodeMove | undefined>(slots).fill(undefined);
    this.index = new Int32Array(slots * 2);
    this.shift = 32 - Math.log2(slots * 2);
    this.head = this.tail = this.size = 0;
  }

  /** Starts row's handshake (one of the row already waiting is superseded). */
  add(row: number, gen: number, sessionId: string, since: number, move: EpisodeMove | undefined): void {
    this.resolve(row);
    while (this.head < this.tail && this.rows[this.head & this.mask] === EMPTY) this.head++; // resolved ones at the head
    if (this.tail - this.head > this.mask) this.grow();
    const s = this.tail & this.mask;
    this.tail++;
    this.rows[s] = row;
    this.gens[s] = gen;
    this.since[s] = since;
    this.ids[s] = sessionId;
    this.moves[s] = move;
    let h = this.home(row);
    while (this.index[h] !== 0) h = (h + 1) & (this.index.length - 1);
    this.index[h] = s + 1;
    this.size++;
  }

  /** Generation of row's waiting handshake, or -1. */
  genOf(row: number): number {
    const h = this.find(row);
    return h < 0 ? -1 : this.gens[this.index[h]! - 1]!;
  }

  /** Ends row's waiting handshake (none: nothing); `done` gets it when it waited. */
  resolve(row: number, done?: TakeDue): void {
    const h = this.find(row);
    if (h < 0) return;
    const s = this.index[h]! - 1;
    this.unindex(h);
    this.release(s, done);
    if (this.size === 0) this.head = this.tail; // all resolved: the ring starts over
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
    const row = this.rows[s]!, id = this.ids[s]!, move = this.moves[s];
    this.rows[s] = EMPTY;
    this.ids[s] = undefined;
    this.moves[s] = undefined;
    this.size--;
    done?.(row, this.gens[s]!, id, this.since[s]!, move);
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
    const old = { rows: this.rows, gens: this.gens, since: this.since, ids: this.ids, moves: this.moves, mask: this.mask, head: this.head, tail: this.tail };
    this.make((this.mask + 1) * (this.size * 2 > this.mask ? 2 : 1));
    for (let p = old.head; p < old.tail; p++) {
      const s = p & old.mask;
      if (old.rows[s] !== EMPTY) this.add(old.rows[s]!, old.gens[s]!, old.ids[s]!, old.since[s]!, old.moves[s]);
    }
  }
}
