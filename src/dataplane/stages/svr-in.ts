/**
 * svr-in: a packet arrives from the peer router on a known session; restore the original packet.
 * 1. handshake (fact sheet §5.2): reverse metadata at the ingress clears NEEDS_META (session.reverseSeen)
 *    and has the next forward packet signed (metadata-only); an authenticated forward packet without
 *    metadata at the egress clears REV_SIGNAL;
 * 2. a health-check probe (TLV 46 = 1, no payload) at the egress is answered with reverse metadata and
 *    a "state exists" control message, never delivered; control answers at the ingress are consumed;
 *    "enable-metadata" (the peer holds no session for this flow: session-lookup) at the ingress sets
 *    NEEDS_META again, so the next packets re-open the session at the peer (session.resignalled);
 * 3. metadata or the false-positive header is stripped; ICMP carried as UDP, and TCP under UDP transform,
 *    lose their UDP header (a TCP header inside that is cut off or whose data offset does not fit: dropped,
 *    'drop-bad-transformed'); an encrypted payload is decrypted (key id trailer; docs/crypto.md): those of
 *    established sessions' packets all at once before the per-packet pass (payload-open.ts: one native call
 *    per cipher and frame), the rest here one at a time;
 * 4. addresses/ports -> the original 5-tuple (egress forward: client -> server; ingress reverse:
 *    server -> client); then the session's service chain and out through the LAN interface it uses;
 * 5. a session duplicated on two paths delivers each packet once: the later copy is dropped ('duplicate');
 * 6. a TCP SYN or SYN-ACK gets its MSS clamped to what fits the path it came on (mss-clamp.ts);
 * 7. a transit session (multi-hop SVR, transit.ts) continues on its other leg: the packet, now in its
 *    original form, becomes that leg's packet and goes through service-chain to svr-out.
 * Checksums: verified before bytes are removed, recomputed after; incremental when nothing was removed.
 * 4's rewrite with its length and checksum, for established TCP/UDP packets that shrank, is one native call
 * for the frame after the per-packet pass (steady-receive.ts; SVR_NATIVE_RECEIVE=0: in JS per packet).
 * With the addon (SVR_NATIVE_IN=0: never): a steady packet's flow is marked for native/fwd-in.c, which then takes its next packets from
 * the WAN to the LAN before this graph (native-mark-in.ts, native-receive.ts).
 */
import { fillL4Checksum, setIpLength, verifyL4Checksum } from '../../packet/rewrite.js';
import { PF_ALT_PATH, PF_CONTROL, PF_FALSE_POSITIVE, PF_HAS_META, PF_REVERSE, unauthenticated, type Batch, type Frame } from '../batch.js';
import { Deduplicator } from '../dedup.js';
import { RES_DUPLICATE } from '../../model/service-arrays.js';
import type { DataplaneContext } from '../context.js';
import { reverseContextMatches } from '../metadata-build.js';
import { serverSideView, writeServerSide } from '../nat.js';
import { closeAtPayload, removeUdpHeader } from '../packet-ops.js';
import { accountPacket, sessionId, trackTcp } from '../session-ops.js';
import { Control } from '../../packet/svr-metadata.js';
import { PROTO_TCP } from '../../packet/ip.js';
import { ROLE_EGRESS, ROLE_INGRESS, SF_CLOSING, SF_ENC_ON, SF_NEEDS_META, SF_PAYLOAD, SF_REV_SIGNAL, SF_SEND_UUID, SF_TRANSFORMED, type SideKey } from '../session-table.js';
import { SteadyReceive } from '../steady-receive.js';
import { openPayload } from '../payload.js';
import { OPEN_NONE, PayloadOpen } from '../payload-open.js';
import { MssClamp } from '../mss-clamp.js';
import { NativeMarksIn } from '../native-mark-in.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';

const N_CHAIN = 0, N_SVR_OUT = 1, N_DROP = 2;

