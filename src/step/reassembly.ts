/**
 * Reassembles chunked STEP documents. A partial document is keyed by (path, origin hash, version); it
 * completes when every chunk arrived, and is dropped when a chunk disagrees with the first one (count or
 * total), when it is older than `timeoutMs`, or when too many are partial at once (the oldest goes).
 * Memory is bounded by maxPending x MAX_DOCUMENT_BYTES.
 */
import type { DocumentChunk } from './codec.js';
import { CHUNK_BODY } from './codec.js';

export interface ReassemblyOptions {
  /** a partial document older than this is dropped (default 2,000 ms) */
  timeoutMs?: number;
  /** partial documents kept at once (default 16) */
  maxPending?: number;
}

export type ReassemblyDrop = 'chunk-mismatch' | 'reassembly-overflow' | 'reassembly-timeout';

export type ReassemblyResult =
  | { kind: 'complete'; origin: number; version: number; body: Uint8Array }
  | { kind: 'pending' }
  | { kind: 'duplicate' }
  | { kind: 'dropped' };

interface Partial {
  count: number;
  total: number;
  got: Uint8Array;
  received: number;
  body: Uint8Array;
  startedAt: number;
}

export class Reassembler {
  private readonly partial = new Map<string, Partial>();
  private readonly timeoutMs: number;
  private readonly maxPending: number;

  constructor(private readonly onDrop: (reason: ReassemblyDrop) => void, opts: ReassemblyOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.maxPending = opts.maxPending ?? 16;
  }

  /** Partial documents held now. */
  get pending(): number {
    return this.partial.size;
  }

  add(source: number, c: DocumentChunk, nowMs: number): ReassemblyResult {
    if (c.count === 1) return { kind: 'complete', origin: c.origin, version: c.version, body: c.body.slice() };
    const key = `${source}:${c.origin}:${c.version}`;
    let p = this.partial.get(key);
    if (p === undefined) {
      if (this.partial.size >= this.maxPending) this.evictOldest();
      p = { count: c.count, total: c.total, got: new Uint8Array(c.count), received: 0, body: new Uint8Array(c.total), startedAt: nowMs };
      this.partial.set(key, p);
    } else if (p.count !== c.count || p.total !== c.total) {
      this.partial.delete(key);
      this.onDrop('chunk-mismatch');
      return { kind: 'dropped' };
    }
    if (p.got[c.index] === 1) return { kind: 'duplicate' };
    p.got[c.index] = 1;
    p.received++;
    p.body.set(c.body, c.index * CHUNK_BODY);
    if (p.received < p.count) return { kind: 'pending' };
    this.partial.delete(key);
    return { kind: 'complete', origin: c.origin, version: c.version, body: p.body };
  }

  /** Drops partial documents older than the timeout; returns how many. */
  expire(nowMs: number): number {
    let n = 0;
    for (const [key, p] of this.partial) {
      if (nowMs - p.startedAt < this.timeoutMs) continue;
      this.partial.delete(key);
      this.onDrop('reassembly-timeout');
      n++;
    }
    return n;
  }

  clear(): void {
    this.partial.clear();
  }

  private evictOldest(): void {
    const first = this.partial.keys().next();
    if (first.done === true) return;
    this.partial.delete(first.value);
    this.onDrop('reassembly-overflow');
  }
}
