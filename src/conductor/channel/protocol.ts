/**
 * The router <-> conductor channel: JSON messages over one WebSocket on mutual TLS
 * (wss://<conductor>/api/v1/routers/channel, the router's certificate from enrolment).
 *
 * router -> conductor: hello (asset id, running version) first; then prepared/refused for a prepare,
 *   activated/refused for a sync, activated after an activate; a report every few seconds.
 * conductor -> router: welcome (which router the asset is, every conductor URL) or redirect (a standby
 *   names the leader); prepare + activate|abort (two-phase commit); sync (a router behind the head:
 *   validate and activate). Every config carries the conductor CA's signature over (asset, version, text).
 * STEP through the conductor (step-repository.ts): router -> conductor step.publish (its own document) and
 *   step.subscribe (the services it needs); conductor -> router step.document and step.forget.
 * Questions people ask through the conductor (the web UI's sessions): query -> answer, matched by id;
 *   read-only by construction (RouterQuery names only views of the router's state).
 */
import type { ConfigProblem } from '../../model/problems.js';
import type { RouterDocument } from '../../step/document.js';

export const CHANNEL_PATH = '/api/v1/routers/channel';
/** How often a router reports (version, health, peers, sessions, alarms). */
export const REPORT_INTERVAL_MS = 2000;

export interface PathReport {
  name: string;
  up: boolean;
  latencyMs?: number;
  jitterMs?: number;
  lossPercent?: number;
  mos?: number;
}

export interface PeerReport {
  name: string;
  reachable: boolean;
  paths: PathReport[];
}

export interface AlarmReport {
  id: string;
  severity: 'critical' | 'major' | 'minor' | 'info';
  message: string;
  since: string;
}

export interface RouterReport {
  version: number | null;
  health: 'ok' | 'degraded' | 'starting';
  uptimeS: number;
  sessions: number;
  peers: PeerReport[];
  alarms: AlarmReport[];
}

/** What the conductor may ask a router for (read-only views of its state). */
export type RouterQuery =
  /** live sessions, filtered; at most `limit` (newest first) */
  | { what: 'sessions'; filter: SessionFilter; limit: number }
  /** one page of the router's session history (telemetry/history/query.ts) */
  | { what: 'history'; query: Record<string, string | number> }
  /** everything the router knows of one session: its live view and its latest record */
  | { what: 'session'; sessionId: string };

export interface SessionFilter {
  tenant?: string;
  service?: string;
  application?: string;
  /** an address either end of the original 5-tuple has (exact), or a prefix of it (198.18.1.) */
  address?: string;
}

export type RouterMessage =
  | { type: 'hello'; assetId: string; version: number | null; hash: string | null }
  /** STEP through the conductor (authority.step.mode conductor): the router's own document */
  | { type: 'step.publish'; doc: unknown }
  /** ... and the services it needs routes for (replaces the previous subscription) */
  | { type: 'step.subscribe'; services: string[] }
  | { type: 'prepared'; txn: string; version: number }
  /** txn null: a refused sync */
  | { type: 'refused'; txn: string | null; version: number; message: string; problems: ConfigProblem[] }
  | { type: 'activated'; version: number; hash: string }
  | { type: 'report'; report: RouterReport }
  | { type: 'answer'; id: number; result?: unknown; error?: { code: string; message: string } };

export type ConductorMessage =
  | { type: 'welcome'; router: string | null; conductors: string[] }
  | { type: 'redirect'; leader: string }
  | { type: 'prepare'; txn: string; version: number; config: string; signature: string }
  | { type: 'activate'; txn: string; version: number }
  | { type: 'abort'; txn: string; version: number }
  | { type: 'sync'; version: number; config: string; signature: string }
  /** a STEP document the router needs (newer than the last one sent) */
  | { type: 'step.document'; doc: RouterDocument }
  /** the STEP repository forgot a router (its document expired) */
  | { type: 'step.forget'; router: string }
  | { type: 'query'; id: number; query: RouterQuery };

/** WebSocket close codes the conductor uses (4000-4999 are free for applications, RFC 6455 §7.4.2). */
export const CLOSE = {
  /** the certificate is not one this conductor issued to a known asset */
  unknownCertificate: 4401,
  /** hello named another asset than the certificate */
  assetMismatch: 4403,
  /** a newer channel for the same asset replaced this one */
  replaced: 4409,
  /** this conductor stopped leading */
  notLeader: 4503,
} as const;

export function parseMessage<T extends { type: string }>(data: unknown): T | undefined {
  try {
    const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data as Buffer[]).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const m = JSON.parse(text) as unknown;
    return m !== null && typeof m === 'object' && typeof (m as { type?: unknown }).type === 'string' ? (m as T) : undefined;
  } catch {
    return undefined;
  }
}
