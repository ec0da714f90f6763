/**
 * A PacketPort over a TUN device: the native reader thread hands batches straight to the router, and
 * a batch out is one writeBatch call. A write that fails (link down, bad packet) is counted as a drop:
 * the data path never throws because one device misbehaves.
 *
 * `offload: true` (LAN interfaces): the kernel hands over TCP/UDP super-packets and partial checksums, the
 * reader thread turns them into ordinary packets (<= MTU, complete checksums) before the router sees them,
 * and transmit merges runs of TCP segments back into super-packets. The router sees no difference; the
 * counters below show the effect. Keep it off where every packet must stay a packet of its own (WAN: each
 * SVR packet is signed individually).
 */
import type { BatchHandler, PacketPort, PortStats } from '../port.js';
import { TunDevice, type TunOptions } from './tun-device.js';

export interface TunPortStats extends PortStats {
  /** GSO super-packets read, and the segments the router got from them (included in rxPackets). */
  rxSuperPackets: number;
  rxSegments: number;
  /** Super-packets written, and the packets (included in txPackets) merged into them. */
  txSuperPackets: number;
  txCoalesced: number;
}

export type TunPortOptions = TunOptions;

export class TunPort implements PacketPort {
  readonly stats: TunPortStats = { rxPackets: 0, txPackets: 0, txDrops: 0, rxSuperPackets: 0, rxSegments: 0, txSuperPackets: 0, txCoalesced: 0 };
  /** the last write error, for `svr show stats` */
  lastError = '';

  private constructor(readonly device: TunDevice) {}

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
    const dev = this.device.stats;
    this.device.start((data, offsets, lengths, count) => {
      this.stats.rxPackets += count;
      this.stats.rxSuperPackets = dev.rxSuperPackets;
      this.stats.rxSegments = dev.rxSegments;
      deliver(data, offsets, lengths, count);
    });
  }

  transmit(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    const dev = this.device.stats;
    try {
      const n = this.device.writeBatch(data, offsets, lengths, count);
      this.stats.txPackets += n;
      this.stats.txDrops += count - n;
    } catch (e) {
      this.stats.txDrops += count;
      this.lastError = e instanceof Error ? e.message : String(e);
    }
    this.stats.txSuperPackets = dev.txSuperPackets;
    this.stats.txCoalesced = dev.txCoalesced;
  }

  close(): void {
    this.device.close();
  }
}
