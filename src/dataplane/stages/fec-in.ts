/**
 * fec-in: FEC on the receiving side (dataplane/fec.ts, docs/wan.md "FEC"), before wan-verify so that the
 * bytes are exactly as the peer sent them. Only while some service has `fec`; for a UDP packet from a
 * peer whose session's service has it:
 * 1. a parity packet (packet/svr-fec.ts) must verify on the session's path (HMAC, replay window; a
 *    `disabled` path is trusted) -> else drop 'fec-parity-unauthenticated'; a parity longer than the
 *    packet -> drop 'fec-parity-malformed'; it is consumed ('fec-parity-received') and may rebuild its
 *    group's missing packets (into the recovered batch, which runs through the graph after this one);
 * 2. a data packet without metadata has its tag stripped (shorter than a tag -> drop 'fec-tag-missing')
 *    and joins its group; one its group already rebuilt -> drop 'fec-duplicate'; on to wan-verify.
 * A rebuilt packet (PF_FEC_RECOVERED) passes straight on. Cost when on: one session lookup per UDP packet
 * from a peer (~0.2 µs) and, for an FEC session, a pass over the payload per parity row.
 */
import { writeKeyFromBytes } from '../flow-key.js';
import { PROTO_UDP } from '../../packet/ip.js';
import { hasCookie } from '../../packet/svr-metadata.js';
import { FEC_HEADER_LENGTH, FEC_TAG_LENGTH, fecTagGroup, fecTagIndex, fecVectorLength, isFecParity } from '../../packet/svr-fec.js';
import { setIpLength } from '../../packet/rewrite.js';
import { adjustChecksumForTail } from '../packet-ops.js';
import { PF_FEC_RECOVERED, type Batch, type Frame } from '../batch.js';
import type { DataplaneContext } from '../context.js';
import { flowAlt, flowRow } from '../session-table.js';
import { VERIFY_OK, trailerLength, verifyPacket } from '../sign.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';

const N_VERIFY = 0, N_CONSUMED = 1;

export class FecInStage implements Stage {
  readonly name = 'fec-in';
  readonly nexts = ['wan-verify', 'drop'] as const;
  private cParity = 0;
  private cUnauthenticated = 0;
  private cMalformed = 0;
  private cNoTag = 0;
  private cDuplicate = 0;

  constructor(private readonly ctx: DataplaneContext) {}

  init(i: StageInit): void {
    this.cParity = i.counter('fec-parity-received');
    this.cUnauthenticated = i.counter('drop-fec-parity-unauthenticated');
    this.cMalformed = i.counter('drop-fec-parity-malformed');
    this.cNoTag = i.counter('drop-fec-tag-missing');
    this.cDuplicate = i.counter('drop-fec-duplicate');
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    const ctx = this.ctx;
    const on = ctx.fec.any;
    const t = ctx.sessions;
    const d = b.data;
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      rt.next[s] = N_VERIFY;
      const pi = b.info[s]!;
      if (!on || pi.protocol !== PROTO_UDP || (b.flags[s]! & PF_FEC_RECOVERED) !== 0) continue;
      const key = t.keyScratch(pi.family);
      writeKeyFromBytes(key, pi.family, d, pi.srcOff, pi.dstOff, pi.srcPort, pi.dstPort, pi.protocol, b.ifIndex[s]!);
      const v = t.lookup(pi.family);
      if (v < 0) continue;
      const r = flowRow(v);
      // FEC is on the session's own path: copies on a second path (packet-duplication) carry no tag
      if (flowAlt(v) === 1 || (ctx.fec.groupSize[t.service[r]!] ?? 0) === 0) continue;
      const len = pi.end - pi.payload;
      if (!isFecParity(d, pi.payload, len)) {
        if (hasCookie(d, pi.payload, len)) continue; // metadata: in no group, no tag
        if (len < FEC_TAG_LENGTH) {
          rt.counters.add(this.cNoTag);
          rt.next[s] = N_CONSUMED;
          continue;
        }
        const at = pi.end - FEC_TAG_LENGTH;
        const group = fecTagGroup(d, at);
        const index = fecTagIndex(d, at);
        adjustChecksumForTail(d, pi, at, FEC_TAG_LENGTH, false);
        setIpLength(d, pi, at);
        b.len[s] = at - pi.l3;
        if (!ctx.fecRx.data(b, s, pi, r, group, index, rt.now)) {
          rt.counters.add(this.cDuplicate); // lost, rebuilt, and arrived after all
          rt.next[s] = N_CONSUMED;
        }
        continue;
      }
      rt.next[s] = N_CONSUMED;
      const p = t.path[r]!;
      const path = ctx.tables.paths[p];
      if (path === undefined || (path.hmac.mode !== 'disabled' && verifyPacket(ctx, d, pi.payload, pi.end, p, rt.now) !== VERIFY_OK)) {
        rt.counters.add(this.cUnauthenticated);
        continue;
      }
      if (pi.payload + FEC_HEADER_LENGTH + fecVectorLength(d, pi.payload) > pi.end - trailerLength(path.hmac)) {
        rt.counters.add(this.cMalformed);
        continue;
      }
      rt.counters.add(this.cParity);
      ctx.fecRx.parity(b, s, pi, pi.payload, r, rt.now);
    }
  }
}
