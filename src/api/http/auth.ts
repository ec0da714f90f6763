/**
 * Who may call what: every route declares its access in its `config` (`public`, `read-only` or `admin`;
 * a route that declares nothing needs a read-only token), and one onRequest hook checks the bearer token
 * (RFC 6750) against an `Authenticator` before anything else runs. No token or an unknown one: 401
 * SVR_ERR_API_AUTH with `WWW-Authenticate: Bearer`; a read-only token on an admin route: 403
 * SVR_ERR_API_FORBIDDEN. An admin token may do everything a read-only one may.
 *
 * Authenticators: `StaticTokens` (the node: tokens from its config, kept as SHA-256 digests and compared in
 * constant time); any other `verify(token)` (e.g. the conductor's JWTs) plugs in the same way.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SvrError } from '../../errors.js';

export type Role = 'admin' | 'read-only';
/** What a route needs: nothing (`public`), any token (`read-only`) or an admin token. */
export type Access = 'public' | Role;

export interface Principal {
  /** the token's (or user's) name, for the log */
  name: string;
  role: Role;
}

export interface Authenticator {
  /** The principal a bearer token stands for, or undefined when the token is not valid. */
  verify(token: string): Principal | undefined | Promise<Principal | undefined>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** who may call this route; default `read-only` (a token is needed) */
    access?: Access;
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Static bearer tokens with roles (the node's `management.tokens`); `replace` swaps them at a config reload. */
export class StaticTokens implements Authenticator {
  private tokens: { name: string; role: Role; digest: Buffer }[] = [];

  constructor(tokens: readonly { name: string; role: Role; value: string }[] = []) {
    this.replace(tokens);
  }

  replace(tokens: readonly { name: string; role: Role; value: string }[]): void {
    this.tokens = tokens.map((t) => ({ name: t.name, role: t.role, digest: digest(t.value) }));
  }

  verify(token: string): Principal | undefined {
    const d = digest(token);
    let found: Principal | undefined;
    // every token is compared (no early exit), each in constant time
    for (const t of this.tokens) if (timingSafeEqual(d, t.digest) && found === undefined) found = { name: t.name, role: t.role };
    return found;
  }
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** The principal of an authenticated request (undefined on public routes). */
export function principalOf(req: FastifyRequest): Principal | undefined {
  return principals.get(req);
}

/** The access a route declared (its config), `read-only` when none. */
function accessOf(req: FastifyRequest): Access {
  return req.routeOptions.config.access ?? 'read-only';
}

/** Adds the token check to every route of `app` (unknown routes fall through to the 404 handler). */
export function addBearerAuth(app: FastifyInstance, auth: Authenticator): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.url === undefined) return; // no such route: 404, not 401
    const access = accessOf(req);
    if (access === 'public') return;
    const route = `${req.method} ${req.routeOptions.url}`;
    const token = /^Bearer[ ]+([!-~]+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined) {
      void reply.header('WWW-Authenticate', 'Bearer realm="svrouter"');
      throw new SvrError('SVR_ERR_API_AUTH', `${route} needs a bearer token (header "Authorization: Bearer <token>"; tokens are configured under management.tokens)`);
    }
    const p = await auth.verify(token);
    if (p === undefined) {
      void reply.header('WWW-Authenticate', 'Bearer realm="svrouter", error="invalid_token"');
      throw new SvrError('SVR_ERR_API_AUTH', `${route}: the bearer token is not valid here (not one of management.tokens)`);
    }
    if (access === 'admin' && p.role !== 'admin') {
      throw new SvrError('SVR_ERR_API_FORBIDDEN', `${route} needs an admin token; token "${p.name}" is ${p.role}`, { role: p.role, needs: 'admin' });
    }
    principals.set(req, p);
  });
}
