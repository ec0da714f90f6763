/**
 * wan-verify: admit a packet from a peer router only if it is SVR traffic for us and intact.
 * 1. must be TCP or UDP to this interface's waypoint -> else drop 'not-for-waypoint';
 * 2. the source waypoint must be a peer path of this interface -> else drop 'unknown-peer';
 * 3. UDP 1280 -> 1280 is the path control channel (BFD, link tests, STEP): after the HMAC check its
 *    payload is copied into a `path.message` event for control and the packet is consumed;
 * 4. cookie first, then HMAC (fact sheet §4.1): metadata packets are signed unless the path's policy is
 *    `disabled`; every packet is signed in `regular`/`time-based` mode -> drop 'bad-hmac'; the trailer
 *    is stripped (incremental checksum, so end-to-end corruption stays detectable); verified data packets
 *    are counted per path (ctx.pathRx: BFD liveness under load);
 * 5. encrypted metadata (the path's policy encrypts) is decrypted -> drop 'metadata-decrypt';
 * 6. metadata is scanned with strict bounds -> drop 'bad-metadata' (+ the reason).
 */
import { badMetadataCounter } from '../counter-names.js';
import { META_ERROR_NAMES, MetaError, hasCookie, scanMetadata } from '../../packet/svr-metadata.js';
import { PROTO_TCP, PROTO_UDP } from '../../packet/ip.js';
import { setIpLength } from '../../packet/rewrite.js';
import { timeSlot } from '../../crypto/hmac.js';
import { NO_PATH } from '../../model/tables.js';
import { PF_FALSE_POSITIVE, PF_HAS_META, type Batch, type Frame } from '../batch.js';
import type { DataplaneContext } from '../context.js';
import { adjustChecksumForTail } from '../packet-ops.js';
import { openMetadata } from '../metadata-crypto.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';

/** UDP port of the path control channel between waypoints (BFD in SSR uses 1280). */
export const CONTROL_PORT = 1280;
const N_LOOKUP = 0, N_DROP = 1, N_CONSUMED = 1;

export class WanVerifyStage implements Stage {
  readonly name = 'wan-verify';
  readonly nexts = ['session-lookup', 'drop'] as const;
  private cNotOurs = 0;
  private cControl = 0;
  private cMetaDecrypt = 0;
  private cPeer = 0;
  private cHmac = 0;
  private cMeta = 0;
  private cMetaReason: number[] = [];

  constructor(private readonly ctx: DataplaneContext) {}

  init(i: StageInit): void {
    this.cNotOurs = i.counter('drop-not-for-waypoint');
    this.cControl = i.counter('consumed-path-messages');
    this.cMetaDecrypt = i.counter('drop-metadata-decrypt');
    this.cPeer = i.counter('drop-unknown-peer');
    this.cHmac = i.counter('drop-bad-hmac');
    this.cMeta = i.counter('drop-bad-metadata');
    this.cMetaReason = META_ERROR_NAMES.map((_, k) => { const name = badMetadataCounter(k); return name === undefined ? -1 : i.counter(name); });
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    const c = rt.counters;
    const t = this.ctx.tables;
    const d = b.data;
    const wp = this.ctx.ifWaypointWords;
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      rt.next[s] = N_DROP;
      const pi = b.info[s]!;
      const ifx = b.ifIndex[s]!;
      const iface = t.interfaces[ifx]!;
      if ((pi.protocol !== PROTO_TCP && pi.protocol !== PROTO_UDP) || iface.waypointFamily !== pi.family || !sameAddress(d, pi.dstOff, wp, ifx * 4, pi.family)) {
        c.add(this.cNotOurs);
        continue;
      }
      const path = t.pathFrom(ifx, d, pi.srcOff, pi.family);
      if (path === NO_PATH) {
        c.add(this.cPeer);
        continue;
      }
      b.path[s] = path;
      const control = pi.protocol === PROTO_UDP && pi.dstPort === CONTROL_PORT && pi.srcPort === CONTROL_PORT;
      const meta = !control && hasCookie(d, pi.payload, pi.end - pi.payload);
      const h = t.paths[path]!.hmac;
      const signed = h.mode !== 'disabled' && (meta || control || h.mode === 'regular' || h.mode === 'time-based');
      if (signed) {
        const cx = this.ctx.crypto;
        const mac = cx.hmac[path];
        cx.off[0] = pi.payload;
        cx.len[0] = pi.end - pi.payload;
        if (mac == null || pi.end - pi.payload < h.tagLength || mac.verifyBatch(d, cx.off, cx.len, 1, timeSlot(h.mode === 'time-based', rt.now), cx.status) !== 1) {
          c.add(this.cHmac);
          continue;
        }
        const at = pi.end - h.tagLength;
        adjustChecksumForTail(d, pi, at, h.tagLength, false);
        setIpLength(d, pi, at);
        b.len[s] = pi.end - pi.l3;
        if (!control) this.ctx.pathRx[path]!++; // authenticated data: path liveness for BFD
      }
      if (control) {
        // control-plane rate (a few packets per second per path): one copy per message is fine
        this.ctx.events.push({ kind: 'path.message', path, payload: d.slice(pi.payload, pi.end), atMs: rt.now });
        c.add(this.cControl);
        rt.next[s] = N_CONSUMED;
        continue;
      }
      if (meta && !openMetadata(this.ctx, b, s, pi, path, signed)) {
        c.add(this.cMetaDecrypt); // metadata that does not decrypt with this path's key
        continue;
      }
      if (meta) {
        const v = b.meta[s]!;
        const err = scanMetadata(d, pi.payload, pi.end - pi.payload, v);
        if (err !== MetaError.None) {
          c.add(this.cMeta);
          c.add(this.cMetaReason[err]!);
          continue;
        }
        b.flags[s] |= v.falsePositive ? PF_FALSE_POSITIVE : PF_HAS_META;
      }
      rt.next[s] = N_LOOKUP;
    }
  }
}

/** Compares the address at d[off] with 4 words at w[wo]. */
function sameAddress(d: Uint8Array, off: number, w: Uint32Array, wo: number, family: 4 | 6 | 0): boolean {
  const words = family === 6 ? 4 : 1;
  for (let i = 0; i < words; i++) {
    const o = off + 4 * i;
    const v = ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
    if (v !== w[wo + i]) return false;
  }
  return true;
}
