/**
 * PacketPort: how packets enter and leave a router, one batch at a time. A port carries raw IP packets
 * (IPv4 or IPv6, no link header) like a TUN device. Implementations: in-memory links (src/io/memory),
 * TUN devices (src/io/tun), pcap replay.
 */

/** Receives a batch: packet i is data[offsets[i], offsets[i] + lengths[i]). The arrays are only valid during
 *  the call: copy what you keep. */
/** `room`: bytes each packet may use from its offset (its slot; 0 or absent: only its own), for finishing in place. */
export type BatchHandler = (data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, room?: number) => void;

export interface PacketPort {
  readonly name: string;
  /** Starts delivering received packets to `deliver`, in batches. */
  start(deliver: BatchHandler): void;
  /**
   * Sends `count` packets (same layout as BatchHandler). The port copies or writes them before returning.
   * `control`: the router's own control packets (Dataplane.holdControl), few and not a data stream: a TUN port
   * writes them on the calling thread when nothing else waits (docs/tun-io.md); other ports ignore it.
   */
  transmit(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, control?: boolean): void;
  /**
   * How long a busy queue's reads may wait to gather a fuller batch, in µs (undefined: the port's default); a
   * TUN port's reader thread (native/tun-gather.h). Ports without one need not implement it.
   */
  readGather?(us: number | undefined): void;
  /** Stops delivery and releases the port. Safe to call twice. */
  close(): void;
}

/** Optional counters a port can expose (shown by `svr show stats`). */
export interface PortStats {
  rxPackets: number;
  txPackets: number;
  txDrops: number;
}
