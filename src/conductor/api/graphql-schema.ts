/**
 * The conductor's GraphQL schema (SDL): the same model as the REST API (routes-*.ts), read through
 * queries, written through mutations that take the same lifecycle path (roles, audit, diff), and live
 * through subscriptions (events.ts): router state, path quality samples, alarms, session counts, audit
 * events and committed versions. Resolvers: graphql.ts.
 */
export const SCHEMA = /* GraphQL */ `
"Any JSON value (config values in setConfig, problem details)"
scalar JSON

type Query {
  "this conductor: leader or standby, head version, store"
  status: Status!
  "managed routers: sync status, version, last report"
  routers: [Router!]!
  router(name: String!): Router
  "enrolled assets and the routers they are"
  assets: [Asset!]!
  "each router's peers and paths as it reported them (one router with router:)"
  peers(router: String): [RouterPeer!]!
  "active alarms: the conductor's and those routers report"
  alarms: [Alarm!]!
  versions: [Version!]!
  "one version with its text and its diff from the previous one"
  version(number: Int!): VersionDetail
  candidate: Candidate!
  "unified diff between two of: running, candidate, a version number"
  compare(a: String!, b: String!): String!
  "audit events oldest first after the sequence number after"
  audit(after: Int, limit: Int): [AuditEvent!]!
  "who this token belongs to"
  me: Principal!
}

type Mutation {
  "set one field of the candidate by path (authority.services[web].addresses); value is YAML-compatible JSON"
  setConfig(path: String!, value: JSON!): Candidate!
  deleteConfig(path: String!): Candidate!
  "replace the whole candidate (edit, import); revision guards against overwriting edits made meanwhile"
  replaceCandidate(text: String!, revision: Int): Candidate!
  "discard candidate edits"
  revertCandidate: Candidate!
  "validate the candidate (or text) as a commit would"
  validate(text: String): Validation!
  "every connected router prepares the candidate, then all activate it, or none does"
  commit(message: String!, basedOn: Int): CommitResult!
  "commit the config of a stored version as a new version"
  rollback(version: Int!, message: String, basedOn: Int): CommitResult!
}

type Subscription {
  "a router's sync status, version or channel changed (one router with router:)"
  routerChanged(router: String): Router!
  "every path of every report (each router reports every 2 s): latency, jitter, loss, MOS"
  pathSamples(router: String): PathSample!
  "alarms raised and cleared, the conductor's and those routers report"
  alarmChanged: AlarmChange!
  "each router's session count, with every report"
  sessionCounts(router: String): SessionCount!
  "a new version was committed (or rolled back to)"
  versionCommitted: Version!
  "every audit event this conductor writes"
  auditAppended: AuditEvent!
}

type Status { role: String!, leader: String, url: String!, version: Int!, store: String! }
type Principal { user: String!, role: String! }

type Router {
  name: String!
  assetId: String!
  "disconnected, connecting, synchronizing, synchronized, out of sync"
  status: String!
  connected: Boolean!
  "the version it runs, as it reported"
  version: Int
  head: Int!
  lastSeen: String
  address: String
  lastError: String
  health: String
  uptimeS: Int
  sessions: Int
  peers: [Peer!]!
  alarms: [Alarm!]!
}

type Peer { name: String!, reachable: Boolean!, paths: [Path!]! }
type Path { name: String!, up: Boolean!, latencyMs: Float, jitterMs: Float, lossPercent: Float, mos: Float }
type RouterPeer { router: String!, name: String!, reachable: Boolean!, paths: [Path!]! }

type PathSample {
  router: String!
  peer: String!
  path: String!
  up: Boolean!
  latencyMs: Float
  jitterMs: Float
  lossPercent: Float
  mos: Float
  at: String!
}

type SessionCount { router: String!, sessions: Int!, at: String! }

type Asset { assetId: String!, router: String, enrolledAt: String!, status: String!, connected: Boolean!, address: String }

type Alarm { id: String!, source: String!, kind: String!, severity: String!, message: String!, since: String! }
type AlarmChange { change: String!, alarm: Alarm!, at: String! }

type Version { version: Int!, time: String!, author: String!, message: String!, rollbackOf: Int }
type VersionDetail { version: Int!, time: String!, author: String!, message: String!, rollbackOf: Int, text: String!, diff: String! }

type Candidate { text: String!, base: Int!, revision: Int!, changed: Boolean!, updatedBy: String!, updatedAt: String! }

type Problem { path: String!, message: String!, line: Int, column: Int }
type Validation { valid: Boolean!, problems: [Problem!]!, message: String!, routers: [String!]! }

type RouterState { router: String!, status: String! }
type CommitResult { version: Int!, diff: String!, routers: [RouterState!]! }

type AuditEvent { seq: Int!, time: String!, user: String!, action: String!, result: String!, target: String, detail: String, diff: String, version: Int }
`;
