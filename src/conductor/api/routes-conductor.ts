/** Conductor routes: login, status, CA, enrolment, routers/assets/peers/alarms, audit, tokens, users. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { caPin } from '../pki/certificates.js';
import { reportedAlarm } from '../alarms.js';
import { createToken, enrol } from '../enrolment.js';
import { hashPassword, login } from './auth.js';
import { authorize, remoteOf, type ApiContext } from './app.js';
import { AuditQuery, CaReply, EnrolBody, EnrolReply, LoginBody, LoginReply, Status, TokenBody, TokenReply, UserBody } from './schemas.js';

const errors = { 400: { $ref: 'Error#' }, 401: { $ref: 'Error#' }, 403: { $ref: 'Error#' } };
const Loose = Type.Array(Type.Object({}, { additionalProperties: true }));

export function registerConductorRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const read = { preHandler: authorize(ctx) };
  const admin = { preHandler: authorize(ctx, 'admin') };

  app.post<{ Body: LoginBody }>('/api/v1/login', { schema: { summary: 'Log in: a JWT for the Authorization header (Bearer)', security: [], body: LoginBody, response: { 200: LoginReply, ...errors } } },
    async (req) => login(ctx.store, ctx.tokens, req.body.user, req.body.password, remoteOf(req)));

  app.get('/api/v1/status', { schema: { summary: 'Leader or standby, and the head version', security: [], response: { 200: Status } } }, async () => ({
    role: ctx.leadership.isLeader ? 'leader' : 'standby',
    leader: ctx.leadership.leaderUrl ?? null,
    url: ctx.url,
    version: await ctx.store.head(),
    store: ctx.store.kind,
  }));

  app.get('/api/v1/ca', { schema: { summary: 'The authority CA certificate (routers check it against the pin in their token)', security: [], response: { 200: CaReply } } },
    async () => ({ certificate: ctx.ca.certPem, pin: caPin(ctx.ca.certPem) }));

  app.post<{ Body: EnrolBody }>('/api/v1/enrol', { schema: { summary: 'Enrol a router with a one-time token (zero-touch provisioning)', security: [], body: EnrolBody, response: { 200: EnrolReply, ...errors } } },
    async (req) => ({ ...(await enrol(ctx.store, ctx.alarms, ctx.ca, { ...req.body, from: remoteOf(req) })), conductors: ctx.conductors() }));

  app.get('/api/v1/routers', { ...read, schema: { summary: 'Managed routers: sync status, version, last seen, last report', response: { 200: Loose } } }, async () => ctx.fleet.routers());
  app.get('/api/v1/assets', { ...read, schema: { summary: 'Enrolled assets and the routers they are', response: { 200: Loose } } }, async () => ctx.fleet.assets());
  app.get('/api/v1/peers', { ...read, schema: { summary: 'Each router\'s peers and paths as it reported them', response: { 200: Loose } } }, async () =>
    ctx.fleet.routers().flatMap((r) => (r.report?.peers ?? []).map((p) => ({ router: r.router, peer: p.name, reachable: p.reachable, paths: p.paths }))));
  app.get('/api/v1/alarms', { ...read, schema: { summary: 'Active alarms: the conductor\'s and those routers report', response: { 200: Loose } } }, async () => [
    ...ctx.alarms.list(),
    ...ctx.fleet.routers().flatMap((r) => (r.report?.alarms ?? []).map((a) => reportedAlarm(r.router, a))),
  ]);

  app.get('/api/v1/step', { ...read, schema: { summary: 'The STEP repository: stored router documents, who subscribed to what and was sent which documents', response: { 200: Type.Object({ documents: Loose, subscriptions: Loose, counters: Type.Record(Type.String(), Type.Number()) }) } } },
    async () => ({ documents: ctx.fleet.step.documents(), subscriptions: ctx.fleet.step.subscriptions(), counters: ctx.fleet.step.counters() }));

  app.get<{ Querystring: AuditQuery }>('/api/v1/audit', { ...read, schema: { summary: 'The audit log (who, when, what, diff), oldest first after `after`', querystring: AuditQuery, response: { 200: Loose } } },
    async (req) => ctx.store.auditLog({ afterSeq: req.query.after ?? 0, limit: req.query.limit ?? 1000 }));

  app.post<{ Body: TokenBody }>('/api/v1/tokens', { ...admin, schema: { summary: 'A one-time enrolment token for an asset id', body: TokenBody, response: { 200: TokenReply, ...errors } } },
    async (req) => createToken(ctx.store, ctx.ca, req.body.assetId, req.principal?.user ?? '?', req.body.ttlMinutes));
  app.get('/api/v1/tokens', { ...admin, schema: { summary: 'Enrolment tokens (without their secrets)', response: { 200: Loose } } },
    async () => (await ctx.store.tokens()).map(({ secretHash: _s, ...t }) => t));

  app.post<{ Body: UserBody }>('/api/v1/users', { ...admin, schema: { summary: 'Create or replace a user', body: UserBody, response: { 200: Type.Object({ name: Type.String(), role: Type.String() }), ...errors } } },
    async (req) => {
      await ctx.store.putUser(hashPassword(req.body.name, req.body.role, req.body.password), { user: req.principal?.user ?? '?', action: 'user.create', result: 'ok', target: req.body.name, detail: req.body.role });
      return { name: req.body.name, role: req.body.role };
    });
}
