/**
 * svr-out: a packet leaves toward the peer router on its session's path, NATed onto the waypoint 5-tuple
 * with no tunnel header (fact sheet §1, §6).
 * 0. steering (ingress, forward packets; ssr-reference §1.4 session-resiliency), lazily per packet, along
 *    the order control publishes per service (its migration episode, machines/migration.ts, decides it:
 *    failover, revert after hold-down, damping): failover moves a session whose path is down or out of
 *    the order; revertible-failover also moves it to the first usable path of the order; packet-duplication
 *    keeps a second waypoint 5-tuple on the next one and sends a copy there. A move allocates new waypoint
 *    ports and re-signals metadata, and is reported (session.migrated) for control to confirm; the session
 *    id and the endpoints' 5-tuples stay. No walk over the table: each session moves on its next packet.
 *    At the egress, a reverse packet of a session whose path is down moves the session too (steerReverse).
 * 0b. payload encryption end to end (sessions of encrypting services): the adaptive decision on the first
 *    forward data packet, then the payload is sealed (key id trailer; docs/crypto.md) before metadata;
 *    AES-CBC payloads of a batch are encrypted together in a first pass over the frame (8 CBC chains at
 *    a time in the addon: 0.44 against 4.4 µs per 1400-byte packet one at a time, load 13), the rest per packet;
 * 1. metadata: ingress forward packets while NEEDS_META, egress reverse packets while REV_SIGNAL, and
 *    every packet of a transformed (ICMP-as-UDP) session; a payload that starts with the cookie and gets
 *    no metadata gets the 12-byte false-positive header (§2.3);
 * 2. ICMP is carried as UDP between routers (§1.1), and so is TCP on a path with UDP transform on (the
 *    session's SF_TRANSFORMED, set when it opened; docs/wan.md "UDP transform"): a UDP header is inserted in
 *    front of the TCP header, which travels unchanged inside (metadata goes between the two while the
 *    handshake needs it, with TLV 12 on the SYN: wire format §3.3; a TCP header that starts like the cookie
 *    gets the false-positive header);
 * 3. addresses/ports -> local waypoint:local port -> peer waypoint:peer port; an ingress session toward a peer
 *    behind NAT (natRelay, always UDP outside) goes from our control port to the peer's learned control port
 *    with metadata on every packet, until the peer's reverse packet opens its own binding (svr-accept
 *    rejoinIngress; docs/wan.md "Sessions toward a router behind NAT");
 * 4. trailer (replay block + HMAC, sign.ts) when the path's policy signs this packet (§4.1); the tags of a
 *    batch are written together at the end of the stage (one native call per key: batch-tags.ts). Under
 *    `metadata-only` the packets that change the peer's session state are signed too — TCP SYN/FIN/RST,
 *    the first forward packet after reverse metadata (ends the peer's REV_SIGNAL), and one packet a
 *    second per session (keeps it from expiring): they carry the 12-byte bare header, so the receiver
 *    knows a trailer follows (docs/security.md "No unauthenticated state change");
 * 4b. with the addon (SVR_NATIVE_FORWARD=0: never): such a packet's flow, when steady, is marked for native/fwd.c, which then finishes its
 *    next packets before this graph (native-mark.ts, native-forward.ts);
 * 5. checksums: when bytes were inserted, the original checksum is verified first and then recomputed
 *    (a corrupted packet is dropped, never "repaired"); otherwise updated incrementally. For a TCP or UDP
 *    packet whose tag comes at the end of the stage, step 3's rewrite and these checksums and lengths are
 *    one native call for the frame after the tags (steady-send.ts; SVR_NATIVE_STEADY=0: in JS per packet).
 * After 5: a UDP packet without metadata of a session whose service has `fec` joins its FEC group and gets
 *    its 4-byte tag; a complete group's parity packets go right behind it, in free slots of the batch
 *    (fec.ts, docs/wan.md "FEC").
 * Before 1: a TCP SYN or SYN-ACK gets its MSS clamped to what fits the path (mss-clamp.ts).
 * After 5: a packet longer than the path MTU (the wan interface's `mtu`, or less when path MTU discovery
 *    found less: ctx.pathMtu) is, per the wan interface's `fragmentation` (docs/wan.md "Fragmentation"):
 *    - fragmented (RFC 791 §3.2, RFC 8200 §4.5; fragment-out.ts) when the policy is `always`, or
 *      `unless-df` and the host's IPv4 packet has no DF or the host's IPv6 packet came as fragments (this
 *      router reassembled it: PF_REASSEMBLED): fragment 0 stays in the slot, the others go in free slots
 *      right behind it (the dup batch when b is full), with an IP id of this stage's own
 *      ('packets-fragmented', 'fragments-sent'); the peer's decode stage reassembles them (reassembly.ts);
 *    - otherwise dropped and counted ('drop-exceeds-path-mtu'), and the host that sent it gets an ICMP
 *      "fragmentation needed" / "packet too big" with the MTU that fits (icmp-too-big.ts;
 *      'icmp-too-big-sent'), so TCP and UDP senders with path MTU discovery shrink their packets
 *      (docs/wan.md "Path MTU"). The original header is saved first for packets within QUOTE_MARGIN of the
 *      MTU (a 68-byte copy, big packets only).
 */
