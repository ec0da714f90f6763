/**
 * A PacketPort over a TUN device: the native reader thread hands batches straight to the router, and
 * a batch out is one writeBatch call. A write that fails (link down, bad packet) is counted as a drop:
 * the data path never throws because one device misbehaves.
 *
 * `offload: true`: the kernel hands over TCP/UDP super-packets and partial checksums, the reader thread turns
 * them into ordinary packets (<= MTU, complete checksums) before the router sees them, and transmit merges runs
 * of TCP segments back into super-packets (LAN interfaces), and with `coalesceUdp` runs of equal-length UDP
 * datagrams of one 5-tuple into UDP GSO super-packets (WAN interfaces: the SVR packets of one stream, each
 * signed on its own, which the kernel cuts back into exactly those datagrams). The router sees no difference;
 * the counters below show the effect.
 *
 * With the default writer thread (TunOptions.writer 'thread'), transmit only copies the batch into the device's
 * ring (or, while the reader polls, writes a small batch at once); the tx counters below follow what was actually
 * written or dropped, and a write error the writer thread met shows in lastError. `readerMode` says where reads
 * run now (TunOptions.reader: poll at low load, the reader thread when batches fill up).
 */
import type { BatchHandler, PortStats } from '../../dataplane/port.js';
import type { SteadyPass, SteadyPassPort } from '../../dataplane/steady-pass.js';
import type { ReaderMode } from './reader-mode.js';
import type { TunWriterHandle } from './native.js';
import { TunDevice, type TunOptions } from './tun-device.js';

export interface TunPortStats extends PortStats {
  /** GSO super-packets read, and the segments the router got from them (included in rxPackets). */
  rxSuperPackets: number;
  rxSegments: number;
  /** Super-packets written, and the packets (included in txPackets) merged into them. */
  txSuperPackets: number;
  txCoalesced: number;
  /** Packets written by the JS thread itself (small batches while the reader polls), included in txPackets. */
  txDirect: number;
  /** Packets sent through the raw IP socket instead of the TUN (TunOptions.rawSend), included in txPackets. */
  txRaw: number;
  /** Of txRaw, the Ethernet frames sent from the packet socket's TX ring (docs/tun-io.md "Frames to a next hop on the link"). */
  txRing: number;
  /** Packets taken from the WAN receive's packet ring (docs/tun-io.md "The WAN receive from a packet ring"), included in rxPackets. */
  rxRing: number;
  /** Batches (frames) read: rxPackets / rxBatches is the frame size the router works on. */
  rxBatches: number;
  /** Packets the steady pass finished without JS (poll mode; included in rxPackets): docs/tun-io.md. */
  rxSteady: number;
  /** write()/writev() calls that succeeded, and the writer thread's wake-ups (eventfd writes by the JS thread). */
  txWrites: number;
  txWakeups: number;
  /** Where reads run now, and how often that changed. */
  readerMode: ReaderMode;
  readerModeSwitches: number;
}

export type TunPortOptions = TunOptions;

export class TunPort implements SteadyPassPort {
  readonly #stats: TunPortStats = {
    rxPackets: 0,
    txPackets: 0,
    txDrops: 0,
    rxSuperPackets: 0,
    rxSegments: 0,
    txSuperPackets: 0,
    txCoalesced: 0,
    txDirect: 0,
    txRaw: 0,
    txRing: 0,
    rxRing: 0,
    rxBatches: 0,
    rxSteady: 0,
    txWrites: 0,
    txWakeups: 0,
    readerMode: 'poll',
    readerModeSwitches: 0,
  };
  #lastError = '';
  #lastWriteError: unknown;
  /** writer 'thread': packets of transmit calls that threw (after close, bad arguments) */
  #thrownDrops = 0;

  private constructor(readonly device: TunDevice) {}

  get stats(): TunPortStats {
    const s = this.#stats;
    const d = this.device.stats;
    if (this.device.writer === 'thread') {
      s.txPackets = d.txPackets;
      s.txDrops = d.txDrops + this.#thrownDrops;
      s.txDirect = d.txDirect;
      s.txRaw = d.txRaw;
      s.txRing = d.txRing;
    }
    s.rxPackets = d.rxPackets; // with what the steady pass took (tun-device.ts)
    s.txSuperPackets = d.txSuperPackets;
    s.txCoalesced = d.txCoalesced;
    s.rxSuperPackets = d.rxSuperPackets;
    s.rxSegments = d.rxSegments;
    s.rxRing = d.rxRing;
    s.rxBatches = d.rxBatches;
    s.rxSteady = this.device.steadyPackets;
    s.txWrites = d.txWrites;
    s.txWakeups = d.txWakeups;
    s.readerMode = this.device.readerMode;
    s.readerModeSwitches = d.rxModeSwitches;
    return s;
  }

  /** the last write error, for `svr show stats` (writer 'thread': also the ones the writer thread met) */
  get lastError(): string {
    const e = this.device.lastWriteError;
    if (e !== undefined && e !== this.#lastWriteError) {
      this.#lastWriteError = e;
      this.#lastError = e.message;
    }
    return this.#lastError;
  }

  set lastError(v: string) {
    this.#lastError = v;
  }

  /** `TunPort.open({ name, offload?: boolean, ... })`: see TunOptions. Throws SvrError like TunDevice.open. */
  static open(opts: TunPortOptions): TunPort {
    return new TunPort(TunDevice.open(opts));
  }

  get name(): string {
    return this.device.name;
  }

  get offload(): boolean {
    return this.device.offload;
  }

  start(deliver: BatchHandler): void {
    const device = this.device;
    // the stats getter copies the device's counters: nothing per batch here
    device.start((data, offsets, lengths, count) => deliver(data, offsets, lengths, count, device.snapLength));
  }

  readGather(us: number | undefined): void {
    this.device.setReadGather(us);
  }

  /** Runs `p` natively on batches read in poll mode (tun-device.ts steadyPass); false when an egress is not a TUN port
   *  with a writer thread, this one has none, or it is not started. */
  steadyPass(p: SteadyPass | null): boolean {
    if (p === null) {
      this.device.steadyPass(null);
      return true;
    }
    const writers: (TunWriterHandle | null)[] = [];
    for (const port of p.ports) {
      const w = port === null ? null : port instanceof TunPort ? port.device.passWriter() : undefined;
      if (w === undefined) return false;
      writers.push(w);
    }
    if (this.device.passWriter() === undefined) return false;
    return this.device.steadyPass(p.table, p.ifIndex, writers, p.counters, p.idx, p.clockOffsetMs, p.slotMs);
  }

  transmit(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, control = false): void {
    const s = this.#stats;
    if (this.device.writer === 'thread') {
      // the device counts what its writer thread writes or drops; see the stats getter
      try {
        this.device.writeBatch(data, offsets, lengths, count, control);
      } catch (e) {
        this.#thrownDrops += count;
        this.#lastError = e instanceof Error ? e.message : String(e);
      }
      return;
    }
    try {
      const n = this.device.writeBatch(data, offsets, lengths, count);
      s.txPackets += n;
      s.txDrops += count - n;
    } catch (e) {
      s.txDrops += count;
      this.#lastError = e instanceof Error ? e.message : String(e);
    }
  }

  close(): void {
    this.device.close();
  }
}
