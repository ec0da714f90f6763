/**
 * Where a TUN queue's reads run, decided every tick (100 ms) from what the last tick delivered:
 *   poll   the JS thread reads from its event loop: one wake-up per batch. Best while the router is idle
 *          or lightly loaded: a router pass costs one wake-up instead of two (docs/tun-io.md).
 *   thread the reader thread reads ahead into free buffers while JS works: best when JS is the bottleneck.
 * The JS thread falling behind shows as batches that fill up (packets queue in the kernel between two
 * polls, or behind busy buffers), so: poll -> thread when a tick's batches averaged >= toThread packets;
 * thread -> poll after `calmTicks` ticks in a row averaging < toPoll (hysteresis: no flapping).
 * A tick without a batch in poll mode leaves the policy `idle`: until a batch comes, no tick can change anything,
 * so the caller may stop ticking and start again at the next batch (tun-device.ts: an idle queue wakes nobody).
 */
export type ReaderMode = 'poll' | 'thread';

export interface AdaptiveReaderOptions {
  /** Average packets per batch in a tick that moves poll -> thread (default 8). */
  toThread?: number;
  /** Average below which a tick counts as calm (default 2). */
  toPoll?: number;
  /** Calm ticks in a row that move thread -> poll (default 5). */
  calmTicks?: number;
}

export const READER_MODE_TICK_MS = 100;

export class AdaptiveReaderMode {
  #mode: ReaderMode = 'poll';
  #calm = 0;
  #idle = false;
  readonly toThread: number;
  readonly toPoll: number;
  readonly calmTicks: number;

  constructor(o: AdaptiveReaderOptions = {}) {
    this.toThread = o.toThread ?? 8;
    this.toPoll = o.toPoll ?? 2;
    this.calmTicks = o.calmTicks ?? 5;
  }

  get mode(): ReaderMode {
    return this.#mode;
  }

  /** The last tick delivered no batch in poll mode: ticks change nothing until the next batch. */
  get idle(): boolean {
    return this.#idle;
  }

  /** One tick: the packets and batches delivered since the last one. Returns the mode for the next tick. */
  tick(packets: number, batches: number): ReaderMode {
    this.#idle = false;
    const avg = batches === 0 ? 0 : packets / batches;
    if (this.#mode === 'poll') {
      if (avg >= this.toThread) this.#mode = 'thread';
      this.#calm = 0;
    } else if (avg >= this.toPoll) {
      this.#calm = 0;
    } else if (++this.#calm >= this.calmTicks) {
      this.#mode = 'poll';
      this.#calm = 0;
    }
    this.#idle = batches === 0 && this.#mode === 'poll';
    return this.#mode;
  }
}
