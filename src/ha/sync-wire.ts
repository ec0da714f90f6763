/**
 * The sync link's messages between the two nodes of a router pair (docs/high-availability.md "Sync link"):
 * one UDP datagram each, authenticated with HMAC-SHA256 under the pair's `shared-key` (the same trailer
 * code as SVR packets, crypto/hmac.ts, untimed: the sequence number guards against replay instead).
 *
 *   0  'SVRH' magic (4) | version 1 (1) | type (1) | node name length (1) | reserved (1)
 *   8  epoch (6): the sender's start, ms since 1970; a restarted sender has a larger one | reserved (2)
 *  16  sequence (4): per epoch, +1 a message; the receiver drops one not above the last it accepted
 *  20  node name (utf-8) | body | HMAC-SHA256 of everything before it (32)
 *
 * Heartbeat body (8): role (1) | priority (1) | links up (1) | flags (1: bit 0 wantActive) | acked batch (4).
 * Ack body (4): acked batch: the number of the last state batch the sender applied, in order (sent at once
 *   after applying; also in every heartbeat). The partner resends what is not acked and measures its lag.
 * State batch body: batch number (4: 1, 2, 3... per sender epoch, kept when resent) | record count (2), then
 *   per record: kind (1) | op (1: 1 upsert, 2 delete) | key length (1) | value length (2) | key | value.
 *   The records are opaque here (their owners encode them).
 */
import { signInto, verifyTrailer } from '../crypto/hmac.js';
import type { HaHeartbeat, HaRole } from '../machines/ha-node.js';

export const SYNC_MAGIC = 0x53565248; // 'SVRH'
export const SYNC_VERSION = 1;
export const MSG_HEARTBEAT = 1;
export const MSG_STATE = 2;
export const MSG_ACK = 3;
const HEADER = 20;
const TAG = 32;
/** A datagram stays under a 1500-byte MTU's payload (1472 over IPv4 UDP, 1452 over IPv6). */
export const SYNC_MAX_DATAGRAM = 1400;

export const OP_UPSERT = 1;
export const OP_DELETE = 2;

export interface SyncRecord {
  /** what the record is (its owner's code: a session row, a NAT binding, a path key...) */
  kind: number;
  op: typeof OP_UPSERT | typeof OP_DELETE;
  key: Uint8Array;
  value: Uint8Array;
}

export interface SyncHeader {
  type: number;
  node: string;
  epoch: number;
  seq: number;
}

export type SyncMessage =
  | (SyncHeader & { type: typeof MSG_HEARTBEAT; heartbeat: HaHeartbeat; ackedBatch: number })
  | (SyncHeader & { type: typeof MSG_STATE; batch: number; records: SyncRecord[] })
  | (SyncHeader & { type: typeof MSG_ACK; ackedBatch: number });

/** Why a datagram was dropped: the counter it raises. */
export type SyncDrop = 'malformed' | 'bad-auth' | 'not-partner' | 'out-of-order';

const ROLES: readonly HaRole[] = ['init', 'standby', 'active', 'handing-over', 'fenced', 'taking-over'];

/** The room records take in one state batch: a batch of `records` fits when this is <= SYNC_MAX_DATAGRAM. */
export function stateBatchSize(node: string, records: readonly SyncRecord[]): number {
  let n = HEADER + Buffer.byteLength(node) + 6 + TAG;
  for (const r of records) n += 5 + r.key.length + r.value.length;
  return n;
}

export function recordSize(r: SyncRecord): number {
  return 5 + r.key.length + r.value.length;
}

function header(buf: Buffer, type: number, h: Omit<SyncHeader, 'type'>): number {
  const name = Buffer.from(h.node);
  buf.writeUInt32BE(SYNC_MAGIC, 0);
  buf[4] = SYNC_VERSION;
  buf[5] = type;
  buf[6] = name.length;
  buf[7] = 0;
  buf.writeUIntBE(h.epoch, 8, 6);
  buf.writeUInt32BE(h.seq >>> 0, 16);
  name.copy(buf, HEADER);
  return HEADER + name.length;
}

