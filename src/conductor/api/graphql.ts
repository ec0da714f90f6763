/**
 * GraphQL (mercurius) at /api/v1/graphql over the same model as REST (schema: graphql-schema.ts):
 * 1. queries read the fleet, alarms, store and lifecycle, as the REST routes do;
 * 2. mutations go through the same lifecycle calls as REST and the CLI: admin only (a read-only user gets
 *    SVR_ERR_CONDUCTOR_FORBIDDEN, HTTP 403), each write an audit event with its diff;
 * 3. subscriptions (WebSocket on the same path, graphql-ws or graphql-transport-ws) stream the fabric's
 *    events (events.ts): each is published to a topic once, and each subscriber filters by router.
 * Login and JWT are REST's: HTTP requests carry `Authorization: Bearer <token>`; a subscription's
 * connection_init payload carries `{ "authorization": "Bearer <token>" }`. Errors carry their code in
 * `extensions.code` and the REST status as the HTTP status (single error, no data).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import mercurius, { type IResolvers, type MercuriusContext } from 'mercurius';
import { isSvrError, SvrError } from '../../errors.js';
import { reportedAlarm, type Alarm } from '../alarms.js';
import type { FabricEvent } from '../events.js';
import type { RouterStatus } from '../fleet.js';
import type { Principal } from './auth.js';
import { authorize, httpStatusOf, type ApiContext } from './app.js';
import { SCHEMA } from './graphql-schema.js';

export const GRAPHQL_PATH = '/api/v1/graphql';

declare module 'mercurius' {
  interface MercuriusContext {
    principal?: Principal;
  }
}

const TOPIC = { router: 'ROUTER', path: 'PATH', alarm: 'ALARM', sessions: 'SESSIONS', version: 'VERSION', audit: 'AUDIT' } as const;

function literal(node: ValueNode): unknown {
  switch (node.kind) {
    case Kind.INT: case Kind.FLOAT: return Number(node.value);
    case Kind.STRING: case Kind.BOOLEAN: case Kind.ENUM: return node.value;
    case Kind.NULL: return null;
    case Kind.LIST: return node.values.map(literal);
    case Kind.OBJECT: return Object.fromEntries(node.fields.map((f) => [f.name.value, literal(f.value)]));
    default: return undefined;
  }
}

const JsonScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: (node) => literal(node),
});

/** A router as GraphQL shows it: its status plus what its last report said. */
function routerView(r: RouterStatus): Record<string, unknown> {
  const rep = r.report;
  return {
    name: r.router, assetId: r.assetId, status: r.status, connected: r.connected, version: r.version, head: r.head,
    lastSeen: r.lastSeen, address: r.address, lastError: r.lastError,
    health: rep?.health ?? null, uptimeS: rep?.uptimeS ?? null, sessions: rep?.sessions ?? null,
    peers: rep?.peers ?? [], alarms: (rep?.alarms ?? []).map((a) => reportedAlarm(r.router, a)),
  };
}

/** Runs a resolver; an SvrError becomes a GraphQL error with its code and the REST status. */
async function guard<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!isSvrError(e)) throw e;
    const extensions: Record<string, unknown> = { code: e.code };
    if (e.data !== undefined) extensions['data'] = e.data;
    throw new mercurius.ErrorWithProps(e.message, extensions, httpStatusOf(e.code));
  }
}

function principalOf(c: MercuriusContext): Principal {
  if (c.principal === undefined) throw new SvrError('SVR_ERR_CONDUCTOR_AUTH', 'no bearer token: log in first (POST /api/v1/login)');
  return c.principal;
}

/** The principal if it may write config (admin), else SVR_ERR_CONDUCTOR_FORBIDDEN. */
function admin(c: MercuriusContext, what: string): Principal {
  const p = principalOf(c);
  if (p.role !== 'admin') throw new SvrError('SVR_ERR_CONDUCTOR_FORBIDDEN', `user ${p.user} is ${p.role}: the mutation ${what} needs an admin`);
  return p;
}

