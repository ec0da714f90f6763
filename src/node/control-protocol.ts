/**
 * The node's local control socket: newline-delimited JSON over a Unix socket, one request per line,
 * one response per line, matched by id. Plain JSON so that `socat - UNIX:/run/svrouter/r1.sock` works
 * for troubleshooting.
 *   request:  {"id":1,"method":"show","what":"sessions"}
 *   response: {"id":1,"result":[...]}   or   {"id":1,"error":{"code":"SVR_ERR_...","message":"..."}}
 */
export const SHOW_WHAT = ['sessions', 'peers', 'security', 'services', 'tenants', 'plugins', 'stats', 'config'] as const;
export type ShowWhat = (typeof SHOW_WHAT)[number];

export type ControlRequest =
  | { id: number; method: 'show'; what: ShowWhat }
  | { id: number; method: 'stop' }
  | { id: number; method: 'reload' }
  | { id: number; method: 'ping' };

export type ControlResponse =
  | { id: number; result: unknown }
  | { id: number; error: { code: string; message: string } };
