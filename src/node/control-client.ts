/** One request to a node's control socket, with a timeout and errors that say which socket failed. */
import { requestJsonLine } from '../util/json-lines.js';
import type { ControlRequest } from './control-protocol.js';

type Body = ControlRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export function request(socketPath: string, body: Body, timeoutMs = 5000): Promise<unknown> {
  return requestJsonLine(socketPath, body, {
    what: 'the node', connectCode: 'SVR_ERR_CONTROL_CONNECT', answerCode: 'SVR_ERR_CONTROL_REQUEST', timeoutMs,
    hints: { missing: 'the socket does not exist (is the node running?)', refused: 'nobody is listening (the node stopped or crashed)' },
  });
}
