/**
 * Facts the data path reports to control, at most one delivery per batch (architecture §5.3).
 * Rows are addressed by (row, gen): a row is reused after its session ends, and gen tells them apart.
 * The facts every session has (created, removed, reverseSeen) are typed records control reads in place
 * (session-records.ts; these shapes are what a record builds for a reader that wants an object); a migration is
 * one object; per packet nothing is allocated: denied
 * first packets and periodic session counters travel as one typed-array copy per batch or sweep
 * (`DENIED_WORDS` / `COUNTER_WORDS` per entry), which control decodes (control/data-path-events.ts).
 */
import type { FiveTuple } from '../packet/svr-metadata-decode.js';

export type { FiveTuple };
export type SessionRole = 'ingress' | 'egress' | 'local';

/**
 * Why a session ended. `fin`: TCP FIN both ways; `rst`: TCP reset; `idle`: no packet for the service's
 * timeout; `path-lost`: it idled out while its peer path was down; `handshake-failed`: the metadata
 * handshake (of a new or moved session) got no answer to its probes; `replaced`: a new session took its
 * 5-tuple; `config`: a config change removed its service, path or interface; `no-route`: the RIB route it
 * was delivered along is gone (dataplane/route-follow.ts); `admin`: removed on request
 * (`Dataplane.removeRow`); `shutdown`: the router stopped; `standby`: this node of a router pair stopped
 * forwarding (standby or fenced): its partner carries the session (docs/high-availability.md).
 */
export type CloseReason = 'idle' | 'fin' | 'rst' | 'path-lost' | 'handshake-failed' | 'replaced' | 'config' | 'no-route' | 'admin' | 'shutdown' | 'standby';
export const CLOSE_REASONS: readonly CloseReason[] = ['idle', 'fin', 'rst', 'path-lost', 'handshake-failed', 'replaced', 'config', 'no-route', 'admin', 'shutdown', 'standby'];

/**
 * Why a session moved to another path. `path-down`: its path stopped being usable; `sla-breach`: its path
 * no longer meets the service's SLA; `better-path`: revertible failover went back to a preferred path;
 * `peer-moved`: the peer router moved it and this router followed.
 */
export type MigrationReason = 'path-down' | 'sla-breach' | 'better-path' | 'peer-moved';

/**
 * Why a first packet opened no session; each has the counter `drop-<reason>`. `tcp-no-session`: a TCP
 * segment that is not a SYN matched no session (transport-state-enforcement reset or block).
 */
export type DenyReason =
  | 'no-tenant' | 'no-service' | 'access-denied' | 'tcp-no-session' | 'no-route' | 'no-path-meets-sla'
  | 'waypoint-ports-exhausted' | 'nat-collision' | 'refused-by-plugin';
/** Index = the reason's code in a denied record. */
export const DENY_REASONS: readonly DenyReason[] = [
  'no-tenant', 'no-service', 'access-denied', 'tcp-no-session', 'no-route', 'no-path-meets-sla',
  'waypoint-ports-exhausted', 'nat-collision', 'refused-by-plugin',
];

/**
 * One denied first packet in `session.denied` records (Uint32 words): reason code, family | protocol << 8,
 * interface index, tenant id + 1 (0: none), service id + 1 (0: none), srcPort << 16 | dstPort, source
 * address (4 words, IPv4 in the first), destination address (4 words).
 */
export const DENIED_WORDS = 14;
/** One live session in `session.counters` data (Float64): session id (4 words), packets fwd/rev, bytes fwd/rev. */
export const COUNTER_WORDS = 8;

export type DpEvent =
  | {
      kind: 'session.created'; row: number; gen: number; sessionId: string; role: SessionRole; service: string; tenant: string;
      /** data-path clock, ms */
      atMs: number;
      /** '' until a classifier names it */
      application: string;
      /** the client's 5-tuple as it sent the first packet */
      forward: FiveTuple;
      /** the forward direction's SVR 5-tuple (outer protocol) on `path`; undefined for local sessions */
      waypoint: FiveTuple | undefined;
      /** the forward 5-tuple after this router's NAT toward the server (egress and local sessions) */
      nat: FiveTuple | undefined;
      inIf: number; inInterface: string; outIf: number; outInterface: string;
      /** the peer path and peer router ('' for a local session) */
      path: string; peer: string;
    }
  | { kind: 'session.reverseSeen'; row: number; gen: number }
  | {
      kind: 'session.removed'; row: number; gen: number; sessionId: string; reason: CloseReason;
      /** final figures, for records of closed sessions */
      role: SessionRole; tenant: string; service: string; application: string;
      /** the last peer path ('' for a local session) */
      path: string;
      atMs: number; ageMs: number; packets: [number, number]; bytes: [number, number];
    }
  /** the session moved to another path (new waypoints, metadata re-signalled); `handshake`: the move
   *  waits for reverse metadata (the ingress moved it), else the peer already confirmed it or follows */
  | {
      kind: 'session.migrated'; row: number; gen: number; sessionId: string; service: string; fromPath: number; toPath: number; handshake: boolean;
      reason: MigrationReason; atMs: number;
      /** path names (ids may move with a later config change) and the new forward waypoint 5-tuple */
      from: string; to: string; waypoint: FiveTuple;
    }
  /** an ingress session sends its metadata again (a classifier changed what it says) */
  | { kind: 'session.resignalled'; row: number; gen: number; sessionId: string }
  /** first packets denied in one batch: `count` records of DENIED_WORDS words; `suppressed` more were not recorded (cap per batch) */
  | { kind: 'session.denied'; atMs: number; count: number; records: Uint32Array; suppressed: number }
  /** packet and byte totals of live sessions older than the report interval: `count` entries of COUNTER_WORDS */
  | { kind: 'session.counters'; atMs: number; count: number; data: Float64Array }
  /** records a plugin's data-path part sent on its channel this batch: `count` records of `width` ints, a family
   *  (0: no addresses) and 32 address bytes each (plugin-channels.ts) */
  | {
      kind: 'plugin.records'; plugin: string; channel: string; atMs: number; count: number; width: number;
      ints: Int32Array; families: Uint8Array; addresses: Uint8Array;
    }
  /** a plugin stage or hook threw or broke the contract: disabled (fail open), or failed: its traffic is
   *  dropped from now on (`failClosed`, a security function) */
  | { kind: 'plugin.error'; plugin: string; stage: string; message: string; failClosed: boolean }
  /** a message on the path control channel (UDP 1280 between waypoints: BFD, link tests, STEP), HMAC
   *  verified (with the source address and port for a peer behind NAT); or an unsigned key-exchange message on a path whose keys it makes (it authenticates itself) */
  | { kind: 'path.message'; path: number; payload: Uint8Array; atMs: number; from?: { address: Uint8Array; port: number } };
