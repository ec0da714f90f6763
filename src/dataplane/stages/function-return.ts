/**
 * function-return: a packet came back from an external network function (service-functions.ts) and
 * session-lookup found its session by the return key; resume the session's chain after the stage that
 * diverted it.
 * 1. the function returning on this interface names the stage; its chain bit says where to resume
 *    (no such function any more -> drop 'function-no-session');
 * 2. remaining chain = the session's chain bits above that stage's bit; the packet counts as chained;
 * 3. packets leaving toward the LAN get their LAN interface back (forward: out side, reverse: in side);
 *    packets toward a peer get theirs from svr-out;
 * -> service-chain. The packet is not counted again on the session (it was at its arrival).
 */
import { PF_CHAINED, PF_REVERSE, type Batch, type Frame } from '../batch.js';
import type { DataplaneContext } from '../context.js';
import { ROLE_EGRESS, ROLE_INGRESS } from '../session-table.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';

const N_CHAIN = 0, N_DROP = 1;

export class FunctionReturnStage implements Stage {
  readonly name = 'function-return';
  readonly nexts = ['service-chain', 'drop'] as const;
  private cReturned = 0;
  private cNoSession = 0;

  constructor(private readonly ctx: DataplaneContext) {}

  init(i: StageInit): void {
    this.cReturned = i.counter('function-returned');
    this.cNoSession = i.counter('drop-function-no-session');
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    const t = this.ctx.sessions;
    const fns = this.ctx.functions;
    const c = rt.counters;
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      const r = b.session[s]!;
      const id = fns.byReturnIf[b.ifIndex[s]!] ?? -1;
      const bit = id >= 0 ? fns.bit[id]! : -1;
      if (bit < 0) {
        c.add(this.cNoSession);
        rt.next[s] = N_DROP;
        continue;
      }
      c.add(this.cReturned);
      if (fns.returned[id]! >= 0) c.add(fns.returned[id]!);
      b.flags[s] |= PF_CHAINED;
      b.chain[s] = bit >= 31 ? 0 : ((t.chain[r]! >>> (bit + 1)) << (bit + 1)) >>> 0;
      const reverse = (b.flags[s]! & PF_REVERSE) !== 0;
      const role = t.role[r]!;
      const outbound = (role === ROLE_INGRESS && !reverse) || (role === ROLE_EGRESS && reverse);
      if (!outbound) b.ifIndex[s] = reverse ? t.inIf[r]! : t.outIf[r]!;
      rt.next[s] = N_CHAIN;
    }
  }
}
