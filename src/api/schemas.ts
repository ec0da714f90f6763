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
  node: Type.Optional(Type.String({ description: 'the far end is this node of a router pair (its own interface, docs/high-availability.md)' })),
  standby: Type.Optional(Type.Boolean({ description: 'BFD up, but the far end is the pair\'s standby node: no sessions on the path' })),
  transport: Type.Optional(Type.Union([Type.Literal('tcp'), Type.Literal('udp-transform')], { description: 'how TCP sessions opened on the path travel (docs/wan.md "UDP transform")' })),
  udpTransform: Type.Optional(Type.Object({
    mode: Type.Union([Type.Literal('auto-detect'), Type.Literal('always-transform'), Type.Literal('disabled')]),
    active: Type.Boolean({ description: 'new TCP sessions on the path are carried as UDP' }),
    state: Type.String({ description: 'the firewall detector: off, always, down, probing, waiting' }),
    reasons: Type.Array(Type.String(), { description: 'the probes a firewall dropped at the last verdict (TCP SYN, Mid-flow, TCP SYN Jumbo)' }),
    episodes: Type.Integer({ description: 'verdicts so far' }),
    peerReasons: Type.Optional(Type.Array(Type.String(), { description: 'the probes a firewall dropped in the peer\'s direction, as the peer last told (its verdict also turns the transform on)' })),
  }, open)),
}, { ...open, $id: 'Path' });

export const Peer = Type.Object({ name: Type.String(), reachable: Type.Boolean(), paths: Type.Array(Ref('Path')) }, { ...open, $id: 'Peer' });

/** `svr show security`: the keys of each peer path (paths/key-control.ts PathKeyView, docs/security.md). */
export const PathKeys = Type.Object({
  path: Type.String(),
  peer: Type.String(),
  keyExchange: Type.Union([Type.Literal('static'), Type.Literal('handshake')]),
  state: Type.String({ description: "static: the config's key-version; handshake: the exchange's state" }),
  tx: Type.Optional(Type.Object({ keyId: Type.Integer(), securityId: Type.Number(), ageMs: Type.Number(), packets: Type.Number() }, { ...open, description: 'the key this router sends with' })),
  rx: Type.Array(Type.Object({ keyId: Type.Integer(), ageMs: Type.Number(), retiresInMs: Type.Optional(Type.Number()) }, open)),
  handshakes: Type.Optional(Type.Integer()),
  rekeys: Type.Optional(Type.Integer()),
  lastHandshakeAgoMs: Type.Optional(Type.Number()),
  nextRekeyInMs: Type.Optional(Type.Number()),
  refused: Type.Optional(Type.Record(Type.String(), Type.Number(), { description: 'handshake messages refused on this path, by reason' })),
}, { ...open, $id: 'PathKeys' });
export const Security = Type.Object({
  paths: Type.Array(Ref('PathKeys')),
  counters: Type.Record(Type.String(), Type.Number(), { description: 'every handshake counter of the router' }),
}, { ...open, $id: 'Security' });

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

export const Tenant = Type.Object({ name: Type.String(), interfaces: Type.Array(Type.String()), vrf: Type.String({ description: 'the VRF the tenant routes in (default, or a routing.vrfs name)' }), sessions: Type.Integer() }, { ...open, $id: 'Tenant' });

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
  shaping: Type.Optional(Type.Array(Type.Object({
    interface: Type.String(), device: Type.String(), ifb: Type.String(), rate: Type.Number({ description: 'bits/s' }),
    queues: Type.Array(Type.Object({
      queue: Type.String({ description: 'high, medium, low, best-effort or dscp-<n> (a plugin\'s shaped DSCP)' }),
      rate: Type.Number(), ceil: Type.Number(), 'sent-bytes': Type.Number(), 'sent-packets': Type.Number(),
      dropped: Type.Number({ description: 'packets dropped at the tail of the full queue' }),
      'queue-bytes': Type.Number(), 'queue-packets': Type.Number(), 'queue-limit-bytes': Type.Number(),
    }, open)),
  }, open), { description: 'the kernel egress shaper of each shaped interface (docs/shaping.md), read every second' })),
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

/** A session record's 5-tuple: addresses as text, the IP protocol number (IPFIX's protocolIdentifier). */
export const RecordTuple = Type.Object({
  src: Type.String(), dst: Type.String(), srcPort: Type.Integer(), dstPort: Type.Integer(), protocol: Type.Integer({ description: 'IP protocol number (6 tcp, 17 udp)' }),
}, { ...open, $id: 'RecordTuple' });

const Pair = Type.Array(Type.Number(), { minItems: 2, maxItems: 2, description: '[forward (client to server), reverse]' });
const InterfaceRef = Type.Object({ name: Type.String(), index: Type.Integer() }, open);

