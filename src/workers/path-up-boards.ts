/**
 * Control's path verdicts for the data-path workers, one shared board (a byte per path id) per path numbering
 * a worker may run. A reload that renumbers paths takes a worker several turns to compile (it forwards by the
 * old tables meanwhile), so the new numbering gets a board of its own that rides with the config; until every
 * worker has swapped, a verdict is written to each live board at the path's id there (by name), so a worker
 * reads each path by the ids of the tables it runs.
 *
 *   setTables(renumbered) -> board n+1 (state copied by name) -> config message -> worker swaps -> taken(n+1)
 *   set(id, up) -> newest board at id, older live boards at that path's id in their numbering
 */
import type { ForwardingTables } from '../model/tables.js';
import type { PathNumbering } from './path-rx.js';

/** `names`, `ids`: path names by id, and ids by name, in this board's numbering */
interface Board extends PathNumbering {
  readonly epoch: number;
  readonly buffer: SharedArrayBuffer;
  readonly view: Uint8Array;
}

export class PathUpBoards {
  /** oldest first; the last is the numbering of the newest tables */
  private boards: Board[] = [];
  /** per worker index, the board epoch of the tables it runs */
  private readonly running = new Map<number, number>();

  constructor(private readonly size: number) {}

  /** The first board (the tables a host opens with): every path up or down. */
  open(tables: ForwardingTables, up: boolean): void {
    this.boards = [this.board(0, tables)];
    this.newest.view.fill(up ? 1 : 0);
  }

  get newest(): Board {
    return this.boards[this.boards.length - 1]!;
  }

  /**
   * New tables: a new board when they number paths otherwise (each path's verdict carried over by name, a new
   * path down until control says), returned to send with them; undefined when the newest board still fits.
   */
  renumber(tables: ForwardingTables): { buffer: SharedArrayBuffer; epoch: number } | undefined {
    const last = this.newest;
    if (tables.paths.length === last.names.length && tables.paths.every((p) => last.names[p.id] === p.name)) return undefined;
    const next = this.board(last.epoch + 1, tables);
    for (const p of tables.paths) {
      const before = last.ids.get(p.name);
      next.view[p.id] = before === undefined ? 0 : last.view[before]!;
    }
    this.boards.push(next);
    return { buffer: next.buffer, epoch: next.epoch };
  }

  /** A verdict by the newest tables' path id, on every live board. */
  set(path: number, up: boolean): void {
    if (path < 0 || path >= this.size) return;
    const v = up ? 1 : 0;
    const last = this.newest;
    Atomics.store(last.view, path, v);
    const name = last.names[path];
    if (name === undefined) return;
    for (let i = 0; i < this.boards.length - 1; i++) {
      const b = this.boards[i]!;
      const id = b.ids.get(name);
      if (id !== undefined) Atomics.store(b.view, id, v);
    }
  }

  /** The board of `epoch` while a worker may run it. */
  at(epoch: number): Board | undefined {
    return this.boards.find((b) => b.epoch === epoch);
  }

  isUp(path: number): boolean {
    return this.newest.view[path] === 1;
  }

  /** Worker `index` runs the tables of board `epoch` (a swap, or a thread started on the newest); older boards no worker runs are dropped. */
  taken(index: number, epoch: number): void {
    this.running.set(index, epoch);
    this.prune();
  }

  /** Worker `index` ended (its replacement starts on the newest board). */
  ended(index: number): void {
    this.running.delete(index);
    this.prune();
  }

  private prune(): void {
    let oldest = this.newest.epoch;
    for (const e of this.running.values()) oldest = Math.min(oldest, e);
    this.boards = this.boards.filter((b) => b.epoch >= oldest);
  }

  private board(epoch: number, tables: ForwardingTables): Board {
    const buffer = new SharedArrayBuffer(this.size);
    const names: string[] = [];
    for (const p of tables.paths) names[p.id] = p.name;
    return { epoch, buffer, view: new Uint8Array(buffer), names, ids: new Map(tables.paths.map((p) => [p.name, p.id])) };
  }
}
