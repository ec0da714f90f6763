/**
 * svr-in's side of the native steady path (native-receive.ts): whether the packet it just delivered makes its flow
 * native-eligible, and the mark. Called only when native receive is on (the addon; not SVR_NATIVE_IN=0): capture() at the start of svr-in's pass for a
 * packet (its WAN words and trailer, before any rewrite), after() when the packet leaves svr-in for the LAN; at most
 * once per flow per half lease. TCP carried as UDP (the UDP transform) too; SVR_NATIVE_TRANSFORM_IN=0 leaves it to JS.
 */
import { PROTO_TCP, PROTO_UDP, TCP_FIN, TCP_RST, TCP_SYN, type PacketInfo } from '../packet/ip.js';
import { PF_ALT_PATH, PF_AUTH, PF_CONTROL, PF_FALSE_POSITIVE, PF_FEC_RECOVERED, PF_HANDED, PF_HAS_META, PF_NAT_RELAYED, PF_REASSEMBLED, PF_REVERSE, type Batch } from './batch.js';
import type { DataplaneContext } from './context.js';
import { LEASE_MS } from './native-forward.js';
import { tcpNotWorthMark } from './native-mark.js';
import type { ReceiveMark } from './native-receive.js';
import { FlowWords } from './native-table.js';
import { serverSideView } from './nat.js';
import { RES_DUPLICATE } from '../model/service-arrays.js';
import { timeoutMs } from './session-ops.js';
import { MARK_IN, SF_CLOSING, SF_ESTABLISHED, SF_PAYLOAD, SF_TRANSFORMED, type SideKey } from './session-table.js';
import { CONTROL_PORT, PROBE_PORT } from './stages/wan-verify.js';

const STATE_FLAGS = TCP_SYN | TCP_FIN | TCP_RST;
/** the packet flags of anything but a plain authenticated data packet of its session's own path */
const UNUSUAL = PF_HANDED | PF_REASSEMBLED | PF_HAS_META | PF_FALSE_POSITIVE | PF_NAT_RELAYED | PF_ALT_PATH | PF_CONTROL | PF_FEC_RECOVERED;

export class NativeMarksIn {
  /** the captured packet: its WAN flow key, replay block key id and sender, payload key id (-1: none) */
  private readonly flow = new FlowWords();
  private keyId = 0;
  private sender = 0;
  private payloadKeyId = -1;
  /** its TCP data's bytes (0: none; a framed payload's whole length) */
  private data = 0;
  private readonly side: SideKey = { family: 4, src: new Uint32Array(0), srcOff: 0, dst: new Uint32Array(0), dstOff: 0, srcPort: 0, dstPort: 0, protocol: 0, ifIndex: -1 };
  private readonly m: ReceiveMark = {
    ifIndex: 0, protocol: 0, src: 0, dst: 0, ports: 0, row: 0, flags: 0, forward: true, path: 0, timeoutMs: 0,
    keyId: 0, sender: 0, window: 0, tagLength: 0, timed: false, framed: false, payloadKeyId: 0, lanSrc: 0, lanDst: 0, lanPorts: 0, outIf: 0,
    transform: false,
  };
  /** TCP under the UDP transform too (SVR_NATIVE_TRANSFORM_IN=0: those stay in JS; read per data path) */
  private readonly transform = process.env['SVR_NATIVE_TRANSFORM_IN'] !== '0';

  constructor(private readonly ctx: DataplaneContext) {}

  get on(): boolean {
    return this.ctx.nativeReceive.on;
  }

  /** Slot s at svr-in's start (wan-verify stripped its trailer: the replay block starts at pi.end, bytes untouched). */
  capture(b: Batch, s: number, pi: PacketInfo): void {
    const d = b.data;
    this.flow.read(b, s, pi);
    this.keyId = d[pi.end]!;
    this.sender = d[pi.end + 1]!;
    // TCP carried as UDP: a framed payload follows the inner TCP header (after() sees none cut off)
    const r = b.session[s]!, t = this.ctx.sessions;
    const payload = (t.flags[r]! & SF_TRANSFORMED) !== 0 && pi.end - pi.payload >= 20 ? pi.payload + (d[pi.payload + 12]! >> 4) * 4 : pi.payload;
    this.payloadKeyId = pi.end > payload ? d[pi.end - 1]! : -1;
    this.data = pi.end - payload;
  }

