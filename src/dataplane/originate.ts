/**
 * Packets the data path builds from scratch (dataplane.ts), waypoint to waypoint on a path: path messages (BFD,
 * link tests, STEP, key exchange), firewall-detector probes, session probes and keep-alives (session-probes.ts).
 * Held (hold/release, holdControl), they are built at once (signed, counted as sent) and written when the
 * outermost hold ends, one transmit per port; their HMAC tags then come in one call (batch-tags.ts).
 */
import { TagBatch } from './batch-tags.js';
import { Batch, HEADROOM, MAX_BATCH, SLOT } from './batch.js';
import type { DataplaneContext } from './context.js';
import type { Transmitter } from './dataplane-tx.js';
import { wordsToBytes } from './metadata-build.js';
import { signPacket, signPacketLater } from './sign.js';
import { CONTROL_PORT, PROBE_PORT } from './stages/wan-verify.js';
import { isHandshakeMessage } from '../crypto/handshake.js';
import { writeU16, writeU32 } from '../packet/checksum.js';
import { PROTO_TCP, PROTO_UDP, PacketInfo, TCP_ACK } from '../packet/ip.js';
import { LINK_TEST_LENGTH } from '../packet/path-message.js';
import { fillL4Checksum, setIpLength } from '../packet/rewrite.js';

export class Originator {
  private readonly control = new Batch();
  /** hold depth; while > 0, originated packets wait in `control` and go out in one transmit per port */
  private held = 0;
  /** the held packets' tags, signed in one call at the flush (batch-tags.ts: one call for a hub tick's many keys);
   *  their L4 checksums wait for it (unsummed) */
  private readonly tags = new TagBatch();
  private readonly unsummed = new Uint8Array(MAX_BATCH);
  private readonly addr = new Uint8Array(16);
  /** the link-test reply being sent (answerLinkEchoes) */
  private readonly echoReply = new Uint8Array(LINK_TEST_LENGTH);
  private readonly pi = new PacketInfo();
  private readonly cPathMessages: number;
  private readonly cPathProbes: number;

  constructor(private readonly ctx: DataplaneContext, private readonly tx: Transmitter, private readonly clock: () => number, private readonly wallClock: () => number) {
    this.cPathMessages = ctx.counters.id('path-messages-sent');
    this.cPathProbes = ctx.counters.id('firewall-probes-sent');
  }

  /** Packets originated from now on are held until the matching release (holdControl without a closure). */
  hold(): void {
    this.held++;
  }

  release(): void {
    if (--this.held === 0) this.flush();
  }

  /**
   * Runs `fn` with the packets the data path originates (path messages, probes, keepalives) held: they are
   * built at once (signed, counted as sent) and written when the outermost hold ends, one transmit per port
   * (one TUN write of many packets instead of one each; 256 at most, then a write). Control's timer ticks use
   * it for the BFD packets of many paths (paths/bfd-schedule.ts), the data path for its answers to a batch.
   */
  holdControl(fn: () => void): void {
    this.hold();
    try {
      fn();
    } finally {
      this.release();
    }
  }

  private flush(): void {
    const c = this.control;
    if (c.count === 0) return;
    if (this.tags.count > 0) {
      this.tags.sign(c.data);
      const u = this.unsummed;
      for (let k = 0; k < c.count; k++) if (u[k] === 1) {
        u[k] = 0;
        fillL4Checksum(c.data, c.info[k]!);
      }
    }
    this.tx.transmit(c, this.tx.allSlots, c.count, true);
    c.reset();
  }

  /**
   * Sends a message on the path control channel: UDP waypoint:1280 -> peer waypoint:1280, signed with
   * the path's HMAC unless its policy is `disabled`. Used by BFD, link tests and STEP (control rate).
   * Key-exchange messages travel unsigned, and only on a path whose keys they make (they authenticate
   * themselves, and a peer that restarted has no keys to check a trailer with: docs/security.md).
   */
  sendPathMessage(path: number, payload: Uint8Array): boolean {
    const handshake = isHandshakeMessage(payload, 0, payload.length);
    if (handshake && this.ctx.tables.paths[path]?.keyExchange !== 'handshake') return false;
    if (!this.ctx.peerKnown(path)) return false; // a peer behind NAT: nowhere to send until it was heard from
    const sent = this.originate(path, PROTO_UDP, CONTROL_PORT, this.ctx.pathControlPort[path]!, payload, payload.length, !handshake);
    if (sent) this.ctx.counters.add(this.cPathMessages);
    return sent;
  }

