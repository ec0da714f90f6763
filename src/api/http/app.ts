/**
 * The HTTP foundation of svrouter's APIs (the node's, and the conductor's when it moves onto it): one
 * fastify app with
 * 1. limits that keep a request from holding the process: body size, header and request timeouts, path
 *    parameter length, and a `Gate` for handlers that ask the data path (busy -> 503 with Retry-After);
 * 2. bearer-token auth with roles, declared per route (`config.access`, see auth.ts);
 * 3. coded errors (errors.ts): 400 naming the parameter, 401, 403, 404, 503;
 * 4. TypeBox schemas (typebox.ts) that validate requests, serialize replies and build the OpenAPI 3.1
 *    document at `openapiPath`, browsable at /documentation (Swagger UI). The API's description is public
 *    (it holds no node data); each route's role shows in its description and `security`.
 * Query strings are strict: an unknown parameter is a 400, not silently ignored.
 *
 * @example
 *   const app = await createApiApp({ title: 'svrouter node r1', version: '1', auth: new StaticTokens(tokens) });
 *   app.withTypeProvider<TypeBoxProvider>().get('/api/v1/ping', { config: { access: 'public' } }, async () => ({ ok: true }));
 *   await app.listen({ host: '127.0.0.1', port: 8443 });
 */
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { SvrError, type ErrorCode } from '../../errors.js';
import { addBearerAuth, type Access, type Authenticator } from './auth.js';
import { addErrorMapping, ErrorBody, MAX_PARAM_LENGTH, routerError } from './errors.js';

export interface ApiAppOptions {
  /** OpenAPI info */
  title: string;
  version: string;
  description?: string;
  auth: Authenticator;
  /** HTTPS: PEM key and certificate (and more node:tls options, e.g. `ca`, `requestCert`) */
  tls?: { key: string | Buffer; cert: string | Buffer; [option: string]: unknown };
  /** statuses of the app's own error codes (the API's and the config's are built in) */
  statusOf?: Partial<Record<ErrorCode, number>>;
  /** bytes; default 64 KiB */
  bodyLimit?: number;
  /** ms to receive a whole request, and idle ms of a connection; default 10 s */
  requestTimeoutMs?: number;
  /** default /api/v1/openapi.json */
  openapiPath?: string;
  /** default /documentation */
  docsPrefix?: string;
  log?: (event: string, fields: Record<string, string | number | boolean>) => void;
}

export type ApiApp = FastifyInstance;

const ROLE_NOTE: Record<Access, string> = {
  public: 'No token needed.',
  'read-only': 'Needs a bearer token (read-only or admin).',
  admin: 'Needs an admin bearer token.',
};

export async function createApiApp(o: ApiAppOptions): Promise<ApiApp> {
  const timeout = o.requestTimeoutMs ?? 10_000;
  const openapiPath = o.openapiPath ?? '/api/v1/openapi.json';
  const docsPrefix = o.docsPrefix ?? '/documentation';
  const log = o.log ?? (() => {});
  const app = Fastify({
    ...(o.tls !== undefined ? { https: o.tls } : {}),
    logger: false,
    bodyLimit: o.bodyLimit ?? 64 * 1024,
    connectionTimeout: timeout,
    requestTimeout: timeout,
    keepAliveTimeout: 5_000,
    // longer than every path parameter's schema allows (255), so that the schema names it; longer still, or a bad
    // %-escape: a coded 400 from the router (frameworkErrors), not fastify's own body
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: routerError,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, useDefaults: true, allErrors: false } },
  }) as unknown as FastifyInstance;

  // every route: its role in its OpenAPI description (once: a GET's HEAD route shares its schema); the docs' own routes are public
  const described = new WeakSet<object>();
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith(docsPrefix)) route.config = { ...route.config, access: 'public' };
    const access: Access = route.config?.access ?? 'read-only';
    if (route.schema === undefined || route.schema.hide === true || described.has(route.schema)) return;
    described.add(route.schema);
    const s = route.schema as { description?: string; security?: unknown[] };
    s.description = [s.description, ROLE_NOTE[access]].filter((x) => x !== undefined).join(' ');
    if (access === 'public') s.security = [];
  });
  await app.register(swagger, {
    // components keep their $id as name (Error, Session, ...)
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json['$id'] === 'string' ? json['$id'] : `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: { title: o.title, version: o.version, ...(o.description !== undefined ? { description: o.description } : {}) },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  // the UI's own strict CSP, less what breaks it here: no https upgrade of its assets on a plain-HTTP node,
  // no outside validator (a node may have no way out)
  await app.register(swaggerUi, {
    routePrefix: docsPrefix, uiConfig: { deepLinking: false }, validatorUrl: false, staticCSP: true,
    transformStaticCSP: (header) => header.replace(' upgrade-insecure-requests;', '').replace(' validator.swagger.io', '').replaceAll(' https:', ''),
  });
  app.addSchema(ErrorBody);
  addBearerAuth(app, o.auth);
  addErrorMapping(app, o.statusOf ?? {}, log);
  app.get(openapiPath, { schema: { hide: true }, config: { access: 'public' } }, async () => app.swagger());
  return app;
}

/**
 * At most `max` handlers at a time through the gate (the rest: 503 SVR_ERR_API_BUSY), each given at most
 * `timeoutMs` (then 503; what it started finishes in the background). For handlers that ask the data path.
 */
export class Gate {
  private inFlight = 0;

  constructor(private readonly max = 2, private readonly timeoutMs = 5_000) {}

  async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.max) throw new SvrError('SVR_ERR_API_BUSY', `${what}: ${this.inFlight} such requests are running already; retry in a second`);
    this.inFlight++;
    // the slot is held until the work itself ends, also when its caller stopped waiting
    const work = Promise.resolve().then(fn).finally(() => this.inFlight--);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SvrError('SVR_ERR_API_BUSY', `${what}: no answer within ${this.timeoutMs} ms; retry later`)), this.timeoutMs);
    });
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
      work.catch(() => undefined);
    }
  }
}
