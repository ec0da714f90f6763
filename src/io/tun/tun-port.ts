/**
 * A PacketPort over a TUN device: the native reader thread hands batches straight to the router, and
 * a batch out is one writeBatch call. A write that fails (link down, bad packet) is counted as a drop:
 * the data path never throws because one device misbehaves.
 */
import type { BatchHandler, PacketPort, PortStats } from '../port.js';
import { TunDevice, type TunOptions } from './tun-device.js';

export class TunPort implements PacketPort {
  readonly stats: PortStats = { rxPackets: 0, txPackets: 0, txDrops: 0 };
  /** the last write error, for `svr show stats` */
  lastError = '';

  private constructor(readonly device: TunDevice) {}

  static open(opts: TunOptions): TunPort {
    return new TunPort(TunDevice.open(opts));
  }

  get name(): string {
    return this.device.name;
  }

  start(deliver: BatchHandler): void {
    this.device.start((data, offsets, lengths, count) => {
      this.stats.rxPackets += count;
      deliver(data, offsets, lengths, count);
    });
  }

  transmit(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    try {
      const n = this.device.writeBatch(data, offsets, lengths, count);
      this.stats.txPackets += n;
      this.stats.txDrops += count - n;
    } catch (e) {
      this.stats.txDrops += count;
      this.lastError = e instanceof Error ? e.message : String(e);
    }
  }

  close(): void {
    this.device.close();
  }
}
