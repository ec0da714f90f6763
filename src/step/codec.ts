/**
 * STEP messages on the path control channel (UDP 1280 between waypoints, HMAC-signed by the data path).
 * The first payload byte multiplexes the channel: 0x20-0x3f BFD, 0xC1/0xC2 link tests, 0xC3-0xC7 STEP.
 *
 *   document chunk (0xC3), 20-byte header then up to 1,180 bytes of the msgpack document:
 *     0 type | 1 wire version (1) | 2 chunk index | 3 chunk count (1-64)
 *     4 origin hash (u32, FNV-1a of the router name) | 8 version high (u32) | 12 version low (u32)
 *     16 total length of the encoded document (u32); chunk i carries bytes [i*1180, min((i+1)*1180, total))
 *   request (0xC4): 0 type | 1 wire version | 2-3 zero            "send me every document you have"
 *   ack (0xC5):     0 type | 1 wire version | 2-3 zero | 4 origin hash | 8 version high | 12 version low
 *   0xC6, 0xC7: reserved (dropped as unknown)
 *
 * msgpack is plain MessagePack (no msgpackr records or extensions), from the pure-JS entry point, so the
 * native accelerator (msgpackr-extract) is never needed. Parsing never throws: it returns a drop reason.
 */
import { Packr, Unpackr } from 'msgpackr/pack';
import { toWire, validateDocument, type RouterDocument } from './document.js';

export const STEP_DOCUMENT = 0xc3;
export const STEP_REQUEST = 0xc4;
export const STEP_ACK = 0xc5;
/** 0xC6 and 0xC7 are reserved for STEP. */
export const STEP_FIRST_TYPE = 0xc3;
export const STEP_LAST_TYPE = 0xc7;
export const STEP_WIRE_VERSION = 1;

/** Largest STEP datagram payload (before the HMAC trailer). */
export const MAX_DATAGRAM = 1200;
export const CHUNK_HEADER = 20;
export const CHUNK_BODY = MAX_DATAGRAM - CHUNK_HEADER;
export const MAX_CHUNKS = 64;
/** Largest encoded document: 64 chunks of 1,180 bytes. */
export const MAX_DOCUMENT_BYTES = MAX_CHUNKS * CHUNK_BODY;
const SHORT_MESSAGE = 4;
const ACK_LENGTH = 16;
const U32 = 0x1_0000_0000;

export type StepDropReason =
  | 'short' | 'wire-version' | 'unknown-type' | 'bad-chunk-count' | 'bad-chunk-index' | 'bad-length'
  | 'bad-version' | 'chunk-mismatch' | 'reassembly-overflow' | 'reassembly-timeout'
  | 'bad-msgpack' | 'bad-document' | 'origin-mismatch' | 'foreign-authority' | 'unknown-path';

export interface DocumentChunk {
  kind: 'chunk';
  origin: number;
  version: number;
  index: number;
  count: number;
  total: number;
  body: Uint8Array;
}

export type StepMessage =
  | DocumentChunk
  | { kind: 'request' }
  | { kind: 'ack'; origin: number; version: number };

export type ParsedMessage = StepMessage | { kind: 'drop'; reason: StepDropReason };

