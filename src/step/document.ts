/**
 * STEP router document: what one router says about itself (its services, its peer paths and their SLA
 * metrics), published to its peers as one versioned unit (fact sheet §1.3, `docs/step.md`).
 *
 * A document only carries this router's own facts; what it learned from others travels as those
 * routers' documents. `validateDocument` turns untrusted decoded data into a fresh, bounded document.
 */

/** One peer path as its local end sees it. Metrics are smoothed (see smoothing.ts); absent = not measured. */
export interface PathReport {
  name: string;
  vector: string;
  usable: boolean;
  latencyMs?: number;
  jitterMs?: number;
  lossPct?: number;
  /** mean opinion score, 1.0-5.0 */
  mos?: number;
}

export interface PeerReport {
  peer: string;
  paths: PathReport[];
}

/** `reachable`: this router can deliver the service itself (a local service-route, or operator/health says so). */
export interface ServiceReport {
  name: string;
  reachable: boolean;
}

export interface RouterDocument {
  router: string;
  authority: string;
  /** Monotonic per router; time-based so a restarted router's documents win (see `nextVersion`). */
  version: number;
  /** milliseconds (the publisher's clock) */
  generatedAt: number;
  services: ServiceReport[];
  peers: PeerReport[];
}

/** The content a router decides on; version and time are stamped at publication. */
export type DocumentContent = Omit<RouterDocument, 'version' | 'generatedAt'>;

/** Bounds on a received document (anything larger is dropped). */
export const DOCUMENT_LIMITS = {
  nameChars: 255,
  services: 4096,
  peers: 1024,
  pathsPerPeer: 64,
} as const;

/**
 * Next version: `max(previous + 1, now)` in milliseconds. A router that restarts picks up the clock
 * again, so its first document outranks the ones it sent before (unless the clock went back, which
 * `adoptVersionAbove` in the agent repairs when its old document floods back).
 */
export function nextVersion(previous: number | null, nowMs: number): number {
  const base = Math.floor(nowMs);
  const next = previous === null ? base : Math.max(previous + 1, base);
  return Math.min(next, Number.MAX_SAFE_INTEGER);
}

/** Stamps content with a version and time. */
export function stampDocument(content: DocumentContent, version: number, generatedAt: number): RouterDocument {
  return { ...content, version, generatedAt };
}

/** A plain object without `undefined` fields (what goes on the wire). */
export function toWire(doc: RouterDocument): Record<string, unknown> {
  return {
    router: doc.router,
    authority: doc.authority,
    version: doc.version,
    generatedAt: doc.generatedAt,
    services: doc.services.map((s) => ({ name: s.name, reachable: s.reachable })),
    peers: doc.peers.map((p) => ({ peer: p.peer, paths: p.paths.map(pathToWire) })),
  };
}

function pathToWire(p: PathReport): Record<string, unknown> {
  const out: Record<string, unknown> = { name: p.name, vector: p.vector, usable: p.usable };
  if (p.latencyMs !== undefined) out['latencyMs'] = p.latencyMs;
  if (p.jitterMs !== undefined) out['jitterMs'] = p.jitterMs;
  if (p.lossPct !== undefined) out['lossPct'] = p.lossPct;
  if (p.mos !== undefined) out['mos'] = p.mos;
  return out;
}

export type DocumentCheck = { ok: true; doc: RouterDocument } | { ok: false; problem: string };

/** Checks decoded data field by field and builds a fresh document (nothing of the input is kept). */
export function validateDocument(value: unknown): DocumentCheck {
  try {
    return { ok: true, doc: readDocument(value) };
  } catch (e) {
    if (e instanceof DocumentProblem) return { ok: false, problem: e.message };
    throw e;
  }
}

class DocumentProblem extends Error {}

function readDocument(v: unknown): RouterDocument {
  const o = record(v, 'document');
  const version = o['version'];
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) throw new DocumentProblem('version');
  return {
    router: name(o['router'], 'router'),
    authority: name(o['authority'], 'authority'),
    version,
    generatedAt: metric(o['generatedAt'], 'generatedAt', Number.MAX_SAFE_INTEGER),
    services: list(o['services'], 'services', DOCUMENT_LIMITS.services).map(readService),
    peers: list(o['peers'], 'peers', DOCUMENT_LIMITS.peers).map(readPeer),
  };
}

function readService(v: unknown): ServiceReport {
  const o = record(v, 'service');
  return { name: name(o['name'], 'service.name'), reachable: bool(o['reachable'], 'service.reachable') };
}

function readPeer(v: unknown): PeerReport {
  const o = record(v, 'peer');
  return { peer: name(o['peer'], 'peer.peer'), paths: list(o['paths'], 'peer.paths', DOCUMENT_LIMITS.pathsPerPeer).map(readPath) };
}

function readPath(v: unknown): PathReport {
  const o = record(v, 'path');
  const p: PathReport = {
    name: name(o['name'], 'path.name'),
    vector: text(o['vector'], 'path.vector'),
    usable: bool(o['usable'], 'path.usable'),
  };
  if (o['latencyMs'] !== undefined) p.latencyMs = metric(o['latencyMs'], 'path.latencyMs', 3_600_000);
  if (o['jitterMs'] !== undefined) p.jitterMs = metric(o['jitterMs'], 'path.jitterMs', 3_600_000);
  if (o['lossPct'] !== undefined) p.lossPct = metric(o['lossPct'], 'path.lossPct', 100);
  if (o['mos'] !== undefined) p.mos = metric(o['mos'], 'path.mos', 5);
  return p;
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) {
    throw new DocumentProblem(what);
  }
  return v as Record<string, unknown>;
}

function list(v: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max) throw new DocumentProblem(what);
  return v;
}

function text(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length > DOCUMENT_LIMITS.nameChars) throw new DocumentProblem(what);
  return v;
}

function name(v: unknown, what: string): string {
  const s = text(v, what);
  if (s.length === 0) throw new DocumentProblem(what);
  return s;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new DocumentProblem(what);
  return v;
}

function metric(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) throw new DocumentProblem(what);
  return v;
}
