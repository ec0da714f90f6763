/**
 * session-lookup: find each packet's session by (interface, normalized 5-tuple) — one entry serves both
 * directions — account the packet, and dispatch it by role and direction.
 * 1. hit -> counters, TCP state, expiry; a WAN packet whose forward metadata names another session id
 *    (the peer reused the waypoint ports) replaces the old session -> svr-accept; a LAN SYN (no ACK) from
 *    the client of a closing TCP session (RST or both FINs seen, lingering) is a new connection on the
 *    same 5-tuple: the old session is replaced -> first-packet;
 * 2. LAN miss -> first-packet; WAN miss with forward metadata, or with reverse metadata naming a session
 *    id (the egress moved a session), -> svr-accept;
 * 3. WAN miss without metadata -> drop 'no-session', answered with "enable-metadata" so that the peer
 *    re-signals (packet-based session recovery; rate-limited);
 * 3b. a session packet that rode our control binding (PF_NAT_RELAYED, we are behind NAT): found by the
 *    session id in its forward metadata, else -> svr-accept;
 * 4. on a `kind: function` interface (a packet back from an external function): hit on a return key ->
 *    function-return (not counted again), miss -> drop 'function-no-session' (never a new session);
 * 5. a WAN packet without authentication (metadata-only: no trailer) is data only: a TCP SYN/FIN/RST
 *    -> drop 'unauthenticated', anything else is counted but refreshes no expiry (docs/security.md);
 *    a health-check probe or the control answer to one (metadata and nothing else) is counted and seen
 *    but refreshes no expiry either: NAT keep-alives (docs/wan.md) must not keep an idle session alive.
 * Cost: ~0.2 µs per packet (key build + one probe); a packet of the same 5-tuple and interface as the last one
 * found on its interface (a TCP stream's frame is mostly one session, and so is that interface's next frame,
 * often of one ACK) reuses that lookup while no flow key was set or deleted since: 2-8 word compares.
 * A frame of several packets first builds and hashes every key it will probe and loads each home slot, one load
 * after the other, then probes: the slots' cache misses (~115 ns each in a table of new sessions) run side by
 * side instead of one at a time (a 64-key frame: 210 -> 110 ns a missing key, 160 -> 80 ns a found one, table
 * of 512 Ki slots; docs/performance.md wave 26, sus23).
 */
import { KW6, writeKeyFromBytes } from '../flow-key.js';
import { MAX_BATCH, PF_ALT_PATH, PF_HAS_META, PF_NAT_RELAYED, PF_REVERSE, unauthenticated, type Batch, type Frame } from '../batch.js';
import { flowAlt, flowRow, flowSwapped, ROLE_EGRESS, SF_CLOSING, type SessionTable } from '../session-table.js';
import type { DataplaneContext } from '../context.js';
import { DISPATCH_NEXTS, dispatchIndex } from '../dispatch.js';
import { accountPacket, countPacket, removeSession } from '../session-ops.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';
import { readU32 } from '../../packet/checksum.js';
import { PROTO_TCP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type PacketInfo } from '../../packet/ip.js';
import { verifyL4Checksum } from '../../packet/rewrite.js';

const STATE_FLAGS = TCP_SYN | TCP_FIN | TCP_RST;

/** "enable-metadata" answers to packets of unknown flows: per second, and the burst (one data path). */
export const ENABLE_METADATA_RATE = 100;
const ENABLE_METADATA_BURST = 20;

/** session-lookup's remembered hits: one per interface, up to this many interfaces (a power of two) */
const MEMOS = 4;

const N_FIRST = 3, N_ACCEPT = 4, N_DROP = 5, N_FN_RETURN = 6;

