/**
 * The binding both native steady paths share (native/flow-table.c): one table of marked flows per data path and
 * direction (NativeForward: svr-out, native/fwd.c; NativeReceive: svr-in, native/fwd-in.c), the result lists of its
 * batch call, and clear() with its generation (the marking side forgets when it marked rows).
 */
import { tryLoadAddon } from '../native/addon.js';
import { readU32 } from '../packet/checksum.js';
import type { PacketInfo } from '../packet/ip.js';
import type { Batch } from './batch.js';

export type Handle = object;

/** The calls native/flow-table.c registers for a direction. */
export interface TableCalls {
  create(capacity: number): Handle;
  clear(h: Handle): void;
  /** packets per batch call (NF_BATCH / NI_BATCH) */
  batch: number;
}

/** The addon, when it loads and has `probe` (an addon built from older sources has not). */
export function loadTableAddon<T>(probe: string): T | null {
  const mod = tryLoadAddon();
  return mod instanceof Error || typeof mod[probe] !== 'function' ? null : (mod as unknown as T);
}

/** A mark's flow key (native/flow-table.h): the input interface, protocol, and address and port words (big-endian). */
export interface FlowKey {
  ifIndex: number; protocol: number; src: number; dst: number; ports: number;
}

/** The flow key of a packet, read before anything rewrites it (the marking stage's capture). */
export class FlowWords {
  private readonly k: FlowKey = { ifIndex: 0, protocol: 0, src: 0, dst: 0, ports: 0 };

  read(b: Batch, s: number, pi: PacketInfo): void {
    const k = this.k, d = b.data;
    k.ifIndex = b.ifIndex[s]!; k.protocol = pi.protocol;
    k.src = readU32(d, pi.l3 + 12); k.dst = readU32(d, pi.l3 + 16); k.ports = readU32(d, pi.l4);
  }

  /** source port << 16 | destination port */
  get ports(): number {
    return this.k.ports;
  }

  /** Copies the key into a mark. */
  into(m: FlowKey): void {
    const k = this.k;
    m.ifIndex = k.ifIndex; m.protocol = k.protocol; m.src = k.src; m.dst = k.dst; m.ports = k.ports;
  }
}

const CAPACITY = 4096;
const LISTS = 5;

export class NativeTable {
  readonly on: boolean;
  /** packets per batch call */
  readonly batch: number;
  protected readonly h: Handle | null;
  /** the table's native handle (null: off), for a port's steady pass (steady-pass.ts) */
  get handle(): Handle | null {
    return this.h;
  }
  /** a batch call's result: `head` counts, then natOff, natLen, natIf, restOff, restLen (batch each) */
  readonly res: Uint32Array;
  readonly natOff: Uint32Array;
  readonly natLen: Uint32Array;
  readonly natIf: Uint32Array;
  readonly restOff: Uint32Array;
  readonly restLen: Uint32Array;
  protected marks = 0;
  /** [0]: bumped by every clear (the marking side forgets when it marked rows); a word native/tun-pass.c reads
   *  (svr-in's marks follow svr-out's: native-receive.ts) */
  readonly generationWord = Uint32Array.of(1);
  get generation(): number {
    return this.generationWord[0]!;
  }
  /** the native pass marks rows for HA sync itself (native/flow-table.h); SVR_NATIVE_SYNC=0 (A/B, read per data path):
   *  no flow is marked while the session table syncs, as before wave 14 (the pair's active node runs both directions in JS) */
  readonly syncAware = process.env['SVR_NATIVE_SYNC'] !== '0';

  /** `calls` null: off (no addon, or its switch). */
  constructor(private readonly calls: TableCalls | null, head: number) {
    this.on = calls !== null;
    this.batch = calls?.batch ?? 0;
    this.h = calls?.create(CAPACITY) ?? null;
    const b = this.batch;
    this.res = new Uint32Array(head + LISTS * b);
    [this.natOff, this.natLen, this.natIf, this.restOff, this.restLen] = [0, 1, 2, 3, 4].map((k) => this.res.subarray(head + k * b, head + (k + 1) * b)) as
      [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  }

  /** Drops every mark (a control change). */
  clear(): void {
    this.generationWord[0]++;
    if (this.marks === 0) return;
    this.calls!.clear(this.h!);
    this.marks = 0;
    this.forget();
  }

  /** After clear: the crypto slots the direction keeps. */
  protected forget(): void {}
}
