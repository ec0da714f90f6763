/**
 * What a StepAgent needs from its router (a narrow interface, so it can run against a Router or a test
 * double) and its options with their defaults.
 */
import type { Observable } from 'rxjs';
import { SvrError } from '../errors.js';
import type { RouterDocument, ServiceReport } from './document.js';
import type { LocalPeer } from './local.js';
import { DEFAULT_THRESHOLDS, type PathSample, type SignificanceThresholds } from './smoothing.js';

/** Injectable timers (default: Node's, unref'd so they never keep the process alive). */
export interface StepTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * A STEP repository (the conductor's): the agent publishes its document there and gets from it the
 * documents it needs, instead of flooding over the path channel (docs/step.md "Through the conductor").
 * The client keeps the last document and subscription and sends them again after a reconnection.
 */
export interface StepRepositoryClient {
  publish(doc: RouterDocument): void;
  /** the services this router needs routes for (those it does not deliver itself) */
  subscribe(services: readonly string[]): void;
  /** documents the repository sends, and routers it forgot; returns the unsubscribe function */
  listen(onDocument: (doc: RouterDocument) => void, onForget: (router: string) => void): () => void;
}

export interface StepDeps {
  routerName: string;
  authority: string;
  /** peers and their paths (from config; polled, so a config change is picked up): a new array when they change,
   *  the same (unmodified) array while they do not (the poll then skips comparing them) */
  peers(): LocalPeer[];
  /** services this router delivers itself (reachable) or knows but cannot deliver (not reachable) */
  localServices(): ServiceReport[];
  /** what BFD / link tests say about a path now (one sample per poll) */
  pathStatus(pathId: number): PathSample;
  /** sends on the path control channel; false when it could not */
  send(pathId: number, payload: Uint8Array): boolean;
  /** path control channel messages (other owners' messages are ignored) */
  messages$: Observable<{ path: number; payload: Uint8Array; atMs: number }>;
  /** milliseconds; also the base of document versions, so use wall-clock time in production */
  now(): number;
  timers?: StepTimers;
  /** publish to and learn from a repository instead of flooding (routers managed by a conductor) */
  repository?: StepRepositoryClient;
  /** our document encodes to `bytes`, more than a STEP document may carry (`limit`, MAX_DOCUMENT_BYTES): it
   *  is not sent. Called once per episode (again after a document that fitted) */
  tooLarge?(bytes: number, limit: number): void;
}

export interface StepOptions {
  /** periodic full refresh, default 180,000 ms */
  refreshIntervalMs?: number;
  /** one publication token per this many ms, default 30,000 */
  minIntervalMs?: number;
  /** publications allowed back to back, default 2 */
  burst?: number;
  /** sampling of localServices()/pathStatus() and housekeeping, default 1,000 ms */
  pollIntervalMs?: number;
  /** moving-average window, default 3 */
  sampleSize?: number;
  thresholds?: Partial<SignificanceThresholds>;
  /** a learned document expires after this long without a newer version, default 3 x refresh */
  maxAgeMs?: number;
  /** default 2,000 ms */
  reassemblyTimeoutMs?: number;
  /** resend an unacknowledged document after this long, default 1,000 ms */
  ackTimeoutMs?: number;
  /** default 3 */
  maxRetransmits?: number;
  /** answer a peer's "send me everything" at most once per this many ms, default 1,000 */
  requestHoldMs?: number;
}

export type ResolvedStepOptions = Required<Omit<StepOptions, 'thresholds'>> & { thresholds: SignificanceThresholds };

export const defaultTimers: StepTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Fills in the defaults; throws SVR_ERR_STEP_OPTIONS when a value is out of range. */
export function resolveOptions(options: StepOptions): ResolvedStepOptions {
  const refresh = options.refreshIntervalMs ?? 180_000;
  const o = {
    refreshIntervalMs: refresh,
    minIntervalMs: options.minIntervalMs ?? 30_000,
    burst: options.burst ?? 2,
    pollIntervalMs: options.pollIntervalMs ?? 1_000,
    sampleSize: options.sampleSize ?? 3,
    maxAgeMs: options.maxAgeMs ?? 3 * refresh,
    reassemblyTimeoutMs: options.reassemblyTimeoutMs ?? 2_000,
    ackTimeoutMs: options.ackTimeoutMs ?? 1_000,
    maxRetransmits: options.maxRetransmits ?? 3,
    requestHoldMs: options.requestHoldMs ?? 1_000,
  };
  const thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  const bad = [
    ...Object.entries(o).filter(([k, v]) => !Number.isFinite(v) || v < (k === 'maxRetransmits' ? 0 : 1)),
    ...Object.entries(thresholds).filter(([, v]) => !Number.isFinite(v) || v < 0).map(([k, v]) => [`thresholds.${k}`, v] as const),
  ];
  if (bad.length > 0) {
    throw new SvrError('SVR_ERR_STEP_OPTIONS',
      `STEP options out of range: ${bad.map(([k, v]) => `${k}=${v}`).join(', ')} (intervals and counts must be finite and >= 1, maxRetransmits and thresholds >= 0)`);
  }
  return { ...o, thresholds };
}
