/**
 * svr-accept: the egress side of the handshake (fact sheet §5.2). A WAN packet with forward metadata that
 * matched no session creates one from the metadata — the ingress router already classified and
 * authorised it, and the HMAC proved who sent it.
 * 0. reverse metadata naming one of our ingress sessions on a new waypoint 5-tuple: the egress moved it
 *    (reverse-packet resiliency), or its NAT maps it there (a peer behind NAT: the session's first reverse
 *    packet opens its own binding, a rebinding moves it) -> follow it (rejoinIngress);
 * 0b. a session packet that rode the control binding (PF_NAT_RELAYED, we are behind NAT: wan-verify) gets
 *    waypoint ports of ours and the peer's (wanKeys, as if we had opened it), reverse metadata names its id
 *    (SF_SEND_UUID) and a reverse probe goes out at once (natOpen, dataplane.ts): through our NAT it opens
 *    the binding the peer follows;
 * 1. the metadata must name a forward context, session id, tenant and service -> drop 'incomplete-metadata';
 * 2. tenant and service must be known here -> drop 'unknown-tenant' / 'unknown-service';
 * 3. next hop: this router's local service-route; else a peer route that does not lead back to the router
 *    the session came from (multi-hop SVR, transit.ts: the session continues on an onward leg); else the
 *    RIB for the original destination -> drop 'no-route';
 * 4. the same session id already holding the original 5-tuple here: the ingress migrated the session to
 *    another path (its waypoint key moves, REV_SIGNAL again) or, with packet-duplication, this is its
 *    second path (an alternate key);
 * 5. otherwise create the row (plugins' session-open hooks may refuse it or choose NAT toward the server):
 *    in = the waypoint 5-tuple as received, out = the original 5-tuple (NAT applied) on the LAN interface
 *    (a stale session holding that 5-tuple is replaced), flag REV_SIGNAL, report session.created;
 *    a transit session gets no LAN key but its onward leg (both legs reported).
 * 6. a transit session that comes back to this router from another peer (a routing loop) -> drop 'transit-loop'.
 */
import { LOOKUP_NO_SERVICE, NO_INTERFACE, NO_TENANT } from '../../model/tables.js';
import { readU16 } from '../../packet/checksum.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP } from '../../packet/ip.js';
import type { MetadataView } from '../../packet/svr-metadata.js';
import { PF_ALT_PATH, PF_NAT_RELAYED, PF_NEW_SESSION, PF_REVERSE, type Batch, type Frame } from '../batch.js';
import { reverseContextMatches } from '../metadata-build.js';
import { serverSideKey } from '../nat.js';
import { RES_DUPLICATE } from '../../model/service-arrays.js';
import type { DataplaneContext } from '../context.js';
import { loadAddress, writeKeyFromBytes } from '../flow-key.js';
import { accountPacket, emitCreated, emitMigrated, removeSession } from '../session-ops.js';
import { openOnwardLeg, transitPath } from '../transit.js';
import { ROLE_EGRESS, ROLE_INGRESS, SF_ACTIVE, SF_ENC_ON, SF_PAYLOAD, SF_REV_SIGNAL, SF_SEND_UUID, SF_TRANSFORMED, flowRow, flowSwapped, type SideKey } from '../session-table.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';

const N_SVR_IN = 0, N_DROP = 1;

export class SvrAcceptStage implements Stage {
  readonly name = 'svr-accept';
  readonly nexts = ['svr-in', 'drop'] as const;
  /** the id index's home slots touchIds loaded, xored (kept so that the loads stay) */
  touched = 0;
  private cIncomplete = 0;
  private cTenant = 0;
  private cService = 0;
  private cNoRoute = 0;
  private cProto = 0;
  private cCreated = 0;
  private cReplaced = 0;
  private cCollision = 0;
  private cMigrated = 0;
  private cFull = 0;
  private cSteeringFull = 0;
  private cTransit = 0;
  private cLoop = 0;
  private cOnward = 0;
  private cNatOpened = 0;
  private cRelayed = 0;
  private cExhausted = 0;
  private readonly wpSrc = new Uint32Array(4);
  private readonly wpDst = new Uint32Array(4);
  private readonly key: SideKey = {
    family: 4, src: new Uint32Array(4), srcOff: 0, dst: new Uint32Array(4), dstOff: 0,
    srcPort: 0, dstPort: 0, protocol: 0, ifIndex: 0,
  };

