/**
 * The conductor's HTTPS API (fastify): REST under /api/v1 with TypeBox schemas and an OpenAPI document,
 * GraphQL at /api/v1/graphql (queries, mutations, subscriptions: graphql.ts), JWT login with roles
 * (admin writes config, read-only reads), and the routers' channel (WebSocket on mutual TLS) on the
 * same port. The TLS server asks for a client certificate but does not require one:
 * people log in with a password, routers present the certificate they got at enrolment.
 *
 * A standby conductor answers /status and /ca, lets people log in, serves the web UI's files (web-ui.ts),
 * and answers every other /api route with 503 SVR_ERR_CONDUCTOR_STANDBY naming the leader; routers that
 * reach it are told where the leader is.
 * Kept separable: it only calls the conductor's parts (lifecycle, fleet, store) given in ApiContext.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import type { TLSSocket } from 'node:tls';
import { SvrError, isSvrError, type ErrorCode } from '../../errors.js';
import type { Alarms } from '../alarms.js';
import type { FabricEvents } from '../events.js';
import type { FabricHistory } from '../fabric-history.js';
import type { Fleet } from '../fleet.js';
import type { Lifecycle } from '../lifecycle.js';
import type { KeyAndCertificate } from '../pki/certificates.js';
import type { AuthorityStore, Role } from '../store/authority-store.js';
import type { RouterQueries } from '../router-queries.js';
import type { Leadership } from '../store/leadership.js';
import { Tokens, type Principal } from './auth.js';
import { registerChannel } from './channel.js';
import { registerGraphql } from './graphql.js';
import { registerConductorRoutes } from './routes-conductor.js';
import { registerConfigRoutes } from './routes-config.js';
import { registerFabricRoutes } from './routes-fabric.js';
import { registerWebUi } from './web-ui.js';
import { ErrorBody } from './schemas.js';

export interface ApiContext {
  store: AuthorityStore;
  leadership: Leadership;
  lifecycle: Lifecycle;
  fleet: Fleet;
  alarms: Alarms;
  /** live changes for GraphQL subscriptions */
  events: FabricEvents;
  /** path quality, session counts and alarm events kept from the routers' reports */
  history: FabricHistory;
  /** questions to routers over their channels (sessions) */
  queries: RouterQueries;
  ca: KeyAndCertificate;
  tokens: Tokens;
  /** this conductor's URL */
  url: string;
  /** every conductor URL routers should know */
  conductors: () => string[];
  log: (event: string, fields: Record<string, string | number | boolean>) => void;
}

export interface ServerTls {
  key: string;
  cert: string;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  SVR_ERR_CONDUCTOR_AUTH: 401,
  SVR_ERR_CONDUCTOR_FORBIDDEN: 403,
  SVR_ERR_CONDUCTOR_ENROL: 403,
  SVR_ERR_CONDUCTOR_NOT_FOUND: 404,
  SVR_ERR_CONDUCTOR_CONFLICT: 409,
  SVR_ERR_CONDUCTOR_NO_CHANGE: 409,
  SVR_ERR_CONFIG_INVALID: 422,
  SVR_ERR_CONFIG_ROUTER: 422,
  SVR_ERR_CONDUCTOR_ROUTER_REFUSED: 422,
  SVR_ERR_CONFIG_PARSE: 400,
  SVR_ERR_CONDUCTOR_PATH: 400,
  SVR_ERR_CONDUCTOR_REQUEST: 400,
  SVR_ERR_CONDUCTOR_PKI: 400,
  SVR_ERR_CONDUCTOR_STANDBY: 503,
};

/** The HTTP status of an error code (REST and GraphQL): 500 for codes without one. */
export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** Routes a standby still answers. */
const STANDBY_ROUTES = new Set(['/api/v1/status', '/api/v1/ca', '/api/v1/login', '/api/v1/openapi.json']);

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export async function buildConductorApi(ctx: ApiContext, tls: ServerTls): Promise<FastifyInstance> {
  const app = Fastify({
    https: { key: tls.key, cert: tls.cert, ca: ctx.ca.certPem, requestCert: true, rejectUnauthorized: false },
    logger: false,
    bodyLimit: 8 * 1024 * 1024,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
  }) as unknown as FastifyInstance;
  await app.register(swagger, {
    openapi: {
      info: { title: 'svrouter conductor API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(websocket, { options: { maxPayload: 16 * 1024 * 1024 } });
  app.addSchema(ErrorBody);

  app.setErrorHandler((error: unknown, _req: FastifyRequest, reply: FastifyReply) => {
    if (isSvrError(error)) {
      const body: { code: string; message: string; data?: unknown } = { code: error.code, message: error.message };
      if (error.data !== undefined) body.data = error.data;
      return reply.status(httpStatusOf(error.code)).send(body);
    }
    const e = error as { validation?: unknown; message?: string; statusCode?: number };
    if (e.validation !== undefined) return reply.status(400).send({ code: 'SVR_ERR_CONDUCTOR_REQUEST', message: `bad request: ${e.message ?? ''}` });
    ctx.log('api.error', { error: e.message ?? String(error) });
    return reply.status(e.statusCode ?? 500).send({ code: 'SVR_ERR_CONDUCTOR_REQUEST', message: e.message ?? String(error) });
  });

  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0]!;
    if (!ctx.leadership.isLeader && path.startsWith('/api/') && !STANDBY_ROUTES.has(path) && path !== '/api/v1/routers/channel') {
      throw new SvrError('SVR_ERR_CONDUCTOR_STANDBY', `this conductor (${ctx.url}) is a standby; the leader is ${ctx.leadership.leaderUrl ?? 'not elected yet'}`, { leader: ctx.leadership.leaderUrl ?? null });
    }
  });

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  registerConfigRoutes(app, ctx);
  registerConductorRoutes(app, ctx);
  registerFabricRoutes(app, ctx);
  registerChannel(app, ctx);
  await registerGraphql(app, ctx);
  await registerWebUi(app);
  return app;
}

/** A preHandler: the request must carry a valid token; `role` admin when given. */
export function authorize(ctx: ApiContext, role?: Role) {
  return async (req: FastifyRequest): Promise<void> => {
    const p = await ctx.tokens.verify(req.headers.authorization);
    if (role === 'admin' && p.role !== 'admin') {
      throw new SvrError('SVR_ERR_CONDUCTOR_FORBIDDEN', `user ${p.user} is ${p.role}: ${req.method} ${req.url.split('?')[0]} needs an admin`);
    }
    req.principal = p;
  };
}

export function remoteOf(req: FastifyRequest): string {
  const s = req.raw.socket as TLSSocket;
  return `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`;
}
