/**
 * Byte buffers behind a simulated TCP connection.
 * `SendBuffer`: bytes written by the application and not yet acknowledged, contiguous so a segment is one
 * `subarray` (grows by doubling, compacts when the acknowledged head is large).
 * `ReceiveQueue`: in-order bytes received but not yet handed to the application (while paused or
 * while nobody listens); its size shrinks the advertised window.
 */

const INITIAL_SIZE = 16 * 1024;
const SHRINK_ABOVE = 1024 * 1024;

export class SendBuffer {
  private buf = new Uint8Array(INITIAL_SIZE);
  /** buf[head] is the first unacknowledged byte. */
  private head = 0;
  private tail = 0;

  /** Bytes held (unacknowledged, sent or not). */
  get length(): number {
    return this.tail - this.head;
  }

  append(data: Uint8Array): void {
    if (this.tail + data.length > this.buf.length) this.makeRoom(data.length);
    this.buf.set(data, this.tail);
    this.tail += data.length;
  }

  /** Bytes [offset, offset + len) counted from the first unacknowledged byte (a view, valid until the next call). */
  view(offset: number, len: number): Uint8Array {
    const start = this.head + offset;
    return this.buf.subarray(start, Math.min(start + len, this.tail));
  }

  /** Drops `n` acknowledged bytes from the front. */
  consume(n: number): void {
    this.head = Math.min(this.head + n, this.tail);
    if (this.head !== this.tail) return;
    this.head = this.tail = 0;
    if (this.buf.length > SHRINK_ABOVE) this.buf = new Uint8Array(INITIAL_SIZE); // give memory back after a bulk transfer
  }

  private makeRoom(extra: number): void {
    const used = this.tail - this.head;
    // compact in place only when at least half the buffer is free at the front (keeps appends amortised O(1))
    if (used + extra <= this.buf.length && this.head >= used) {
      this.buf.copyWithin(0, this.head, this.tail);
    } else {
      let size = this.buf.length * 2;
      while (used + extra > size) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.buf.subarray(this.head, this.tail), 0);
      this.buf = bigger;
    }
    this.head = 0;
    this.tail = used;
  }
}

export class ReceiveQueue {
  private chunks: Uint8Array[] = [];
  private bytes = 0;

  get length(): number {
    return this.bytes;
  }

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** Removes and returns everything queued, as one chunk (empty when nothing is queued). */
  take(): Uint8Array {
    const chunks = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    if (chunks.length === 1) return chunks[0]!;
    let total = 0;
    for (const c of chunks) total += c.length;
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
