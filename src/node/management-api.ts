/**
 * The node's management API over its life: started with the node when its router has a `management`
 * block, changed at each config reload, closed with the node. It serves the web UI's files at `/` too
 * (the page then shows this node alone, with a token of the block).
 *
 * `prepareManagement(block)` reads the files the block names (token files, TLS certificate and key) and refuses
 * the config (SVR_ERR_CONFIG_INVALID with the path of each unreadable file) before anything changes;
 * `apply(prepared)` then: new tokens only -> swapped in place (open connections keep working); another
 * address, port, TLS or metrics-auth -> a new listener (the old one closes; on the same address and port
 * it closes first, and comes back if the new one cannot listen); no block -> closed.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError, SvrError } from '../errors.js';
import type { Management } from '../model/config.js';
import { API_TOKEN_MIN_LENGTH } from '../model/defaults.js';
import type { ConfigProblem } from '../model/problems.js';
import type { ApiApp } from '../api/http/app.js';
import { StaticTokens, type Role } from '../api/http/auth.js';
import type { NodeApiContext } from '../api/context.js';
import { buildNodeApi } from '../api/node-api.js';
import { registerWebUi } from '../conductor/api/web-ui.js';

/** A management block with its files read. */
export interface PreparedManagement {
  management: Management;
  tokens: { name: string; role: Role; value: string }[];
  tls?: { key: Buffer; cert: Buffer };
}

type Log = (event: string, fields: Record<string, string | number | boolean>) => void;

/**
 * Reads the files a management block names (relative to `baseDir`, the config file's folder); throws
 * SVR_ERR_CONFIG_INVALID naming (by field path, `at` = the block's) each file that cannot be read or holds
 * no usable token. Nothing changes until `ManagementApi.apply`.
 */
export function prepareManagement(m: Management | undefined, at: string, baseDir: string): PreparedManagement | undefined {
  if (m === undefined) return undefined;
  const problems: ConfigProblem[] = [];
  // a few small files, read when a config is checked (start, reload): synchronously, inside the router's check
  const read = (file: string, path: string): Buffer | undefined => {
    try {
      return readFileSync(isAbsolute(file) ? file : resolve(baseDir, file));
    } catch (e) {
      problems.push({ path, message: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e))}` });
      return undefined;
    }
  };
  const tokens: PreparedManagement['tokens'] = [];
  for (const [i, t] of m.tokens.entries()) {
    if (t.token !== undefined) {
      tokens.push({ name: t.name, role: t.role, value: t.token });
      continue;
    }
    const path = `${at}.tokens[${i}].token-file`;
    const text = read(t.tokenFile!, path);
    if (text === undefined) continue;
    const value = text.toString('utf8').split(/\r?\n/)[0]!.trim();
    if (value.length < API_TOKEN_MIN_LENGTH || /\s/.test(value)) {
      problems.push({ path, message: `the first line of ${t.tokenFile} must be a token of at least ${API_TOKEN_MIN_LENGTH} characters without spaces` });
      continue;
    }
    tokens.push({ name: t.name, role: t.role, value });
  }
  const prepared: PreparedManagement = { management: m, tokens };
  if (m.tls !== undefined) {
    const cert = read(m.tls.certificate, `${at}.tls.certificate`);
    const key = read(m.tls.key, `${at}.tls.key`);
    if (cert !== undefined && key !== undefined) prepared.tls = { cert, key };
  }
  if (problems.length > 0) {
    const lines = problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
    throw new ConfigError('SVR_ERR_CONFIG_INVALID', `the management API's files (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines}`, { source: 'management', problems });
  }
  return prepared;
}

export class ManagementApi {
  private readonly auth = new StaticTokens();
  private app: ApiApp | undefined;
  private running: PreparedManagement | undefined;

  /** `context`: the node's API context, without metrics-auth (that comes from the block). */
  constructor(private readonly context: Omit<NodeApiContext, 'metricsAuth'>, private readonly log: Log) {}

  /** Where it listens (undefined when no API runs), e.g. for tests that pass port 0. */
  get address(): { address: string; port: number } | undefined {
    const a = this.app?.server.address();
    return a !== undefined && a !== null && typeof a === 'object' ? { address: a.address, port: a.port } : undefined;
  }

  /** Starts, changes or stops the API to match `next`. Throws SVR_ERR_API_START when it cannot listen (the old API stays). */
  async apply(next: PreparedManagement | undefined): Promise<void> {
    const cur = this.running;
    if (next === undefined) {
      await this.close();
      return;
    }
    this.auth.replace(next.tokens);
    const port = this.address?.port;
    if (cur !== undefined && port !== undefined && sameListener(cur, next, port)) {
      this.running = next;
      if (!isDeepStrictEqual(cur.tokens.map((t) => [t.name, t.role]), next.tokens.map((t) => [t.name, t.role]))) this.log('api.tokens', { tokens: next.tokens.length });
      return;
    }
    const old = this.app;
    const bound = this.address;
    const samePort = cur !== undefined && bound !== undefined && cur.management.address === next.management.address && next.management.port === bound.port;
    if (old !== undefined && samePort) await old.close();
    try {
      this.app = await this.listen(next);
      this.running = next;
    } catch (e) {
      if (old !== undefined && samePort && cur !== undefined) {
        this.auth.replace(cur.tokens);
        this.app = await this.listen(cur).catch(() => undefined);
      } else if (cur !== undefined) {
        this.auth.replace(cur.tokens);
      }
      throw e;
    }
    if (old !== undefined && !samePort) await old.close();
  }

  async close(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    this.running = undefined;
    if (app !== undefined) {
      await app.close();
      this.log('api.closed', {});
    }
  }

  private async listen(p: PreparedManagement): Promise<ApiApp> {
    const m = p.management;
    const app = await buildNodeApi({ ...this.context, metricsAuth: m.metricsAuth }, {
      auth: this.auth, log: this.log, ...(p.tls !== undefined ? { tls: { key: p.tls.key, cert: p.tls.cert } } : {}),
    });
    // the web UI's files (docs/web-ui.md), as the conductor serves them: public, the page logs in with a token
    await app.register(async (ui) => {
      ui.addHook('onRoute', (route) => {
        route.config = { ...route.config, access: 'public' };
      });
      await registerWebUi(ui);
    });
    try {
      await app.listen({ host: m.address, port: m.port });
    } catch (e) {
      await app.close().catch(() => undefined);
      const code = (e as NodeJS.ErrnoException).code;
      const hint = code === 'EADDRINUSE' ? ' (another process listens there: change management.port)'
        : code === 'EADDRNOTAVAIL' ? ' (no interface of this host has that address: change management.address)' : '';
      throw new SvrError('SVR_ERR_API_START', `cannot listen on ${m.address}:${m.port}: ${e instanceof Error ? e.message : String(e)}${hint}`);
    }
    const a = app.server.address();
    const port = a !== null && typeof a === 'object' ? a.port : m.port;
    this.log('api.listening', { url: `${p.tls !== undefined ? 'https' : 'http'}://${m.address.includes(':') ? `[${m.address}]` : m.address}:${port}`, tokens: p.tokens.length, metrics: m.metricsAuth });
    return app;
  }
}

/** Only the tokens differ: the listener stays. */
function sameListener(a: PreparedManagement, b: PreparedManagement, boundPort: number): boolean {
  const m = a.management;
  const n = b.management;
  return m.address === n.address && n.port === boundPort && m.metricsAuth === n.metricsAuth
    && isDeepStrictEqual(a.tls?.cert, b.tls?.cert) && isDeepStrictEqual(a.tls?.key, b.tls?.key);
}
