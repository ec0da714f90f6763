/**
 * svr-out's side of the native steady path (native-forward.ts): whether the packet it just sent makes its flow
 * native-eligible, and the mark. Called only when native forwarding is on (the addon; not SVR_NATIVE_FORWARD=0), for a packet whose tag was queued at the
 * end of the stage (signed, not a copy, no FEC, within the path MTU), once per flow per half lease.
 */
import { PROTO_TCP, PROTO_UDP, TCP_FIN, TCP_RST, TCP_SYN, type PacketInfo } from '../packet/ip.js';
import { PF_HANDED, PF_REASSEMBLED, type Batch } from './batch.js';
import type { DataplaneContext } from './context.js';
import { LEASE_MS, SEAL_CBC, SEAL_NONE, SEAL_PLAIN, type NativeMark } from './native-forward.js';
import { FlowWords } from './native-table.js';
import { sealKey } from './payload.js';
import { keyId } from './path-keys.js';
import { timeoutMs } from './session-ops.js';
import { MARK_OUT, ROLE_INGRESS, SF_CLOSING, SF_ENC_DECIDED, SF_ENC_ON, SF_FIN_FWD, SF_FIN_REV, SF_NEEDS_META, SF_PAYLOAD, SF_REV_SIGNAL, SF_TRANSFORMED, type SessionTable } from './session-table.js';

const STATE_FLAGS = TCP_SYN | TCP_FIN | TCP_RST;

/**
 * Whether a steady TCP segment (no SYN, FIN or RST) of row r, the `nth` packet of its direction (Batch.nth: counted
 * when session-lookup found it, so not the session's count, which holds the frame's later packets already), `data`
 * bytes after its header, going `forward` or back, is not worth a mark: its direction's first or second packet (the
 * handshake's ACK, the first answer after the SYN|ACK), or a segment without data after the other side's FIN (the ACK
 * of a close). A short session (a request, its answer and the close) never uses those marks, and under new sessions
 * each one was dropped again by the next session's removal or key insert; a flow that goes on is marked at its next
 * segment (docs/performance.md, "Wave 24, sus18" and "Wave 25, sus20").
 */
export function tcpNotWorthMark(t: SessionTable, r: number, forward: boolean, nth: number, data: number): boolean {
  if (nth < 3) return true;
  return data === 0 && (t.flags[r]! & (forward ? SF_FIN_REV : SF_FIN_FWD)) !== 0;
}

export class NativeMarks {
  /** the packet's flow key before emit rewrote it (capture) */
  private readonly flow = new FlowWords();
  /** ... and its L4 payload's bytes then (a TCP segment's data) */
  private data = 0;
  private readonly m: NativeMark = {
    ifIndex: 0, protocol: 0, src: 0, dst: 0, ports: 0, row: 0, forward: true, wpSrc: 0, wpDst: 0, localPort: 0, peerPort: 0,
    outIf: 0, mtu: 0, path: 0, seal: 0, service: 0, keyIdByte: 0, timeoutMs: 0, timed: false, flags: 0, transform: false,
  };
  /** TCP under the UDP transform too (SVR_NATIVE_TRANSFORM=0: those stay in JS; read per data path) */
  private readonly transform = process.env['SVR_NATIVE_TRANSFORM'] !== '0';

  constructor(private readonly ctx: DataplaneContext) {}

  get on(): boolean {
    return this.ctx.nativeForward.on;
  }

  /** Before emit rewrites slot s: its flow key. */
  capture(b: Batch, s: number, pi: PacketInfo): void {
    this.flow.read(b, s, pi);
    this.data = pi.end - pi.payload;
  }

  /** After emit queued slot s's tag on path p with ports localPort -> peerPort (no metadata, no false-positive header). */
  after(b: Batch, s: number, pi: PacketInfo, r: number, p: number, localPort: number, peerPort: number, now: number): void {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const nf = ctx.nativeForward;
    if (t.markedWithin(MARK_OUT, r, nf.generation, now, LEASE_MS / 2)) return;
    const f = t.flags[r]!;
    const path = ctx.tables.paths[p]!;
    if (pi.family !== 4 || pi.l4 - pi.l3 !== 20 || pi.fragment !== 0 || (pi.protocol !== PROTO_TCP && pi.protocol !== PROTO_UDP)) return;
    // TCP under the UDP transform: emit made it UDP (pi.protocol); its TCP flags are the segment's
    const transform = (f & SF_TRANSFORMED) !== 0;
    if (transform && (!this.transform || t.protocol[r] !== PROTO_TCP)) return;
    if ((pi.protocol === PROTO_TCP || transform) && ((pi.tcpFlags & STATE_FLAGS) !== 0 || tcpNotWorthMark(t, r, t.role[r] === ROLE_INGRESS, b.nth[s]!, this.data))) return;
    if ((b.flags[s]! & (PF_HANDED | PF_REASSEMBLED)) !== 0 || (path.hmac.mode !== 'regular' && path.hmac.mode !== 'time-based') || path.family !== 4) return;
    if ((f & (SF_NEEDS_META | SF_REV_SIGNAL | SF_CLOSING)) !== 0 || t.natRelay[r] === 1) return;
    if (t.alt.get(r) !== undefined || t.chain[r] !== 0 || (t.syncing && !nf.syncAware)) return;
    let seal = SEAL_NONE;
    let cipher = null;
    let kid = 0;
    if ((f & SF_PAYLOAD) !== 0) {
      if (t.role[r] === ROLE_INGRESS && (f & SF_ENC_DECIDED) === 0) return; // decideAdaptive has not looked yet
      seal = SEAL_PLAIN;
      if ((f & SF_ENC_ON) !== 0) {
        const key = sealKey(ctx, r, now);
        if (key === undefined || key.cipher.kind === 'aes-256-gcm') return;
        seal = SEAL_CBC;
        cipher = key.cipher;
        kid = keyId(key.version);
      }
    }
    const k = ctx.crypto.keys.tx(p, now);
    if (k === null) return;
    const m = this.m;
    this.flow.into(m);
    m.row = r; m.forward = t.role[r] === ROLE_INGRESS;
    m.wpSrc = ctx.pathLocalWords[p * 4]!; m.wpDst = ctx.pathRemoteWords[p * 4]!;
    m.localPort = localPort; m.peerPort = peerPort;
    m.outIf = path.localInterface; m.mtu = ctx.pathMtu[p]!; m.path = p;
    m.seal = seal; m.service = t.service[r]!; m.keyIdByte = kid; m.timeoutMs = timeoutMs(ctx, r, f);
    m.timed = path.hmac.mode === 'time-based';
    m.flags = f;
    m.transform = transform;
    if (!nf.mark(m, k.hmac, k.keyId, ctx.crypto.keys.sender, k.counter, cipher, now)) return;
    t.setMarked(MARK_OUT, r, nf.generation, now);
  }
}
