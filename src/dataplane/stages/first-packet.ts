/**
 * first-packet: a LAN packet that matched no session. Deny by default: it opens a session only when
 * every step passes (ssr-reference §4 "forwarding precondition"), each failure a counted drop.
 * 0. the L4 checksum must be valid (a corrupted packet never opens a session) -> drop 'bad-checksum'
 * 1. tenant: interface tenant, else longest member prefix       -> drop 'no-tenant'
 * 2. service: tenant FIB (port-qualified beats address-only)     -> drop 'no-service' / 'access-denied'
 * 3. TCP that is not a SYN: transport-state-enforcement           -> reset (RST back), block, or allow
 * 4. route: first service-route with a usable peer path (the service's ranked paths) or local next hop
 *    -> drop 'no-route', or 'no-path-meets-sla' when the policy refuses (best-effort false)
 * Steps 1-4 are the tables' lookups and admission.ts, which `svr explain` calls too.
 * 5. ingress (peer): waypoint ports even local / odd peer         -> drop 'waypoint-ports-exhausted'
 * 6. plugins' session-open hooks may refuse it (DoS, firewall) -> drop, or answer with a TCP reset / ICMP
 *    unreachable when the plugin asks (refuse(reply)); or choose NAT for a local session;
 * 7. create the row (both keys), flag NEEDS_META, report session.created.
 * Every denial (1-6) is also recorded for control's session.denied (a few word stores, no allocation).
 * Cost: ~3 µs per new session (classification, allocation, two inserts, metadata, the fact with its tuples),
 * ~0.3 µs per denied first packet (bench/dataplane.ts).
 */
import { LOOKUP_ACCESS_DENIED, LOOKUP_NO_SERVICE, NO_TENANT } from '../../model/tables.js';
import { PROTO_TCP, PROTO_UDP, TCP_RST, type PacketInfo } from '../../packet/ip.js';
import { ROUTE_NONE, ROUTE_PEER, ROUTE_REFUSED, TSE_PASS, TSE_RESET, chooseRoute, routeChoice, transportStateVerdict, usesRib } from '../admission.js';
import { PF_NEW_SESSION, type Batch, type Frame } from '../batch.js';
import type { DataplaneContext } from '../context.js';
import { DISPATCH_NEXTS, dispatchIndex } from '../dispatch.js';
import { writeKeyFromBytes } from '../flow-key.js';
import { accountPacket, emitCreated, outerProtocol } from '../session-ops.js';
import { denyCode } from '../denied.js';
import {
  ROLE_INGRESS, ROLE_LOCAL, SF_ACTIVE, SF_NEEDS_META, SF_TRANSFORMED, flowRow, flowSwapped, type SideKey,
} from '../session-table.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';
import { makeTcpReset } from '../tcp-reset.js';
import { makeIcmpUnreachable } from '../icmp-unreachable.js';
import { originalKey, serverSideKey } from '../nat.js';
import { payloadFlags } from '../payload.js';
import { verifyL4Checksum } from '../../packet/rewrite.js';

const N_TX = 3, N_DROP = 4;

const NO_TENANT_CODE = denyCode('no-tenant');
const NO_SERVICE_CODE = denyCode('no-service');
const ACCESS_DENIED_CODE = denyCode('access-denied');
const TCP_NO_SESSION_CODE = denyCode('tcp-no-session');
const NO_ROUTE_CODE = denyCode('no-route');
const NO_SLA_CODE = denyCode('no-path-meets-sla');
const EXHAUSTED_CODE = denyCode('waypoint-ports-exhausted');
const NAT_COLLISION_CODE = denyCode('nat-collision');
const REFUSED_CODE = denyCode('refused-by-plugin');

export class FirstPacketStage implements Stage {
  readonly name = 'first-packet';
  readonly nexts = [...DISPATCH_NEXTS, 'tx', 'drop'] as const;
  private cNoTenant = 0;
  private cNoService = 0;
  private cDenied = 0;
  private cNoRoute = 0;
  private cExhausted = 0;
  private cTransformed = 0;
  private cTcpNoSession = 0;
  private cRstSent = 0;
  private cFamily = 0;
  private cCreated = 0;
  private cFull = 0;
  private cSteeringFull = 0;
  private cChecksum = 0;
  private cRefused = 0;
  private cNatCollision = 0;
  /** scratch of the route choice */
  private readonly route = routeChoice();
  private cUnreachable = 0;
  /** why openIngress/openLocal returned -1 (a deny code) */
  private refusal = 0;
  /** scratch for key building */
  private readonly key: SideKey = {
    family: 4, src: new Uint32Array(4), srcOff: 0, dst: new Uint32Array(4), dstOff: 0,
    srcPort: 0, dstPort: 0, protocol: 0, ifIndex: 0,
  };
  constructor(private readonly ctx: DataplaneContext) {}

