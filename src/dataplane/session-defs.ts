/**
 * What a session-table row holds and how it reads (session-table.ts re-exports all of it): roles and state flags,
 * the u32 times (lastSeen, expires), flow-table values, the row and wheel granularities, the keys' shapes.
 */
import { totalmem } from 'node:os';

export const ROLE_INGRESS = 1;
export const ROLE_EGRESS = 2;
export const ROLE_LOCAL = 3;

export const SF_ACTIVE = 0x0001;
/** ingress: forward packets carry metadata until reverse metadata arrives (§5.2 FWD_SIGNAL) */
export const SF_NEEDS_META = 0x0002;
/** egress: reverse packets carry metadata until a forward packet without it arrives (§5.2 REV_SIGNAL) */
export const SF_REV_SIGNAL = 0x0004;
/** egress moved the session to another path itself: reverse metadata names the session id until confirmed */
export const SF_SEND_UUID = 0x0400;
/** the LAN side toward the server uses a translated source (natSrc/natSrcPort) */
export const SF_SNAT = 0x0800;
/** ... and a translated destination (natDst/natDstPort) */
export const SF_DNAT = 0x1000;
/** the session's service encrypts payloads end to end: data packets carry a 1-byte key id trailer */
export const SF_PAYLOAD = 0x2000;
/** ... and this session's payloads are encrypted (TLV 11); cleared when adaptive encryption skips it */
export const SF_ENC_ON = 0x4000;
/** ... and the adaptive decision (already TLS/IPsec or not) has been made */
export const SF_ENC_DECIDED = 0x8000;
/** closing (FIN both ways or RST): removed after a short linger */
export const SF_CLOSING = 0x0008;
export const SF_SYN = 0x0010;
export const SF_SYNACK = 0x0020;
export const SF_ESTABLISHED = 0x0040;
export const SF_FIN_FWD = 0x0080;
export const SF_FIN_REV = 0x0100;
/** the session's protocol has no ports (ICMP): carried as UDP between routers, metadata on every packet */
export const SF_TRANSFORMED = 0x0200;

/** The native steady paths that mark rows (SessionTable.markedWithin/setMarked): svr-out's and svr-in's. */
export const MARK_OUT = 0;
export const MARK_IN = 1;

/** Return keys per row: one per packet form the chain sees (two when NAT makes the directions differ). */
export const RET_KEYS = 2;

/** Memory one session costs, rounded up: at most about 240 B RSS per session and router at 25-99 % table fill
 *  (bench/memory.ts, docs/performance.md), with room for NAT, HA sync, IPv6 and the other columns made on
 *  first use. */
export const SESSION_BYTES = 512;
/** Rows one data path's table can address (control tags a row with its worker in the bits above 24). */
export const MAX_ROWS = (1 << 24) - 1;

/**
 * The session limit of one of `workers` data paths: its share of the router's `session-capacity`, or by
 * default of what a quarter of the host's memory holds (at least 65,536 sessions).
 */
export function sessionLimit(configured: number, workers: number, memory = totalmem()): number {
  const router = configured > 0 ? configured : Math.max(65_536, Math.floor(memory / 4 / SESSION_BYTES));
  return Math.min(MAX_ROWS, Math.max(1, Math.ceil(router / Math.max(1, workers))));
}

/** A synced row's idle expiry moved this far from the one the partner has: sent again (native/flow-table.h too). The row carries its
 *  expiry relative to the export, so the partner's copy never runs out; this only keeps its times and
 *  counters roughly current (100,000 busy sessions: about 1,700 records a second). */
export const SYNC_EXPIRY_MS = 60_000;

/** Rows per segment: the rows are handed out from the lowest segment with room, and a segment whose rows are
 *  all free gives its memory back (reserved columns, row-memory.ts). 16,384 rows: whole pages in every
 *  column (a 1-byte column's segment is 4 pages). */
export const SEGMENT_ROWS = 1 << 14;

/** Granularity of idle expiry (a session expires at most this much after its timeout). */
export const WHEEL_TICK_MS = 250;

/** ms from u32 time `at` (lastSeen, expires: the clock modulo 2^32) to `now`, signed. */
export const msSince = (now: number, at: number): number => ((now >>> 0) - at) | 0;
/** ms from `now` to u32 time `at`, signed: <= 0 once it passed. */
export const msUntil = (now: number, at: number): number => (at - (now >>> 0)) | 0;

/** Row of a flow-table value. */
export const flowRow = (v: number): number => v >>> 2;
/** 1 when the key was stored for a forward packet whose endpoints were swapped by normalization. */
export const flowSwapped = (v: number): number => v & 1;
/** 1 when the value belongs to the session's alternate (second path) key. */
export const flowAlt = (v: number): number => (v >>> 1) & 1;

/** The second waypoint 5-tuple of a duplicated session. */
export interface AltPath {
  path: number;
  localPort: number;
  peerPort: number;
  family: 4 | 6;
  key: Uint32Array;
  /** ingress: metadata on this path until reverse metadata came back on it */
  needsMeta: boolean;
  /** egress: reverse metadata on this path until a forward packet without it arrived on it */
  revSignal: boolean;
}

export interface SideKey {
  family: 4 | 6;
  src: Uint32Array; srcOff: number;
  dst: Uint32Array; dstOff: number;
  srcPort: number; dstPort: number; protocol: number; ifIndex: number;
}
