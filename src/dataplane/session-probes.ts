/**
 * Packets a session sends without a packet of its own to carry them (dataplane.ts): health-check probes of ingress
 * sessions, reverse probes of the sessions a peer behind NAT opened, NAT keep-alives, re-signalling after a NAT
 * rebinding or a UDP-transform verdict, and the "enable-metadata" requests of packet-based recovery. Each is an
 * originated packet (originate.ts) on the session's path.
 */
import type { DataplaneContext } from './context.js';
import { writeControlMetadata, writeForwardMetadata, writeReverseMetadata } from './metadata-build.js';
import { sealMetadata } from './metadata-crypto.js';
import type { Originator } from './originate.js';
import { sessionId, sessionOuterProtocol } from './session-ops.js';
import { msSince, ROLE_EGRESS, ROLE_INGRESS, SF_NEEDS_META, SF_REV_SIGNAL, SF_SEND_UUID, SF_TRANSFORMED } from './session-table.js';
import { CONTROL_PORT } from './stages/wan-verify.js';
import { PROTO_TCP, PROTO_UDP } from '../packet/ip.js';
import { Control } from '../packet/svr-metadata.js';

/** How often the NAT keep-alive looks for idle sessions (ms). */
const KEEPALIVE_SCAN_MS = 1000;

/** A session the peer opened toward us behind NAT is probed every scan until followed, while it saw a packet this recently (ms). */
const OPENING_PROBES_MS = 5000;

export class SessionProbes {
  private readonly cProbes: number;
  private readonly cReverseProbes: number;
  private readonly cEnableMetaSent: number;
  private readonly cKeepalives: number;
  private readonly cResignalled: number;
  private readonly cTransformedLater: number;
  private keepaliveAt = -Infinity;

  constructor(private readonly ctx: DataplaneContext, private readonly out: Originator, private readonly clock: () => number) {
    const c = ctx.counters;
    this.cProbes = c.id('health-checks-sent');
    this.cTransformedLater = c.id('tcp-sessions-moved-to-udp');
    this.cResignalled = c.id('sessions-resignalled-nat');
    this.cKeepalives = c.id('nat-keepalives-sent');
    this.cReverseProbes = c.id('nat-reverse-probes-sent');
    this.cEnableMetaSent = c.id('enable-metadata-sent');
  }

  /**
   * Sends a health-check probe for an ingress session still waiting for reverse metadata: an empty packet
   * on the session's waypoint 5-tuple carrying forward metadata + TLV 46 = 1 (fact sheet §8). The egress
   * creates the session if it lost the first packets and answers with reverse metadata.
   */
  probe(row: number, gen: number): boolean {
    const ctx = this.ctx;
    const t = ctx.sessions;
    if (!t.isActive(row) || t.gen[row] !== gen || t.role[row] !== ROLE_INGRESS) return false;
    const mlen = sealMetadata(ctx, t.path[row]!, writeForwardMetadata(ctx, row, true), this.clock());
    if (mlen < 0) return false;
    const proto = sessionOuterProtocol(t, row);
    const p = t.path[row]!;
    // a session riding a NAT peer's control binding (natRelay) probes there too
    const relay = t.natRelay[row] === 1;
    const sent = this.out.originate(p, proto, relay ? CONTROL_PORT : t.wpLocalPort[row]!, relay ? ctx.pathControlPort[p]! : t.wpPeerPort[row]!, ctx.writer.buf, mlen, true);
    if (sent) ctx.counters.add(this.cProbes);
    return sent;
  }

  /**
   * Behind NAT, for a session the peer opened (an egress session): an empty packet on the session's waypoint
   * 5-tuple carrying reverse metadata with its id and the control code "state exists". Through our NAT it
   * opens (or, after a rebinding, renews) the session's binding; the peer follows it there (svr-accept
   * rejoinIngress) and consumes it (svr-in).
   */
  reverseProbe(row: number, gen: number): boolean {
    const ctx = this.ctx;
    const t = ctx.sessions;
    if (!t.isActive(row) || t.gen[row] !== gen || t.role[row] !== ROLE_EGRESS) return false;
    const mlen = sealMetadata(ctx, t.path[row]!, writeReverseMetadata(ctx, row, Control.StateExists), this.clock());
    if (mlen < 0) return false;
    const sent = this.out.originate(t.path[row]!, sessionOuterProtocol(t, row), t.wpLocalPort[row]!, t.wpPeerPort[row]!, ctx.writer.buf, mlen, true);
    if (sent) ctx.counters.add(this.cReverseProbes);
    return sent;
  }