export class SessionLookupStage implements Stage {
  readonly name = 'session-lookup';
  readonly nexts = [...DISPATCH_NEXTS, 'first-packet', 'svr-accept', 'drop', 'function-return'] as const;
  private cNoSession = 0;
  private cFnNoSession = 0;
  private cReplaced = 0;
  private cChecksum = 0;
  private cUnauth = 0;
  private cRateLimited = 0;
  /** enable-metadata answers left (token bucket) and when it was last refilled */
  private tokens = ENABLE_METADATA_BURST;
  private tokensAt = 0;
  /** the last hit per interface (MEMOS entries, by ifIndex & (MEMOS - 1); kept across frames while no flow key
   *  was set or deleted: the session table's keyChanges): interface, family, protocol, ports, addresses -> flow
   *  value and direction. A router interleaves frames of its LAN and its WAN (a stream's data one way, its ACKs
   *  the other), each mostly one session. */
  private memoTable: SessionTable | null = null;
  private memoChanges = -1;
  private readonly memoIf = new Int32Array(MEMOS).fill(-1);
  private readonly memoFamily = new Uint8Array(MEMOS);
  private readonly memoProto = new Uint8Array(MEMOS);
  private readonly memoPorts = new Uint32Array(MEMOS);
  private readonly memoSrc = new Uint32Array(MEMOS * 4);
  private readonly memoDst = new Uint32Array(MEMOS * 4);
  private readonly memoValue = new Int32Array(MEMOS);
  private readonly memoSwapped = new Uint8Array(MEMOS);
  /** A frame's keys hashed before its probes (hashFrame), by batch slot: the key's family (0: not hashed), its
   *  words (KW6 apart), whether its endpoints were swapped, its hash; `touched`, the home slots' words xored (kept
   *  so that their loads stay). */
  private readonly frameFamily = new Uint8Array(MAX_BATCH);
  private readonly frameKeys = new Uint32Array(MAX_BATCH * KW6);
  private readonly frameSwapped = new Uint8Array(MAX_BATCH);
  private readonly frameHash = new Uint32Array(MAX_BATCH);
  touched = 0;

  constructor(private readonly ctx: DataplaneContext) {}