  init(i: StageInit): void {
    this.cNoTenant = i.counter('drop-no-tenant');
    this.cNoService = i.counter('drop-no-service');
    this.cDenied = i.counter('drop-access-denied');
    this.cNoRoute = i.counter('drop-no-route');
    this.cExhausted = i.counter('drop-waypoint-ports-exhausted');
    this.cTransformed = i.counter('tcp-sessions-transformed');
    this.cTcpNoSession = i.counter('drop-tcp-no-session');
    this.cRstSent = i.counter('tcp-resets-sent');
    this.cFamily = i.counter('drop-family-mismatch');
    this.cCreated = i.counter('sessions-created');
    this.cFull = i.counter('drop-session-table-full');
    this.cSteeringFull = i.counter('drop-steering-full');
    this.cChecksum = i.counter('drop-bad-checksum');
    this.cRefused = i.counter('drop-no-path-meets-sla');
    this.cNatCollision = i.counter('drop-nat-collision');
    this.cUnreachable = i.counter('icmp-unreachables-sent');
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      rt.next[s] = this.admit(b, s, b.info[s]!, rt);
    }
  }

  private admit(b: Batch, s: number, pi: PacketInfo, rt: StageRuntime): number {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const tables = ctx.tables;
    const c = rt.counters;
    const d = b.data;
    const ifx = b.ifIndex[s]!;
    // an earlier packet of this batch may have opened the session already
    const swapped = writeKeyFromBytes(t.keyScratch(pi.family), pi.family, d, pi.srcOff, pi.dstOff, pi.srcPort, pi.dstPort, pi.protocol, ifx);
    const existing = t.lookup(pi.family, s); // session-lookup's miss, while it holds: no probe
    if (existing >= 0) {
      const r = flowRow(existing);
      const forward = flowSwapped(existing) === swapped;
      b.session[s] = r;
      accountPacket(ctx, r, forward, b.len[s]!, rt.now);
      return dispatchIndex(t.role[r]!, forward);
    }
    if (!verifyL4Checksum(d, pi)) {
      c.add(this.cChecksum); // a corrupted packet never opens a session
      return N_DROP;
    }
    const denied = ctx.denied;
    const tenant = tables.classifyTenant(ifx, d, pi.srcOff, pi.family);
    if (tenant === NO_TENANT) {
      c.add(this.cNoTenant);
      denied.add(NO_TENANT_CODE, d, pi, ifx, -1, -1);
      return N_DROP;
    }
    const service = tables.lookupService(tenant, d, pi.srcOff, pi.dstOff, pi.family, pi.protocol, pi.dstPort);
    if (service === LOOKUP_NO_SERVICE || service === LOOKUP_ACCESS_DENIED) {
      const none = service === LOOKUP_NO_SERVICE;
      c.add(none ? this.cNoService : this.cDenied);
      denied.add(none ? NO_SERVICE_CODE : ACCESS_DENIED_CODE, d, pi, ifx, tenant, -1);
      return N_DROP;
    }
    const svc = tables.services[service]!;
    const tse = transportStateVerdict(svc, pi.protocol, pi.tcpFlags);
    if (tse !== TSE_PASS) {
      c.add(this.cTcpNoSession);
      denied.add(TCP_NO_SESSION_CODE, d, pi, ifx, tenant, service);
      if (tse === TSE_RESET) {
        makeTcpReset(b, s, pi);
        c.add(this.cRstSent);
        return N_TX;
      }
      return N_DROP;
    }
    const ribIf = usesRib(svc) ? tables.routeLocal(tenant, d, pi.dstOff, pi.family) : -1;
    const route = chooseRoute(svc, service, ctx.servicePaths, ctx.pathUp, this.route, ribIf);
    if (route.kind === ROUTE_NONE || route.kind === ROUTE_REFUSED) {
      const refused = route.kind === ROUTE_REFUSED;
      c.add(refused ? this.cRefused : this.cNoRoute);
      denied.add(refused ? NO_SLA_CODE : NO_ROUTE_CODE, d, pi, ifx, tenant, service);
      return N_DROP;
    }
    const r = route.kind === ROUTE_PEER ? this.openIngress(b, s, pi, route.path, tenant, service, rt) : this.openLocal(s, b, pi, route.localInterface, tenant, service, rt);
    if (r >= 0 && t.claimFailed) {
      // a key of it could not be recorded for steering (the table is full): other workers would not find it
      ctx.hooks.runClose(r);
      t.remove(r);
      c.add(this.cSteeringFull);
      return N_DROP;
    }
    if (r < 0) {
      denied.add(this.refusal, d, pi, ifx, tenant, service);
      return this.refusal === REFUSED_CODE ? this.answerRefusal(b, s, pi, c) : N_DROP;
    }
    b.session[s] = r;
    b.flags[s] |= PF_NEW_SESSION;
    accountPacket(ctx, r, true, b.len[s]!, rt.now);
    c.add(this.cCreated);
    emitCreated(ctx, r);
    return dispatchIndex(t.role[r]!, true);
  }

  /** A plugin refused the session: drop its first packet, or answer it with a TCP reset or ICMP unreachable. */
  private answerRefusal(b: Batch, s: number, pi: PacketInfo, c: StageRuntime['counters']): number {
    const reply = this.ctx.hooks.refusedReply;
    if (reply === 'drop') return N_DROP;
    if (reply === 'reset' && pi.protocol === PROTO_TCP) {
      if ((pi.tcpFlags & TCP_RST) !== 0) return N_DROP; // never answer a reset
      makeTcpReset(b, s, pi);
      c.add(this.cRstSent);
      return N_TX;
    }
    if (!makeIcmpUnreachable(b, s, pi)) return N_DROP;
    c.add(this.cUnreachable);
    return N_TX;
  }

  /** A new row with the columns every session shares, or -1 when the table is full (counted). */
  private openRow(b: Batch, s: number, pi: PacketInfo, role: number, tenant: number, service: number, now: number): number {
    const t = this.ctx.sessions;
    const r = t.alloc(now);
    if (r < 0) {
      this.ctx.counters.add(this.cFull); // the table holds its limit: refused, existing sessions go on
      return -1;
    }
    t.role[r] = role;
    t.setClass(r, tenant, service);
    t.chain[r] = this.ctx.chains.maskFor(tenant, service);
    t.setOrigin(r, pi.family, b.data, pi.srcOff, pi.dstOff);
    t.protocol[r] = pi.protocol;
    t.inIf[r] = b.ifIndex[s]!;
    t.origSrcPort[r] = pi.srcPort;
    t.origDstPort[r] = pi.dstPort;
    this.ctx.random.uuidWords(t.uuid, r * 4);
    t.indexUuid(r);
    return r;
  }

  private lanKey(r: number, ifIndex: number): SideKey {
    return originalKey(this.ctx.sessions, r, ifIndex, this.key);
  }

  private openIngress(b: Batch, s: number, pi: PacketInfo, p: number, tenant: number, service: number, rt: StageRuntime): number {
    const ctx = this.ctx;
    const t = ctx.sessions;
    if (ctx.tables.paths[p]!.family !== pi.family) {
      rt.counters.add(this.cFamily);
      this.refusal = NO_ROUTE_CODE; // no path of the packet's family
      return -1;
    }
    // UDP transform on the path (its firewall detector found TCP blocked, or always-transform): TCP as UDP;
    // toward a peer behind NAT too: its NAT lets in only UDP it opened (the control binding first, docs/wan.md)
    const tcpAsUdp = pi.protocol === PROTO_TCP && (ctx.pathTransform[p] === 1 || ctx.tables.paths[p]!.peerBehindNat);
    const outer = tcpAsUdp ? PROTO_UDP : outerProtocol(pi.protocol);
    const r = this.openRow(b, s, pi, ROLE_INGRESS, tenant, service, rt.now);
    if (r < 0) return -1;
    t.outIf[r] = ctx.tables.paths[p]!.localInterface;
    if (!ctx.hooks.runOpen(r, rt.now)) {
      ctx.hooks.runClose(r); // hooks that accepted before the refusal release what they took
      t.remove(r);
      this.refusal = REFUSED_CODE;
      return -1;
    }
    if (!ctx.wanKeys.assignPrimary(r, p, outer)) {
      ctx.hooks.runClose(r);
      t.remove(r);
      rt.counters.add(this.cExhausted);
      this.refusal = EXHAUSTED_CODE;
      return -1;
    }
    t.flags[r] = SF_ACTIVE | SF_NEEDS_META | (outer !== pi.protocol ? SF_TRANSFORMED : 0) | payloadFlags(ctx.tables.services[service]!.payload);
    if (tcpAsUdp) rt.counters.add(this.cTransformed);
    t.insertKey(r, 'in', this.lanKey(r, b.ifIndex[s]!));
    return r;
  }

  private openLocal(s: number, b: Batch, pi: PacketInfo, outIf: number, tenant: number, service: number, rt: StageRuntime): number {
    const t = this.ctx.sessions;
    const r = this.openRow(b, s, pi, ROLE_LOCAL, tenant, service, rt.now);
    if (r < 0) return -1;
    t.outIf[r] = outIf;
    if (!this.ctx.hooks.runOpen(r, rt.now)) {
      this.ctx.hooks.runClose(r);
      t.remove(r);
      this.refusal = REFUSED_CODE;
      return -1;
    }
    t.insertKey(r, 'in', this.lanKey(r, b.ifIndex[s]!));
    if (!t.insertKey(r, 'out', serverSideKey(t, r, outIf, this.key))) {
      rt.counters.add(this.cNatCollision); // the translated 5-tuple is taken: the NAT plugin must pick another
      this.ctx.hooks.runClose(r);
      t.remove(r);
      this.refusal = NAT_COLLISION_CODE;
      return -1;
    }
    return r;
  }
}
