/** One request to a node's control socket, with a timeout and errors that say which socket failed. */
import { connect } from 'node:net';
import { SvrError } from '../errors.js';
import type { ControlRequest, ControlResponse } from './control-protocol.js';

type Body = ControlRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export function request(socketPath: string, body: Body, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new SvrError('SVR_ERR_CONTROL_CONNECT', `no answer from the node at ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify({ id: 1, ...body }) + '\n'));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      const res = JSON.parse(buf.slice(0, nl)) as ControlResponse;
      if ('error' in res) reject(new SvrError('SVR_ERR_CONTROL_REQUEST', `${res.error.code}: ${res.error.message}`));
      else resolve(res.result);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ENOENT' ? 'the socket does not exist (is the node running?)'
        : e.code === 'ECONNREFUSED' ? 'nobody is listening (the node stopped or crashed)' : e.message;
      reject(new SvrError('SVR_ERR_CONTROL_CONNECT', `cannot reach the node at ${socketPath}: ${why}`));
    });
  });
}
