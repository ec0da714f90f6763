/**
 * A plugin's stage inside the graph, isolated: a stage that throws, or sets an outcome other than PASS or
 * DROP, is counted ('plugin-stage-errors') and reported with the plugin's name. A security function's stage
 * (fail closed: docs/security.md "Fail closed") then fails: the packets of that frame are dropped
 * ('drop-function-failed') and so are, from then on, those of every session whose chain holds it. Any
 * other stage (or one configured `fail-open: true`) is disabled: its bit is skipped from then on and the
 * packets of that frame continue along their chain, so the router keeps forwarding.
 * A PASS packet the stage diverted to an external function (ctx.divert: PF_DIVERTED) goes to tx instead.
 */
import { DROP, PASS, type PluginStage, type PluginStageRuntime } from '../plugin-contract.js';
import { PF_DIVERTED, type Batch, type Frame } from '../batch.js';
import type { DataplaneContext } from '../context.js';
import type { Counters } from '../counters.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';

const N_CHAIN = 0, N_DROP = 1, N_TX = 2; // the outcomes PASS = 0 and DROP = 1 are nexts[0] and nexts[1]

class PluginRuntime implements PluginStageRuntime {
  next!: Uint8Array;
  now = 0;
  ids: number[] = [];
  counters!: Counters;
  count(counter: number, n = 1): void {
    const id = this.ids[counter];
    if (id !== undefined) this.counters.add(id, n);
  }
}

export class PluginStageAdapter implements Stage {
  readonly nexts = ['service-chain', 'drop', 'tx'] as const;
  private readonly prt = new PluginRuntime();
  private cDrops = 0;
  private cErrors = 0;
  private cFailed = 0;

  constructor(
    readonly name: string,
    private readonly plugin: string,
    private readonly stage: PluginStage,
    private readonly bit: number,
    private readonly ctx: DataplaneContext,
    private readonly failClosed = false,
  ) {}

  init(i: StageInit): void {
    this.prt.ids = (this.stage.counters ?? []).map((c) => i.counter(`plugin.${this.plugin}.${c}`));
    this.cDrops = i.counter('drop-by-plugin');
    this.cErrors = i.counter('plugin-stage-errors');
    this.cFailed = i.counter('drop-function-failed');
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    const p = this.prt;
    p.next = rt.next;
    p.now = rt.now;
    p.counters = rt.counters;
    let failure = '';
    try {
      this.stage.run(b, f, p);
    } catch (e) {
      failure = `threw: ${e instanceof Error ? e.message : String(e)}`;
    }
    let drops = 0;
    for (let k = 0; k < f.n && failure === ''; k++) {
      const o = rt.next[f.slot[k]!]!;
      if (o === DROP) drops++;
      else if (o !== PASS) failure = `set outcome ${o} for a packet (only PASS=0 or DROP=1 are allowed)`;
    }
    if (failure !== '') {
      const chains = this.ctx.chains;
      rt.counters.add(this.cErrors);
      this.ctx.events.push({ kind: 'plugin.error', plugin: this.plugin, stage: this.name, message: failure, failClosed: this.failClosed });
      if (this.failClosed) {
        chains.failed = (chains.failed | (1 << this.bit)) >>> 0;
        for (let k = 0; k < f.n; k++) {
          rt.next[f.slot[k]!] = N_DROP; // diverted ones too: a failed security function lets nothing through
          b.flags[f.slot[k]!] &= ~PF_DIVERTED;
        }
        rt.counters.add(this.cFailed, f.n);
        return;
      }
      chains.disabled = (chains.disabled | (1 << this.bit)) >>> 0;
      for (let k = 0; k < f.n; k++) {
        const s = f.slot[k]!;
        // the packets go on without this stage; those it diverted already left (their interface changed)
        rt.next[s] = (b.flags[s]! & PF_DIVERTED) !== 0 ? N_TX : N_CHAIN;
        b.flags[s] &= ~PF_DIVERTED;
      }
      return;
    }
    if (drops > 0) rt.counters.add(this.cDrops, drops);
    if (this.ctx.functions.diverting) {
      for (let k = 0; k < f.n; k++) {
        const s = f.slot[k]!;
        if ((b.flags[s]! & PF_DIVERTED) === 0) continue;
        b.flags[s] &= ~PF_DIVERTED;
        if (rt.next[s] === PASS) rt.next[s] = N_TX;
      }
    }
    // PASS = 0 = back to service-chain, DROP = 1 = drop: the outcomes are already our next indices
  }
}
