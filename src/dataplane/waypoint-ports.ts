/**
 * Waypoint port allocation (fact sheet §6): the sending router picks both outer ports of a session on a
 * path, an even port for itself and an odd one at the peer, so two routers allocating at once never
 * pick the same pair ("glare"). Pairs are walked with a cursor per path over the even x odd space of the
 * path's port range (default 16384–65534: 24,576 x 24,575 pairs); a pair is free when no session owns
 * its waypoint 5-tuple, so a port is reused as soon as its session ends.
 */
const MAX_TRIES = 64;

export class WaypointPorts {
  private cursor = new Float64Array(0);
  /** result of the last successful `allocate` */
  local = 0;
  peer = 0;

  /** with several workers, each allocates only local ports of its slice: (port >> 1) % workers === index */
  slice: { index: number; count: number } | null = null;

  /** Picks a free (even local, odd peer) pair on `path` in [from, to]; false when none was found in
   *  MAX_TRIES probes (the range is exhausted or nearly so). `isFree` checks a candidate pair. */
  allocate(path: number, from: number, to: number, isFree: (local: number, peer: number) => boolean): boolean {
    if (path >= this.cursor.length) {
      const grown = new Float64Array(Math.max(16, path + 1) * 2);
      grown.set(this.cursor);
      this.cursor = grown;
    }
    const firstEven = from + (from & 1);
    const firstOdd = from | 1;
    const evens = Math.floor((to - firstEven) / 2) + 1;
    const odds = Math.floor((to - firstOdd) / 2) + 1;
    if (evens <= 0 || odds <= 0) return false;
    const space = evens * odds;
    let i = this.cursor[path]! % space;
    const sl = this.slice;
    const tries = sl === null ? MAX_TRIES : MAX_TRIES * sl.count;
    for (let t = 0; t < tries && t < space; t++) {
      const local = firstEven + 2 * (i % evens);
      const peer = firstOdd + 2 * (Math.floor(i / evens) % odds);
      i = i + 1 >= space ? 0 : i + 1;
      if (sl !== null && (local >> 1) % sl.count !== sl.index) continue;
      if (isFree(local, peer)) {
        this.cursor[path] = i;
        this.local = local;
        this.peer = peer;
        return true;
      }
    }
    this.cursor[path] = i;
    return false;
  }
}
