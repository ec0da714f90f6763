/**
 * Fabric routes for people looking at the fabric (the web UI among them):
 *   GET /api/v1/history/paths             paths the conductor has samples of
 *   GET /api/v1/history/path              one path's latency, jitter, loss, MOS, up over a time range
 *   GET /api/v1/history/sessions          one router's session count over a time range
 *   GET /api/v1/events                    alarms raised and cleared (the conductor's and the routers'), filtered
 *   GET /api/v1/sessions                  live sessions of every connected router (asked over its channel)
 *   GET /api/v1/sessions/history          the routers' session history (each router's own, merged newest first)
 *   GET /api/v1/sessions/:id              one session as each router sees it now, and its latest records
 * Sessions stay on the routers: the conductor asks the connected ones (fabric-history.ts keeps only
 * counts), and says which routers answered and which did not.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { SvrError } from '../../errors.js';
import type { RouterQuery, SessionFilter } from '../channel/protocol.js';
import { authorize, type ApiContext } from './app.js';

const Loose = Type.Object({}, { additionalProperties: true });
const errors = { 400: { $ref: 'Error#' }, 401: { $ref: 'Error#' }, 404: { $ref: 'Error#' } };
const Name = Type.String({ minLength: 1, maxLength: 255 });
const Range = { from: Type.Optional(Type.Integer({ minimum: 0, description: 'epoch ms, default 10 minutes ago' })), to: Type.Optional(Type.Integer({ minimum: 0, description: 'epoch ms, default now' })) };

const PathQuery = Type.Object({ router: Name, peer: Name, path: Name, ...Range }, { additionalProperties: false });
const RouterRange = Type.Object({ router: Name, ...Range }, { additionalProperties: false });
const EventsQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  source: Type.Optional(Name), severity: Type.Optional(Type.Union(['critical', 'major', 'minor', 'info'].map((s) => Type.Literal(s)))),
  kind: Type.Optional(Type.Union([Type.Literal('alarm-raised'), Type.Literal('alarm-cleared')])), text: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });
const SessionsQuery = Type.Object({
  router: Type.Optional(Name), tenant: Type.Optional(Name), service: Type.Optional(Name), application: Type.Optional(Name),
  address: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'an address at either end of the original 5-tuple, or its start (198.18.1.)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200, description: 'per router' })),
}, { additionalProperties: false });
const HistoryQuery = Type.Object({
  router: Type.Optional(Name), tenant: Type.Optional(Name), service: Type.Optional(Name), application: Type.Optional(Name), path: Type.Optional(Name),
  source: Type.Optional(Type.String({ maxLength: 64, description: 'the client address or prefix' })), destination: Type.Optional(Type.String({ maxLength: 64, description: 'the server address or prefix' })),
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  closeReason: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'why the sessions ended: idle, fin-rst, denied (first packets refused), path-lost, admin, handshake-failed, replaced, config, shutdown (checked by the router)' })),
  from: Type.Optional(Type.Integer({ minimum: 0, description: 'end time, epoch ms; default: all' })), to: Type.Optional(Type.Integer({ minimum: 0, description: 'end time, epoch ms; default now' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'per router' })),
}, { additionalProperties: false });
const SessionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** Each router's answer, or why it has none. */
const PerRouter = Type.Record(Type.String(), Type.String({ description: '`ok`, or why the router did not answer' }));

export const DEFAULT_RANGE_MS = 10 * 60_000;

function range(q: { from?: number; to?: number }): [number, number] {
  const to = q.to ?? Date.now();
  return [q.from ?? to - DEFAULT_RANGE_MS, to];
}

