/**
 * Per-packet session bookkeeping shared by the stages: packet/byte counters per direction, the TCP
 * state the session table tracks (SYN, SYN/ACK, established, FIN each way, RST), and the idle expiry
 * that follows from it (service timeouts: TCP initial until established, then TCP; UDP; ICMP).
 */
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../packet/ip.js';
import type { DataplaneContext } from './context.js';
import type { CloseReason, MigrationReason, SessionRole } from './events.js';
import { uuidString } from './random-pool.js';
import { waypointTuple } from './session-tuples.js';
import {
  msSince, ROLE_EGRESS, ROLE_INGRESS, SF_CLOSING, SF_ESTABLISHED, SF_FIN_FWD, SF_FIN_REV, SF_SYN, SF_SYNACK, SF_TRANSFORMED, type SessionTable,
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
  t.checkSync(r, now);
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
  const expires = now + timeoutMs(ctx, r, f);
  t.expires[r] = expires;
  if ((f & SF_CLOSING) !== 0) t.checkBy(r, expires); // a close shortens the expiry: the wheel must look sooner
  t.checkSync(r, now);
}

export function timeoutMs(ctx: DataplaneContext, r: number, flags: number): number {
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

/** Queues `session.created` for control, a typed record (session-records.ts; once per session). */
export function emitCreated(ctx: DataplaneContext, r: number): void {
  ctx.records.created(ctx.sessions, r, ctx.events.length);
  ctx.facts?.opened(ctx, r);
}

/** Queues `session.migrated`: row r moved from path `from` to its current path. */
export function emitMigrated(ctx: DataplaneContext, r: number, from: number, handshake: boolean, reason: MigrationReason, now: number): void {
  const t = ctx.sessions;
  const paths = ctx.tables.paths;
  t.markSync(r, now);
  ctx.events.push({
    kind: 'session.migrated', row: r, gen: t.gen[r]!, sessionId: sessionId(t, r), service: ctx.tables.services[t.service[r]!]?.name ?? '',
    fromPath: from, toPath: t.path[r]!, handshake, reason, atMs: now,
    from: paths[from]?.name ?? '', to: paths[t.path[r]!]?.name ?? '', waypoint: waypointTuple(ctx, r)!,
  });
  ctx.facts?.migrated(ctx, r, from, reason, now);
}

/** Removes row r and queues `session.removed` (a typed record, at `now`, the data path's clock); the other leg of a transit session goes with it. */
export function removeSession(ctx: DataplaneContext, r: number, reason: CloseReason, now: number): void {
  const t = ctx.sessions;
  if (!t.isActive(r)) return;
  ctx.nativeForward.clear(); // its flows' marks (native-forward.ts)
  const partner = t.relayOf(r);
  ctx.records.removed(t, r, reason, now, now - msSince(now, t.lastSeen[r]!) - t.created[r]!, ctx.events.length);
  ctx.facts?.closed(ctx, r, reason, now);
  ctx.hooks.runClose(r);
  t.remove(r);
  if (partner >= 0 && t.relayOf(partner) === r) {
    t.setRelay(partner, -1);
    removeSession(ctx, partner, reason, now);
  }
}

/**
 * Why an expired row ends: `fin` / `rst` for a closing TCP session (both FINs seen, else a reset closed
 * it), `path-lost` when its peer path is down, else `idle`.
 */
export function expiryReason(ctx: DataplaneContext, r: number): CloseReason {
  const f = ctx.sessions.flags[r]!;
  if ((f & SF_CLOSING) !== 0) return (f & (SF_FIN_FWD | SF_FIN_REV)) === (SF_FIN_FWD | SF_FIN_REV) ? 'fin' : 'rst';
  const p = ctx.sessions.path[r]!;
  return p >= 0 && ctx.pathUp[p] === 0 ? 'path-lost' : 'idle';
}

/** Protocol of the outer packet between routers: ICMP travels as UDP (fact sheet §1.1). */
export function outerProtocol(protocol: number): number {
  return protocol === PROTO_ICMP || protocol === PROTO_ICMPV6 ? PROTO_UDP : protocol;
}

/** Protocol of session r's outer packets: UDP when transformed (ICMP, or TCP under UDP transform), else its own. */
export function sessionOuterProtocol(t: SessionTable, r: number): number {
  return (t.flags[r]! & SF_TRANSFORMED) !== 0 ? PROTO_UDP : t.protocol[r]!;
}