import { PROTO_TCP, PacketInfo, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, parsePacket } from '../../packet/ip.js';
import { fillL4Checksum, setAddresses, setIpLength, setPorts, verifyL4Checksum } from '../../packet/rewrite.js';
import { Control, FALSE_POSITIVE_HEADER, hasCookie } from '../../packet/svr-metadata.js';
import { MAX_BATCH, PF_CONTROL, PF_REASSEMBLED, PF_REVERSE, type Batch, type Frame } from '../batch.js';
import type { DataplaneContext } from '../context.js';
import { writeForwardMetadata, writeReverseMetadata, wordsToBytes } from '../metadata-build.js';
import { adjustChecksumForTail, headroom, insertUdpHeader, openAtPayload, tailroom } from '../packet-ops.js';
import { IPV6_FRAGMENT_HEADER } from '../../packet/ipv6-fragment.js';
import { RES_DUPLICATE, RES_FAILOVER, RES_NONE, RES_REVERTIBLE } from '../../model/service-arrays.js';
import { emitMigrated, sessionOuterProtocol } from '../session-ops.js';
import { ROLE_INGRESS, SF_ENC_ON, SF_NEEDS_META, SF_PAYLOAD, SF_REV_SIGNAL, SF_SEND_UUID, SF_TRANSFORMED } from '../session-table.js';
import { PAYLOAD_GROWTH, decideAdaptive, endSealed, sealKey, sealPayload } from '../payload.js';
import type { PolicyKey } from '../path-crypto.js';
import { quoteLength, TOO_BIG_QUOTE, writeIcmpTooBig } from '../icmp-too-big.js';
import { IPV4_DF } from '../../packet/ipv4-fragment.js';
import { fragmentCount, writeFirstFragment, writeFragmentSlot } from '../fragment-out.js';
import { readU16 } from '../../packet/checksum.js';
import { FRAGMENT_ALWAYS, FRAGMENT_NEVER } from '../../model/tables.js';

/** Packets at least this close to the path MTU have their header saved for an ICMP too big. */
const QUOTE_MARGIN = 1024;
import { MssClamp } from '../mss-clamp.js';
import { NO_INDEX } from '../fec.js';
import { FEC_TAG_LENGTH, writeFecTag } from '../../packet/svr-fec.js';
import { sealMetadata } from '../metadata-crypto.js';
import { signPacket, signPacketLater, trailerLength } from '../sign.js';
import { TagBatch } from '../batch-tags.js';
import { SteadySend } from '../steady-send.js';
import { NativeMarks } from '../native-mark.js';
import { CONTROL_PORT } from './wan-verify.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';

const N_TX = 0, N_DROP = 1;
/** grew[s]: the packet's rewrite and finish are steady-send's (native) */
const NATIVE = 2;

/** metadata-only: a session sends at least one signed packet this often, so its peer refreshes it. */
export const SIGN_INTERVAL_MS = 1000;
const STATE_FLAGS = TCP_SYN | TCP_FIN | TCP_RST;

