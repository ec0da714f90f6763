/**
 * Facts the data path reports to control, at most one delivery per batch (architecture §5.3).
 * Rows are addressed by (row, gen): a row is reused after its session ends, and gen tells them apart.
 */
export type SessionRole = 'ingress' | 'egress' | 'local';
export type RemoveReason = 'idle' | 'closed' | 'teardown' | 'replaced' | 'config';

export type DpEvent =
  | { kind: 'session.created'; row: number; gen: number; sessionId: string; role: SessionRole; service: string; tenant: string }
  | { kind: 'session.reverseSeen'; row: number; gen: number }
  | {
      kind: 'session.removed'; row: number; gen: number; sessionId: string; reason: RemoveReason;
      /** final figures, for records of closed sessions */
      tenant: string; service: string; ageMs: number; packets: [number, number]; bytes: [number, number];
    }
  /** the session moved to another path (new waypoints, metadata re-signalled); `handshake`: the move
   *  waits for reverse metadata (the ingress moved it), else the peer already confirmed it or follows */
  | { kind: 'session.migrated'; row: number; gen: number; sessionId: string; service: string; fromPath: number; toPath: number; handshake: boolean }
  /** an ingress session sends its metadata again (a classifier changed what it says) */
  | { kind: 'session.resignalled'; row: number; gen: number; sessionId: string }
  /** a plugin stage or hook threw or broke the contract: disabled (fail open), or failed: its traffic is
   *  dropped from now on (`failClosed`, a security function) */
  | { kind: 'plugin.error'; plugin: string; stage: string; message: string; failClosed: boolean }
  /** a message on the path control channel (UDP 1280 between waypoints: BFD, link tests, STEP), HMAC
   *  verified; or an unsigned key-exchange message on a path whose keys it makes (it authenticates itself) */
  | { kind: 'path.message'; path: number; payload: Uint8Array; atMs: number };