  /**
   * NAT keep-alive (docs/wan.md): at most once a second, every session on an `outbound-only` path that has
   * been idle for its path's `nat-keep-alive` sends a probe (an ingress session a health-check probe, one
   * the peer opened a reverse probe), so that the NAT in front of us keeps its binding; the peer's answer
   * comes back through it. A session the peer opened that the peer has not followed yet probes every time
   * while the peer sent on it within OPENING_PROBES_MS. Neither keeps a session from
   * expiring (session-lookup), so an idle session still ends at its timeout.
   */
  natKeepalive(now: number): void {
    const ctx = this.ctx;
    if (now - this.keepaliveAt < KEEPALIVE_SCAN_MS || !ctx.tables.paths.some((p) => p.outboundOnly)) return;
    this.keepaliveAt = now;
    const t = ctx.sessions;
    const paths = ctx.tables.paths;
    for (let r = 0; r < t.capacity; r++) {
      if (!t.isActive(r)) continue;
      const role = t.role[r];
      const p = paths[t.path[r]!];
      if (p === undefined || !p.outboundOnly || (role !== ROLE_INGRESS && role !== ROLE_EGRESS)) continue;
      // a session the peer opened, until the peer follows it (its next packet without metadata) and while the
      // peer still sends (an idle one had its probe): probe again
      const idle = msSince(now, t.lastSeen[r]!);
      const opening = role === ROLE_EGRESS && (t.flags[r]! & SF_SEND_UUID) !== 0 && idle < OPENING_PROBES_MS;
      if (!opening && idle < p.natKeepAliveMs) continue;
      const sent = role === ROLE_INGRESS ? this.probe(r, t.gen[r]!) : this.reverseProbe(r, t.gen[r]!);
      if (sent && !opening) ctx.counters.add(this.cKeepalives);
    }
  }

  /**
   * Packet-based session recovery: "enable-metadata" on the waypoint 5-tuple of each packet session-lookup
   * found no session for (metadata with only the control message, signed; the peer's ingress re-signals).
   */
  askForMetadata(): void {
    const ctx = this.ctx;
    const q = ctx.enableMeta;
    const now = this.clock();
    for (let i = 0; i + 3 < q.length; i += 4) {
      const p = q[i]!;
      const n = sealMetadata(ctx, p, writeControlMetadata(ctx, p, Control.EnableMetadata), now);
      if (n >= 0 && this.out.originate(p, q[i + 1]!, q[i + 2]!, q[i + 3]!, ctx.writer.buf, n, true)) ctx.counters.add(this.cEnableMetaSent);
    }
    q.length = 0;
  }

  /** The reverse probes of the sessions svr-accept opened from packets that rode our control binding. */
  openNatBindings(): void {
    const q = this.ctx.natOpen;
    for (let i = 0; i + 1 < q.length; i += 2) this.reverseProbe(q[i]!, q[i + 1]!);
    q.length = 0;
  }

  /**
   * The NAT in front of this router rebound (the peer saw our packets come from a new address or port):
   * every ingress session on `path` sends its forward metadata again, at once as a health-check probe
   * (so that a flow that only receives is re-keyed too) and on its next packets until reverse metadata
   * confirms it; its handshake episode retries the probe (session.resignalled). Every session the peer
   * opened sends a reverse probe and reverse metadata with its id until the peer's next packet without
   * metadata (the keep-alive scan repeats the probe once a second meanwhile). The peer finds each
   * session by its id on the new waypoint 5-tuple (svr-accept rejoin). One walk over the table, at most
   * once per NAT change. Returns the sessions re-signalled.
   */
  resignalPath(path: number): number {
    const ctx = this.ctx;
    const t = ctx.sessions;
    let n = 0;
    for (let r = 0; r < t.capacity; r++) {
      if (!t.isActive(r) || t.path[r] !== path) continue;
      if (t.role[r] === ROLE_EGRESS) {
        // a session the peer opened: reverse metadata with its id until the peer follows (svr-in clears it)
        t.flags[r] = t.flags[r]! | SF_REV_SIGNAL | SF_SEND_UUID;
        this.reverseProbe(r, t.gen[r]!);
        n++;
        continue;
      }
      if (t.role[r] !== ROLE_INGRESS) continue;
      t.flags[r] = t.flags[r]! | SF_NEEDS_META;
      ctx.events.push({ kind: 'session.resignalled', row: r, gen: t.gen[r]!, sessionId: sessionId(t, r) });
      this.probe(r, t.gen[r]!);
      n++;
    }
    ctx.counters.add(this.cResignalled, n);
    return n;
  }

  /**
   * UDP transform (docs/wan.md): TCP sessions on the path are carried as UDP from now on, or not. Between
   * batches. Turned on, the path's ingress TCP sessions still carried as TCP move to UDP too (a firewall
   * that drops TCP would end them): new UDP waypoint ports, forward metadata again at once as a probe and on
   * their next packets (the peer finds each by its id: svr-accept rejoin). One walk, once per verdict
   * change. Sessions already transformed stay so when it is turned off. Returns the sessions moved.
   */
  setPathTransform(path: number, on: boolean): number {
    const ctx = this.ctx;
    const was = ctx.pathTransform[path] === 1;
    ctx.setPathTransform(path, on);
    if (!on || was) return 0;
    const t = ctx.sessions;
    let n = 0;
    for (let r = 0; r < t.capacity; r++) {
      if (!t.isActive(r) || t.role[r] !== ROLE_INGRESS || t.path[r] !== path || t.protocol[r] !== PROTO_TCP || (t.flags[r]! & SF_TRANSFORMED) !== 0) continue;
      if (!ctx.wanKeys.assignPrimary(r, path, PROTO_UDP)) continue; // no free UDP waypoint port: it stays TCP
      t.flags[r] = t.flags[r]! | SF_TRANSFORMED | SF_NEEDS_META;
      ctx.events.push({ kind: 'session.resignalled', row: r, gen: t.gen[r]!, sessionId: sessionId(t, r) });
      this.probe(r, t.gen[r]!);
      n++;
    }
    ctx.counters.add(this.cTransformedLater, n);
    return n;
  }
}
