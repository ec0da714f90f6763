/**
 * The node's local control socket: newline-delimited JSON over a Unix socket, one request per line,
 * one response per line, matched by id. Plain JSON so that `socat - UNIX:/run/svrouter/r1.sock` works
 * for troubleshooting.
 *   request:  {"id":1,"method":"show","what":"sessions"}
 *   response: {"id":1,"result":[...]}   or   {"id":1,"error":{"code":"SVR_ERR_...","message":"..."}}
 */
import type { ExplainQuery } from '../control/explain.js';
import type { HistoryQuery } from '../telemetry/history/query.js';

export const SHOW_WHAT = ['sessions', 'peers', 'security', 'services', 'tenants', 'plugins', 'stats', 'config', 'alarms', 'events', 'rib', 'fib', 'bgp', 'ha'] as const;
export type ShowWhat = (typeof SHOW_WHAT)[number];

export type ControlRequest =
  /** `since` (epoch ms): events at or after it (what = events); `vrf`: only this VRF (what = rib, fib); `limit` (what = sessions): only the oldest
   *  `limit` sessions are listed, and the answer is a SessionsShown (a node under a session flood answers
   *  in milliseconds instead of serializing its whole table) */
  | { id: number; method: 'show'; what: ShowWhat; since?: number; vrf?: string; limit?: number }
  | { id: number; method: 'stop' }
  | { id: number; method: 'reload' }
  /** a router pair's active node hands over to its standby (`svr node switchover`) */
  | { id: number; method: 'switchover' }
  /** a plugin's store (`svr inspect plugin`): entries starting with `prefix`, at most `limit` */
  | { id: number; method: 'plugin-store'; plugin: string; prefix?: string; limit?: number }
  | { id: number; method: 'ping' }
  /** one page of the session history (telemetry/history/query.ts) */
  | { id: number; method: 'history'; query: HistoryQuery }
  /** one session's latest record (its whole story), or null */
  | { id: number; method: 'session'; sessionId: string }
  /** `svr explain`: a flow's first packet now, or a recorded session then and now */
  | { id: number; method: 'explain'; query: ExplainQuery }
  | { id: number; method: 'explain'; sessionId: string };

/** `show sessions` with a limit: the oldest `limit` sessions, and how many are active. */
export interface SessionsShown<T = unknown> {
  sessions: T[];
  active: number;
}

export type ControlResponse =
  | { id: number; result: unknown }
  | { id: number; error: { code: string; message: string } };