  constructor(private readonly ctx: DataplaneContext) {}

  init(i: StageInit): void {
    this.cIncomplete = i.counter('drop-incomplete-metadata');
    this.cFull = i.counter('drop-session-table-full');
    this.cSteeringFull = i.counter('drop-steering-full');
    this.cTenant = i.counter('drop-unknown-tenant');
    this.cService = i.counter('drop-unknown-service');
    this.cNoRoute = i.counter('drop-no-route');
    this.cProto = i.counter('drop-unsupported-protocol');
    this.cCreated = i.counter('sessions-created');
    this.cReplaced = i.counter('sessions-replaced');
    this.cCollision = i.counter('drop-waypoint-collision');
    this.cMigrated = i.counter('sessions-migrated');
    this.cTransit = i.counter('sessions-transit');
    this.cLoop = i.counter('drop-transit-loop');
    this.cOnward = i.counter('drop-transit-no-leg');
    this.cNatOpened = i.counter('nat-sessions-opened');
    this.cRelayed = i.counter('nat-sessions-relayed');
    this.cExhausted = i.counter('drop-waypoint-ports-exhausted');
  }

  /** Loads slot s's waypoint 5-tuple into this.key, as received or (`swap`) as we send it. */
  private loadWaypointKey(b: Batch, s: number, swap: boolean): SideKey {
    const pi = b.info[s]!;
    const k = this.key;
    k.family = pi.family;
    k.src = this.wpSrc;
    k.dst = this.wpDst;
    loadAddress(b.data, swap ? pi.dstOff : pi.srcOff, pi.family, k.src, 0);
    loadAddress(b.data, swap ? pi.srcOff : pi.dstOff, pi.family, k.dst, 0);
    k.srcOff = 0;
    k.dstOff = 0;
    k.srcPort = swap ? pi.dstPort : pi.srcPort;
    k.dstPort = swap ? pi.srcPort : pi.dstPort;
    k.protocol = pi.protocol;
    k.ifIndex = b.ifIndex[s]!;
    return k;
  }

  /**
   * The known session r arrived on a new waypoint 5-tuple: with packet-duplication and its current path
   * still up, this is its second path (alt key); otherwise the session migrated: its waypoint key moves.
   */
  private rejoin(b: Batch, s: number, r: number, service: number, rt: StageRuntime): boolean {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const pi = b.info[s]!;
    const k = this.loadWaypointKey(b, s, false);
    const path = b.path[s]!;
    const duplicated = ctx.servicePaths.resiliency[service] === RES_DUPLICATE && t.path[r] !== path && ctx.pathUp[t.path[r]!] === 1;
    if (duplicated) {
      t.insertAltKey(r, k, path, pi.dstPort, pi.srcPort);
      b.flags[s] |= PF_ALT_PATH;
    } else {
      const from = t.path[r]!;
      t.removeSideKey(r, 'in');
      t.insertKey(r, 'in', k);
      t.setPath(r, path);
      t.inIf[r] = b.ifIndex[s]!;
      t.wpLocalPort[r] = pi.dstPort;
      t.wpPeerPort[r] = pi.srcPort;
      // the outer protocol may have changed too: a TCP session the ingress moved to UDP (UDP transform)
      t.flags[r] = (t.flags[r]! & ~SF_TRANSFORMED) | (pi.protocol !== t.protocol[r] ? SF_TRANSFORMED : 0) | SF_REV_SIGNAL;
      rt.counters.add(this.cMigrated);
      emitMigrated(ctx, r, from, false, 'peer-moved', rt.now);
    }
    b.session[s] = r;
    accountPacket(ctx, r, true, b.len[s]!, rt.now);
    return true;
  }