const packr = new Packr({ useRecords: false, moreTypes: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

/** True when the payload belongs to STEP (first byte 0xC3-0xC7); other owners of port 1280 ignore it. */
export function isStepMessage(payload: Uint8Array): boolean {
  const t = payload[0];
  return t !== undefined && t >= STEP_FIRST_TYPE && t <= STEP_LAST_TYPE;
}

/** FNV-1a (32 bit) of the UTF-8 router name: identifies the origin in chunk and ack headers. */
export function originHash(router: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(router)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** msgpack of the document; null when it is larger than MAX_DOCUMENT_BYTES. */
export function encodeDocumentBody(doc: RouterDocument): Uint8Array | null {
  const body = packr.pack(toWire(doc));
  // a copy: msgpackr packs into a buffer it keeps writing to
  return body.length > MAX_DOCUMENT_BYTES ? null : Uint8Array.from(body);
}

/** How many bytes a document encodes to (to say by how much one is too large). */
export function encodedDocumentBytes(doc: RouterDocument): number {
  return packr.pack(toWire(doc)).length;
}

/** The datagrams of one document (each ≤ MAX_DATAGRAM bytes); null when it is too large to send. */
export function encodeDocument(doc: RouterDocument): Uint8Array[] | null {
  const body = encodeDocumentBody(doc);
  if (body === null) return null;
  const count = Math.max(1, Math.ceil(body.length / CHUNK_BODY));
  const origin = originHash(doc.router);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const part = body.subarray(i * CHUNK_BODY, Math.min((i + 1) * CHUNK_BODY, body.length));
    const d = new Uint8Array(CHUNK_HEADER + part.length);
    const v = new DataView(d.buffer);
    d[0] = STEP_DOCUMENT;
    d[1] = STEP_WIRE_VERSION;
    d[2] = i;
    d[3] = count;
    v.setUint32(4, origin);
    writeVersion(v, 8, doc.version);
    v.setUint32(16, body.length);
    d.set(part, CHUNK_HEADER);
    out.push(d);
  }
  return out;
}

export function encodeRequest(): Uint8Array {
  return Uint8Array.of(STEP_REQUEST, STEP_WIRE_VERSION, 0, 0);
}

export function encodeAck(origin: number, version: number): Uint8Array {
  const d = new Uint8Array(ACK_LENGTH);
  const v = new DataView(d.buffer);
  d[0] = STEP_ACK;
  d[1] = STEP_WIRE_VERSION;
  v.setUint32(4, origin);
  writeVersion(v, 8, version);
  return d;
}

/** Parses one STEP datagram with strict bounds; a bad one becomes a drop reason, never an exception. */
export function parseMessage(p: Uint8Array): ParsedMessage {
  if (p.length < SHORT_MESSAGE) return drop('short');
  if (p[1] !== STEP_WIRE_VERSION) return drop('wire-version');
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  switch (p[0]) {
    case STEP_REQUEST:
      return p.length === SHORT_MESSAGE ? { kind: 'request' } : drop('bad-length');
    case STEP_ACK: {
      if (p.length !== ACK_LENGTH) return drop('bad-length');
      const version = readVersion(v, 8);
      return version === null ? drop('bad-version') : { kind: 'ack', origin: v.getUint32(4), version };
    }
    case STEP_DOCUMENT:
      return parseChunk(p, v);
    default:
      return drop('unknown-type');
  }
}

function parseChunk(p: Uint8Array, v: DataView): ParsedMessage {
  if (p.length < CHUNK_HEADER || p.length > MAX_DATAGRAM) return drop('bad-length');
  const index = p[2]!;
  const count = p[3]!;
  if (count === 0 || count > MAX_CHUNKS) return drop('bad-chunk-count');
  if (index >= count) return drop('bad-chunk-index');
  const version = readVersion(v, 8);
  if (version === null) return drop('bad-version');
  const total = v.getUint32(16);
  // the count must be exactly what the total needs, and this chunk exactly its share of the total
  if (total > MAX_DOCUMENT_BYTES || Math.max(1, Math.ceil(total / CHUNK_BODY)) !== count) return drop('bad-chunk-count');
  const expected = Math.min(CHUNK_BODY, total - index * CHUNK_BODY);
  if (p.length - CHUNK_HEADER !== expected) return drop('bad-length');
  return { kind: 'chunk', origin: v.getUint32(4), version, index, count, total, body: p.subarray(CHUNK_HEADER) };
}

export type DecodedDocument = { ok: true; doc: RouterDocument } | { ok: false; reason: 'bad-msgpack' | 'bad-document' };

/** Decodes and validates a reassembled document body. */
export function decodeDocumentBody(body: Uint8Array): DecodedDocument {
  let value: unknown;
  try {
    // a private copy: the decoder must never see bytes beyond the body in a shared buffer
    value = unpackr.unpack(Uint8Array.from(body));
  } catch {
    return { ok: false, reason: 'bad-msgpack' };
  }
  const checked = validateDocument(value);
  return checked.ok ? checked : { ok: false, reason: 'bad-document' };
}

function drop(reason: StepDropReason): ParsedMessage {
  return { kind: 'drop', reason };
}

function writeVersion(v: DataView, at: number, version: number): void {
  v.setUint32(at, Math.floor(version / U32));
  v.setUint32(at + 4, version % U32);
}

function readVersion(v: DataView, at: number): number | null {
  const value = v.getUint32(at) * U32 + v.getUint32(at + 4);
  return Number.isSafeInteger(value) ? value : null;
}