export function encodeHeartbeat(key: Uint8Array, h: Omit<SyncHeader, 'type'>, hb: HaHeartbeat, ackedBatch: number): Buffer {
  const buf = Buffer.alloc(HEADER + Buffer.byteLength(h.node) + 8 + TAG);
  let o = header(buf, MSG_HEARTBEAT, h);
  buf[o++] = ROLES.indexOf(hb.role);
  buf[o++] = hb.priority;
  buf[o++] = Math.min(255, hb.linksUp);
  buf[o++] = hb.wantActive ? 1 : 0;
  buf.writeUInt32BE(ackedBatch >>> 0, o);
  o += 4;
  signInto('sha256', key, buf, 0, o, -1);
  return buf;
}

export function encodeAck(key: Uint8Array, h: Omit<SyncHeader, 'type'>, ackedBatch: number): Buffer {
  const buf = Buffer.alloc(HEADER + Buffer.byteLength(h.node) + 4 + TAG);
  const o = header(buf, MSG_ACK, h);
  buf.writeUInt32BE(ackedBatch >>> 0, o);
  signInto('sha256', key, buf, 0, o + 4, -1);
  return buf;
}

export function encodeState(key: Uint8Array, h: Omit<SyncHeader, 'type'>, batch: number, records: readonly SyncRecord[]): Buffer {
  const buf = Buffer.alloc(stateBatchSize(h.node, records));
  let o = header(buf, MSG_STATE, h);
  buf.writeUInt32BE(batch >>> 0, o);
  o += 4;
  buf.writeUInt16BE(records.length, o);
  o += 2;
  for (const r of records) {
    buf[o++] = r.kind;
    buf[o++] = r.op;
    buf[o++] = r.key.length;
    buf.writeUInt16BE(r.value.length, o);
    o += 2;
    buf.set(r.key, o);
    o += r.key.length;
    buf.set(r.value, o);
    o += r.value.length;
  }
  signInto('sha256', key, buf, 0, o, -1);
  return buf;
}

/** A datagram read back: its message, or why it is dropped (`malformed`, `bad-auth`). */
export function decodeSync(key: Uint8Array, buf: Buffer): SyncMessage | SyncDrop {
  if (buf.length < HEADER + TAG || buf.readUInt32BE(0) !== SYNC_MAGIC || buf[4] !== SYNC_VERSION) return 'malformed';
  const nameLen = buf[6]!;
  const end = buf.length - TAG;
  if (HEADER + nameLen > end) return 'malformed';
  if (!verifyTrailer('sha256', key, buf, 0, buf.length, -1)) return 'bad-auth';
  const h: SyncHeader = { type: buf[5]!, node: buf.toString('utf8', HEADER, HEADER + nameLen), epoch: buf.readUIntBE(8, 6), seq: buf.readUInt32BE(16) };
  let o = HEADER + nameLen;
  if (h.type === MSG_HEARTBEAT) {
    if (end - o !== 8) return 'malformed';
    const role = ROLES[buf[o]!];
    if (role === undefined) return 'malformed';
    const heartbeat: HaHeartbeat = { node: h.node, role, priority: buf[o + 1]!, linksUp: buf[o + 2]!, wantActive: (buf[o + 3]! & 1) === 1 };
    return { ...h, type: MSG_HEARTBEAT, heartbeat, ackedBatch: buf.readUInt32BE(o + 4) };
  }
  if (h.type === MSG_ACK) return end - o === 4 ? { ...h, type: MSG_ACK, ackedBatch: buf.readUInt32BE(o) } : 'malformed';
  if (h.type !== MSG_STATE || end - o < 6) return 'malformed';
  const batch = buf.readUInt32BE(o);
  const count = buf.readUInt16BE(o + 4);
  o += 6;
  const records: SyncRecord[] = [];
  for (let i = 0; i < count; i++) {
    if (end - o < 5) return 'malformed';
    const kind = buf[o]!;
    const op = buf[o + 1]!;
    const keyLen = buf[o + 2]!;
    const valueLen = buf.readUInt16BE(o + 3);
    o += 5;
    if ((op !== OP_UPSERT && op !== OP_DELETE) || end - o < keyLen + valueLen) return 'malformed';
    records.push({ kind, op, key: Uint8Array.prototype.slice.call(buf, o, o + keyLen), value: Uint8Array.prototype.slice.call(buf, o + keyLen, o + keyLen + valueLen) });
    o += keyLen + valueLen;
  }
  if (o !== end) return 'malformed';
  return { ...h, type: MSG_STATE, batch, records };
}