type Args = Record<string, unknown>;
const str = (a: Args, k: string): string => a[k] as string;
const opt = <T>(a: Args, k: string): T | undefined => (a[k] === null || a[k] === undefined ? undefined : (a[k] as T));
const ref = (s: string): number | 'running' | 'candidate' => (s === 'running' || s === 'candidate' ? s : Number(s));

function resolvers(ctx: ApiContext): IResolvers {
  const life = ctx.lifecycle;
  const byRouter = (field: string) => (payload: Record<string, { router?: string; name?: string }>, args: Args) => {
    const want = opt<string>(args, 'router');
    const p = payload[field]!;
    return want === undefined || p.router === want || p.name === want;
  };
  const write = (what: string, fn: (user: string, args: Args) => Promise<unknown>) =>
    (_: unknown, args: Args, c: MercuriusContext) => guard(() => fn(admin(c, what).user, args));
  const commitView = (r: { version: number; diff: string; routers: Record<string, string> }) =>
    ({ version: r.version, diff: r.diff, routers: Object.entries(r.routers).map(([router, status]) => ({ router, status })) });
  return {
    JSON: JsonScalar,
    Query: {
      status: async () => ({
        role: ctx.leadership.isLeader ? 'leader' : 'standby', leader: ctx.leadership.leaderUrl ?? null, url: ctx.url,
        version: await ctx.store.head(), store: ctx.store.kind,
      }),
      routers: () => ctx.fleet.routers().map(routerView),
      router: (_: unknown, args: Args) => {
        const r = ctx.fleet.router(str(args, 'name'));
        return r === undefined ? null : routerView(r);
      },
      assets: () => ctx.fleet.assets(),
      peers: (_: unknown, args: Args) => ctx.fleet.routers()
        .filter((r) => opt(args, 'router') === undefined || r.router === args['router'])
        .flatMap((r) => (r.report?.peers ?? []).map((p) => ({ router: r.router, name: p.name, reachable: p.reachable, paths: p.paths }))),
      alarms: (): Alarm[] => [...ctx.alarms.list(), ...ctx.fleet.routers().flatMap((r) => (r.report?.alarms ?? []).map((a) => reportedAlarm(r.router, a)))],
      versions: () => life.versions(),
      version: (_: unknown, args: Args) => guard(async () => {
        try {
          return await life.version(args['number'] as number);
        } catch (e) {
          if (isSvrError(e, 'SVR_ERR_CONDUCTOR_NOT_FOUND')) return null;
          throw e;
        }
      }),
      candidate: () => life.candidate(),
      compare: (_: unknown, args: Args) => guard(() => life.compare(ref(str(args, 'a')), ref(str(args, 'b')))),
      audit: (_: unknown, args: Args) => ctx.store.auditLog({ afterSeq: opt<number>(args, 'after') ?? 0, limit: Math.min(opt<number>(args, 'limit') ?? 1000, 1000) }),
      me: (_: unknown, _args: Args, c: MercuriusContext) => principalOf(c),
    },
    Mutation: {
      setConfig: write('setConfig', (user, a) => life.setPath(str(a, 'path'), a['value'], user)),
      deleteConfig: write('deleteConfig', (user, a) => life.deletePath(str(a, 'path'), user)),
      replaceCandidate: write('replaceCandidate', (user, a) => life.replaceCandidate(str(a, 'text'), user, 'config.candidate.replace', opt<number>(a, 'revision'))),
      revertCandidate: write('revertCandidate', (user) => life.revertCandidate(user)),
      validate: (_: unknown, args: Args) => guard(() => life.validate(opt<string>(args, 'text'))),
      commit: write('commit', async (user, a) => commitView(await life.commit(user, str(a, 'message'), opt<number>(a, 'basedOn')))),
      rollback: write('rollback', async (user, a) => commitView(await life.rollback(a['version'] as number, user, opt<string>(a, 'message'), opt<number>(a, 'basedOn')))),
    },
    Subscription: {
      routerChanged: { subscribe: mercurius.withFilter((_: unknown, __: Args, c: MercuriusContext) => c.pubsub.subscribe(TOPIC.router), byRouter('routerChanged')) },
      pathSamples: { subscribe: mercurius.withFilter((_: unknown, __: Args, c: MercuriusContext) => c.pubsub.subscribe(TOPIC.path), byRouter('pathSamples')) },
      alarmChanged: { subscribe: (_: unknown, __: Args, c: MercuriusContext) => c.pubsub.subscribe(TOPIC.alarm) },
      sessionCounts: { subscribe: mercurius.withFilter((_: unknown, __: Args, c: MercuriusContext) => c.pubsub.subscribe(TOPIC.sessions), byRouter('sessionCounts')) },
      versionCommitted: { subscribe: (_: unknown, __: Args, c: MercuriusContext) => c.pubsub.subscribe(TOPIC.version) },
      auditAppended: { subscribe: (_: unknown, __: Args, c: MercuriusContext) => c.pubsub.subscribe(TOPIC.audit) },
    },
  };
}

