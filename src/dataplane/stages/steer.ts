/**
 * steer: with several data-path workers, sends each packet to the worker that owns its session
 * (ownership.ts): the steering table entry for its key, else (a new flow) this worker for a LAN packet
 * (SVR_OWN_WHERE_LANDED=0: the hash of the normalized 5-tuple) and the destination port's slice for a WAN
 * packet. Path control packets go to worker 0 (one
 * replay window sees them all); packets already handed over stay here. With one worker it only routes by
 * interface kind (WAN packets to fec-in, then wan-verify).
 * Cost: ~0.2 µs per packet with workers (key build + one table probe), ~20 ns without.
 */
import { PROTO_TCP, PROTO_UDP } from '../../packet/ip.js';
import { MAX_BATCH, PF_HANDED, PF_REASSEMBLED, type Batch, type Frame } from '../batch.js';
import type { DataplaneContext } from '../context.js';
import { writeKeyFromBytes } from '../flow-key.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';
import { CONTROL_PORT, PROBE_PORT } from './wan-verify.js';

const N_WAN = 0, N_LAN = 1, N_HANDOFF = 2;

/** The worker that receives every path control packet (UDP 1280, and the firewall detector's TCP 1283). */
export const CONTROL_OWNER = 0;

export class SteerStage implements Stage {
  readonly name = 'steer';
  readonly nexts = ['fec-in', 'session-lookup', 'handoff'] as const;

  constructor(private readonly ctx: DataplaneContext) {}

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    const own = this.ctx.ownership;
    const ifs = this.ctx.tables.interfaces;
    const t = this.ctx.sessions;
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      const pi = b.info[s]!;
      const ifx = b.ifIndex[s]!;
      const wan = ifs[ifx]?.kind === 'wan';
      const local = wan ? N_WAN : N_LAN;
      if (own === null || (b.flags[s]! & PF_HANDED) !== 0) {
        rt.next[s] = local;
        continue;
      }
      let owner = CONTROL_OWNER;
      // the path control channel, and the firewall detector's TCP probes, are the control owner's
      if (!wan || (pi.protocol === PROTO_UDP ? pi.dstPort !== CONTROL_PORT : pi.protocol !== PROTO_TCP || pi.dstPort !== PROBE_PORT)) {
        const key = t.keyScratch(pi.family);
        writeKeyFromBytes(key, pi.family, b.data, pi.srcOff, pi.dstOff, pi.srcPort, pi.dstPort, pi.protocol, ifx);
        owner = own.ownerOf(key, pi.family, wan, pi.dstPort);
      }
      if (owner === own.index) {
        rt.next[s] = local;
      } else {
        b.owner[s] = owner;
        rt.next[s] = N_HANDOFF;
      }
    }
  }
}

/**
 * handoff: copies the packets of other workers' sessions to them, one message per (worker, interface,
 * reassembled or not) per batch, so that a datagram reassembled here keeps PF_REASSEMBLED (its LAN egress
 * fragments it again). They are counted here as handed off and counted again by their owner as received.
 */
export class HandoffStage implements Stage {
  readonly name = 'handoff';
  readonly nexts = ['drop'] as const;
  private cHanded = 0;
  private readonly off = new Uint32Array(MAX_BATCH);
  private readonly len = new Uint32Array(MAX_BATCH);
  private readonly done = new Uint8Array(MAX_BATCH);

  constructor(private readonly ctx: DataplaneContext) {}

  init(i: StageInit): void {
    this.cHanded = i.counter('consumed-handed-off');
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    const own = this.ctx.ownership!;
    rt.counters.add(this.cHanded, f.n);
    for (let k = 0; k < f.n; k++) rt.next[f.slot[k]!] = 0;
    // group by (owner, interface): a few groups per batch at most
    const done = this.done;
    done.fill(0, 0, f.n);
    for (let k = 0; k < f.n; k++) {
      if (done[k]) continue;
      const s0 = f.slot[k]!;
      const owner = b.owner[s0]!;
      const ifx = b.ifIndex[s0]!;
      const flags = b.flags[s0]! & PF_REASSEMBLED;
      let n = 0;
      for (let j = k; j < f.n; j++) {
        const s = f.slot[j]!;
        if (done[j] || b.owner[s] !== owner || b.ifIndex[s] !== ifx || (b.flags[s]! & PF_REASSEMBLED) !== flags) continue;
        done[j] = 1;
        this.off[n] = b.off[s]!;
        this.len[n] = b.len[s]!;
        n++;
      }
      own.send(owner, ifx, b.data, this.off, this.len, n, flags);
    }
  }
}
