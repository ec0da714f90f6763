/**
 * What the node gives its API: the router (control's one interface to the data path and its views), the
 * node's own facts and acts (stats, the running config, reload), the alarm registry and the metrics. The
 * API has no logic of its own: each route calls one of these.
 */
import type { Router } from '../control/router.js';
import type { AlarmRegistry } from '../telemetry/alarms/registry.js';
import type { NodeMetrics } from '../telemetry/metrics.js';
import type { Gate } from './http/app.js';
import type { NodeStats } from './schemas.js';

export interface NodeApiContext {
  router: Router;
  node: { name: string; version: string; startedAt: number };
  /** what `svr show stats` shows */
  stats(): NodeStats;
  /** the running config in its file form, secrets redacted */
  config(): Record<string, unknown>;
  /** re-reads the config file (as SIGHUP and `svr node reload`); `by` names the caller for the log */
  reload(by: string): Promise<{ applied: boolean }>;
  alarms: AlarmRegistry;
  metrics: NodeMetrics;
  /** `none`: /metrics without a token */
  metricsAuth: 'token' | 'none';
  /** requests that ask the data path (session pages, scrapes) pass this gate: bounded in number and time */
  dataPath: Gate;
}
