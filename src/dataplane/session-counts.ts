/**
 * Sessions per id (a tenant, service or path of the tables), kept as rows change (SessionTable.setClass, setPath,
 * remove): `show peers`, `services`, `tenants`, a metrics scrape, a managed node's report and a worker's report read
 * these instead of walking the rows (one walk over 1 M rows held the data path's thread 7-9 ms a call;
 * docs/performance.md, wave 23 tab5). A count changes when a session opens, moves to another path or ends: a
 * compare and an add; the array grows (rarely: to the highest id counted, at most 32,767: the Int16 columns).
 */
export class IdCounts {
  private n = new Int32Array(8);

  /** One session leaves `from` for `to` (-1: none). */
  move(from: number, to: number): void {
    if (from === to) return;
    if (from >= 0) this.n[from]!--; // counted when it came: within the array
    if (to >= 0) this.add(to, 1);
  }

  add(id: number, by: number): void {
    if (id < 0) return;
    if (id >= this.n.length) {
      const grown = new Int32Array(Math.max(id + 1, this.n.length * 2));
      grown.set(this.n);
      this.n = grown;
    }
    this.n[id]! += by;
  }

  /** The counts of ids [0, ids). */
  list(ids: number): number[] {
    const out = new Array<number>(ids);
    for (let i = 0; i < ids; i++) out[i] = i < this.n.length ? this.n[i]! : 0;
    return out;
  }
}