  /** Slot s (captured) leaves svr-in toward the LAN for row r, not transit, not duplicated. */
  after(b: Batch, s: number, pi: PacketInfo, r: number, now: number): void {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const nr = ctx.nativeReceive;
    const f = t.flags[r]!;
    const framed = (f & SF_PAYLOAD) !== 0;
    if (t.markedWithin(MARK_IN, r, nr.generation, now, LEASE_MS / 2)) return;
    if ((b.flags[s]! & UNUSUAL) !== 0 || (b.flags[s]! & PF_AUTH) === 0) return;
    if (pi.family !== 4 || pi.l4 - pi.l3 !== 20 || pi.fragment !== 0 || (pi.protocol !== PROTO_TCP && pi.protocol !== PROTO_UDP)) return;
    const forward = (b.flags[s]! & PF_REVERSE) === 0;
    if (pi.protocol === PROTO_TCP && ((pi.tcpFlags & STATE_FLAGS) !== 0 || (f & SF_ESTABLISHED) === 0 || tcpNotWorthMark(t, r, forward, b.nth[s]!, this.data))) return;
    const p = b.path[s]!;
    const path = ctx.tables.paths[p];
    if (path === undefined || (path.hmac.mode !== 'regular' && path.hmac.mode !== 'time-based') || path.family !== 4 || path.peerBehindNat || path.outboundOnly) return;
    if (isControlPort(this.flow.ports >>> 16) || isControlPort(this.flow.ports & 0xffff)) return;
    const svc = t.service[r]!;
    const transform = (f & SF_TRANSFORMED) !== 0; // removeUdpHeader left the TCP segment (pi)
    if ((transform && (!this.transform || t.protocol[r] !== PROTO_TCP)) || (f & SF_CLOSING) !== 0 || t.natRelay[r] === 1 || t.alt.get(r) !== undefined || t.chain[r] !== 0) return;
    if (ctx.chains.incomplete(t.tenant[r]!, svc) || ctx.servicePaths.resiliency[svc] === RES_DUPLICATE || (ctx.fec.groupSize[svc] ?? 0) !== 0 || (t.syncing && !nr.syncAware)) return;
    const k = ctx.crypto.keys.rx(p, this.keyId, now);
    const w = k === null ? -1 : k.windows[this.sender]!;
    if (k === null || w < 0) return;
    let cipher = null;
    if (framed && this.payloadKeyId > 0) {
      cipher = ctx.crypto.receiveKey(svc, this.payloadKeyId) ?? null;
      if (cipher === null || cipher.kind === 'aes-256-gcm') return; // GCM: a later slice
    }
    nr.prepare(t, ctx.pathRx, ctx.crypto.keys.windows);
    const v = serverSideView(t, r, forward, this.side);
    const m = this.m;
    this.flow.into(m);
    m.row = r; m.flags = f; m.forward = forward; m.path = p; m.timeoutMs = timeoutMs(ctx, r, f);
    m.keyId = this.keyId; m.sender = this.sender; m.window = w; m.tagLength = path.hmac.tagLength; m.timed = path.hmac.mode === 'time-based';
    m.framed = framed; m.payloadKeyId = cipher === null ? 0 : this.payloadKeyId;
    m.lanSrc = v.src[v.srcOff]!; m.lanDst = v.dst[v.dstOff]!; m.lanPorts = ((v.srcPort << 16) | v.dstPort) >>> 0;
    m.outIf = forward ? t.outIf[r]! : t.inIf[r]!;
    m.transform = transform;
    if (!nr.mark(m, k.hmac, cipher, Math.min(now + LEASE_MS, k.retireAt))) return;
    // a framed session marked from a packet without payload learns its payload key from the next data packet
    if (framed && this.payloadKeyId < 0) return;
    t.setMarked(MARK_IN, r, nr.generation, now);
  }
}

/** Ports of the path control channel and the firewall detector's probes: their packets are path messages. */
function isControlPort(port: number): boolean {
  return port === CONTROL_PORT || port === PROBE_PORT;
}
