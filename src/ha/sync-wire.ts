/**
 * The sync link's messages between the two nodes of a router pair (docs/high-availability.md "Sync link"):
 * one UDP datagram each, authenticated with HMAC-SHA256 under the pair's `shared-key` (the trailer of SVR packets,
 * crypto/hmac.ts, untimed: the sequence number guards against replay instead; computed by the addon's BatchHmac).
 *
 *   0  'SVRH' magic (4) | version 1 (1) | type (1) | node name length (1) | reserved (1)
 *   8  epoch (6): the sender's start, ms since 1970; a restarted sender has a larger one | reserved (2)
 *  16  sequence (4): per epoch, +1 a message; the receiver drops one not above the last it accepted
 *  20  node name (utf-8) | body | HMAC-SHA256 of everything before it (32)
 *
 * Heartbeat body (8): role (1) | priority (1) | links up (1) | flags (1: bit 0 wantActive, bit 1 released:
 *   the sender holds none of the shared addresses, bit 2 tookOver: active since it lost its partner) | acked batch (4).
 * Ack body (4): acked batch: the number of the last state batch the sender applied, in order (sent within 20 ms
 *   after applying; also in every heartbeat). The partner resends what is not acked and measures its lag.
 * State batch body: batch number (4: 1, 2, 3... per sender epoch, kept when resent) | record count (2), then
 *   per record: kind (1) | op (1: 1 upsert, 2 delete, 3 purge: every record of the kind whose value starts
 *   with the key) | key length (1) | value length (2) | key | value.
 *   The records are opaque here (their owners encode them). Owners queue records already framed this way
 *   (`frameRecord`), and a batch carries them as they are: no object per record on either side.
 */
import { BatchHmac } from '../crypto/native-crypto.js';
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
/** The state datagrams of a pair's sync link (pair-node.ts): 4 jumbo frames (MTU 9000), or 22 frames of 1500,
 *  that the kernel fragments and reassembles (a dedicated link). Each datagram costs both nodes a send or a
 *  wake-up, an HMAC and a share of an acknowledgement: about 200 session rows a datagram instead of 60 (8,900 B)
 *  or 8 (1,400 B) cut the link's CPU per row (bench/ha-datagram.ts, docs/performance.md "HA"); 5 of them are a
 *  window (sync-link.ts WINDOW_BYTES). */
export const SYNC_DATAGRAM = 32000;

export const OP_UPSERT = 1;
export const OP_DELETE = 2;
export const OP_PURGE = 3;
/** kind | op | key length | value length */
export const RECORD_HEAD = 5;

