/**
 * The stage graph: resolves every stage's named nexts to indices at build time (an unknown name is a
 * build error), then runs a batch by handing each stage the frame of slots addressed to it and
 * scattering the slots by the next the stage chose. Stages run in registration order; a slot sent back
 * to an earlier stage (a service chain loop) triggers another pass, bounded by MAX_PASSES.
 * Terminal nexts: 'drop' (the stage that drops counts the reason) and 'tx' (handed to the caller).
 */
import { Frame, MAX_BATCH, type Batch } from './batch.js';
import type { Counters } from './counters.js';
import type { CounterName, PluginCounterName } from './counter-names.js';
import { DROP, TX, type Stage, type StageRuntime } from './stage.js';

/** passes per batch: a service chain loops back to service-chain once per stage */
const MAX_PASSES = 40;

class Runtime implements StageRuntime {
  readonly next = new Uint8Array(MAX_BATCH);
  now = 0;
  constructor(readonly counters: Counters) {}
}

export class StageGraph {
  private readonly stages: Stage[];
  private readonly frames: Frame[];
  /** per stage: its nexts resolved to stage indices; -1 = drop, -2 = tx */
  private readonly targets: Int16Array[];
  private readonly runtime: Runtime;
  private readonly loopDrops: number;
  private readonly badNext: number;
  /** slots that reached 'tx' in this batch, in order */
  readonly tx = new Frame();

  constructor(stages: Stage[], counters: Counters) {
    this.stages = stages;
    this.runtime = new Runtime(counters);
    const index = new Map<string, number>();
    stages.forEach((s, i) => {
      if (index.has(s.name)) throw new Error(`duplicate stage name '${s.name}'`);
      index.set(s.name, i);
    });
    this.targets = stages.map((s) =>
      Int16Array.from(s.nexts, (n) => {
        if (n === DROP) return -1;
        if (n === TX) return -2;
        const t = index.get(n);
        if (t === undefined) throw new Error(`stage '${s.name}' names unknown next '${n}'`);
        return t;
      }),
    );
    this.frames = stages.map(() => new Frame());
    const init = { counter: (name: CounterName | PluginCounterName) => counters.id(name) };
    for (const s of stages) s.init?.(init);
    this.loopDrops = counters.id('drop-stage-loop');
    this.badNext = counters.id('drop-bad-next');
  }

  get stageNames(): string[] {
    return this.stages.map((s) => s.name);
  }

  /** Runs `b` through the graph starting at stage 0 for every slot; slots reaching 'tx' end in `this.tx`. */
  run(b: Batch, now: number): void {
    const rt = this.runtime;
    rt.now = now;
    this.tx.n = 0;
    const first = this.frames[0]!;
    first.n = 0;
    for (let s = 0; s < b.count; s++) first.slot[first.n++] = s;
    let pending = first.n > 0;
    for (let pass = 0; pending && pass < MAX_PASSES; pass++) {
      pending = false;
      for (let i = 0; i < this.stages.length; i++) {
        const f = this.frames[i]!;
        if (f.n === 0) continue;
        this.stages[i]!.run(b, f, rt);
        const targets = this.targets[i]!;
        const n = f.n;
        f.n = 0;
        for (let k = 0; k < n; k++) {
          const slot = f.slot[k]!;
          const t = targets[rt.next[slot]!] ?? -3;
          if (t === -2) this.tx.slot[this.tx.n++] = slot;
          else if (t === -3) rt.counters.add(this.badNext); // a stage bug: counted, never a crash
          else if (t >= 0) {
            const tf = this.frames[t]!;
            tf.slot[tf.n++] = slot;
            if (t <= i) pending = true;
          }
        }
      }
    }
    for (const f of this.frames) {
      if (f.n > 0) {
        rt.counters.add(this.loopDrops, f.n);
        f.n = 0;
      }
    }
  }
}