/** Each fabric event as the subscription payloads it makes: [topic, payload]. */
function payloads(e: FabricEvent): Array<[string, Record<string, unknown>]> {
  switch (e.type) {
    case 'router':
      return [[TOPIC.router, { routerChanged: routerView(e.router) }]];
    case 'report': {
      const out: Array<[string, Record<string, unknown>]> = e.report.peers.flatMap((p) => p.paths.map((x): [string, Record<string, unknown>] =>
        [TOPIC.path, { pathSamples: { router: e.router, peer: p.name, path: x.name, up: x.up, latencyMs: x.latencyMs, jitterMs: x.jitterMs, lossPercent: x.lossPercent, mos: x.mos, at: e.at } }]));
      out.push([TOPIC.sessions, { sessionCounts: { router: e.router, sessions: e.report.sessions, at: e.at } }]);
      return out;
    }
    case 'alarm':
      return [[TOPIC.alarm, { alarmChanged: { change: e.change, alarm: e.alarm, at: e.at } }]];
    case 'audit': {
      const a = e.event;
      const out: Array<[string, Record<string, unknown>]> = [[TOPIC.audit, { auditAppended: a }]];
      if (a.result === 'ok' && a.version !== undefined && (a.action === 'config.commit' || a.action === 'config.rollback')) {
        out.push([TOPIC.version, { versionCommitted: { version: a.version, time: a.time, author: a.user, message: a.detail ?? '' } }]);
      }
      return out;
    }
  }
}

/** Registers GraphQL (HTTP and WebSocket) on the conductor's API app. */
export async function registerGraphql(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const http = authorize(ctx);
  await app.register(mercurius, {
    schema: SCHEMA,
    resolvers: resolvers(ctx),
    path: GRAPHQL_PATH,
    graphiql: false,
    queryDepth: 8,
    context: (req: FastifyRequest) => (req.principal === undefined ? {} : { principal: req.principal }),
    additionalRouteOptions: {
      // mercurius turns a hook's error into a GraphQL error with status 200: answer as REST does instead;
      // the WebSocket upgrade authenticates in connection_init (browsers cannot set headers on it)
      preHandler: async (req: FastifyRequest, reply: FastifyReply) => {
        if ((req as FastifyRequest & { ws?: boolean }).ws === true) return;
        try {
          await http(req);
        } catch (e) {
          if (!isSvrError(e)) throw e;
          return reply.code(httpStatusOf(e.code)).send({ code: e.code, message: e.message });
        }
      },
    },
    subscription: {
      keepAlive: 10_000,
      onConnect: async (data: { payload?: { authorization?: unknown } }) => {
        const header = data.payload?.authorization;
        const principal = await ctx.tokens.verify(typeof header === 'string' ? header : undefined).catch(() => undefined);
        return principal === undefined ? false : { principal };
      },
    },
  });
  const unsubscribe = ctx.events.subscribe((e) => {
    for (const [topic, payload] of payloads(e)) void app.graphql.pubsub.publish({ topic, payload });
  });
  app.addHook('onClose', async () => {
    unsubscribe();
  });
}
