/**
 * The node API's request and reply schemas (TypeBox: one definition gives the TypeScript type, the JSON
 * Schema fastify validates and serializes with, and the OpenAPI document). Replies are the same objects the
 * control socket returns (`svr show ... --json`), so `svr show --api` renders them alike. Objects allow
 * more properties than documented: a field the router adds is passed on, never silently dropped.
 *
 * Conventions: names are the views' own (camelCase); lists that can be long are pages `{ items, next }`
 * with `limit` (1-1000, default 100) and an opaque `cursor`; times are ISO 8601 in queries and epoch
 * milliseconds in replies; every error is the `Error` schema.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const open = { additionalProperties: true } as const;
/** A reference to a shared schema (by its $id). */
export const Ref = (id: string): TSchema => Type.Unsafe({ $ref: `${id}#` });

const PAGE_LIMIT_MAX = 1000;
export const PAGE_LIMIT_DEFAULT = 100;
export const Limit = Type.Integer({ minimum: 1, maximum: PAGE_LIMIT_MAX, default: PAGE_LIMIT_DEFAULT, description: `at most this many items (1-${PAGE_LIMIT_MAX})` });

/** A page of `item`: `next` continues it (as the query parameter `nextParam`), absent on the last page. */
export const Page = <T extends TSchema>(item: T, id: string, nextParam: string) => Type.Object({
  items: Type.Array(item),
  next: Type.Optional(Type.String({ description: `pass as \`${nextParam}\` for the next page; absent on the last page` })),
}, { $id: id });

export const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });
export type NameParams = Static<typeof NameParams>;

export const Tuple = Type.Object({
  src: Type.String(), dst: Type.String(), srcPort: Type.Integer(), dstPort: Type.Integer(), protocol: Type.String(),
}, { ...open, $id: 'Tuple' });

const PerDirection = Type.Object({ forward: Type.Number(), reverse: Type.Number() });

export const Session = Type.Object({
  id: Type.String({ description: 'the session UUID' }),
  role: Type.String({ description: 'ingress, egress or local' }),
  tenant: Type.String(),
  service: Type.String(),
  application: Type.String(),
  encryption: Type.String(),
  original: Ref('Tuple'),
  waypoint: Type.Optional(Ref('Tuple')),
  peer: Type.Optional(Type.String()),
  path: Type.Optional(Type.String()),
  inInterface: Type.String(),
  outInterface: Type.String(),
  handshake: Type.String(),
  state: Type.String(),
  ageMs: Type.Number(),
  idleMs: Type.Number(),
  expiresInMs: Type.Number(),
  packets: PerDirection,
  bytes: PerDirection,
  worker: Type.Optional(Type.Integer({ description: 'the data-path thread that owns it (with --workers N)' })),
}, { ...open, $id: 'Session' });

export const SessionsQuery = Type.Object({
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?_[0-9]+$', description: 'the `next` of the previous page' })),
  tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  service: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
}, { additionalProperties: false });
export type SessionsQuery = Static<typeof SessionsQuery>;
export const SessionPage = Page(Ref('Session'), 'SessionPage', 'cursor');

export const Path = Type.Object({
  name: Type.String(),
  up: Type.Boolean({ description: 'usable: BFD up and out of hold-down' }),
  vector: Type.String(),
  localWaypoint: Type.String(),
  remoteWaypoint: Type.String(),
  bfd: Type.String({ description: 'BFD state (static without BFD)' }),
  latencyMs: Type.Optional(Type.Number()),
  jitterMs: Type.Optional(Type.Number()),
  lossPct: Type.Optional(Type.Number()),
  mos: Type.Optional(Type.Number()),
  uptimeMs: Type.Number(),
  flaps: Type.Integer(),
  holdDownMs: Type.Number(),
  sessions: Type.Integer(),
}, { ...open, $id: 'Path' });

export const Peer = Type.Object({ name: Type.String(), reachable: Type.Boolean(), paths: Type.Array(Ref('Path')) }, { ...open, $id: 'Peer' });

export const Service = Type.Object({
  name: Type.String(),
  reachable: Type.Boolean(),
  sessions: Type.Integer(),
  routes: Type.Array(Type.Object({ name: Type.String(), kind: Type.String(), target: Type.String(), usable: Type.Boolean() }, open)),
  paths: Type.Array(Type.String(), { description: 'usable paths, best first' }),
  refused: Type.Boolean({ description: 'new sessions are refused (no path meets the SLA)' }),
  resiliency: Type.String(),
  learned: Type.Optional(Type.Object({}, { ...open, description: 'what STEP learned about the service' })),
}, { ...open, $id: 'Service' });

