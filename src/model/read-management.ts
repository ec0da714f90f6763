/**
 * The `management` block of a router (the node's management API):
 *
 *   management:
 *     address: 127.0.0.1          # listen address, default 127.0.0.1
 *     port: 8443                  # default 8443
 *     tls: { certificate: api.crt, key: api.key }   # PEM files; absent = plain HTTP
 *     tokens:
 *       - { name: ops, role: admin, token-file: ops.token }
 *       - { name: prometheus, role: read-only, token: "at least 16 characters" }
 *     metrics-auth: token         # token (default) | none: /metrics without a token
 *     session-capacity: 1000000   # the session-table alarm's 100 % (default: the router's session-capacity)
 *
 * Files are only named here (relative to the config file's folder); the node reads them when it starts the
 * API and at each reload, and refuses the config (path of the field) when one cannot be read.
 */
import type { ApiRole, ApiToken, Management } from './config.js';
import { API_TOKEN_MIN_LENGTH, MANAGEMENT_DEFAULTS } from './defaults.js';
import { readList, type Raw, type ReadContext } from './fields.js';
import { addressProblem } from './formats.js';
import { NAME_RULES, isPlainName } from './names.js';
import { describe, type FieldPath } from './problems.js';

export const MANAGEMENT_KEYS = ['address', 'port', 'tls', 'tokens', 'metrics-auth', 'session-capacity'] as const;
export const TLS_KEYS = ['certificate', 'key'] as const;
export const TOKEN_KEYS = ['name', 'role', 'token', 'token-file'] as const;
const ROLES: readonly ApiRole[] = ['admin', 'read-only'];

export function readManagement(o: Raw, path: FieldPath, ctx: ReadContext): Management | undefined {
  const value = o['management'];
  if (value === undefined || value === null) return undefined;
  const { r } = ctx;
  const at = [...path, 'management'];
  const m = r.object(value, at, 'a management mapping (address, port, tls, tokens, metrics-auth, session-capacity)', MANAGEMENT_KEYS);
  if (m === undefined) return undefined;
  const address = r.optionalString(m, 'address', at, 'an IPv4 or IPv6 address to listen on', (s) => addressProblem(s) === undefined) ?? MANAGEMENT_DEFAULTS.address;
  const port = r.integer(m, 'port', at, 1, 65535, MANAGEMENT_DEFAULTS.port);
  const tls = readTls(m, at, ctx);
  const tokens = readList(ctx, m, 'tokens', at, 'a list of tokens ({ name, role, token | token-file })', (v, p) => readToken(v, p, ctx));
  const seen = new Set<string>();
  for (const t of tokens) {
    if (seen.has(t.name)) r.problems.add([...(ctx.origins.get(t) ?? [...at, 'tokens']), 'name'], `duplicate token name ${describe(t.name)}`);
    seen.add(t.name);
  }
  const metricsAuth = r.oneOf(m, 'metrics-auth', at, ['token', 'none'] as const, MANAGEMENT_DEFAULTS.metricsAuth);
  const sessionCapacity = m['session-capacity'] === undefined ? undefined : r.integer(m, 'session-capacity', at, 1, 1_000_000_000, 0, ' (sessions)');
  const out: Management = { address, port, tokens, metricsAuth };
  if (tls !== undefined) out.tls = tls;
  if (sessionCapacity !== undefined) out.sessionCapacity = sessionCapacity;
  return out;
}

function readTls(m: Raw, path: FieldPath, { r }: ReadContext): Management['tls'] {
  const value = m['tls'];
  if (value === undefined || value === null) return undefined;
  const at = [...path, 'tls'];
  const o = r.object(value, at, 'a tls mapping ({ certificate, key }: PEM files)', TLS_KEYS);
  if (o === undefined) return undefined;
  const certificate = r.string(o, 'certificate', at, 'the path of a PEM certificate file', (s) => s.trim() !== '');
  const key = r.string(o, 'key', at, 'the path of a PEM private key file', (s) => s.trim() !== '');
  return certificate === undefined || key === undefined ? undefined : { certificate, key };
}

function readToken(value: unknown, path: FieldPath, { r }: ReadContext): ApiToken | undefined {
  const o = r.object(value, path, 'a token mapping ({ name, role, token | token-file })', TOKEN_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, NAME_RULES.plain, isPlainName);
  const role = r.oneOf(o, 'role', path, ROLES, undefined);
  const token = r.optionalString(o, 'token', path, `a token of at least ${API_TOKEN_MIN_LENGTH} characters without spaces`, (s) => s.length >= API_TOKEN_MIN_LENGTH && !/\s/.test(s));
  const tokenFile = r.optionalString(o, 'token-file', path, 'the path of a file whose first line is the token', (s) => s.trim() !== '');
  const has = (k: string): boolean => o[k] !== undefined && o[k] !== null;
  if (has('token') === has('token-file')) {
    r.problems.add(path, 'a token needs exactly one of `token` (the value) or `token-file` (a file holding it)');
  }
  if (name === undefined || role === undefined) return undefined;
  const out: ApiToken = { name, role };
  if (token !== undefined) out.token = token;
  if (tokenFile !== undefined) out.tokenFile = tokenFile;
  return out;
}