export class SvrInStage implements Stage {
  readonly name = 'svr-in';
  readonly nexts = ['service-chain', 'svr-out', 'drop'] as const;
  private cChecksum = 0;
  private cContext = 0;
  private cProbes = 0;
  private cControl = 0;
  private cDuplicates = 0;
  private cBadPayload = 0;
  private cBadTransformed = 0;
  private cEnableMeta = 0;
  private readonly dedup = new Deduplicator();
  private readonly mss: MssClamp;
  /** the frame's encrypted payloads, decrypted together before the per-packet pass */
  private readonly opener: PayloadOpen;
  /** step 4 for the frame's established packets, after the pass */
  private readonly finisher = new SteadyReceive();
  private readonly side: SideKey = { family: 4, src: new Uint32Array(0), srcOff: 0, dst: new Uint32Array(0), dstOff: 0, srcPort: 0, dstPort: 0, protocol: 0, ifIndex: -1 };
  /** SVR_NATIVE_IN=1: steady flows marked for native/fwd-in.c (native-mark-in.ts) */
  private readonly marks: NativeMarksIn;

  constructor(private readonly ctx: DataplaneContext) {
    this.mss = new MssClamp(ctx);
    this.opener = new PayloadOpen(ctx, this.finisher.steady);
    this.marks = new NativeMarksIn(ctx);
  }

