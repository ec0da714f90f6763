/** Serves the control protocol (control-protocol.ts) on a Unix socket, as JSON lines. */
import { serveJsonLines, type JsonLineServer } from '../util/json-lines.js';
import type { ControlRequest } from './control-protocol.js';

export type ControlHandler = (req: ControlRequest) => Promise<unknown> | unknown;

/** Listens on `path` (a stale socket file from a crashed node is replaced). */
export function listenControl(path: string, handler: ControlHandler): Promise<JsonLineServer> {
  return serveJsonLines(path, (req) => handler(req as unknown as ControlRequest), 'SVR_ERR_CONTROL_REQUEST');
}
