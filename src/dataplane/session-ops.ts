/**
 * Per-packet session bookkeeping shared by the stages: packet/byte counters per direction, the TCP
 * state the session table tracks (SYN, SYN/ACK, established, FIN each way, RST), and the idle expiry
 * that follows from it (service timeouts: TCP initial until established, then TCP; UDP; ICMP).
 */
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../packet/ip.js';
import type { DataplaneContext } from './context.js';
import type { RemoveReason, SessionRole } from './events.js';
import { uuidString } from './random-pool.js';
import {
  ROLE_EGRESS, ROLE_INGRESS, SF_CLOSING, SF_ESTABLISHED, SF_FIN_FWD, SF_FIN_REV, SF_SYN, SF_SYNACK, type SessionTable,
} from './session-table.js';

/** How long a closed TCP session lingers so the last ACKs still pass. */
export const CLOSE_LINGER_MS = 2000;

export function roleName(role: number): SessionRole {
  return role === ROLE_INGRESS ? 'ingress' : role === ROLE_EGRESS ? 'egress' : 'local';
}

/** Counts one packet of row r (per direction) and refreshes its idle expiry. Before the service chain. */
export function accountPacket(ctx: DataplaneContext, r: number, forward: boolean, bytes: number, now: number): void {
  const t = ctx.sessions;
  t.lastSeen[r] = now;
  countPacket(t, r, forward, bytes);
  t.expires[r] = now + timeoutMs(ctx, r, t.flags[r]!);
}

/** Counts one packet of row r without touching its expiry (an unauthenticated packet keeps nothing alive). */
export function countPacket(t: SessionTable, r: number, forward: boolean, bytes: number): void {
  if (forward) {
    t.pktsFwd[r]!++;
    t.bytesFwd[r]! += bytes;
  } else {
    t.pktsRev[r]!++;
    t.bytesRev[r]! += bytes;
  }
}

/**
 * The TCP state the session table tracks (SYN, SYN/ACK, established, FIN each way, RST) and the expiry
 * that follows from it. Applied when a packet leaves the service chain, so a segment a plugin dropped
 * (an out-of-window RST, say) never changes the session's state.
 */
export function trackTcp(ctx: DataplaneContext, r: number, forward: boolean, tcpFlags: number, now: number): void {
  const t = ctx.sessions;
  let f = t.flags[r]!;
  if ((tcpFlags & TCP_RST) !== 0) f |= SF_CLOSING;
  else {
    if ((tcpFlags & TCP_SYN) !== 0) f |= forward ? SF_SYN : SF_SYNACK;
    else if (forward && (tcpFlags & TCP_ACK) !== 0 && (f & SF_SYNACK) !== 0) f |= SF_ESTABLISHED;
    if ((tcpFlags & TCP_FIN) !== 0) f |= forward ? SF_FIN_FWD : SF_FIN_REV;
    if ((f & (SF_FIN_FWD | SF_FIN_REV)) === (SF_FIN_FWD | SF_FIN_REV)) f |= SF_CLOSING;
  }
  t.flags[r] = f;
  t.expires[r] = now + timeoutMs(ctx, r, f);
}

function timeoutMs(ctx: DataplaneContext, r: number, flags: number): number {
  const svc = ctx.tables.services[ctx.sessions.service[r]!];
  const proto = ctx.sessions.protocol[r]!;
  if (svc === undefined) return 180_000;
  const to = svc.timeouts;
  if (proto === PROTO_TCP) {
    if ((flags & SF_CLOSING) !== 0) return CLOSE_LINGER_MS;
    return (flags & SF_ESTABLISHED) !== 0 ? to.tcp : to.tcpInitial;
  }
  if (proto === PROTO_UDP) return to.udp;
  if (proto === PROTO_ICMP || proto === PROTO_ICMPV6) return to.icmp;
  return to.other;
}

export function sessionId(t: SessionTable, r: number): string {
  return uuidString(t.uuid, r * 4);
}

/** Queues `session.created` for control. */
export function emitCreated(ctx: DataplaneContext, r: number): void {
  const t = ctx.sessions;
  ctx.events.push({
    kind: 'session.created', row: r, gen: t.gen[r]!, sessionId: sessionId(t, r), role: roleName(t.role[r]!),
    service: ctx.tables.services[t.service[r]!]?.name ?? '', tenant: ctx.tables.tenants[t.tenant[r]!] ?? '',
  });
}

/** Removes row r and queues `session.removed`; the other leg of a transit session goes with it. */
export function removeSession(ctx: DataplaneContext, r: number, reason: RemoveReason): void {
  const t = ctx.sessions;
  if (!t.isActive(r)) return;
  const partner = t.relay[r]!;
  ctx.events.push({
    kind: 'session.removed', row: r, gen: t.gen[r]!, sessionId: sessionId(t, r), reason,
    tenant: ctx.tables.tenants[t.tenant[r]!] ?? '', service: ctx.tables.services[t.service[r]!]?.name ?? '',
    ageMs: t.lastSeen[r]! - t.created[r]!, packets: [t.pktsFwd[r]!, t.pktsRev[r]!], bytes: [t.bytesFwd[r]!, t.bytesRev[r]!],
  });
  ctx.hooks.runClose(r);
  t.remove(r);
  if (partner >= 0 && t.relay[partner] === r) {
    t.relay[partner] = -1;
    removeSession(ctx, partner, reason);
  }
}

/** Protocol of the outer packet between routers: ICMP travels as UDP (fact sheet §1.1). */
export function outerProtocol(protocol: number): number {
  return protocol === PROTO_ICMP || protocol === PROTO_ICMPV6 ? PROTO_UDP : protocol;
}
