/**
 * service-chain: runs a session's chain of plugin stages, in order, both directions, on the original
 * packet (before svr-out toward a peer; after svr-in or forward-local toward the LAN).
 * 1. first visit: the packet takes its session's chain bits (minus disabled stages); a session whose
 *    configured chain names a stage that is not loaded -> drop 'chain-incomplete' (fail closed);
 * 2. a remaining bit of a fail-closed stage that threw -> drop 'function-failed'; else the lowest
 *    remaining bit -> that stage, which comes back here (or drops);
 * 3. no bits left -> the session's TCP state follows the packet (only packets the chain let through
 *    change it, and never an unauthenticated one from a peer), then svr-out when the packet leaves
 *    toward a peer, else tx.
 * Cost: ~30 ns per packet with an empty chain.
 */
import { PF_CHAINED, PF_CONTROL, PF_REVERSE, unauthenticated, type Batch, type Frame } from '../batch.js';
import { PROTO_TCP } from '../../packet/ip.js';
import { trackTcp } from '../session-ops.js';
import type { DataplaneContext } from '../context.js';
import { ROLE_EGRESS, ROLE_INGRESS } from '../session-table.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';

const N_SVR_OUT = 0, N_TX = 1, N_DROP = 2, N_FIRST_STAGE = 3;

export class ServiceChainStage implements Stage {
  readonly name = 'service-chain';
  readonly nexts: readonly string[];
  private cIncomplete = 0;
  private cFailed = 0;

  constructor(private readonly ctx: DataplaneContext, stageNames: readonly string[]) {
    this.nexts = ['svr-out', 'tx', 'drop', ...stageNames];
  }

  init(i: StageInit): void {
    this.cIncomplete = i.counter('drop-chain-incomplete');
    this.cFailed = i.counter('drop-function-failed');
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    const t = this.ctx.sessions;
    const chains = this.ctx.chains;
    const disabled = chains.disabled;
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      const r = b.session[s]!;
      if ((b.flags[s]! & PF_CHAINED) === 0) {
        if (chains.incomplete(t.tenant[r]!, t.service[r]!)) {
          rt.counters.add(this.cIncomplete);
          rt.next[s] = N_DROP;
          continue;
        }
        b.flags[s] |= PF_CHAINED;
        b.chain[s] = t.chain[r]!;
      }
      const bits = (b.chain[s]! & ~disabled) >>> 0;
      if ((bits & chains.failed) !== 0) {
        rt.counters.add(this.cFailed);
        rt.next[s] = N_DROP;
        continue;
      }
      if (bits === 0) {
        const role = t.role[r]!;
        const reverse = (b.flags[s]! & PF_REVERSE) !== 0;
        if (t.protocol[r] === PROTO_TCP && (b.flags[s]! & PF_CONTROL) === 0 && !unauthenticated(b, s)) trackTcp(this.ctx, r, !reverse, b.info[s]!.tcpFlags, rt.now);
        const outbound = (role === ROLE_INGRESS && !reverse) || (role === ROLE_EGRESS && reverse);
        rt.next[s] = outbound ? N_SVR_OUT : N_TX;
        continue;
      }
      const low = bits & -bits;
      b.chain[s] = (bits ^ low) >>> 0;
      rt.next[s] = N_FIRST_STAGE + 31 - Math.clz32(low);
    }
  }
}