export interface SyncRecord {
  /** what the record is (its owner's code: a session row, a NAT binding, a path key...) */
  kind: number;
  op: typeof OP_UPSERT | typeof OP_DELETE | typeof OP_PURGE;
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
  /** `body`: `count` framed records (forEachRecord) */
  | (SyncHeader & { type: typeof MSG_STATE; batch: number; count: number; body: Uint8Array })
  | (SyncHeader & { type: typeof MSG_ACK; ackedBatch: number });

/** Why a datagram was dropped: the counter it raises. */
export type SyncDrop = 'malformed' | 'bad-auth' | 'not-partner' | 'out-of-order';

/** Per shared key (by identity: a link keeps its own) its HMAC-SHA256: the addon's, one call a message (node's
 *  createHmac made a key object and an Hmac a message); without the addon node's crypto. */
const hmacs = new WeakMap<Uint8Array, BatchHmac>();
const region = { offsets: new Uint32Array(1), lengths: new Uint32Array(1), status: new Uint8Array(1) };

function hmacOf(key: Uint8Array): BatchHmac {
  let h = hmacs.get(key);
  if (h === undefined) hmacs.set(key, (h = BatchHmac.create('sha256', key)));
  return h;
}

/** Writes the tag of buf[0, end) at buf[end, end + TAG). */
function sign(key: Uint8Array, buf: Uint8Array, end: number): void {
  region.offsets[0] = 0;
  region.lengths[0] = end;
  hmacOf(key).signBatch(buf, region.offsets, region.lengths, 1, -1);
}

/** Whether the last TAG bytes of buf are the tag of those before them. */
function verify(key: Uint8Array, buf: Uint8Array): boolean {
  region.offsets[0] = 0;
  region.lengths[0] = buf.length;
  return hmacOf(key).verifyBatch(buf, region.offsets, region.lengths, 1, -1, region.status) === 1;
}

const ROLES: readonly HaRole[] = ['init', 'standby', 'active', 'handing-over', 'fenced', 'taking-over'];

/** The bytes of a state batch around its records: records of `n` bytes fit when n + this <= SYNC_MAX_DATAGRAM. */
export function stateBatchOverhead(node: string): number {
  return HEADER + Buffer.byteLength(node) + 6 + TAG;
}

export function recordSize(r: SyncRecord): number {
  return RECORD_HEAD + r.key.length + r.value.length;
}

/** Writes a record's head at `o` of `out` (its key and value follow: the caller writes them); returns
 *  where the key goes. */
export function frameRecord(out: Uint8Array, o: number, kind: number, op: number, keyLength: number, valueLength: number): number {
  out[o] = kind;
  out[o + 1] = op;
  out[o + 2] = keyLength;
  out[o + 3] = valueLength >> 8;
  out[o + 4] = valueLength & 0xff;
  return o + RECORD_HEAD;
}

/** Records framed one after the other (tests and owners with few records). */
export function frameRecords(records: readonly SyncRecord[]): Uint8Array {
  const out = new Uint8Array(records.reduce((n, r) => n + recordSize(r), 0));
  let o = 0;
  for (const r of records) {
    o = frameRecord(out, o, r.kind, r.op, r.key.length, r.value.length);
    out.set(r.key, o);
    out.set(r.value, o + r.key.length);
    o += r.key.length + r.value.length;
  }
  return out;
}

/** The size of the framed record at `o` of `body` (its head read; not checked against the end). */
export function framedSize(body: Uint8Array, o: number): number {
  return RECORD_HEAD + body[o + 2]! + ((body[o + 3]! << 8) | body[o + 4]!);
}

/** Calls `record(kind, op, keyAt, keyLength, valueAt, valueLength)` for each framed record of a checked body
 *  (decodeSync checked it: every record whole, ops known). */
export function forEachRecord(body: Uint8Array, record: (kind: number, op: number, keyAt: number, keyLength: number, valueAt: number, valueLength: number) => void): void {
  for (let o = 0; o < body.length; o += framedSize(body, o)) {
    const keyLength = body[o + 2]!;
    record(body[o]!, body[o + 1]!, o + RECORD_HEAD, keyLength, o + RECORD_HEAD + keyLength, (body[o + 3]! << 8) | body[o + 4]!);
  }
}

/** The records of a body as objects (tests, tools; a copy each). */
export function recordsOf(body: Uint8Array): SyncRecord[] {
  const out: SyncRecord[] = [];
  forEachRecord(body, (kind, op, k, kl, v, vl) => out.push({ kind, op: op as SyncRecord['op'], key: body.slice(k, k + kl), value: body.slice(v, v + vl) }));
  return out;
}

function header(buf: Buffer, type: number, h: Omit<SyncHeader, 'type'>): number {
  buf.writeUInt32BE(SYNC_MAGIC, 0);
  buf[4] = SYNC_VERSION;
  buf[5] = type;
  buf[7] = 0;
  buf.writeUIntBE(h.epoch, 8, 6);
  buf.writeUInt32BE(h.seq >>> 0, 16);
  const name = buf.write(h.node, HEADER, 'utf8');
  buf[6] = name;
  return HEADER + name;
}

export function encodeHeartbeat(key: Uint8Array, h: Omit<SyncHeader, 'type'>, hb: HaHeartbeat, ackedBatch: number): Buffer {
  const buf = Buffer.alloc(HEADER + Buffer.byteLength(h.node) + 8 + TAG);
  let o = header(buf, MSG_HEARTBEAT, h);
  buf[o++] = ROLES.indexOf(hb.role);
  buf[o++] = hb.priority;
  buf[o++] = Math.min(255, hb.linksUp);
  buf[o++] = (hb.wantActive ? 1 : 0) | (hb.released === true ? 2 : 0) | (hb.tookOver === true ? 4 : 0);
  buf.writeUInt32BE(ackedBatch >>> 0, o);
  o += 4;
  sign(key, buf, o);
  return buf;
}

export function encodeAck(key: Uint8Array, h: Omit<SyncHeader, 'type'>, ackedBatch: number): Buffer {
  const buf = Buffer.alloc(HEADER + Buffer.byteLength(h.node) + 4 + TAG);
  const o = header(buf, MSG_ACK, h);
  buf.writeUInt32BE(ackedBatch >>> 0, o);
  sign(key, buf, o + 4);
  return buf;
}

/** A state batch of `count` framed records (`body`: frameRecord, frameRecords). */
export function encodeState(key: Uint8Array, h: Omit<SyncHeader, 'type'>, batch: number, body: Uint8Array, count: number): Buffer {
  const buf = Buffer.allocUnsafe(stateBatchOverhead(h.node) + body.length);
  buf.set(body, stateBodyAt(h.node));
  return sealState(key, h, batch, count, buf);
}

/** Where a state batch's records start in its datagram. */
export function stateBodyAt(node: string): number {
  return HEADER + Buffer.byteLength(node) + 6;
}

/** Writes the head of a state datagram (stateBatchOverhead + its records' bytes, the records in place at
 *  stateBodyAt: the sender copies them in once) and signs it; returns it. */
export function sealState(key: Uint8Array, h: Omit<SyncHeader, 'type'>, batch: number, count: number, buf: Buffer): Buffer {
  const o = header(buf, MSG_STATE, h);
  buf.writeUInt32BE(batch >>> 0, o);
  buf.writeUInt16BE(count, o + 4);
  sign(key, buf, buf.length - TAG);
  return buf;
}

/** A datagram read back: its message, or why it is dropped (`malformed`, `bad-auth`). */
export function decodeSync(key: Uint8Array, buf: Buffer): SyncMessage | SyncDrop {
  if (buf.length < HEADER + TAG || buf.readUInt32BE(0) !== SYNC_MAGIC || buf[4] !== SYNC_VERSION) return 'malformed';
  const nameLen = buf[6]!;
  const end = buf.length - TAG;
  if (HEADER + nameLen > end) return 'malformed';
  if (!verify(key, buf)) return 'bad-auth';
  const h: SyncHeader = { type: buf[5]!, node: buf.toString('utf8', HEADER, HEADER + nameLen), epoch: buf.readUIntBE(8, 6), seq: buf.readUInt32BE(16) };
  let o = HEADER + nameLen;
  if (h.type === MSG_HEARTBEAT) {
    if (end - o !== 8) return 'malformed';
    const role = ROLES[buf[o]!];
    if (role === undefined) return 'malformed';
    const heartbeat: HaHeartbeat = { node: h.node, role, priority: buf[o + 1]!, linksUp: buf[o + 2]!, wantActive: (buf[o + 3]! & 1) === 1, released: (buf[o + 3]! & 2) === 2, tookOver: (buf[o + 3]! & 4) === 4 };
    return { ...h, type: MSG_HEARTBEAT, heartbeat, ackedBatch: buf.readUInt32BE(o + 4) };
  }
  if (h.type === MSG_ACK) return end - o === 4 ? { ...h, type: MSG_ACK, ackedBatch: buf.readUInt32BE(o) } : 'malformed';
  if (h.type !== MSG_STATE || end - o < 6) return 'malformed';
  const batch = buf.readUInt32BE(o);
  const count = buf.readUInt16BE(o + 4);
  o += 6;
  const start = o;
  for (let i = 0; i < count; i++) {
    if (end - o < RECORD_HEAD) return 'malformed';
    const op = buf[o + 1]!;
    if ((op !== OP_UPSERT && op !== OP_DELETE && op !== OP_PURGE)) return 'malformed';
    const size = framedSize(buf, o);
    if (end - o < size) return 'malformed';
    o += size;
  }
  if (o !== end) return 'malformed';
  return { ...h, type: MSG_STATE, batch, count, body: buf.subarray(start, end) };
}
