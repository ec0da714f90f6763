/**
 * What the node gives its API: the router (control's one interface to the data path and its views), the
 * node's own facts and acts (stats, the running config, reload), the alarm registry and the metrics. The
 * API has no logic of its own: each route calls one of these.
 */

/** The node's session history (its session records in LevelDB), as `svr inspect` and `svr explain --session` read it. */
export interface SessionHistoryAccess {
  /** one page; SVR_ERR_HISTORY_QUERY names a bad parameter, SVR_ERR_HISTORY_STORE when the node keeps no history */
  query(q: HistoryQuery): Promise<HistoryPage>;
  /** the latest record of the session, undefined when none */
  get(sessionId: string): Promise<SessionRecord | undefined>;
  /** why a recorded session went where it went (then) and what the router would do now; undefined without a record */
  explain(sessionId: string): Promise<{ record: SessionRecord; now?: Explanation; story: string[] } | undefined>;
}
import type { Explanation } from '../control/explain.js';
import type { Router } from '../control/router.js';
import type { HistoryPage, HistoryQuery } from '../telemetry/history/query.js';
import type { SessionRecord } from '../telemetry/record.js';
import type { AlarmRegistry } from '../telemetry/alarms/registry.js';
import type { NodeMetrics } from '../telemetry/metrics.js';
import type { Gate } from './http/app.js';
import type { BgpReply, FibReply, NodeStats, RibReply } from './schemas.js';

export interface NodeApiContext {
  router: Router;
  node: { name: string; version: string; startedAt: number };
  /** what `svr show stats` shows */
  stats(): NodeStats;
  /** the running config in its file form, secrets redacted */
  config(): Record<string, unknown>;
  /** re-reads the config file (as SIGHUP and `svr node reload`); `by` names the caller for the log */
  reload(by: string): Promise<{ applied: boolean }>;
  history: SessionHistoryAccess;
  alarms: AlarmRegistry;
  metrics: NodeMetrics;
  /** `none`: /metrics without a token */
  metricsAuth: 'token' | 'none';
  /** the RIB, the service FIB and BGP (`svr show rib|fib|bgp`); `bgp` is undefined without a routing block */
  /** rib/fib: `vrf` narrows them to one VRF (an unknown one: SVR_ERR_CONTROL_REQUEST naming the VRFs) */
  routing: { rib(vrf?: string): RibReply; fib(vrf?: string): FibReply; bgp(): Promise<BgpReply | undefined> };
  /** requests that ask the data path (session pages, scrapes) pass this gate: bounded in number and time */
  dataPath: Gate;
}