  init(i: StageInit): void {
    this.cChecksum = i.counter('drop-bad-checksum');
    this.cContext = i.counter('drop-context-mismatch');
    this.cProbes = i.counter('health-checks-answered');
    this.cControl = i.counter('consumed-control-messages');
    this.cDuplicates = i.counter('drop-duplicate');
    this.cBadPayload = i.counter('drop-bad-payload');
    this.cBadTransformed = i.counter('drop-bad-transformed');
    this.cEnableMeta = i.counter('sessions-resignalled-enable');
    this.mss.init(i);
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    this.finisher.frame(f.n);
    this.opener.open(b, f);
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      rt.next[s] = this.receive(b, s, rt);
    }
    this.finisher.finish(b.data);
  }

  private receive(b: Batch, s: number, rt: StageRuntime): number {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const d = b.data;
    const pi = b.info[s]!;
    const r = b.session[s]!;
    const role = t.role[r]!;
    if (this.marks.on) this.marks.capture(b, s, pi);
    const hasMeta = (b.flags[s]! & PF_HAS_META) !== 0;
    const v = b.meta[s]!;
    const strip = hasMeta ? v.total : (b.flags[s]! & PF_FALSE_POSITIVE) !== 0 ? 12 : 0;
    const emptyAfterMeta = hasMeta && pi.end - pi.payload === v.total;
    const viaAlt = (b.flags[s]! & PF_ALT_PATH) !== 0;
    const alt = viaAlt ? t.alt.get(r) : undefined;
    const auth = !unauthenticated(b, s);
    if (hasMeta && v.controlCode === Control.EnableMetadata && emptyAfterMeta) {
      // the peer holds no session for this flow: our next packets carry forward metadata again
      if (role === ROLE_INGRESS && auth && (t.flags[r]! & (SF_CLOSING | SF_NEEDS_META)) === 0) {
        t.flags[r] = t.flags[r]! | SF_NEEDS_META;
        rt.counters.add(this.cEnableMeta);
        ctx.events.push({ kind: 'session.resignalled', row: r, gen: t.gen[r]!, sessionId: sessionId(t, r) });
      }
      return N_DROP; // consumed
    }
    if (hasMeta && role === ROLE_INGRESS) t.setSignedAt(r, -Infinity); // metadata-only: our next packet is signed (ends REV_SIGNAL)
    if (alt !== undefined) {
      // the second path of a duplicated session has its own handshake
      if (role === ROLE_INGRESS && hasMeta) alt.needsMeta = false;
      else if (role === ROLE_EGRESS && !hasMeta && auth) alt.revSignal = false;
    } else if (hasMeta && role === ROLE_INGRESS) {
      // reverse metadata: its context must be this session's, mirrored
      if (v.reverseCtx >= 0 && !reverseContextMatches(d, v.reverseCtx, v.reverseFamily, t, r)) {
        rt.counters.add(this.cContext);
        return N_DROP;
      }
      t.natRelay[r] = 0; // a peer behind NAT reached us on the session's own 5-tuple: its binding is open
      if ((t.flags[r]! & SF_NEEDS_META) !== 0) {
        t.flags[r] = t.flags[r]! & ~SF_NEEDS_META;
        ctx.records.reverseSeen(t, r, ctx.events.length); // control knows the id from session.created
      }
      if (v.controlCode >= 0 && emptyAfterMeta) {
        rt.counters.add(this.cControl);
        return N_DROP; // consumed: the answer to our probe, nothing to deliver
      }
    } else if (role === ROLE_EGRESS && hasMeta) {
      // forward metadata again (re-signalled, e.g. with the application named): acknowledge with reverse metadata
      t.flags[r] = t.flags[r]! | SF_REV_SIGNAL;
      if ((t.flags[r]! & SF_PAYLOAD) !== 0) t.flags[r] = v.payloadEncrypted ? t.flags[r]! | SF_ENC_ON : t.flags[r]! & ~SF_ENC_ON; // TLV 11 decides
      if (v.application >= 0) t.app[r] = ctx.applications.idFromBytes(d, v.application, v.applicationLength); // TLV 35
    } else if (role === ROLE_EGRESS && !hasMeta && auth && (t.flags[r]! & SF_REV_SIGNAL) !== 0) {
      t.flags[r] = t.flags[r]! & ~(SF_REV_SIGNAL | SF_SEND_UUID); // §5.2 REV_SIGNAL -> REV_QUIET
    }
    const transformed = (t.flags[r]! & SF_TRANSFORMED) !== 0;
    const tcpAsUdp = transformed && t.protocol[r] === PROTO_TCP;
    // under UDP transform the TCP header precedes the payload: whether there is one is known after it is restored
    let framed = !tcpAsUdp && (t.flags[r]! & SF_PAYLOAD) !== 0 && pi.end - pi.payload > strip;
    const shrinks = strip > 0 || transformed || framed;
    const opened = this.opener.verdict[s] !== OPEN_NONE; // checksum verified and payload decrypted before this pass
    if (shrinks && !opened && !verifyL4Checksum(d, pi)) {
      rt.counters.add(this.cChecksum);
      return N_DROP;
    }
    if (strip > 0) closeAtPayload(b, s, pi, strip);
    if (role === ROLE_EGRESS && v.healthCheck === 1 && emptyAfterMeta) {
      // answer the probe from the same slot: svr-out writes reverse metadata + control "state exists"
      rt.counters.add(this.cProbes);
      b.flags[s] = (b.flags[s]! | PF_CONTROL | PF_REVERSE) & ~PF_HAS_META;
      return N_SVR_OUT;
    }
    if (transformed && !removeUdpHeader(b, s, pi, t.protocol[r]!)) {
      rt.counters.add(this.cBadTransformed); // the TCP header inside is cut off or inconsistent
      return N_DROP;
    }
    if (tcpAsUdp) framed = (t.flags[r]! & SF_PAYLOAD) !== 0 && pi.end > pi.payload;
    if (framed && !(opened ? this.opener.take(b, s, pi) : openPayload(ctx, b, s, pi, r))) {
      rt.counters.add(this.cBadPayload); // unknown key id or a payload that does not decrypt
      return N_DROP;
    }
    const forward = role === ROLE_EGRESS;
    const duplicated = ctx.servicePaths.resiliency[t.service[r]!] === RES_DUPLICATE;
    const leg = t.relayOf(r);
    if (shrinks && !duplicated && leg < 0 && this.finisher.takes(pi)) {
      this.finisher.add(pi, serverSideView(t, r, forward, this.side)); // written after the pass: nothing below reads the bytes
    } else if (shrinks) {
      writeServerSide(d, pi, t, r, forward);
      setIpLength(d, pi, pi.end);
      fillL4Checksum(d, pi);
    } else {
      writeServerSide(d, pi, t, r, forward);
    }
    b.len[s] = pi.end - pi.l3;
    if (duplicated && this.dedup.seen(r, t.gen[r]!, d, pi, rt.now)) {
      rt.counters.add(this.cDuplicates);
      return N_DROP; // the copy from the other path arrived first
    }
    if (leg >= 0) {
      // transit: this leg's TCP state follows the packet here, the other leg's in service-chain
      if (t.protocol[r] === PROTO_TCP && auth) trackTcp(ctx, r, forward, pi.tcpFlags, rt.now);
      accountPacket(ctx, leg, forward, b.len[s]!, rt.now);
      b.session[s] = leg;
      return N_CHAIN;
    }
    this.mss.apply(d, pi, alt !== undefined ? alt.path : t.path[r]!, r, rt);
    b.ifIndex[s] = forward ? t.outIf[r]! : t.inIf[r]!;
    if (this.marks.on && !duplicated) this.marks.after(b, s, pi, r, rt.now);
    return N_CHAIN;
  }
}
