/**
 * In-memory L3 segment: several hosts and one gateway (a router interface) on one network, like a
 * switch in front of a router. A packet goes to the port that owns its destination address, otherwise to
 * the gateway; delivery is batched per event-loop turn exactly as on a MemoryLink.
 */
import { formatAddress } from '../../packet/addr.js';
import type { BatchHandler, PacketPort } from '../../dataplane/port.js';
import { slotted } from './link.js';

class SegmentPort implements PacketPort {
  handler: BatchHandler | null = null;
  queue: Uint8Array[] = [];
  scheduled = false;
  closed = false;

  /** @internal */
  constructor(readonly name: string, private readonly segment: MemorySegment) {}

  start(deliver: BatchHandler): void {
    this.handler = deliver;
    if (this.queue.length > 0) this.schedule();
  }

  transmit(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    for (let i = 0; i < count; i++) this.segment.forward(this, data.slice(offsets[i]!, offsets[i]! + lengths[i]!));
  }

  enqueue(pkt: Uint8Array): void {
    if (this.closed) return;
    this.queue.push(pkt);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.handler === null) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const h = this.handler;
      if (h === null || this.closed) return;
      const q = this.queue;
      this.queue = [];
      const { data, offsets, lengths, slot } = slotted(q);
      h(data, offsets, lengths, q.length, slot);
    });
  }

  close(): void {
    this.closed = true;
    this.handler = null;
    this.queue = [];
  }
}

export class MemorySegment {
  private readonly byAddress = new Map<string, SegmentPort>();
  private gateway: SegmentPort | null = null;
  private observers: ((pkt: Uint8Array, from: string) => void)[] = [];
  /** packets with no owner and no gateway */
  undeliverable = 0;

  constructor(readonly name: string) {}

  /** A port for the host with `address` (text form as formatted by formatAddress). */
  hostPort(address: string): PacketPort {
    const p = new SegmentPort(`${this.name}:${address}`, this);
    this.byAddress.set(address, p);
    return p;
  }

  /** The port of the router interface: receives every packet not addressed to a host here. */
  gatewayPort(): PacketPort {
    this.gateway = new SegmentPort(`${this.name}:gateway`, this);
    return this.gateway;
  }

  observe(fn: (pkt: Uint8Array, from: string) => void): void {
    this.observers.push(fn);
  }

  /** @internal */
  forward(from: SegmentPort, pkt: Uint8Array): void {
    for (const o of this.observers) o(pkt, from.name);
    const v = pkt[0]! >>> 4;
    const dst = v === 6 && pkt.length >= 40 ? formatAddress(pkt, 24, 6) : v === 4 && pkt.length >= 20 ? formatAddress(pkt, 16, 4) : '';
    const owner = this.byAddress.get(dst);
    const to = owner !== undefined && owner !== from ? owner : from === this.gateway ? null : this.gateway;
    if (to === null) {
      this.undeliverable++;
      return;
    }
    to.enqueue(pkt);
  }

  close(): void {
    for (const p of this.byAddress.values()) p.close();
    this.gateway?.close();
  }
}

export type { SegmentPort };