export const Tenant = Type.Object({ name: Type.String(), interfaces: Type.Array(Type.String()), sessions: Type.Integer() }, { ...open, $id: 'Tenant' });

export const Plugin = Type.Object({
  name: Type.String(),
  version: Type.String(),
  specifier: Type.String(),
  state: Type.String(),
  error: Type.Optional(Type.String()),
  stages: Type.Array(Type.Object({ name: Type.String(), disabled: Type.Boolean() }, open)),
  counters: Type.Record(Type.String(), Type.Number()),
}, { ...open, $id: 'Plugin' });

export const Stats = Type.Object({
  'sessions-active': Type.Integer(),
  'handshakes-in-flight': Type.Integer(),
  node: Type.Object({ name: Type.String(), pid: Type.Integer(), uptimeMs: Type.Number(), socket: Type.String(), workers: Type.Integer() }, open),
  'sessions-per-worker': Type.Optional(Type.Array(Type.Integer())),
  interfaces: Type.Array(Type.Object({ interface: Type.String(), device: Type.String(), rxPackets: Type.Number(), txPackets: Type.Number(), txDrops: Type.Number() }, open)),
  busyPoll: Type.Optional(Type.Object({ windowUs: Type.Number(), runs: Type.Number(), packets: Type.Number(), idleUs: Type.Number(), capped: Type.Number() }, open)),
  collectors: Type.Optional(Type.Array(Type.Object({
    name: Type.String(), address: Type.String(), port: Type.Integer(), transport: Type.String(), status: Type.String({ description: 'up, down or unknown' }),
    exported: Type.Number(), dropped: Type.Number(), queueDepth: Type.Number(),
  }, open), { description: 'the IPFIX collectors of the session records, with their exporters\' counters' })),
}, { additionalProperties: Type.Number(), $id: 'Stats', description: 'every counter of the data path, control and the session records by name (numbers), and these' });
/** `svr show stats`: the counters by name, and the node's facts. */
export type NodeStats = Static<typeof Stats> & Record<string, unknown>;

export const Alarm = Type.Object({
  id: Type.String({ description: '<alarm>:<source>, e.g. peer-path-down:wan0->r2/wan0' }),
  category: Type.String(),
  severity: Type.String({ description: 'critical, major, minor or info' }),
  source: Type.String(),
  message: Type.String(),
  raisedAt: Type.Number({ description: 'epoch ms' }),
}, { ...open, $id: 'Alarm' });

export const NodeEvent = Type.Object({
  seq: Type.Integer({ description: '1, 2, 3... in order' }),
  at: Type.Number({ description: 'epoch ms' }),
  kind: Type.String({ description: 'alarm-raised, alarm-cleared or event' }),
  category: Type.String(),
  severity: Type.String(),
  source: Type.String(),
  message: Type.String(),
  alarmId: Type.Optional(Type.String()),
}, { ...open, $id: 'Event' });

export const EventsQuery = Type.Object({
  since: Type.Optional(Type.String({ format: 'date-time', description: 'events at or after this time (ISO 8601, e.g. 2026-01-02T03:04:05Z)' })),
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'events after this sequence number (the last `seq` you saw)' })),
  limit: Type.Optional(Limit),
}, { additionalProperties: false });
export type EventsQuery = Static<typeof EventsQuery>;
export const EventPage = Page(Ref('Event'), 'EventPage', 'after');

export const Health = Type.Object({
  status: Type.Literal('ok'),
  router: Type.String(),
  version: Type.String(),
  uptimeMs: Type.Number(),
}, { $id: 'Health' });

export const ConfigDocument = Type.Object({ authority: Type.Object({}, open) }, { ...open, $id: 'Config', description: 'the running config in its file form, secrets and tokens redacted' });
export const ReloadReply = Type.Object({ applied: Type.Boolean() }, { $id: 'Reload' });

/** Every shared schema, added to the app once (referenced as `<id>#`). */
export const SHARED_SCHEMAS: readonly TSchema[] = [Tuple, Session, SessionPage, Path, Peer, Service, Tenant, Plugin, Stats, Alarm, NodeEvent, EventPage, Health, ConfigDocument, ReloadReply];

/** The error replies a route can give, for its schema. */
export const errors = (...codes: (400 | 401 | 403 | 404 | 422 | 503)[]): Record<number, TSchema> =>
  Object.fromEntries(codes.map((c) => [c, Ref('Error')]));
