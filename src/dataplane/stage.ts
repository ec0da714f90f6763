/**
 * The stage contract: a named step of the data path that handles a frame of slots of one batch and
 * sets, for every slot, which of its named `nexts` the packet goes to. Stages are synchronous, never
 * allocate per packet and never await (architecture §5.3). Built-in stages and plugin stages share it.
 */
import type { Batch, Frame } from './batch.js';
import type { Counters } from './counters.js';
import type { CounterName, PluginCounterName } from './counter-names.js';

/** The two terminal nexts every graph has. */
export const DROP = 'drop';
export const TX = 'tx';

export interface StageRuntime {
  /** per-slot index into the running stage's `nexts`; the stage must set it for every slot in its frame */
  readonly next: Uint8Array;
  readonly counters: Counters;
  /** milliseconds, cached at batch start */
  readonly now: number;
}

export interface StageInit {
  /** Resolves a counter name (documented in counter-names.ts) to its index (build time). */
  counter(name: CounterName | PluginCounterName): number;
}

export interface Stage {
  /** kebab-case verb-object, unique: 'session-lookup' */
  readonly name: string;
  /** named outputs: other stage names, or 'drop' / 'tx' */
  readonly nexts: readonly string[];
  init?(init: StageInit): void;
  run(b: Batch, f: Frame, rt: StageRuntime): void;
}