  init(i: StageInit): void {
    this.cNoSession = i.counter('drop-no-session');
    this.cFnNoSession = i.counter('drop-function-no-session');
    this.cReplaced = i.counter('sessions-replaced');
    this.cChecksum = i.counter('drop-bad-checksum');
    this.cUnauth = i.counter('drop-unauthenticated');
    this.cRateLimited = i.counter('enable-metadata-rate-limited');
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const d = b.data;
    const fns = ctx.functions;
    if (t !== this.memoTable || t.keyChanges !== this.memoChanges) this.memoIf.fill(-1); // sessions came or went since
    const hashed = f.n > 1 && this.hashFrame(b, f, t);
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      const pi = b.info[s]!;
      const wan = b.path[s]! >= 0;
      if ((b.flags[s]! & PF_NAT_RELAYED) !== 0) {
        rt.next[s] = this.relayed(b, s, rt);
        continue;
      }
      let v: number, swapped: number;
      const e = b.ifIndex[s]! & (MEMOS - 1);
      if (this.sameAsMemo(d, pi, b.ifIndex[s]!, e)) {
        v = this.memoValue[e]!;
        swapped = this.memoSwapped[e]!;
      } else if (hashed && this.frameFamily[s] === pi.family) {
        const key = t.keyScratch(pi.family);
        for (let w = 0; w < key.length; w++) key[w] = this.frameKeys[s * KW6 + w]!;
        swapped = this.frameSwapped[s]!;
        v = t.lookupHashed(pi.family, s, this.frameHash[s]!); // a miss kept as lookup keeps it
        if (v >= 0) this.remember(d, pi, b.ifIndex[s]!, e, v, swapped);
      } else {
        swapped = writeKeyFromBytes(t.keyScratch(pi.family), pi.family, d, pi.srcOff, pi.dstOff, pi.srcPort, pi.dstPort, pi.protocol, b.ifIndex[s]!);
        v = t.lookup(pi.family, s); // a miss kept for first-packet's / svr-accept's look under s
        if (v >= 0) this.remember(d, pi, b.ifIndex[s]!, e, v, swapped);
      }
      if (v >= 0) {
        const r = flowRow(v);
        const meta = b.meta[s]!;
        if (wan && (b.flags[s]! & PF_HAS_META) !== 0 && meta.forwardCtx >= 0 && meta.uuid >= 0 && !sameUuid(d, meta.uuid, t.uuid, r * 4)) {
          rt.counters.add(this.cReplaced);
          removeSession(ctx, r, 'replaced', rt.now);
          this.memoIf.fill(-1);
          rt.next[s] = N_ACCEPT;
          continue;
        }
        if ((pi.tcpFlags & STATE_FLAGS) !== 0 && pi.protocol === PROTO_TCP && !verifyL4Checksum(d, pi)) {
          // a corrupted segment must not open, reset or close a session's state
          rt.counters.add(this.cChecksum);
          rt.next[s] = N_DROP;
          continue;
        }
        const forward = flowSwapped(v) === swapped;
        if (!wan && forward && pi.protocol === PROTO_TCP && (pi.tcpFlags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN
          && (t.flags[r]! & SF_CLOSING) !== 0 && fns.isFunction[b.ifIndex[s]!] !== 1) {
          // a new connection reusing a closing session's 5-tuple: a new session (plugins decide again)
          rt.counters.add(this.cReplaced);
          removeSession(ctx, r, 'replaced', rt.now);
          this.memoIf.fill(-1);
          rt.next[s] = N_FIRST;
          continue;
        }
        if (flowAlt(v) === 1) b.flags[s] |= PF_ALT_PATH;
        if (!forward) b.flags[s] |= PF_REVERSE;
        b.session[s] = r;
        if (fns.isFunction[b.ifIndex[s]!] === 1) {
          rt.next[s] = N_FN_RETURN;
          continue;
        }
        if (unauthenticated(b, s)) {
          if (pi.protocol === PROTO_TCP && (pi.tcpFlags & STATE_FLAGS) !== 0) {
            rt.counters.add(this.cUnauth); // only a signed segment may open, reset or close a session
            rt.next[s] = N_DROP;
            continue;
          }
          countPacket(t, r, forward, b.len[s]!);
        } else if (wan && (b.flags[s]! & PF_HAS_META) !== 0 && pi.end - pi.payload === meta.total && (meta.healthCheck === 1 || meta.controlCode >= 0)) {
          countPacket(t, r, forward, b.len[s]!);
          t.lastSeen[r] = rt.now;
        } else {
          accountPacket(ctx, r, forward, b.len[s]!, rt.now);
        }
        b.nth[s] = forward ? t.pktsFwd[r]! : t.pktsRev[r]!;
        rt.next[s] = dispatchIndex(t.role[r]!, forward);
      } else if (fns.isFunction[b.ifIndex[s]!] === 1) {
        const id = fns.byReturnIf[b.ifIndex[s]!]!;
        rt.counters.add(this.cFnNoSession);
        if (id >= 0 && fns.noSession[id]! >= 0) rt.counters.add(fns.noSession[id]!);
        rt.next[s] = N_DROP;
      } else if (!wan) {
        rt.next[s] = N_FIRST;
      } else if ((b.flags[s]! & PF_HAS_META) !== 0 && (b.meta[s]!.forwardCtx >= 0 || (b.meta[s]!.reverseCtx >= 0 && b.meta[s]!.uuid >= 0))) {
        rt.next[s] = N_ACCEPT;
      } else {
        rt.counters.add(this.cNoSession);
        if ((b.flags[s]! & PF_HAS_META) === 0) this.askForMetadata(b, s, rt);
        rt.next[s] = N_DROP;
      }
    }
  }

