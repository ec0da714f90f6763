/**
 * The API's shapes, taken from the server's own declarations (type-only imports: nothing of src/ is
 * bundled into the page), plus the few replies that are built in route handlers.
 */
import type { RouterStatus } from '../../src/conductor/fleet.js';
import type { Alarm } from '../../src/conductor/alarms.js';
import type { AlarmReport, PathReport, PeerReport } from '../../src/conductor/channel/protocol.js';
import type { FabricEvent, PathColumn, PathKey, SeriesReply } from '../../src/conductor/fabric-history.js';
import type { AuditEvent, VersionSummary } from '../../src/conductor/store/authority-store.js';
import type { CandidateView, CommitResult, ValidateResult } from '../../src/conductor/lifecycle.js';
import type { ConfigProblem } from '../../src/model/problems.js';
import type { SessionSummary } from '../../src/dataplane/views.js';
import type { SessionRecord } from '../../src/telemetry/record.js';

export type { RouterStatus, Alarm, AlarmReport, PathReport, PeerReport, FabricEvent, PathColumn, PathKey, SeriesReply, AuditEvent, VersionSummary, CandidateView, CommitResult, ValidateResult, ConfigProblem, SessionSummary, SessionRecord };

/** GET /api/v1/alarms: the conductor's own and those routers report (as `reportedAlarm`) */
export type ActiveAlarm = Alarm | (AlarmReport & { source: string; kind: string });

export interface PathListEntry extends PathKey {
  since: number;
  last: number;
}

export type LiveSession = SessionSummary & { router: string; worker?: number };

export interface SessionsReply {
  items: LiveSession[];
  /** each router: `ok` or why it did not answer */
  routers: Record<string, string>;
}

export interface HistoryReply {
  records: SessionRecord[];
  routers: Record<string, string>;
  /** routers with more records than this page */
  more: string[];
}

export interface SessionViews {
  views: { router: string; live: SessionSummary | null; record: SessionRecord | null }[];
  routers: Record<string, string>;
}