  /** The link-test replies wan-verify queued for this batch (link-echo.ts): one path message each, held with the batch's others. */
  answerLinkEchoes(): void {
    const q = this.ctx.linkEchoes;
    const reply = this.echoReply;
    for (let k = 0; k < q.count; k++) {
      const at = k * LINK_TEST_LENGTH;
      for (let i = 0; i < LINK_TEST_LENGTH; i++) reply[i] = q.bytes[at + i]!;
      this.sendPathMessage(q.path[k]!, reply);
    }
    q.count = 0;
  }

  /**
   * Sends a firewall-detector probe (paths/firewall-detector.ts): a TCP segment with `tcpFlags` from the local
   * waypoint's PROBE_PORT to the peer's, signed like a control message; the peer's wan-verify hands its payload
   * to control. Whether it arrives tells whether a middlebox on the path passes such TCP.
   */
  sendPathProbe(path: number, tcpFlags: number, payload: Uint8Array): boolean {
    if (!this.ctx.peerKnown(path)) return false;
    const sent = this.originate(path, PROTO_TCP, PROBE_PORT, PROBE_PORT, payload, payload.length, true, tcpFlags);
    if (sent) this.ctx.counters.add(this.cPathProbes);
    return sent;
  }

  /** Builds one packet from scratch on `path` (waypoint to waypoint) and transmits it (or holds it: holdControl). */
  originate(p: number, proto: number, srcPort: number, dstPort: number, body: Uint8Array, bodyLen: number, sign: boolean, tcpFlags = TCP_ACK): boolean {
    const ctx = this.ctx;
    const path = ctx.tables.paths[p];
    const port = path === undefined ? null : this.tx.ports[path.localInterface];
    if (path === undefined || !port) return false;
    const c = this.control;
    if (c.count === MAX_BATCH) this.flush();
    const d = c.data;
    const held = this.held > 0;
    const at = (held ? c.count * SLOT : 0) + HEADROOM;
    const fam = path.family;
    const alen = fam === 6 ? 16 : 4;
    const l3 = fam === 6 ? 40 : 20;
    const l4len = proto === PROTO_TCP ? 20 : 8;
    d.fill(0, at, at + l3 + l4len);
    if (fam === 4) {
      d[at] = 0x45;
      writeU16(d, at + 6, 0x4000);
      d[at + 8] = 64;
      d[at + 9] = proto;
    } else {
      writeU32(d, at, 0x60000000);
      d[at + 6] = proto;
      d[at + 7] = 64;
    }
    const srcOff = at + (fam === 6 ? 8 : 12);
    const dstOff = srcOff + alen;
    // addresses and body copied byte by byte: no subarray object per packet (a hub originates ~6,000 a second)
    wordsToBytes(ctx.pathLocalWords, p * 4, fam, this.addr);
    for (let i = 0; i < alen; i++) d[srcOff + i] = this.addr[i]!;
    wordsToBytes(ctx.pathRemoteWords, p * 4, fam, this.addr);
    for (let i = 0; i < alen; i++) d[dstOff + i] = this.addr[i]!;
    const l4 = at + l3;
    writeU16(d, l4, srcPort);
    writeU16(d, l4 + 2, dstPort);
    if (proto === PROTO_TCP) {
      d[l4 + 12] = 5 << 4;
      d[l4 + 13] = tcpFlags;
    }
    const payload = l4 + l4len;
    if (bodyLen === body.length) d.set(body, payload);
    else for (let i = 0; i < bodyLen; i++) d[payload + i] = body[i]!;
    let end = payload + bodyLen;
    // held: the tag at the flush, with the other held packets' (one call for many paths' keys)
    const later = held && sign && path.hmac.mode !== 'disabled' && ctx.crypto.batchTags;
    if (sign && path.hmac.mode !== 'disabled') {
      ctx.wallMs = this.wallClock();
      end = later ? signPacketLater(ctx, d, payload, end, p, this.clock(), this.tags, c.count) : signPacket(ctx, d, payload, end, p, this.clock());
      if (end < 0) return false; // no key on the path yet
    }
    const pi = held ? c.info[c.count]! : this.pi;
    pi.family = fam;
    pi.l3 = at;
    pi.l4 = l4;
    pi.payload = payload;
    pi.srcOff = srcOff;
    pi.dstOff = dstOff;
    pi.protocol = proto;
    pi.fragment = 0;
    setIpLength(d, pi, end); // and the IPv4 header checksum
    if (later) this.unsummed[c.count] = 1;
    else fillL4Checksum(d, pi);
    if (held) {
      const k = c.count++;
      c.off[k] = at;
      c.len[k] = end - at;
      c.ifIndex[k] = path.localInterface;
      return true;
    }
    this.tx.transmitOne(port, d, at, end - at, path.localInterface);
    return true;
  }
}
