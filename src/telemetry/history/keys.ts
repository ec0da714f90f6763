/**
 * Key layout of the session history (one `history` sublevel of the node's LevelDB store):
 *
 *   r/<T>/<id>                       -> the record (JSON)                 T = end time, 12 hex digits of ms
 *   i/<id>/<T>                       -> ''                                 every stored record of a session
 *   p/<field>\0<value>\0<M><S>       -> refs (see encodeRef)               postings: the records of batch S
 *                                                                          whose <field> is <value> and whose
 *                                                                          end time is in minute M (8 hex each)
 *   b/<S>                            -> the batch's manifest (its postings and refs, for retention)
 *   m/<name>                         -> meta counters (accepted, written, seq, bytes, lost...)
 *
 * A posting holds the refs of every matching record of one write batch, so a batch costs one LevelDB key
 * per distinct (field, value) instead of one per record and field (measured: 12 keys per record write
 * 29k records/s, postings > 100k/s). Values never contain NUL (names and addresses).
 */
import { formatAddress, parseAddress } from '../../packet/addr.js';
import type { SessionRecord } from '../record.js';

/** The fields with postings; the query's other filters are checked on each record. */
export type IndexedField = 'tenant' | 'service' | 'application' | 'router' | 'path' | 'reason' | 'source' | 'destination' | 'port';

export const hex = (n: number, digits: number): string => Math.floor(n).toString(16).padStart(digits, '0');
/** 12 hex digits: good until the year 10889 */
export const timeHex = (ms: number): string => {
  const t = Math.floor(Math.max(0, ms)).toString(16);
  return t.length === 11 ? `0${t}` : t.length >= 12 ? t : t.padStart(12, '0');
};
export const minuteOf = (ms: number): number => Math.floor(ms / 60_000);

export const recordKey = (endMs: number, id: string): string => `r/${timeHex(endMs)}/${id}`;
export const idKey = (id: string, endMs: number): string => `i/${id}/${timeHex(endMs)}`;
export const batchKey = (seq: number): string => `b/${hex(seq, 8)}`;
export const metaKey = (name: string): string => `m/${name}`;
/** every posting of (field, value) starts with this */
export const postingPrefix = (field: IndexedField, value: string): string => `p/${field}\0${value}\0`;
/** the minute and batch part of a posting key */
export const postingSuffix = (minute: number, seq: number): string => `${hex(minute, 8)}${hex(seq, 8)}`;

/** Canonical text of an address (so `2001:DB8::1` and `2001:db8:0::1` index alike); the input when not one. */
export function canonicalAddress(text: string): string {
  const a = parseAddress(text);
  return a === undefined ? text : formatAddress(a.bytes, 0, a.family);
}

/** canonicalAddress of the addresses records carry, remembered (a router sees few distinct ones) */
const canonical = new Map<string, string>();
function canonicalCached(text: string): string {
  let c = canonical.get(text);
  if (c === undefined) {
    if (canonical.size >= 65_536) canonical.clear();
    c = canonicalAddress(text);
    canonical.set(text, c);
  }
  return c;
}

/** Receives a record's index entries (a class, not a closure: nothing is allocated per record). */
export interface IndexSink {
  add(field: IndexedField, value: string): void;
}

/** Port numbers as text, made once each. */
const PORT_TEXT: string[] = [];
const portText = (port: number): string => (PORT_TEXT[port] ??= String(port));

/** The (field, value) pairs a record is found by (empty values are not indexed), into `sink`. */
export function indexEntries(r: SessionRecord, sink: IndexSink): void {
  if (r.tenant !== '') sink.add('tenant', r.tenant);
  if (r.service !== '') sink.add('service', r.service);
  if (r.application !== '') sink.add('application', r.application);
  if (r.ingressRouter !== '') sink.add('router', r.ingressRouter);
  if (r.egressRouter !== '' && r.egressRouter !== r.ingressRouter) sink.add('router', r.egressRouter);
  for (let i = 0; i < r.paths.length; i++) {
    const p = r.paths[i]!;
    if (p !== '' && r.paths.indexOf(p) === i) sink.add('path', p);
  }
  if (r.closeReason !== undefined) sink.add('reason', r.closeReason);
  sink.add('source', canonicalCached(r.forward.src));
  sink.add('destination', canonicalCached(r.forward.dst));
  sink.add('port', portText(r.forward.dstPort));
}

/** A record's place: its end time and session id. */
export interface Ref {
  endMs: number;
  id: string;
}

const UUID_TAG = 0xff;
const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** The 16 bytes of a lower-case UUID, or undefined when `id` is not one. */
function uuidBytes(id: string, out: Uint8Array, at: number): boolean {
  if (id.length !== 36) return false;
  let j = at;
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (id.charCodeAt(i) !== 45) return false;
      continue;
    }
    const hi = nibble(id.charCodeAt(i));
    const lo = nibble(id.charCodeAt(++i));
    if (hi < 0 || lo < 0) return false;
    out[j++] = (hi << 4) | lo;
  }
  return true;
}

/** One ref packed: 6 bytes end time, then 0xff + 16 bytes for a UUID id, else its length (< 255) + UTF-8. */
export function encodeRef(endMs: number, id: string): Uint8Array {
  let out = new Uint8Array(23);
  if (uuidBytes(id, out, 7)) {
    out[6] = UUID_TAG;
  } else {
    const idBytes = utf8.encode(id).subarray(0, 254);
    out = new Uint8Array(7 + idBytes.length);
    out[6] = idBytes.length;
    out.set(idBytes, 7);
  }
  const hi = Math.floor(endMs / 0x1_0000_0000);
  const lo = endMs >>> 0;
  out[0] = (hi >> 8) & 0xff;
  out[1] = hi & 0xff;
  out[2] = lo >>> 24;
  out[3] = (lo >>> 16) & 0xff;
  out[4] = (lo >>> 8) & 0xff;
  out[5] = lo & 0xff;
  return out;
}

/** Packed refs, one after the other. */
export function concatRefs(refs: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const r of refs) size += r.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const r of refs) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

export function decodeRefs(b: Uint8Array): Ref[] {
  const out: Ref[] = [];
  let at = 0;
  while (at + 7 <= b.length) {
    const endMs = ((b[at]! << 8) | b[at + 1]!) * 0x1_0000_0000 + ((b[at + 2]! << 24) >>> 0) + (b[at + 3]! << 16) + (b[at + 4]! << 8) + b[at + 5]!;
    const tag = b[at + 6]!;
    at += 7;
    if (tag === UUID_TAG) {
      let id = '';
      for (let i = 0; i < 16; i++) {
        if (i === 4 || i === 6 || i === 8 || i === 10) id += '-';
        id += HEX[b[at + i]!];
      }
      out.push({ endMs, id });
      at += 16;
    } else {
      out.push({ endMs, id: utf8Decode.decode(b.subarray(at, at + tag)) });
      at += tag;
    }
  }
  return out;
}