  /** Builds and hashes the key of each packet of the frame that will be probed (not relayed, not the memo's as the
   *  frame starts, not the key of the packet hashed before it: a stream's frame is mostly one key), then loads the
   *  home slot of each. Whether any was hashed. */
  private hashFrame(b: Batch, f: Frame, t: SessionTable): boolean {
    const d = b.data;
    const keys = this.frameKeys;
    let last = -1;
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      const pi = b.info[s]!;
      this.frameFamily[s] = 0;
      if ((b.flags[s]! & PF_NAT_RELAYED) !== 0 || this.sameAsMemo(d, pi, b.ifIndex[s]!, b.ifIndex[s]! & (MEMOS - 1))) continue;
      const key = t.keyScratch(pi.family);
      this.frameSwapped[s] = writeKeyFromBytes(key, pi.family, d, pi.srcOff, pi.dstOff, pi.srcPort, pi.dstPort, pi.protocol, b.ifIndex[s]!);
      let same = last >= 0 && this.frameFamily[last] === pi.family;
      for (let w = 0; w < key.length; w++) {
        keys[s * KW6 + w] = key[w]!;
        same &&= keys[last * KW6 + w] === key[w];
      }
      if (same) continue; // probed right after the same key's: in cache then (a hit is the memo's)
      this.frameFamily[s] = pi.family;
      this.frameHash[s] = t.keyHash(pi.family);
      last = s;
    }
    if (last < 0) return false;
    let x = 0;
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      const family = this.frameFamily[s]!;
      if (family !== 0) x ^= t.touchKey(family as 4 | 6, this.frameHash[s]!);
    }
    this.touched = x;
    return true;
  }

  /** Whether the packet has the 5-tuple and interface of the last hit in memo entry e. */
  private sameAsMemo(d: Uint8Array, pi: PacketInfo, ifx: number, e: number): boolean {
    if (ifx < 0 || ifx !== this.memoIf[e] || pi.family !== this.memoFamily[e] || pi.protocol !== this.memoProto[e]
      || ((pi.srcPort << 16) | pi.dstPort) >>> 0 !== this.memoPorts[e]) return false;
    const words = pi.family === 4 ? 1 : 4;
    for (let w = 0; w < words; w++) {
      if (readU32(d, pi.srcOff + 4 * w) !== this.memoSrc[e * 4 + w] || readU32(d, pi.dstOff + 4 * w) !== this.memoDst[e * 4 + w]) return false;
    }
    return true;
  }

  private remember(d: Uint8Array, pi: PacketInfo, ifx: number, e: number, v: number, swapped: number): void {
    this.memoIf[e] = ifx;
    this.memoFamily[e] = pi.family;
    this.memoProto[e] = pi.protocol;
    this.memoPorts[e] = ((pi.srcPort << 16) | pi.dstPort) >>> 0;
    const words = pi.family === 4 ? 1 : 4;
    for (let w = 0; w < words; w++) {
      this.memoSrc[e * 4 + w] = readU32(d, pi.srcOff + 4 * w);
      this.memoDst[e * 4 + w] = readU32(d, pi.dstOff + 4 * w);
    }
    this.memoValue[e] = v;
    this.memoSwapped[e] = swapped;
    this.memoTable = this.ctx.sessions;
    this.memoChanges = this.ctx.sessions.keyChanges;
  }

  /**
   * Packet-based session recovery (ssr-reference "Session recovery detection"): a peer's packet without
   * metadata on a flow we hold no session of (we lost it: a restart, an expiry, a NAT that moved it) is
   * answered with "enable-metadata" on the same waypoint 5-tuple, so the peer's ingress sends its metadata
   * again (svr-in) and the session is opened here anew. At most ENABLE_METADATA_RATE answers a second
   * (burst ENABLE_METADATA_BURST) -> else counted 'enable-metadata-rate-limited'; the answers are signed.
   */
  private askForMetadata(b: Batch, s: number, rt: StageRuntime): void {
    const now = rt.now;
    this.tokens = Math.min(ENABLE_METADATA_BURST, this.tokens + ((now - this.tokensAt) * ENABLE_METADATA_RATE) / 1000);
    this.tokensAt = now;
    if (this.tokens < 1) {
      rt.counters.add(this.cRateLimited);
      return;
    }
    this.tokens--;
    const pi = b.info[s]!;
    this.ctx.enableMeta.push(b.path[s]!, pi.protocol, pi.dstPort, pi.srcPort);
  }

  /**
   * A session packet the peer sent on our control binding (we are behind NAT; PF_NAT_RELAYED): its 5-tuple is
   * the control channel's, so its session is the egress session its forward metadata names; none yet ->
   * svr-accept opens it.
   */
  private relayed(b: Batch, s: number, rt: StageRuntime): number {
    const t = this.ctx.sessions;
    const v = b.meta[s]!;
    if ((b.flags[s]! & PF_HAS_META) === 0 || v.forwardCtx < 0 || v.uuid < 0) {
      rt.counters.add(this.cNoSession);
      return N_DROP;
    }
    const r = t.rowByUuid(b.data, v.uuid);
    if (r < 0) return N_ACCEPT;
    if (t.role[r] !== ROLE_EGRESS || t.path[r] !== b.path[s]) {
      rt.counters.add(this.cNoSession);
      return N_DROP;
    }
    b.session[s] = r;
    accountPacket(this.ctx, r, true, b.len[s]!, rt.now);
    return dispatchIndex(ROLE_EGRESS, true);
  }
}

function sameUuid(d: Uint8Array, off: number, words: Uint32Array, at: number): boolean {
  for (let w = 0; w < 4; w++) if (readU32(d, off + 4 * w) !== words[at + w]) return false;
  return true;
}
