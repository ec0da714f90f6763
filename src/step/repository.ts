/**
 * The documents this router learned from others: the latest version per router. A newer version replaces
 * an older one; the same version again is a duplicate (how flooding stops); an entry not refreshed for
 * `maxAgeMs` expires (its router stopped publishing, or nobody can reach it any more).
 * Each entry remembers the peer it came from (split horizon) and its encoded datagrams (sent as received).
 */
import { encodeDocument } from './codec.js';
import type { RouterDocument } from './document.js';

export type OfferResult = 'new' | 'duplicate' | 'older';

export interface StoredDocument {
  readonly doc: RouterDocument;
  /** peer it came from; split horizon never sends it back there */
  readonly fromPeer: string;
  readonly receivedAt: number;
}

interface Entry extends StoredDocument {
  datagrams: Uint8Array[] | null;
}

export class DocumentRepository {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxAgeMs: number) {}

  /** Offers a received document: stored when it is newer than what we have. */
  offer(doc: RouterDocument, fromPeer: string, nowMs: number): OfferResult {
    const have = this.entries.get(doc.router);
    if (have !== undefined && have.doc.version === doc.version) return 'duplicate';
    if (have !== undefined && have.doc.version > doc.version) return 'older';
    this.entries.set(doc.router, { doc, fromPeer, receivedAt: nowMs, datagrams: null });
    return 'new';
  }

  get(router: string): StoredDocument | undefined {
    return this.entries.get(router);
  }

  /** Latest documents, by router name. */
  documents(): RouterDocument[] {
    return [...this.entries.values()].map((e) => e.doc).sort((a, b) => compareNames(a.router, b.router));
  }

  all(): StoredDocument[] {
    return [...this.entries.values()];
  }

  get size(): number {
    return this.entries.size;
  }

  /** The document's datagrams (encoded once per version); null when it cannot be encoded. */
  datagrams(router: string): Uint8Array[] | null {
    const e = this.entries.get(router);
    if (e === undefined) return null;
    e.datagrams ??= encodeDocument(e.doc);
    return e.datagrams;
  }

  /** Removes documents not refreshed within maxAgeMs; returns their routers. */
  expire(nowMs: number): string[] {
    const gone: string[] = [];
    for (const [router, e] of this.entries) {
      if (nowMs - e.receivedAt < this.maxAgeMs) continue;
      this.entries.delete(router);
      gone.push(router);
    }
    return gone;
  }

  /** Forgets one router's document (the STEP repository says it is gone); true when there was one. */
  forget(router: string): boolean {
    return this.entries.delete(router);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Plain code-unit order: the same on every router (no locale). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
