/**
 * JSON over HTTPS with a pinned CA (and, for routers, a client certificate): the CLI and the router
 * agent talk to conductors with it. node:https, since fetch cannot take a CA of its own.
 */
import { request } from 'node:https';
import { SvrError, type ErrorCode } from '../../errors.js';

export interface HttpsOptions {
  /** PEM of the CA to trust; absent with `insecure`: no verification (only to fetch a CA that is then pinned) */
  ca?: string;
  insecure?: boolean;
  key?: string;
  cert?: string;
  token?: string;
  timeoutMs?: number;
}

export interface ApiErrorBody {
  code: string;
  message: string;
  data?: unknown;
}

/** A conductor's answer that is not 2xx, as an SvrError with the conductor's code and data. */
export class ConductorApiError extends SvrError {
  constructor(readonly status: number, body: ApiErrorBody) {
    // a body without our code (fastify's own errors, a proxy) is a refused request, with its HTTP status
    const ours = typeof body.code === 'string' && body.code.startsWith('SVR_ERR_');
    super((ours ? body.code : 'SVR_ERR_CONDUCTOR_REQUEST') as ErrorCode, ours ? body.message : `HTTP ${status}: ${body.message}`, body.data);
  }
}

export function httpsJson<T>(url: string, method: string, body: unknown, o: HttpsOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (o.token !== undefined) headers['authorization'] = `Bearer ${o.token}`;
    const req = request(url, {
      method, headers, ca: o.ca, key: o.key, cert: o.cert,
      rejectUnauthorized: o.insecure !== true,
      timeout: o.timeoutMs ?? 15_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(parsed as T);
        else if (parsed !== null && typeof parsed === 'object' && typeof (parsed as ApiErrorBody).message === 'string') reject(new ConductorApiError(status, parsed as ApiErrorBody));
        else reject(new SvrError('SVR_ERR_CONDUCTOR_REQUEST', `${method} ${url}: HTTP ${status} ${text.slice(0, 200)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${(o.timeoutMs ?? 15_000) / 1000} s`)));
    req.on('error', (e) => reject(new SvrError('SVR_ERR_CONDUCTOR_CONNECT', `cannot reach the conductor at ${url}: ${e.message}`)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
