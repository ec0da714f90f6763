/**
 * In-memory point-to-point link: two PacketPorts joined back to back, for tests and examples that run
 * routers, clients and servers in one process. `transmit` copies packets into the peer's queue; the queue
 * is delivered as one batch on the next event-loop turn (setImmediate), so nothing recurses and packets
 * sent in one turn arrive together, as a NIC ring would hand them over.
 *
 * A link can be observed (every packet in both directions, e.g. to write a pcap), can drop packets
 * on purpose (`setFilter`) to test loss, and can delay them (`setDelay`) to test latency and jitter.
 */
import { prng } from '../../util/prng.js';
import type { BatchHandler, PacketPort, PortStats } from '../../dataplane/port.js';

export type LinkDirection = 'a->b' | 'b->a';
export type LinkObserver = (packet: Uint8Array, direction: LinkDirection, timeMs: number) => void;
/** Return false to drop the packet on the wire. */
export type LinkFilter = (packet: Uint8Array, direction: LinkDirection) => boolean;

const MAX_QUEUE = 65536;
/** Bytes behind each delivered packet that the receiver may use (a TUN slot has more: its snap length). */
const ROOM = 128;

/** A batch of packets in equal slots (the longest one's length + ROOM), as a TUN reader delivers them; `slot`: their room. */
export function slotted(q: readonly Uint8Array[]): { data: Uint8Array; offsets: Uint32Array; lengths: Uint32Array; slot: number } {
  let slot = 0;
  for (const p of q) slot = Math.max(slot, p.length);
  slot += ROOM;
  const data = new Uint8Array(slot * q.length);
  const offsets = new Uint32Array(q.length);
  const lengths = new Uint32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    data.set(q[i]!, i * slot);
    offsets[i] = i * slot;
    lengths[i] = q[i]!.length;
  }
  return { data, offsets, lengths, slot };
}

class MemoryPort implements PacketPort {
  readonly stats: PortStats = { rxPackets: 0, txPackets: 0, txDrops: 0 };
  peer!: MemoryPort;
  private handler: BatchHandler | null = null;
  private queue: Uint8Array[] = [];
  private scheduled = false;
  private closed = false;

  /** @internal */
  constructor(readonly name: string, private readonly link: MemoryLink, private readonly direction: LinkDirection) {}

  start(deliver: BatchHandler): void {
    this.handler = deliver;
    if (this.queue.length > 0) this.schedule();
  }

  transmit(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    for (let i = 0; i < count; i++) {
      const pkt = data.slice(offsets[i]!, offsets[i]! + lengths[i]!);
      this.stats.txPackets++;
      if (this.closed || !this.link.pass(pkt, this.direction)) continue;
      const delay = this.link.delayMs();
      if (delay > 0) this.link.schedule(() => this.peer.enqueue(pkt), delay);
      else this.peer.enqueue(pkt);
    }
  }

  /** Sends single packets (hosts and tests). */
  send(...packets: Uint8Array[]): void {
    for (const p of packets) {
      const off = Uint32Array.of(0);
      const len = Uint32Array.of(p.length);
      this.transmit(p, off, len, 1);
    }
  }

  private enqueue(pkt: Uint8Array): void {
    if (this.closed) return;
    if (this.queue.length >= MAX_QUEUE) {
      this.peer.stats.txDrops++;
      return;
    }
    this.queue.push(pkt);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.handler === null) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const handler = this.handler;
    if (handler === null || this.closed) return;
    const q = this.queue;
    this.queue = [];
    const { data, offsets, lengths, slot } = slotted(q);
    this.stats.rxPackets += q.length;
    handler(data, offsets, lengths, q.length, slot);
  }

  close(): void {
    this.closed = true;
    this.handler = null;
    this.queue = [];
  }
}

export class MemoryLink {
  readonly a: MemoryPort;
  readonly b: MemoryPort;
  private observers: LinkObserver[] = [];
  private filter: LinkFilter | null = null;
  private delay = { ms: 0, jitterMs: 0, random: prng(1) };
  /** @internal how delayed packets are scheduled (setDelay's `setTimeout`) */
  schedule: (fn: () => void, ms: number) => unknown = setTimeout;

  constructor(readonly name: string, nameA = `${name}.a`, nameB = `${name}.b`) {
    this.a = new MemoryPort(nameA, this, 'a->b');
    this.b = new MemoryPort(nameB, this, 'b->a');
    this.a.peer = this.b;
    this.b.peer = this.a;
  }

  observe(fn: LinkObserver): () => void {
    this.observers.push(fn);
    return () => {
      this.observers = this.observers.filter((o) => o !== fn);
    };
  }

  setFilter(fn: LinkFilter | null): void {
    this.filter = fn;
  }

  /**
   * Delays every packet, in each direction, by `ms` plus a jitter drawn uniformly from [0, jitterMs)
   * by a PRNG seeded with `opts.seed` (mulberry32: the same seed gives the same delays). Jitter can
   * reorder packets, as on a real path. `opts.setTimeout` replaces the timer (tests on virtual time).
   * setDelay(0) delivers at once again (the default).
   */
  setDelay(ms: number, jitterMs = 0, opts: { seed?: number; setTimeout?: (fn: () => void, ms: number) => unknown } = {}): void {
    this.delay = { ms, jitterMs, random: prng(opts.seed ?? 1) };
    this.schedule = opts.setTimeout ?? setTimeout;
  }

  /** @internal the delay of the next packet, ms */
  delayMs(): number {
    const d = this.delay;
    if (d.jitterMs <= 0) return d.ms;
    return d.ms + d.random() * d.jitterMs;
  }

  /** @internal called by ports: observers see every packet put on the wire, before the filter. */
  pass(pkt: Uint8Array, direction: LinkDirection): boolean {
    const now = Date.now();
    for (const o of this.observers) o(pkt, direction, now);
    return this.filter === null || this.filter(pkt, direction);
  }

  close(): void {
    this.a.close();
    this.b.close();
  }
}

export type { MemoryPort };
