/**
 * `svr show ... --api URL`: reads a node through its management API instead of its control socket. The
 * token comes from --token, --token-file or $SVR_API_TOKEN; an HTTPS node with a certificate the system
 * does not trust needs --ca (its certificate or the CA's, PEM). Pages (sessions, events) are followed to
 * the end, so the result is what the control socket would answer.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SvrError } from '../errors.js';

export interface ApiTarget {
  /** http(s)://host:port */
  base: URL;
  token?: string;
  /** PEM to trust (HTTPS) */
  ca?: Buffer;
  timeoutMs: number;
}

export interface ApiTargetOptions {
  api: string;
  token?: string;
  tokenFile?: string;
  ca?: string;
}

/** The API to call, from the command line; throws SVR_ERR_CLI_OPTION naming the bad option. */
export function apiTarget(o: ApiTargetOptions, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  let base: URL;
  try {
    base = new URL(o.api);
  } catch {
    throw new SvrError('SVR_ERR_CLI_OPTION', `--api ${o.api}: expected a URL such as https://198.18.61.2:8443`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new SvrError('SVR_ERR_CLI_OPTION', `--api ${o.api}: expected http:// or https://`);
  if (o.token !== undefined && o.tokenFile !== undefined) throw new SvrError('SVR_ERR_CLI_OPTION', 'give --token or --token-file, not both');
  const read = (file: string, option: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new SvrError('SVR_ERR_CLI_OPTION', `${option} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  };
  const token = o.tokenFile !== undefined ? read(o.tokenFile, '--token-file').toString('utf8').split(/\r?\n/)[0]!.trim() : o.token ?? env['SVR_API_TOKEN'];
  const t: ApiTarget = { base, timeoutMs: 10_000 };
  if (token !== undefined && token !== '') t.token = token;
  if (o.ca !== undefined) t.ca = read(o.ca, '--ca');
  return t;
}

/** GET `path` (with query); the JSON answer, or SVR_ERR_API_CALL with the node's coded error. */
export function apiGet(t: ApiTarget, path: string, query: Record<string, string | number | undefined> = {}): Promise<unknown> {
  const url = new URL(path, t.base);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (t.token !== undefined) headers['authorization'] = `Bearer ${t.token}`;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'GET', headers, timeout: t.timeoutMs, ...(t.ca !== undefined ? { ca: t.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300 && body !== undefined) return resolve(body);
        const coded = body as { code?: string; message?: string } | undefined;
        const detail = coded?.code !== undefined ? `${coded.code}: ${coded.message ?? ''}` : text.slice(0, 200);
        const hint = status === 401 ? ' (pass --token or --token-file, or set SVR_API_TOKEN)' : '';
        reject(new SvrError('SVR_ERR_API_CALL', `GET ${url.pathname} on ${t.base.origin}: HTTP ${status}: ${detail}${hint}`, { status, body }));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${t.timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const hint = e.code === 'ECONNREFUSED' ? ' (is the node running with a management block on this address and port?)'
        : e.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || e.code === 'SELF_SIGNED_CERT_IN_CHAIN' || e.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ? ' (pass --ca with the node\'s certificate)' : '';
      reject(new SvrError('SVR_ERR_API_CALL', `GET ${url.pathname} on ${t.base.origin}: ${e.message}${hint}`));
    });
    req.end();
  });
}

/** Every item of a paged route (`{ items, next }`), following `next` as `nextParam`; at most `maxPages` pages. */
export async function apiGetAll(t: ApiTarget, path: string, nextParam: string, query: Record<string, string | number | undefined> = {}, maxPages = 1000): Promise<unknown[]> {
  const out: unknown[] = [];
  let next: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const r = (await apiGet(t, path, { ...query, limit: 1000, ...(next !== undefined ? { [nextParam]: next } : {}) })) as { items: unknown[]; next?: string };
    out.push(...r.items);
    next = r.next;
    if (next === undefined) break;
  }
  return out;
}