export class SvrOutStage implements Stage {
  readonly name = 'svr-out';
  readonly nexts = ['tx', 'drop'] as const;
  private cChecksum = 0;
  private cNoRoom = 0;
  private cMetaSent = 0;
  private cFp = 0;
  private cMigrated = 0;
  private cDuplicated = 0;
  private cNoKey = 0;
  private cExceedsMtu = 0;
  private cNoPathKey = 0;
  private cExhausted = 0;
  private cSignHeaders = 0;
  private readonly localWp = new Uint8Array(16);
  private readonly peerWp = new Uint8Array(16);
  private readonly dupInfo = new PacketInfo();
  /** the header of the packet being sent, for an ICMP too big (saved for big packets only) */
  private readonly quote = new Uint8Array(TOO_BIG_QUOTE);
  private cTooBig = 0;
  private readonly mss: MssClamp;
  /** the FEC group the packet just emitted completed (its parity goes right behind it), else -1 */
  private fecGroup = -1;
  /** the fragments the packet just emitted is to be sent as (> 1), for the MTU `fragmentMtu` */
  private fragments = 0;
  private fragmentMtu = 0;
  /** IP id of the next packet this stage fragments (random start: each worker has its own stage; IPv4 takes the low 16 bits) */
  private nextId = Math.floor(Math.random() * 0x100000000);
  private cFragmented = 0;
  private cFragmentsSent = 0;
  /** per slot: 1 when its payload was sealed in run's first pass */
  private readonly sealed = new Uint8Array(MAX_BATCH);
  /** the payloads queued for encryption in this batch: slot, key, region */
  private queued = 0;
  private readonly queueSlot = new Uint16Array(MAX_BATCH);
  private readonly queueKey: (PolicyKey | undefined)[] = new Array<PolicyKey | undefined>(MAX_BATCH).fill(undefined);
  private readonly queueOff = new Uint32Array(MAX_BATCH);
  private readonly queueLen = new Uint32Array(MAX_BATCH);
  /** per queued payload: its index in the frame's native checksum check, -1 when checked in JS */
  private readonly queueCheck = new Int16Array(MAX_BATCH);
  /** per slot: its IP length before it was sealed (what it grew by decides the MTU an ICMP too big gives) */
  private readonly plainLen = new Uint16Array(MAX_BATCH);
  private readonly runOff = new Uint32Array(MAX_BATCH);
  private readonly runLen = new Uint32Array(MAX_BATCH);
  /** the packets signed in this batch whose tags come at the end of run (batch-tags.ts): per slot, its end then
   *  and whether it grew (1), or NATIVE: steady-send finishes it */
  private readonly tags = new TagBatch();
  private readonly signedEnd = new Uint32Array(MAX_BATCH);
  private readonly grew = new Uint8Array(MAX_BATCH);
  private readonly steady = new SteadySend();
  /** steady flows marked for native/fwd.c (native-mark.ts; SVR_NATIVE_FORWARD=0: none) */
  private readonly marks: NativeMarks;

  constructor(private readonly ctx: DataplaneContext) {
    this.mss = new MssClamp(ctx);
    this.marks = new NativeMarks(ctx);
  }

