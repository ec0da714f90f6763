/**
 * A PacketPort over a MessagePort: batches cross threads as {data, offsets, lengths, count} with their
 * buffers transferred (one message per batch). Used by tests and synthetic loads to feed workers without
 * TUN devices; the other end is whatever drives the traffic.
 */
import type { MessagePort } from 'node:worker_threads';
import type { BatchHandler, PacketPort } from '../dataplane/port.js';

export interface ChannelBatch {
  data: Uint8Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
  count: number;
}

/** Copies count packets into one fresh buffer (transferable). */
export function packBatch(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): ChannelBatch {
  let total = 0;
  for (let i = 0; i < count; i++) total += lengths[i]!;
  const buf = new Uint8Array(total);
  const off = new Uint32Array(count);
  const len = new Uint32Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    buf.set(data.subarray(offsets[i]!, offsets[i]! + lengths[i]!), at);
    off[i] = at;
    len[i] = lengths[i]!;
    at += lengths[i]!;
  }
  return { data: buf, offsets: off, lengths: len, count };
}

export class ChannelPort implements PacketPort {
  constructor(readonly name: string, private readonly port: MessagePort) {}

  start(deliver: BatchHandler): void {
    this.port.on('message', (b: ChannelBatch) => deliver(b.data, b.offsets, b.lengths, b.count));
  }

  transmit(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    const b = packBatch(data, offsets, lengths, count);
    this.port.postMessage(b, [b.data.buffer as ArrayBuffer, b.offsets.buffer as ArrayBuffer, b.lengths.buffer as ArrayBuffer]);
  }

  close(): void {
    this.port.close();
  }
}
