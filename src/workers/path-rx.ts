/**
 * Authenticated data packets received per path (BFD's sign of life under load: paths/supervisor.ts), totalled
 * over the workers by path name. Each worker counts into a buffer of its own by the path ids of the tables it
 * runs; its swap to tables that renumber paths brings a fresh buffer (the old one is final from then), so a
 * count is never read against another path's id, and each path's total carries across the swap.
 *
 *   worker swaps (fresh buffer) -> pathUpTaken -> use(index, buffer, numbering): the old buffer folded in by name,
 *     the names `numbering` lacks forgotten (a removed path added again starts at 0, as in one data path)
 *   total(path) = folded[name] + each live worker's buffer at that name's id in its numbering
 */

/** path names by id and ids by name in one numbering (a board of path-up-boards.ts) */
export interface PathNumbering {
  readonly names: readonly string[];
  readonly ids: ReadonlyMap<string, number>;
}

export class PathRxTotals {
  private readonly live = new Map<number, { view: Float64Array; numbering: PathNumbering }>();
  /** counts of buffers no worker writes any more, by path name (a path's total never goes back while it exists) */
  private readonly folded = new Map<string, number>();

  /** Worker `index` counts into `buffer` by `numbering`'s ids from now on; its previous buffer is folded in. */
  use(index: number, buffer: SharedArrayBuffer, numbering: PathNumbering): void {
    this.ended(index);
    this.live.set(index, { view: new Float64Array(buffer), numbering });
    for (const name of this.folded.keys()) if (!numbering.ids.has(name)) this.folded.delete(name);
  }

  /** Worker `index` ended: its counts stay in the totals. */
  ended(index: number): void {
    const w = this.live.get(index);
    if (w === undefined) return;
    this.live.delete(index);
    w.numbering.names.forEach((name, id) => {
      if (w.view[id]! > 0) this.folded.set(name, (this.folded.get(name) ?? 0) + w.view[id]!);
    });
  }

  /** The total of path `path` in `numbering` (the newest tables'). */
  total(path: number, numbering: PathNumbering): number {
    const name = numbering.names[path];
    if (name === undefined) return 0;
    let n = this.folded.get(name) ?? 0;
    for (const w of this.live.values()) {
      const id = w.numbering === numbering ? path : w.numbering.ids.get(name);
      if (id !== undefined) n += w.view[id]!;
    }
    return n;
  }
}