  /**
   * The egress moved one of our ingress sessions to another path itself (its path failed and it had
   * reverse packets to send): reverse metadata naming the session id on a new waypoint 5-tuple. We
   * follow unless we already moved the session to a live path ourselves (the ingress decides on glare);
   * either way the packet is delivered.
   */
  private rejoinIngress(b: Batch, s: number, v: MetadataView, rt: StageRuntime): boolean {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const d = b.data;
    const pi = b.info[s]!;
    const r = t.rowByUuid(d, v.uuid);
    if (r < 0 || t.role[r] !== ROLE_INGRESS || !reverseContextMatches(d, v.reverseCtx, v.reverseFamily, t, r)) {
      rt.counters.add(this.cIncomplete);
      return false;
    }
    const cur = t.path[r]!;
    // the peer behind NAT: its reverse packet comes from where its NAT maps the session (docs/wan.md)
    const natMoved = cur === b.path[s] && ctx.tables.paths[cur]!.peerBehindNat;
    if ((cur !== b.path[s] && ctx.pathUp[cur] !== 1) || natMoved) {
      const k = this.loadWaypointKey(b, s, true); // our forward direction: us -> peer
      t.removeSideKey(r, 'out');
      t.insertKey(r, 'out', k);
      t.setPath(r, b.path[s]!);
      t.outIf[r] = b.ifIndex[s]!;
      t.wpLocalPort[r] = pi.dstPort;
      t.wpPeerPort[r] = pi.srcPort;
      if (t.natRelay[r] === 1) {
        t.natRelay[r] = 0; // the session's own binding is open: no more riding the control binding
        rt.counters.add(this.cNatOpened);
      } else {
        rt.counters.add(this.cMigrated);
        emitMigrated(ctx, r, cur, false, 'peer-moved', rt.now);
      }
    }
    b.session[s] = r;
    b.flags[s] |= PF_REVERSE;
    accountPacket(ctx, r, false, b.len[s]!, rt.now);
    return true;
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    if (f.n > 1) this.touchIds(b, f);
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      rt.next[s] = this.accept(b, s, b.meta[s]!, rt) ? N_SVR_IN : N_DROP;
    }
  }

  /** Loads the id index's home slot of each packet's session id before accept looks any up (rowByUuid: a miss
   *  each for a new session), so that the frame's misses run side by side, as session-lookup's flow keys do. */
  private touchIds(b: Batch, f: Frame): void {
    const t = this.ctx.sessions;
    let x = 0;
    for (let k = 0; k < f.n; k++) {
      const id = b.meta[f.slot[k]!]!.uuid;
      if (id >= 0) x ^= t.touchUuid(b.data, id);
    }
    this.touched = x;
  }

  private accept(b: Batch, s: number, v: MetadataView, rt: StageRuntime): boolean {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const tables = ctx.tables;
    const c = rt.counters;
    const d = b.data;
    const pi = b.info[s]!;
    // a packet earlier in this batch may have created the session already
    const swapped = writeKeyFromBytes(t.keyScratch(pi.family), pi.family, d, pi.srcOff, pi.dstOff, pi.srcPort, pi.dstPort, pi.protocol, b.ifIndex[s]!);
    const existing = t.lookup(pi.family, s); // session-lookup's miss, while it holds: no probe
    if (existing >= 0) {
      if (flowSwapped(existing) !== swapped) {
        c.add(this.cCollision); // our own session holds this waypoint 5-tuple in the other direction
        return false;
      }
      const r = flowRow(existing);
      b.session[s] = r;
      accountPacket(ctx, r, true, b.len[s]!, rt.now);
      return true;
    }
    if (v.forwardCtx < 0 && v.reverseCtx >= 0 && v.uuid >= 0) return this.rejoinIngress(b, s, v, rt);
    if (v.forwardCtx < 0 || v.uuid < 0 || v.tenant < 0 || v.service < 0) {
      c.add(this.cIncomplete);
      return false;
    }
    const tenant = tables.tenantIdFromBytes(d, v.tenant, v.tenantLength);
    if (tenant === NO_TENANT) {
      c.add(this.cTenant);
      return false;
    }
    const service = tables.serviceIdFromBytes(d, v.service, v.serviceLength);
    if (service === LOOKUP_NO_SERVICE) {
      c.add(this.cService);
      return false;
    }
    const fam = v.forwardFamily as 4 | 6;
    const a = fam === 6 ? 16 : 4;
    const ctxOff = v.forwardCtx;
    const protocol = d[ctxOff + 2 * a + 4]!;
    if (protocol !== PROTO_TCP && protocol !== PROTO_UDP && protocol !== PROTO_ICMP && protocol !== PROTO_ICMPV6) {
      c.add(this.cProto);
      return false;
    }
    let outIf = NO_INTERFACE;
    const routes = tables.services[service]!.routes;
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i]!;
      if (route.kind === 'local') {
        outIf = route.interface;
        break;
      }
    }
    const onward = outIf === NO_INTERFACE ? transitPath(ctx, service, b.path[s]!) : -1;
    if (outIf === NO_INTERFACE && onward < 0) outIf = tables.routeLocal(tenant, d, ctxOff + a, fam);
    if (outIf === NO_INTERFACE && onward < 0) {
      c.add(this.cNoRoute);
      return false;
    }
    const known = t.rowByUuid(d, v.uuid);
    const relayed = (b.flags[s]! & PF_NAT_RELAYED) !== 0;
    if (relayed && known >= 0) {
      // a packet of the peer's on our control binding whose session a packet earlier in this batch opened
      if (t.role[known] !== ROLE_EGRESS || t.path[known] !== b.path[s]) {
        c.add(this.cIncomplete);
        return false;
      }
      b.session[s] = known;
      accountPacket(ctx, known, true, b.len[s]!, rt.now);
      return true;
    }
    if (known >= 0 && t.role[known] === ROLE_EGRESS) {
      if (t.relayOf(known) >= 0 && tables.paths[t.path[known]!]!.peer !== tables.paths[b.path[s]!]!.peer) {
        c.add(this.cLoop); // our transit session came back from another router
        return false;
      }
      return this.rejoin(b, s, known, service, rt);
    }
    if (known >= 0 && t.role[known] === ROLE_INGRESS) {
      c.add(this.cLoop); // a session we sent came back to us
      return false;
    }
    if (onward >= 0) return this.acceptTransit(b, s, v, tenant, service, protocol, onward, rt);
    const r = t.alloc(rt.now);
    if (r < 0) {
      c.add(this.cFull); // the table holds its limit: refused, existing sessions go on
      return false;
    }
    t.role[r] = ROLE_EGRESS;
    t.setOrigin(r, fam, d, ctxOff, ctxOff + a);
    t.protocol[r] = protocol;
    t.setClass(r, tenant, service);
    t.chain[r] = ctx.chains.maskFor(tenant, service);
    t.setPath(r, b.path[s]!);
    t.inIf[r] = b.ifIndex[s]!;
    t.outIf[r] = outIf;
    t.origSrcPort[r] = readU16(d, ctxOff + 2 * a);
    t.origDstPort[r] = readU16(d, ctxOff + 2 * a + 2);
    loadAddress(d, v.uuid, 6, t.uuid, r * 4);
    t.indexUuid(r);
    t.wpLocalPort[r] = pi.dstPort;
    t.wpPeerPort[r] = pi.srcPort;
    const transformed = pi.protocol === PROTO_UDP && protocol !== PROTO_UDP; // ICMP, or TCP under UDP transform
    const framed = v.payloadEncrypted || tables.services[service]!.payload !== undefined;
    t.flags[r] = SF_ACTIVE | SF_REV_SIGNAL | (transformed ? SF_TRANSFORMED : 0) | (framed ? SF_PAYLOAD : 0) | (v.payloadEncrypted ? SF_ENC_ON : 0) | (relayed ? SF_SEND_UUID : 0);
    if (!ctx.hooks.runOpen(r, rt.now)) {
      ctx.hooks.runClose(r); // hooks that accepted before the refusal release what they took
      t.remove(r); // refused by a plugin (counted there)
      return false;
    }
    // in: the waypoint 5-tuple exactly as received (forward direction); a relayed packet's is the control
    // channel's, so the session gets waypoint ports as if we had opened it (the peer follows our reverse probe)
    if (relayed && !ctx.wanKeys.assignPrimary(r, b.path[s]!, PROTO_UDP)) {
      ctx.hooks.runClose(r);
      t.remove(r);
      c.add(this.cExhausted);
      return false;
    }
    const k = this.loadWaypointKey(b, s, false);
    if (!relayed) t.insertKey(r, 'in', k);
    // out: the original 5-tuple (NAT applied) on the LAN side; a stale session there is replaced (insert
    // first: the one probe of a free key, where an owner check before took two)
    serverSideKey(t, r, outIf, k);
    if (!t.insertKey(r, 'out', k)) {
      c.add(this.cReplaced);
      removeSession(ctx, t.ownerOf(k), 'replaced', rt.now);
      t.insertKey(r, 'out', k);
    }
    if (t.claimFailed) {
      // a key of it could not be recorded for steering (the table is full): other workers would not find it
      ctx.hooks.runClose(r);
      t.remove(r);
      c.add(this.cSteeringFull);
      return false;
    }
    b.session[s] = r;
    b.flags[s] |= PF_NEW_SESSION;
    accountPacket(ctx, r, true, b.len[s]!, rt.now);
    c.add(this.cCreated);
    emitCreated(ctx, r);
    if (relayed) {
      c.add(this.cRelayed);
      ctx.natOpen.push(r, t.gen[r]!); // its reverse probe goes out right after the batch (dataplane.ts)
    }
    return true;
  }

  /** A transit session (transit.ts): the egress leg with its waypoint key, then the onward leg on `onward`. */
  private acceptTransit(b: Batch, s: number, v: MetadataView, tenant: number, service: number, protocol: number, onward: number, rt: StageRuntime): boolean {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const d = b.data;
    const pi = b.info[s]!;
    const fam = v.forwardFamily as 4 | 6;
    const a = fam === 6 ? 16 : 4;
    const r = t.alloc(rt.now);
    if (r < 0) {
      rt.counters.add(this.cFull); // the table holds its limit: refused, existing sessions go on
      return false;
    }
    t.role[r] = ROLE_EGRESS;
    t.setOrigin(r, fam, d, v.forwardCtx, v.forwardCtx + a);
    t.protocol[r] = protocol;
    t.setClass(r, tenant, service);
    t.setPath(r, b.path[s]!);
    t.inIf[r] = b.ifIndex[s]!;
    t.outIf[r] = NO_INTERFACE;
    t.origSrcPort[r] = readU16(d, v.forwardCtx + 2 * a);
    t.origDstPort[r] = readU16(d, v.forwardCtx + 2 * a + 2);
    loadAddress(d, v.uuid, 6, t.uuid, r * 4);
    t.wpLocalPort[r] = pi.dstPort;
    t.wpPeerPort[r] = pi.srcPort;
    const transformed = pi.protocol === PROTO_UDP && protocol !== PROTO_UDP; // ICMP, or TCP under UDP transform
    t.flags[r] = SF_ACTIVE | SF_REV_SIGNAL | (transformed ? SF_TRANSFORMED : 0) | (v.payloadEncrypted ? SF_ENC_ON : 0);
    if (!t.insertKey(r, 'in', this.loadWaypointKey(b, s, false))) {
      t.remove(r);
      rt.counters.add(this.cCollision);
      return false;
    }
    const next = openOnwardLeg(ctx, r, onward, rt.now);
    if (next < 0) {
      t.remove(r);
      rt.counters.add(this.cOnward); // the onward path's family differs, its waypoint ports ran out or the table is full
      return false;
    }
    t.indexUuid(r);
    b.session[s] = r;
    b.flags[s] |= PF_NEW_SESSION;
    accountPacket(ctx, r, true, b.len[s]!, rt.now);
    rt.counters.add(this.cCreated);
    rt.counters.add(this.cTransit);
    emitCreated(ctx, r);
    emitCreated(ctx, next);
    return true;
  }
}
