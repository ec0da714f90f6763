/**
 * Acknowledgements: every document sent to a peer waits for an ack (origin hash + version). Without one
 * within `ackTimeoutMs` it is sent again, at most `maxRetransmits` times; after that the periodic refresh
 * is the fallback. Only the latest version per (peer, origin) is tracked.
 */
import { originHash } from './codec.js';

interface Waiting {
  hash: number;
  version: number;
  sentAt: number;
  tries: number;
}

export interface Resend {
  peer: string;
  origin: string;
  version: number;
}

export class AckTracker {
  /** peer -> origin -> waiting */
  private readonly pending = new Map<string, Map<string, Waiting>>();

  constructor(private readonly ackTimeoutMs: number, private readonly maxRetransmits: number) {}

  /** Records that `origin`'s document `version` was sent to `peer`. */
  sent(peer: string, origin: string, version: number, nowMs: number): void {
    let m = this.pending.get(peer);
    if (m === undefined) this.pending.set(peer, (m = new Map()));
    const w = m.get(origin);
    if (w !== undefined && w.version === version) {
      w.sentAt = nowMs;
      return;
    }
    m.set(origin, { hash: originHash(origin), version, sentAt: nowMs, tries: 0 });
  }

  /** Whether `origin`'s `version` was sent to `peer` and is still unacknowledged. */
  waiting(peer: string, origin: string, version: number): boolean {
    return this.pending.get(peer)?.get(origin)?.version === version;
  }

  /** An ack from `peer`; true when it matched a document we were waiting for. */
  acked(peer: string, hash: number, version: number): boolean {
    const m = this.pending.get(peer);
    if (m === undefined) return false;
    for (const [origin, w] of m) {
      if (w.hash !== hash || w.version > version) continue;
      m.delete(origin);
      return true;
    }
    return false;
  }

  /** Documents to send again now; those past their last try are forgotten (counted in `gaveUp`). */
  due(nowMs: number): { resend: Resend[]; gaveUp: number } {
    const resend: Resend[] = [];
    let gaveUp = 0;
    for (const [peer, m] of this.pending) {
      for (const [origin, w] of m) {
        if (nowMs - w.sentAt < this.ackTimeoutMs) continue;
        if (w.tries >= this.maxRetransmits) {
          m.delete(origin);
          gaveUp++;
          continue;
        }
        w.tries++;
        w.sentAt = nowMs;
        resend.push({ peer, origin, version: w.version });
      }
    }
    return { resend, gaveUp };
  }

  /** Waiting acks in total. */
  get size(): number {
    let n = 0;
    for (const m of this.pending.values()) n += m.size;
    return n;
  }

  forgetOrigin(origin: string): void {
    for (const m of this.pending.values()) m.delete(origin);
  }

  clear(): void {
    this.pending.clear();
  }
}