export const SessionRecord = Type.Object({
  kind: Type.String({ description: 'end (the session ended) or interim (still open when recorded)' }),
  sessionId: Type.String(),
  seq: Type.Integer({ description: "0 for a session's first record, +1 for each interim record after it" }),
  router: Type.String({ description: 'the router that wrote the record' }),
  role: Type.String({ description: 'ingress, egress or local' }),
  tenant: Type.String({ description: "'' when the first packet matched no tenant" }),
  service: Type.String({ description: "'' when no service matched" }),
  application: Type.String(),
  ingressRouter: Type.String(),
  egressRouter: Type.String(),
  forward: Ref('RecordTuple'),
  reverse: Ref('RecordTuple'),
  waypoint: Type.Optional(Ref('RecordTuple')),
  nat: Type.Optional(Ref('RecordTuple')),
  ingressInterface: Type.Optional(InterfaceRef),
  egressInterface: Type.Optional(InterfaceRef),
  paths: Type.Array(Type.String(), { description: 'peer paths used, in order (the last is current)' }),
  pathChanges: Type.Array(Type.Object({ atMs: Type.Number(), from: Type.String(), to: Type.String(), reason: Type.String() }, open)),
  packets: Pair,
  bytes: Pair,
  delta: Type.Object({ packets: Pair, bytes: Pair }, { ...open, description: "since the session's previous record" }),
  tcpRetransmissions: Type.Optional(Pair),
  startMs: Type.Number(),
  endMs: Type.Number({ description: 'end records: when it ended; interim records: when recorded' }),
  closeReason: Type.Optional(Type.String()),
  deniedReason: Type.Optional(Type.String()),
}, { ...open, $id: 'SessionRecord', description: 'One session record of the session history (what the IPFIX collectors get too)' });

const CLOSE_REASON_VALUES = ['idle', 'fin-rst', 'denied', 'path-lost', 'admin', 'handshake-failed', 'replaced', 'config', 'no-route', 'shutdown', 'standby'] as const;
const Text = Type.String({ minLength: 1, maxLength: 255 });
const Port = Type.Integer({ minimum: 0, maximum: 65535 });

/** The filters and paging of `svr inspect sessions`, as query parameters. */
export const HistoryQueryParams = Type.Object({
  since: Type.Optional(Type.String({ format: 'date-time', description: 'sessions that ended at or after this time (ISO 8601)' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'sessions that ended before this time (ISO 8601)' })),
  tenant: Type.Optional(Text),
  service: Type.Optional(Text),
  application: Type.Optional(Text),
  source: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "the client's address or a prefix (198.18.1.0/24)" })),
  destination: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "the server's address or a prefix" })),
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: "the server's port" })),
  sourcePort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: "the client's port" })),
  router: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'ingress or egress router' })),
  path: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'a peer path the session used' })),
  reason: Type.Optional(Type.Union(CLOSE_REASON_VALUES.map((r) => Type.Literal(r)), { description: 'close reason' })),
  denied: Type.Optional(Type.Boolean({ description: 'true: denied first packets only (reason=denied)' })),
  live: Type.Optional(Type.Boolean({ description: 'true: interim records of sessions still open when recorded' })),
  order: Type.Optional(Type.Union([Type.Literal('newest'), Type.Literal('oldest')], { default: 'newest', description: 'by end time; default newest first' })),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'the `next` of the previous page (valid with the same filters)' })),
}, { additionalProperties: false });
export type HistoryQueryParams = Static<typeof HistoryQueryParams>;
export const HistoryPage = Type.Object({
  items: Type.Array(Ref('SessionRecord')),
  next: Type.Optional(Type.String({ description: 'pass as `cursor` for the next page; absent on the last page. A page may be short (each reads a bounded number of records) and still have a next' })),
  scanned: Type.Integer({ description: 'records read for this page' }),
}, { $id: 'HistoryPage' });

export const SessionIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9a-fA-F-]+$', description: 'the session UUID' }) }, { additionalProperties: false });
export type SessionIdParams = Static<typeof SessionIdParams>;

export const ExplainQueryParams = Type.Object({
  source: Type.String({ minLength: 1, maxLength: 64, description: "the client's address" }),
  destination: Type.String({ minLength: 1, maxLength: 64, description: "the server's address" }),
  protocol: Type.Optional(Type.String({ minLength: 1, maxLength: 8, default: 'tcp', description: 'tcp, udp, icmp (icmpv6) or a protocol number; default tcp' })),
  port: Type.Optional(Port),
  sourcePort: Type.Optional(Port),
  interface: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'the LAN interface it arrives on (default: the one routing the source)' })),
}, { additionalProperties: false });
export type ExplainQueryParams = Static<typeof ExplainQueryParams>;

