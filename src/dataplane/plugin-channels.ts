/**
 * Records from plugins' data-path parts to their control parts (`ctx.channel(name)` / `ctx.onRecords(name)`),
 * whichever thread the data path runs in. A plugin fills a record in place (a few 32-bit integers and up to
 * two addresses) and sends it: the record is copied into the channel's preallocated ring, no allocation per
 * record. Once per batch (and after a sweep or command) every channel with records becomes one
 * `plugin.records` fact, delivered with the batch's other facts (in a worker: in the same message to the
 * main thread), so nothing is lost on the way; a record sent while its ring is full is counted
 * (`plugin-records-lost` and `plugin.<plugin>.records-lost`), never blocking. The ring holds
 * `capacity` records per batch (default 1024: four per packet of a full batch).
 */
import type { Counters } from './counters.js';
import type { DpEvent } from './events.js';

/** Default records per channel per batch. */
export const CHANNEL_CAPACITY = 1024;

/** What a plugin's data-path part writes into (`ctx.channel`): fill, then `send()`. */
export interface PluginRecordWriter {
  /** this record's integers (the channel's `ints` of them); meaning chosen by the plugin */
  readonly ints: Int32Array;
  /** this record's two addresses (IPv4 in the first 4 bytes) and their family; 0: the record has none */
  readonly addressA: Uint8Array;
  readonly addressB: Uint8Array;
  family: 0 | 4 | 6;
  /** copies the record into the channel (and clears it); false when the channel is full this batch (counted as lost) */
  send(): boolean;
}

export class PluginChannel implements PluginRecordWriter {
  readonly ints: Int32Array;
  readonly addressA = new Uint8Array(16);
  readonly addressB = new Uint8Array(16);
  family: 0 | 4 | 6 = 0;
  private readonly ringInts: Int32Array;
  /** per record: family, then 32 address bytes */
  private readonly ringFamily: Uint8Array;
  private readonly ringAddresses: Uint8Array;
  private count = 0;
  private readonly cLost: number;
  private readonly cPluginLost: number;

  constructor(readonly plugin: string, readonly name: string, readonly width: number, private readonly counters: Counters, readonly capacity = CHANNEL_CAPACITY) {
    this.ints = new Int32Array(width);
    this.ringInts = new Int32Array(width * capacity);
    this.ringFamily = new Uint8Array(capacity);
    this.ringAddresses = new Uint8Array(32 * capacity);
    this.cLost = counters.id('plugin-records-lost');
    this.cPluginLost = counters.id(`plugin.${plugin}.records-lost`);
  }

  send(): boolean {
    if (this.count >= this.capacity) {
      this.counters.add(this.cLost);
      this.counters.add(this.cPluginLost);
      this.clear();
      return false;
    }
    const i = this.count++;
    this.ringInts.set(this.ints, i * this.width);
    this.ringFamily[i] = this.family;
    if (this.family !== 0) {
      this.ringAddresses.set(this.addressA, i * 32);
      this.ringAddresses.set(this.addressB, i * 32 + 16);
    }
    this.clear();
    return true;
  }

  private clear(): void {
    this.ints.fill(0);
    this.family = 0;
  }

  /** This batch's records as one fact (copies), or null when there are none; empties the ring. */
  take(atMs: number): Extract<DpEvent, { kind: 'plugin.records' }> | null {
    const n = this.count;
    if (n === 0) return null;
    this.count = 0;
    return {
      kind: 'plugin.records', plugin: this.plugin, channel: this.name, atMs, count: n, width: this.width,
      ints: this.ringInts.slice(0, n * this.width), families: this.ringFamily.slice(0, n), addresses: this.ringAddresses.slice(0, n * 32),
    };
  }
}

/** The channels of the loaded plugins (set by the plugin host when plugins change). */
export class PluginChannels {
  list: readonly PluginChannel[] = [];

  /** Appends every channel's records of this batch to `events`. */
  flush(events: DpEvent[], atMs: number): void {
    for (const ch of this.list) {
      const f = ch.take(atMs);
      if (f !== null) events.push(f);
    }
  }
}
