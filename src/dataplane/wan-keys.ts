/**
 * Waypoint 5-tuples of ingress sessions: allocate an (even local, odd peer) port pair on a path that no
 * session owns yet and install it as the session's out key (primary path) or alt key (second path of a
 * duplicated session). Used for new sessions and for migrations.
 */
import type { DataplaneContext } from './context.js';
import { PROTO_UDP } from '../packet/ip.js';
import { ROLE_INGRESS, type SideKey } from './session-table.js';

export class WanKeys {
  private readonly key: SideKey = {
    family: 4, src: new Uint32Array(4), srcOff: 0, dst: new Uint32Array(4), dstOff: 0,
    srcPort: 0, dstPort: 0, protocol: 0, ifIndex: 0,
  };
  private readonly isFree: (local: number, peer: number) => boolean;
  /** the new ingress row whose out key a free pair becomes as it is found (one probe a pair), or -1 */
  private placing = -1;

  constructor(private readonly ctx: DataplaneContext) {
    this.isFree = (local, peer) => {
      this.key.srcPort = local;
      this.key.dstPort = peer;
      const t = this.ctx.sessions;
      return this.placing >= 0 ? t.placeFreeKey(this.placing, 'out', this.key) : t.ownerOf(this.key) < 0;
    };
  }

  /** Prepares the key for path p and outer protocol, then allocates ports; false when the range is exhausted. */
  private pick(p: number, outer: number): boolean {
    const ctx = this.ctx;
    const path = ctx.tables.paths[p]!;
    const k = this.key;
    k.family = path.family;
    k.src = ctx.pathLocalWords;
    k.srcOff = p * 4;
    k.dst = ctx.pathRemoteWords;
    k.dstOff = p * 4;
    k.protocol = outer;
    k.ifIndex = path.localInterface;
    if (!ctx.waypoints.allocate(p, path.portFrom, path.portTo, this.isFree)) return false;
    k.srcPort = ctx.waypoints.local;
    k.dstPort = ctx.waypoints.peer;
    return true;
  }

  /**
   * Gives row r a waypoint 5-tuple on path p, replacing its previous one: the out key of an ingress
   * session, or (the egress moving a session itself) the in key of an egress session, stored in the
   * orientation of its forward packets (peer -> us). An ingress session toward a peer behind NAT on UDP
   * rides the peer's control binding until the peer opens the session's own (natRelay, docs/wan.md).
   */
  assignPrimary(r: number, p: number, outer: number): boolean {
    const t = this.ctx.sessions;
    // a new ingress session: the free pair is its out key already (a migration keeps its key until one is found)
    const fresh = t.role[r] === ROLE_INGRESS && t.outKeyInfo[r] === 0;
    this.placing = fresh ? r : -1;
    const picked = this.pick(p, outer);
    this.placing = -1;
    if (!picked) return false;
    const k = this.key;
    const local = k.srcPort;
    const peer = k.dstPort;
    const ifx = this.ctx.tables.paths[p]!.localInterface;
    t.setPath(r, p);
    t.wpLocalPort[r] = local;
    t.wpPeerPort[r] = peer;
    if (t.role[r] === ROLE_INGRESS) {
      t.natRelay[r] = this.ctx.tables.paths[p]!.peerBehindNat && outer === PROTO_UDP ? 1 : 0;
      t.outIf[r] = ifx;
      if (fresh) return true;
      t.removeSideKey(r, 'out');
      return t.insertKey(r, 'out', k);
    }
    t.removeSideKey(r, 'in');
    t.inIf[r] = ifx;
    const { src, srcOff } = k;
    k.src = k.dst;
    k.srcOff = k.dstOff;
    k.dst = src;
    k.dstOff = srcOff;
    k.srcPort = peer;
    k.dstPort = local;
    return t.insertKey(r, 'in', k);
  }

  /** Gives row r a second waypoint 5-tuple on path p (packet duplication). */
  assignAlternate(r: number, p: number, outer: number): boolean {
    if (!this.pick(p, outer)) return false;
    return this.ctx.sessions.insertAltKey(r, this.key, p, this.key.srcPort, this.key.dstPort);
  }
}
