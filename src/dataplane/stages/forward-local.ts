/**
 * forward-local: a session whose service-route is a local next hop (no peer router): forward packets
 * leave through the session's out interface, replies through its in interface (after the session's
 * service chain), unchanged unless a plugin chose NAT for the server side.
 */
import { PF_REVERSE, type Batch, type Frame } from '../batch.js';
import type { DataplaneContext } from '../context.js';
import { hasNat, writeServerSide } from '../nat.js';
import type { Stage, StageRuntime } from '../stage.js';

export class ForwardLocalStage implements Stage {
  readonly name = 'forward-local';
  readonly nexts = ['service-chain'] as const;

  constructor(private readonly ctx: DataplaneContext) {}

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    const t = this.ctx.sessions;
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      const r = b.session[s]!;
      const reverse = (b.flags[s]! & PF_REVERSE) !== 0;
      if (hasNat(t, r)) writeServerSide(b.data, b.info[s]!, t, r, !reverse);
      b.ifIndex[s] = reverse ? t.inIf[r]! : t.outIf[r]!;
      rt.next[s] = 0;
    }
  }
}