export function registerFabricRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const read = { preHandler: authorize(ctx) };

  app.get('/api/v1/history/paths', { ...read, schema: { summary: 'Paths the conductor keeps quality samples of (from router reports)', response: { 200: Type.Array(Loose), ...errors } } },
    async () => ctx.history.paths());

  app.get<{ Querystring: Static<typeof PathQuery> }>('/api/v1/history/path', {
    ...read, schema: { summary: 'One path\'s quality over a time range: every report for the last hour, one-minute means for 24 h', querystring: PathQuery, response: { 200: Loose, ...errors } },
  }, async (req) => {
    const [from, to] = range(req.query);
    const s = ctx.history.pathSeries(req.query, from, to);
    if (s === undefined) throw new SvrError('SVR_ERR_CONDUCTOR_NOT_FOUND', `no samples of path ${req.query.path} from ${req.query.router} to ${req.query.peer}; GET /api/v1/history/paths lists those with samples`);
    return s;
  });

  app.get<{ Querystring: Static<typeof RouterRange> }>('/api/v1/history/sessions', {
    ...read, schema: { summary: 'One router\'s session count over a time range', querystring: RouterRange, response: { 200: Loose, ...errors } },
  }, async (req) => {
    const [from, to] = range(req.query);
    const s = ctx.history.sessionSeries(req.query.router, from, to);
    if (s === undefined) throw new SvrError('SVR_ERR_CONDUCTOR_NOT_FOUND', `no reports from router ${req.query.router}`);
    return s;
  });

  app.get<{ Querystring: Static<typeof EventsQuery> }>('/api/v1/events', {
    ...read, schema: { summary: 'Alarms raised and cleared, oldest first after `after` (kept in memory, 5,000 at most)', querystring: EventsQuery, response: { 200: Type.Array(Loose), ...errors } },
  }, async (req) => ctx.history.events(req.query));

  app.get<{ Querystring: Static<typeof SessionsQuery> }>('/api/v1/sessions', {
    ...read, schema: { summary: 'Live sessions of every connected router (or one), asked over its channel', querystring: SessionsQuery, response: { 200: Type.Object({ items: Type.Array(Loose), routers: PerRouter }), ...errors } },
  }, async (req) => {
    const { router, limit, ...rest } = req.query;
    const filter: SessionFilter = rest;
    const answers = await askRouters(ctx, router, { what: 'sessions', filter, limit: limit ?? 200 });
    const items = answers.flatMap(([r, a]) => (Array.isArray(a) ? a.map((s: object) => ({ router: r, ...s })) : []));
    return { items, routers: statusOf(answers) };
  });

  app.get<{ Querystring: Static<typeof HistoryQuery> }>('/api/v1/sessions/history', {
    ...read, schema: {
      summary: 'Ended sessions from every connected router\'s history (or one\'s), newest first: one page of each router\'s (at most `limit` records, and a bounded read)',
      querystring: HistoryQuery,
      response: { 200: Type.Object({ records: Type.Array(Loose), routers: PerRouter, more: Type.Array(Name, { description: 'routers with more records than this page: narrow the filters or the time range' }) }), ...errors },
    },
  }, async (req) => {
    const { router, ...query } = req.query;
    const answers = await askRouters(ctx, router, { what: 'history', query: { ...query, limit: query.limit ?? 100 } });
    const pages = answers.map(([r, a]) => [r, a as { records?: { endMs: number }[]; cursor?: string } | null] as const);
    const records = pages.flatMap(([, p]) => p?.records ?? []);
    records.sort((x, y) => y.endMs - x.endMs);
    return { records, routers: statusOf(answers), more: pages.filter(([, p]) => p?.cursor !== undefined).map(([r]) => r) };
  });

  app.get<{ Params: Static<typeof SessionParams> }>('/api/v1/sessions/:id', {
    ...read, schema: { summary: 'One session: each router\'s live view of it and its latest record', params: SessionParams, response: { 200: Type.Object({ views: Type.Array(Loose), routers: PerRouter }), ...errors } },
  }, async (req) => {
    const answers = await askRouters(ctx, undefined, { what: 'session', sessionId: req.params.id });
    const views = answers.flatMap(([r, a]) => {
      const v = a as { live?: unknown; record?: unknown } | null;
      return v === null || (v.live == null && v.record == null) ? [] : [{ router: r, ...v }];
    });
    return { views, routers: statusOf(answers) };
  });
}

type Answer = [router: string, answer: unknown, error?: string];

/** Asks every connected router (or the one named) at once; a router that fails has its error instead. */
async function askRouters(ctx: ApiContext, only: string | undefined, query: RouterQuery): Promise<Answer[]> {
  const routers = ctx.fleet.routers();
  if (only !== undefined && !routers.some((r) => r.router === only)) {
    throw new SvrError('SVR_ERR_CONDUCTOR_NOT_FOUND', `no router named ${only}; routers: ${routers.map((r) => r.router).join(', ') || 'none'}`);
  }
  const asked = routers.filter((r) => only === undefined || r.router === only);
  return Promise.all(asked.map(async (r): Promise<Answer> => {
    if (!r.connected) return [r.router, null, 'not connected'];
    try {
      return [r.router, await ctx.queries.ask(r.assetId, query)];
    } catch (e) {
      return [r.router, null, e instanceof Error ? e.message : String(e)];
    }
  }));
}

const statusOf = (answers: readonly Answer[]): Record<string, string> => Object.fromEntries(answers.map(([r, , e]) => [r, e ?? 'ok']));