export const Explanation = Type.Object({
  router: Type.String(),
  generation: Type.Integer({ description: 'the config generation the answer is from' }),
  packet: Type.Object({ interface: Type.String(), src: Type.String(), dst: Type.String(), protocol: Type.String(), srcPort: Type.Integer(), dstPort: Type.Integer() }, open),
  verdict: Type.String({ description: 'forward, deliver, drop or reset' }),
  counter: Type.Optional(Type.String({ description: "drop and reset: the data path's counter the packet would count in" })),
  tenant: Type.Optional(Type.String()),
  service: Type.Optional(Type.String()),
  route: Type.Optional(Type.String()),
  peer: Type.Optional(Type.String()),
  path: Type.Optional(Type.String()),
  candidates: Type.Array(Type.Object({
    path: Type.String(), peer: Type.String(), usable: Type.Boolean(), vector: Type.String(), meetsSla: Type.Boolean(), chosen: Type.Boolean(), why: Type.String(),
  }, open), { description: 'every candidate path with its quality and why it lost' }),
  chain: Type.Array(Type.String(), { description: 'plugin stages the session would run through' }),
  steps: Type.Array(Type.Object({ step: Type.String(), result: Type.String(), why: Type.String() }, open)),
}, { ...open, $id: 'Explanation', description: 'What the router would do now with the first packet of the flow, and why' });

export const SessionExplanation = Type.Object({
  record: Ref('SessionRecord'),
  now: Type.Optional(Ref('Explanation')),
  story: Type.Array(Type.String(), { description: 'what happened then, and how now differs, one line each' }),
}, { ...open, $id: 'SessionExplanation', description: 'Why a recorded session went where it went, and what the router would do now' });

export const Health = Type.Object({
  status: Type.Literal('ok'),
  router: Type.String(),
  version: Type.String(),
  uptimeMs: Type.Number(),
}, { $id: 'Health' });

export const ConfigDocument = Type.Object({ authority: Type.Object({}, open) }, { ...open, $id: 'Config', description: 'the running config in its file form, secrets and tokens redacted' });
export const ReloadReply = Type.Object({ applied: Type.Boolean() }, { $id: 'Reload' });

const RibRoute = Type.Object({
  vrf: Type.String({ description: 'the VRF of the route: default, or a routing.vrfs name' }),
  prefix: Type.String(), protocol: Type.String({ description: 'static, connected, kernel, bgp, ospf, ...' }), distance: Type.Integer(), metric: Type.Integer(),
  interface: Type.String(), gateway: Type.Optional(Type.String()), selected: Type.Boolean({ description: 'the route the FIB follows for this prefix' }),
}, open);
export const VrfQuery = Type.Object({ vrf: Type.Optional(Type.String({ description: 'only this VRF (default, or a routing.vrfs name)' })) }, { additionalProperties: false });
const Vrfs = Type.Array(Type.String(), { description: "the router's VRFs, default first" });
export const Rib = Type.Object({ vrfs: Vrfs, routes: Type.Array(RibRoute), counts: Type.Record(Type.String(), Type.Integer(), { description: 'selected routes by protocol' }) }, { ...open, $id: 'Rib' });
export type RibReply = Static<typeof Rib>;
export const Fib = Type.Object({
  vrfs: Vrfs,
  routes: Type.Integer({ description: 'selected RIB routes the data path follows' }),
  entries: Type.Array(Type.Object({
    prefix: Type.String(), protocol: Type.String(), ports: Type.String(), tenants: Type.Array(Type.String()), service: Type.String(),
    vrf: Type.Optional(Type.String({ description: 'the VRF whose RIB gave the learned next hops (use-learned-routes)' })), nextHops: Type.Array(Type.String()),
  }, open)),
}, { ...open, $id: 'Fib' });
export type FibReply = Static<typeof Fib>;
export const Bgp = Type.Object({
  neighbors: Type.Array(Type.Object({ address: Type.String(), remoteAs: Type.Integer(), state: Type.String() }, open)),
  routes: Type.Array(Type.Object({ prefix: Type.String(), nextHop: Type.String(), asPath: Type.String(), best: Type.Boolean(), local: Type.Boolean() }, open)),
  routing: Type.Object({}, { ...open, description: "the node's FRR daemons, FPM counters, learned routes, announced prefixes, memory" }),
}, { ...open, $id: 'Bgp' });
export type BgpReply = Static<typeof Bgp>;

/** Every shared schema, added to the app once (referenced as `<id>#`). */
export const SHARED_SCHEMAS: readonly TSchema[] = [Tuple, Session, SessionPage, Path, Peer, PathKeys, Security, Service, Tenant, Plugin, Stats, Alarm, NodeEvent, EventPage, Health, ConfigDocument, ReloadReply,
  RecordTuple, SessionRecord, HistoryPage, Explanation, SessionExplanation, Rib, Fib, Bgp];

/** The error replies a route can give, for its schema. */
export const errors = (...codes: (400 | 401 | 403 | 404 | 422 | 503)[]): Record<number, TSchema> =>
  Object.fromEntries(codes.map((c) => [c, Ref('Error')]));