  init(i: StageInit): void {
    this.cChecksum = i.counter('drop-bad-checksum');
    this.cNoRoom = i.counter('drop-too-big');
    this.cMetaSent = i.counter('metadata-sent');
    this.cFp = i.counter('false-positive-headers-sent');
    this.cMigrated = i.counter('sessions-migrated');
    this.cDuplicated = i.counter('packets-duplicated');
    this.cNoKey = i.counter('drop-payload-not-sealed');
    this.cExceedsMtu = i.counter('drop-exceeds-path-mtu');
    this.cTooBig = i.counter('icmp-too-big-sent');
    this.mss.init(i);
    this.cNoPathKey = i.counter('drop-no-path-key');
    this.cExhausted = i.counter('drop-key-exhausted');
    this.cSignHeaders = i.counter('signature-headers-sent');
    this.cFragmented = i.counter('packets-fragmented');
    this.cFragmentsSent = i.counter('fragments-sent');
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    const t = this.ctx.sessions;
    // pass 1: steering, the adaptive decision and copies for every packet; the payloads to encrypt with
    // AES-CBC are queued and encrypted together (sealQueued: 8 CBC chains at a time in the addon)
    this.queued = 0;
    this.steady.frame(f.n);
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      const r = b.session[s]!;
      const control = (b.flags[s]! & PF_CONTROL) !== 0;
      const ingress = t.role[r] === ROLE_INGRESS;
      this.sealed[s] = 0;
      if (control) continue;
      if (ingress) this.steer(r, rt.now);
      else this.steerReverse(r, rt.now);
      if ((t.flags[r]! & SF_PAYLOAD) !== 0) decideAdaptive(this.ctx, r, b.data, b.info[s]!, ingress);
      const alt = t.alt.get(r);
      if (alt !== undefined) this.duplicate(b, s, r, alt.path, alt.localPort, alt.peerPort, ingress ? alt.needsMeta : alt.revSignal, rt);
      this.queueSeal(b, s, b.info[s]!, r, rt.now);
    }
    this.dropUnverified(b);
    this.sealQueued(b);
    // pass 2: metadata, rewrite, trailer, checksums, per packet in order
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      const r = b.session[s]!;
      const control = (b.flags[s]! & PF_CONTROL) !== 0;
      const ingress = t.role[r] === ROLE_INGRESS;
      const flags = t.flags[r]!;
      // toward a peer behind NAT, until its reverse packet opens the session's own binding: on its control binding
      const relay = !control && t.natRelay[r] === 1;
      const withMeta = control || relay || (ingress ? (flags & SF_NEEDS_META) !== 0 : (flags & SF_REV_SIGNAL) !== 0);
      this.fecGroup = -1;
      this.fragments = 0;
      const p = t.path[r]!;
      const ok = relay
        ? this.emit(b, s, b.info[s]!, r, p, CONTROL_PORT, this.ctx.pathControlPort[p]!, true, false, rt, this.sealed[s] === 1)
        : this.emit(b, s, b.info[s]!, r, p, t.wpLocalPort[r]!, t.wpPeerPort[r]!, withMeta, control, rt, this.sealed[s] === 1);
      rt.next[s] = ok ? N_TX : N_DROP;
      if (ok && this.fragments > 1) k = this.fragmentBehind(b, f, k, rt);
      if (this.fecGroup >= 0) k = this.parityBehind(b, f, k, rt);
    }
    this.tagQueued(b);
  }

  /** Writes the tags emit left for the end of the stage (one native call per key), then each one's IP length and checksum. */
  private tagQueued(b: Batch): void {
    const tags = this.tags;
    const n = tags.count;
    if (n === 0) return;
    tags.sign(b.data);
    for (let q = 0; q < n; q++) {
      const s = tags.slot[q]!;
      if (this.grew[s] !== NATIVE) endSigned(b.data, b.info[s]!, this.signedEnd[s]!, this.grew[s] === 1);
    }
    this.steady.finish(b.data, this.ctx.pathLocalWords, this.ctx.pathRemoteWords);
  }

  /**
   * Queues the payload of slot s for encryption in this batch when emit would seal it with an AES-CBC key
   * right away: an encrypting session's data packet (not a SYN, whose MSS is clamped first; under UDP
   * transform only TCP, whose payload emit seals before it inserts the UDP header, as for TCP on the wire)
   * whose checksum verifies, with the tailroom. Anything else is left to emit, which seals, or drops and
   * counts, one packet at a time as before.
   */
  private queueSeal(b: Batch, s: number, pi: PacketInfo, r: number, now: number): void {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const f = t.flags[r]!;
    if ((f & SF_PAYLOAD) === 0 || (f & SF_ENC_ON) === 0 || pi.end === pi.payload) return;
    if ((f & SF_TRANSFORMED) !== 0 && t.protocol[r] !== PROTO_TCP) return;
    if (pi.protocol === PROTO_TCP && (pi.tcpFlags & TCP_SYN) !== 0) return;
    if (tailroom(b, s) < PAYLOAD_GROWTH + trailerLength(ctx.tables.paths[t.path[r]!]!.hmac)) return;
    const key = sealKey(ctx, r, now);
    if (key === undefined || key.cipher.kind === 'aes-256-gcm') return;
    // the checksum: in one native call for the frame (dropUnverified), else now
    const check = this.steady.takes(pi) ? this.steady.check(pi) : -1;
    if (check < 0 && !verifyL4Checksum(b.data, pi)) return;
    const q = this.queued++;
    this.queueCheck[q] = check;
    this.queueSlot[q] = s;
    this.queueKey[q] = key;
    this.queueOff[q] = pi.payload;
    this.queueLen[q] = pi.end - pi.payload;
    this.plainLen[s] = pi.end - pi.l3;
  }

  /** Takes the payloads whose checksum the frame's native check failed out of the queue (emit drops and counts them). */
  private dropUnverified(b: Batch): void {
    const steady = this.steady;
    if (steady.checks === 0) return;
    steady.verifyChecks(b.data);
    let w = 0;
    for (let q = 0; q < this.queued; q++) {
      const c = this.queueCheck[q]!;
      if (c >= 0 && steady.checked[c] === 0) {
        this.queueKey[q] = undefined;
        continue;
      }
      this.queueSlot[w] = this.queueSlot[q]!;
      this.queueKey[w] = this.queueKey[q];
      this.queueOff[w] = this.queueOff[q]!;
      this.queueLen[w] = this.queueLen[q]!;
      if (w !== q) this.queueKey[q] = undefined;
      w++;
    }
    this.queued = w;
  }

  /** Encrypts the queued payloads, one encryptBatch per run of the same key, and ends each one's framing. */
  private sealQueued(b: Batch): void {
    const n = this.queued;
    for (let i = 0; i < n;) {
      const key = this.queueKey[i]!;
      let j = i + 1;
      while (j < n && this.queueKey[j] === key) j++;
      for (let q = i; q < j; q++) {
        this.runOff[q - i] = this.queueOff[q]!;
        this.runLen[q - i] = this.queueLen[q]!;
      }
      key.cipher.encryptBatch(b.data, this.runOff, this.runLen, j - i);
      for (let q = i; i < j; i++) {
        const s = this.queueSlot[i]!;
        endSealed(b, s, b.info[s]!, this.runLen[i - q]!, key.version);
        this.sealed[s] = 1;
        this.queueKey[i] = undefined;
      }
    }
  }

  /**
   * Writes the parity packets of the FEC group the packet at f.slot[k] completed into free slots of b, put
   * in the frame right behind it (sent in that order); into the dup batch (after the batch) when b is full.
   * Returns the frame index of the last slot handled.
   */
  private parityBehind(b: Batch, f: Frame, k: number, rt: StageRuntime): number {
    const fec = this.ctx.fecTx;
    const i = this.fecGroup;
    const n = fec.parityCount(i);
    if (b.count + n > MAX_BATCH) {
      fec.writeParities(i, this.ctx.dup, rt.now);
      return k;
    }
    for (let j = 0; j < n; j++) {
      const ps = b.count;
      if (!fec.writeParity(i, j, b, rt.now)) continue;
      f.slot.copyWithin(k + 2, k + 1, f.n);
      f.slot[++k] = ps;
      f.n++;
      rt.next[ps] = N_TX;
    }
    fec.endGroup(i);
    return k;
  }

  /**
   * Splits the packet at f.slot[k] into this.fragments IPv4 fragments: the later ones into free slots of b,
   * put in the frame right behind it (into the dup batch, sent after the batch, when b is full), fragment 0
   * in place. Returns the frame index of the last slot handled.
   */
  private fragmentBehind(b: Batch, f: Frame, k: number, rt: StageRuntime): number {
    const s = f.slot[k]!;
    const n = this.fragments;
    const inBatch = b.count + n - 1 <= MAX_BATCH;
    const out = inBatch ? b : this.ctx.dup;
    if (!inBatch && out.count + n - 1 > MAX_BATCH) {
      rt.counters.add(this.cNoRoom);
      rt.next[s] = N_DROP;
      return k;
    }
    for (let j = 1; j < n; j++) {
      const ps = this.writeFragment(b, s, j, out);
      if (!inBatch) continue;
      f.slot.copyWithin(k + 2, k + 1, f.n);
      f.slot[++k] = ps;
      f.n++;
      rt.next[ps] = N_TX;
    }
    this.finishFragments(b, s, n, rt);
    return k;
  }

  /** Writes fragment j (> 0) of the packet in slot s of b into slot out.count of out; returns that slot. */
  private writeFragment(b: Batch, s: number, j: number, out: Batch): number {
    return writeFragmentSlot(b, s, this.fragmentMtu, j, this.nextId, out);
  }

  /**
   * How many fragments interface `ifIndex`'s `fragmentation` sends the SVR packet d[l3, l3 + len) as; 0 = none.
   * IPv6: this router is the SVR packet's source (RFC 8200 §4.5); under `unless-df` only a packet its host
   * sent as fragments (reassembled here) is split, as IPv6 has no DF: a whole one gets packet too big.
   */
  private pathFragments(b: Batch, s: number, d: Uint8Array, l3: number, len: number, mtu: number, ifIndex: number): number {
    const policy = this.ctx.tables.interfaces[ifIndex]!.fragmentation;
    if (policy === FRAGMENT_NEVER || (d[l3]! >> 4 === 6 && headroom(b, s) < IPV6_FRAGMENT_HEADER)) return 0;
    if (policy !== FRAGMENT_ALWAYS) {
      if (d[l3]! >> 4 === 6 ? (b.flags[s]! & PF_REASSEMBLED) === 0 : (readU16(d, l3 + 6) & IPV4_DF) !== 0) return 0;
    }
    return fragmentCount(d, l3, len, mtu);
  }

  /** Fragment 0 in place, once the others are written; counts them. */
  private finishFragments(b: Batch, s: number, n: number, rt: StageRuntime): void {
    writeFirstFragment(b, s, this.fragmentMtu, this.nextId);
    this.nextId = (this.nextId + 1) >>> 0;
    rt.counters.add(this.cFragmented);
    rt.counters.add(this.cFragmentsSent, n);
  }

  /** Keeps an ingress session on the path its service's policy wants now (lazy migration). */
  private steer(r: number, now: number): void {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const sp = ctx.servicePaths;
    const svc = t.service[r]!;
    const mode = sp.resiliency[svc]!;
    if (mode === RES_NONE) return;
    const cur = t.path[r]!;
    const best = sp.best(svc, ctx.pathUp);
    if (best < 0) return;
    const curUp = ctx.pathUp[cur] === 1;
    const curOk = curUp && sp.accepts(svc, cur);
    if (best !== cur && (mode !== RES_FAILOVER || !curOk)) {
      if (ctx.wanKeys.assignPrimary(r, best, sessionOuterProtocol(t, r))) {
        t.flags[r] = t.flags[r]! | SF_NEEDS_META;
        ctx.counters.add(this.cMigrated);
        emitMigrated(ctx, r, cur, true, !curUp ? 'path-down' : !curOk ? 'sla-breach' : 'better-path', now);
      }
    }
    if (mode === RES_DUPLICATE) {
      const second = sp.best(svc, ctx.pathUp, t.path[r]!);
      const alt = t.alt.get(r);
      if (second < 0) t.removeAltKey(r);
      else if (alt === undefined || alt.path !== second) ctx.wanKeys.assignAlternate(r, second, sessionOuterProtocol(t, r));
    } else if (mode === RES_REVERTIBLE || mode === RES_FAILOVER) {
      t.removeAltKey(r);
    }
  }

  /**
   * Reverse-packet resiliency at the egress: when the session's path is down and it has reverse packets to
   * send (a download whose client is silent), the egress moves the session to another live path to the
   * same peer itself, with reverse metadata naming the session id so the ingress can follow.
   */
  private steerReverse(r: number, now: number): void {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const cur = t.path[r]!;
    if (ctx.pathUp[cur] === 1 || ctx.servicePaths.resiliency[t.service[r]!] === RES_NONE) return;
    for (const p of ctx.tables.peers[ctx.tables.paths[cur]!.peer]!.paths) {
      if (p === cur || ctx.pathUp[p] !== 1) continue;
      if (ctx.wanKeys.assignPrimary(r, p, sessionOuterProtocol(t, r))) {
        t.flags[r] = t.flags[r]! | SF_REV_SIGNAL | SF_SEND_UUID;
        ctx.counters.add(this.cMigrated);
        emitMigrated(ctx, r, cur, false, 'path-down', now);
      }
      return;
    }
  }

  /** Sends a copy of slot s on the session's second path (packet-duplication), through the dup batch. */
  private duplicate(b: Batch, s: number, r: number, path: number, localPort: number, peerPort: number, withMeta: boolean, rt: StageRuntime): void {
    const dup = this.ctx.dup;
    if (dup.count >= dup.off.length) return;
    const ds = dup.count;
    if (dup.fill(b.ifIndex[s]!, b.data, b.off, b.len, s, 1) !== 1) return;
    const pi = this.dupInfo;
    parsePacket(dup.data, dup.off[ds]!, dup.len[ds]!, pi);
    dup.session[ds] = r;
    this.fragments = 0;
    if (!this.emit(dup, ds, pi, r, path, localPort, peerPort, withMeta, false, rt)) {
      dup.count--; // dropped: give the slot back
      return;
    }
    rt.counters.add(this.cDuplicated);
    if (this.fragments <= 1) return;
    if (dup.count + this.fragments - 1 > MAX_BATCH) {
      dup.count--;
      rt.counters.add(this.cNoRoom);
      return;
    }
    for (let j = 1; j < this.fragments; j++) this.writeFragment(dup, ds, j, dup);
    this.finishFragments(dup, ds, this.fragments, rt);
  }

  /** Rewrites slot s for `path` and the given waypoint ports; false = drop (counted). */
  private emit(
    b: Batch, s: number, pi: PacketInfo, r: number, p: number, localPort: number, peerPort: number,
    withMetaFlag: boolean, control: boolean, rt: StageRuntime, sealed = false,
  ): boolean {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const d = b.data;
    const path = ctx.tables.paths[p]!;
    const ingress = t.role[r] === ROLE_INGRESS;
    const transformed = (t.flags[r]! & SF_TRANSFORMED) !== 0;
    // ICMP as UDP carries metadata on every packet; TCP under UDP transform only while the handshake needs it
    const tcpAsUdp = transformed && t.protocol[r] === PROTO_TCP;
    const withMeta = withMetaFlag || (transformed && !tcpAsUdp);
    const framed = !control && (t.flags[r]! & SF_PAYLOAD) !== 0 && pi.end > pi.payload;
    const h = path.hmac;
    // metadata-only: a packet that changes the peer's state is signed; the bare header says a trailer follows
    const marked = h.mode === 'metadata-only' && !withMeta && mustSign(t.signedAtOf(r), pi, rt.now);
    // what the peer reads first after the (UDP) header: the TCP header itself under UDP transform
    const first = tcpAsUdp && !control ? pi.l4 : pi.payload;
    const falsePositive = !withMeta && (marked || ((!framed || tcpAsUdp) && hasCookie(d, first, pi.end - first)));
    const grows = withMeta || falsePositive || transformed || framed;
    const mtu = ctx.pathMtu[p]!;
    const family = pi.family === 6 ? 6 : 4;
    const before = sealed ? this.plainLen[s]! : pi.end - pi.l3;
    const quoteLen = !control && b !== ctx.dup && before + QUOTE_MARGIN > mtu ? quoteLength(d, pi.l3, family, before) : 0;
    for (let i = 0; i < quoteLen; i++) this.quote[i] = d[pi.l3 + i]!; // at most 68 bytes: no view object per packet
    const marking = this.marks.on && !control && !withMeta && !falsePositive && (!transformed || tcpAsUdp) && b !== ctx.dup;
    if (marking) this.marks.capture(b, s, pi);
    if (!control) this.mss.apply(d, pi, p, r, rt); // incremental: a bad checksum stays bad for the check below
    if (grows && !control && !sealed && !verifyL4Checksum(d, pi)) {
      rt.counters.add(this.cChecksum);
      return false;
    }
    const tail = trailerLength(h);
    if (framed && !sealed) {
      // encrypt-then-MAC (a sealed payload was encrypted with the batch's others in run): the payload is sealed first, metadata goes in front, the HMAC covers both
      if (tailroom(b, s) < PAYLOAD_GROWTH + tail || !sealPayload(ctx, b, s, pi, r, rt.now)) {
        rt.counters.add(this.cNoKey);
        return false;
      }
    }
    if (transformed && !control) insertUdpHeader(b, s, pi, localPort, peerPort);
    if (withMeta) {
      const syn = tcpAsUdp && !control && (pi.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
      const n = sealMetadata(ctx, p, ingress ? writeForwardMetadata(ctx, r, false, p, syn) : writeReverseMetadata(ctx, r, control ? Control.StateExists : -1, p), rt.now);
      if (n < 0) {
        rt.counters.add(this.cExhausted); // the path's metadata key reached its AES-GCM nonce budget
        return false;
      }
      if (control) {
        pi.end = pi.payload; // a control answer carries no payload
        b.len[s] = pi.end - pi.l3;
      }
      const at = openAtPayload(b, s, pi, n), m = ctx.writer.buf;
      for (let k = 0; k < n; k++) d[at + k] = m[k]!; // byte by byte: no view object per first packet (~100 B of garbage each)
      rt.counters.add(this.cMetaSent);
    } else if (falsePositive) {
      d.set(FALSE_POSITIVE_HEADER, openAtPayload(b, s, pi, 12));
      rt.counters.add(marked ? this.cSignHeaders : this.cFp);
    }
    const signs = h.mode !== 'disabled' && (withMeta || falsePositive || h.mode === 'regular' || h.mode === 'time-based');
    // the tag at the end of the stage, with the batch's others (batch-tags.ts), when nothing after this
    // reads the packet's bytes: not a copy (dup batch), no FEC, no fragments or ICMP too big
    const later = signs && ctx.crypto.batchTags && b !== ctx.dup && !ctx.fec.any && pi.end + tail - pi.l3 <= mtu;
    // such a packet's addresses, ports, checksum and length are written there too, natively (steady-send.ts)
    const native = later && this.steady.takes(pi);
    if (!native) {
      wordsToBytes(ctx.pathLocalWords, p * 4, path.family, this.localWp);
      wordsToBytes(ctx.pathRemoteWords, p * 4, path.family, this.peerWp);
      setAddresses(d, pi, this.localWp, 0, this.peerWp, 0);
      setPorts(d, pi, localPort, peerPort);
    }
    if (signs) {
      if (tailroom(b, s) < tail) {
        rt.counters.add(this.cNoRoom);
        return false;
      }
      const end = later ? signPacketLater(ctx, d, pi.payload, pi.end, p, rt.now, this.tags, s) : signPacket(ctx, d, pi.payload, pi.end, p, rt.now);
      if (end < 0) {
        rt.counters.add(this.cNoPathKey); // no key on the path yet (key exchange)
        return false;
      }
      if (h.mode === 'metadata-only') t.setSignedAt(r, rt.now); // only these paths read it (mustSign)
      if (later) {
        this.grew[s] = native ? NATIVE : grows ? 1 : 0;
        if (native) this.steady.add(pi, p, localPort, peerPort, end, grows);
        else this.signedEnd[s] = end;
        b.len[s] = end - pi.l3;
        b.ifIndex[s] = path.localInterface;
        b.flags[s] &= ~PF_REVERSE;
        if (marking) this.marks.after(b, s, pi, r, p, localPort, peerPort, rt.now);
        return true;
      }
      endSigned(d, pi, end, grows);
    } else if (grows) {
      setIpLength(d, pi, pi.end);
      fillL4Checksum(d, pi);
    }
    b.len[s] = pi.end - pi.l3;
    if (ctx.fec.any && !control && !withMeta && !falsePositive && b !== ctx.dup && ctx.fecTx.covers(r, pi)) {
      // FEC: the packet joins its group (when it is sent at all) and gets its tag after the trailer (fec.ts)
      if (tailroom(b, s) < FEC_TAG_LENGTH) {
        rt.counters.add(this.cNoRoom);
        return false;
      }
      const fits = b.len[s]! + FEC_TAG_LENGTH <= mtu;
      this.fecGroup = fits ? ctx.fecTx.add(d, pi, r, p, rt.now) : -1;
      writeFecTag(d, pi.end, fits ? ctx.fecTx.tagGroup : 0, fits ? ctx.fecTx.tagIndex : NO_INDEX);
      adjustChecksumForTail(d, pi, pi.end, FEC_TAG_LENGTH, true);
      setIpLength(d, pi, pi.end + FEC_TAG_LENGTH);
      b.len[s] = pi.end - pi.l3;
    }
    if (b.len[s]! > mtu) {
      const n = this.pathFragments(b, s, d, pi.l3, b.len[s]!, mtu, path.localInterface);
      if (n > 1) {
        this.fragments = n; // written by the caller (fragmentBehind), after the FEC and duplicate steps
        this.fragmentMtu = mtu;
        b.ifIndex[s] = path.localInterface;
        b.flags[s] &= ~PF_REVERSE;
        return true;
      }
      rt.counters.add(this.cExceedsMtu);
      if (quoteLen === 0) return false;
      // tell the sender what fits: the path MTU less what this packet grew by (RFC 1191 §4, RFC 4443 §3.2)
      const fits = Math.max(family === 6 ? 1280 : 68, mtu - (b.len[s]! - before));
      writeIcmpTooBig(b, s, pi, this.quote, quoteLen, family, fits);
      b.ifIndex[s] = ingress ? t.inIf[r]! : t.outIf[r]!;
      b.flags[s] &= ~PF_REVERSE;
      rt.counters.add(this.cTooBig);
      return true;
    }
    b.ifIndex[s] = path.localInterface;
    b.flags[s] &= ~PF_REVERSE;
    return true;
  }
}

/**
 * The IP length and L4 checksum of a packet whose trailer (replay block and tag) now ends at `end`: the
 * checksum recomputed when bytes were inserted (`grew`), else updated for the trailer.
 */
function endSigned(d: Uint8Array, pi: PacketInfo, end: number, grew: boolean): void {
  if (!grew) adjustChecksumForTail(d, pi, pi.end, end - pi.end, true);
  setIpLength(d, pi, end);
  if (grew) fillL4Checksum(d, pi);
}

/** metadata-only: whether a packet without metadata must be signed (TCP state, or the session's last signed packet is old). */
function mustSign(signedAt: number, pi: PacketInfo, now: number): boolean {
  return (pi.protocol === PROTO_TCP && (pi.tcpFlags & STATE_FLAGS) !== 0) || now - signedAt >= SIGN_INTERVAL_MS;
}
