/**
 * svr-out: a packet leaves toward the peer router on its session's path, NATed onto the waypoint 5-tuple
 * with no tunnel header (fact sheet §1, §6).
 * 1. metadata: ingress forward packets while NEEDS_META, egress reverse packets while REV_SIGNAL, and
 *    every packet of a transformed (ICMP-as-UDP) session; a payload that starts with the cookie and gets
 *    no metadata gets the 12-byte false-positive header (§2.3);
 * 2. ICMP is carried as UDP between routers (§1.1): a UDP header is inserted;
 * 3. addresses/ports -> local waypoint:local port -> peer waypoint:peer port;
 * 4. HMAC trailer when the path's policy signs this packet (§4.1);
 * 5. checksums: when bytes were inserted, the original checksum is verified first and then recomputed
 *    (a corrupted packet is dropped, never "repaired"); otherwise updated incrementally.
 */
import { timeSlot, signInto } from '../../crypto/hmac.js';
import { fillL4Checksum, setAddresses, setIpLength, setPorts, verifyL4Checksum } from '../../packet/rewrite.js';
import { Control, FALSE_POSITIVE_HEADER, hasCookie } from '../../packet/svr-metadata.js';
import { PF_CONTROL, PF_REVERSE, SLOT, type Batch, type Frame } from '../batch.js';
import type { DataplaneContext } from '../context.js';
import { writeForwardMetadata, writeReverseMetadata, wordsToBytes } from '../metadata-build.js';
import { adjustChecksumForTail, insertUdpHeader, openAtPayload, tailroom } from '../packet-ops.js';
import { ROLE_INGRESS, SF_NEEDS_META, SF_REV_SIGNAL, SF_TRANSFORMED } from '../session-table.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';

const N_TX = 0, N_DROP = 1;

export class SvrOutStage implements Stage {
  readonly name = 'svr-out';
  readonly nexts = ['tx', 'drop'] as const;
  private cChecksum = 0;
  private cNoRoom = 0;
  private cMetaSent = 0;
  private cFp = 0;
  private readonly localWp = new Uint8Array(16);
  private readonly peerWp = new Uint8Array(16);

  constructor(private readonly ctx: DataplaneContext) {}

  init(i: StageInit): void {
    this.cChecksum = i.counter('drop-bad-checksum');
    this.cNoRoom = i.counter('drop-too-big');
    this.cMetaSent = i.counter('metadata-sent');
    this.cFp = i.counter('false-positive-headers-sent');
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      rt.next[s] = this.send(b, s, rt) ? N_TX : N_DROP;
    }
  }

  private send(b: Batch, s: number, rt: StageRuntime): boolean {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const d = b.data;
    const pi = b.info[s]!;
    const r = b.session[s]!;
    const flags = t.flags[r]!;
    const path = ctx.tables.paths[t.path[r]!]!;
    const control = (b.flags[s]! & PF_CONTROL) !== 0;
    const ingress = t.role[r] === ROLE_INGRESS;
    const transformed = (flags & SF_TRANSFORMED) !== 0;
    const withMeta = control || transformed || (ingress ? (flags & SF_NEEDS_META) !== 0 : (flags & SF_REV_SIGNAL) !== 0);
    const falsePositive = !withMeta && hasCookie(d, pi.payload, pi.end - pi.payload);
    const grows = withMeta || falsePositive || transformed;
    if (grows && !control && !verifyL4Checksum(d, pi)) {
      rt.counters.add(this.cChecksum);
      return false;
    }
    const localPort = t.wpLocalPort[r]!;
    const peerPort = t.wpPeerPort[r]!;
    if (transformed && !control) insertUdpHeader(b, s, pi, localPort, peerPort);
    if (withMeta) {
      const n = ingress ? writeForwardMetadata(ctx, r, false) : writeReverseMetadata(ctx, r, control ? Control.StateExists : -1);
      if (control) {
        pi.end = pi.payload; // a control answer carries no payload
        b.len[s] = pi.end - pi.l3;
      }
      const gap = openAtPayload(b, s, pi, n);
      d.set(ctx.writer.buf.subarray(0, n), gap);
      rt.counters.add(this.cMetaSent);
    } else if (falsePositive) {
      d.set(FALSE_POSITIVE_HEADER, openAtPayload(b, s, pi, 12));
      rt.counters.add(this.cFp);
    }
    wordsToBytes(ctx.pathLocalWords, path.id * 4, path.family, this.localWp);
    wordsToBytes(ctx.pathRemoteWords, path.id * 4, path.family, this.peerWp);
    setAddresses(d, pi, this.localWp, 0, this.peerWp, 0);
    setPorts(d, pi, localPort, peerPort);
    const h = path.hmac;
    if (h.mode !== 'disabled' && (withMeta || falsePositive || h.mode === 'regular' || h.mode === 'time-based')) {
      if (tailroom(b, s, SLOT) < h.tagLength) {
        rt.counters.add(this.cNoRoom);
        return false;
      }
      signInto(h.cipher, h.key, d, pi.payload, pi.end, timeSlot(h.mode === 'time-based', rt.now));
      if (!grows) adjustChecksumForTail(d, pi, pi.end, h.tagLength, true);
      setIpLength(d, pi, pi.end + h.tagLength);
    } else if (grows) {
      setIpLength(d, pi, pi.end);
    }
    if (grows) fillL4Checksum(d, pi);
    b.len[s] = pi.end - pi.l3;
    b.ifIndex[s] = path.localInterface;
    b.flags[s] &= ~PF_REVERSE;
    return true;
  }
}
