/**
 * Key layout of the session history (its own LevelDB database, sublevel `history`), format 5 and 6 (6: blocks of version 2):
 *
 *   k/<S>                            -> block S: a batch's records (block.ts), one value, in the blocks'
 *                                       own database (block-store.ts; a format-3 history's older blocks here)
 *   b/<S>                            -> block S's manifest: end-time range, rows, postings, bytes (retention,
 *                                       and the time-ordered reading of blocks)
 *   f/<S>                            -> block S's id filter (id-index.ts): which ids it may hold
 *   p/<field>\0<value>\0<M><S>       -> rows (encodeRuns)                  postings: the rows of block S
 *                                                                          whose <field> is <value> and whose
 *                                                                          end time is in minute M (8 hex each)
 *   m/<name>                         -> meta counters (accepted, written, seq, bytes, lost..., format,
 *                                       blocksFrom: the first block in the blocks' database, indexFrom: the
 *                                       first block indexed as format 5: filters of the id's 16 bytes, postings
 *                                       as runs; before it, filters of the id's text, postings as row gaps)
 *
 * A block costs one key per distinct (field, value, minute) and three more (block, filter, manifest), a
 * write four meta keys, none per record: format 4 hashed the id's text into filters and wrote a posting's rows
 * one by one (about 10 bytes a record in all), format 3 kept the blocks in this database, format 2 had an id key
 * per record (i/<id>), format 1 three keys and a JSON value per record (r/<T>/<id>, i/<id>/<T>). A record
 * replaced by a later one of its session (an interim record) stays in its block; readers skip it when a
 * later block or row holds its id. Values never contain NUL (names and addresses).
 */
import { formatAddress, parseAddress } from '../../packet/addr.js';
import type { SessionRecord } from '../record.js';

/** The fields with postings; the query's other filters are checked on each record. */
export type IndexedField = 'tenant' | 'service' | 'application' | 'router' | 'path' | 'reason' | 'source' | 'destination' | 'port';

export const hex = (n: number, digits: number): string => Math.floor(n).toString(16).padStart(digits, '0');
export const minuteOf = (ms: number): number => Math.floor(ms / 60_000);

export const blockKey = (seq: number): string => `k/${hex(seq, 8)}`;
export const filterKey = (seq: number): string => `f/${hex(seq, 8)}`;
export const batchKey = (seq: number): string => `b/${hex(seq, 8)}`;
/** the batch seq of a posting key, block key or manifest key (its last 8 hex digits) */
export const seqOfKey = (key: string): number => parseInt(key.slice(key.length - 8), 16);
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

/** canonicalCached with the last address of one field kept (the server's repeats record after record: no lookup) */
class LastCanonical {
  private text = '';
  private canon = '';

  of(text: string): string {
    if (text !== this.text) {
      this.canon = canonicalCached(text);
      this.text = text;
    }
    return this.canon;
  }
}
const lastSource = new LastCanonical();
const lastDestination = new LastCanonical();

/** The client's address as its source postings hold it (canonical text of `src`, a row's forward source). */
export const sourceOf = (src: string): string => lastSource.of(src);

/** The indexed fields by number (IndexSink's `field`), in indexEntries' order. */
export const INDEXED_FIELDS: readonly IndexedField[] = ['tenant', 'service', 'application', 'router', 'path', 'reason', 'source', 'destination', 'port'];
const [TENANT, SERVICE, APPLICATION, ROUTER, PATH, REASON, DESTINATION, PORT] = [0, 1, 2, 3, 4, 5, 7, 8] as const;
/** the one indexed field not in a block's names entry (block.ts): a row's own */
export const SOURCE = 6;

/** Receives a record's index entries (a class, not a closure: nothing is allocated per record); `field`: INDEXED_FIELDS' index. */
export interface IndexSink {
  add(field: number, value: string): void;
}

/** Port numbers as text, made once each. */
const PORT_TEXT: string[] = [];
const portText = (port: number): string => (PORT_TEXT[port] ??= String(port));

/** What a record is found by but its client's address: a block's names entry (block.ts) holds it. */
export interface IndexedNames extends Pick<SessionRecord, 'tenant' | 'service' | 'application' | 'ingressRouter' | 'egressRouter'> {
  paths: readonly string[];
  closeReason: string | undefined;
  /** the server's address and port (the forward 5-tuple's destination) */
  dst: string;
  dstPort: number;
}

/** The (field, value) pairs a record of names `n` and client address `source` (sourceOf) is found by (empty values are not indexed), into `sink`. */
export function indexEntries(n: IndexedNames, source: string, sink: IndexSink): void {
  if (n.tenant !== '') sink.add(TENANT, n.tenant);
  if (n.service !== '') sink.add(SERVICE, n.service);
  if (n.application !== '') sink.add(APPLICATION, n.application);
  if (n.ingressRouter !== '') sink.add(ROUTER, n.ingressRouter);
  if (n.egressRouter !== '' && n.egressRouter !== n.ingressRouter) sink.add(ROUTER, n.egressRouter);
  for (let i = 0; i < n.paths.length; i++) {
    const p = n.paths[i]!;
    if (p !== '' && n.paths.indexOf(p) === i) sink.add(PATH, p);
  }
  if (n.closeReason !== undefined) sink.add(REASON, n.closeReason);
  sink.add(SOURCE, source);
  sink.add(DESTINATION, lastDestination.of(n.dst));
  sink.add(PORT, portText(n.dstPort));
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** a lower-case hex digit's value by character code, -1 for any other character */
const NIBBLE = new Int8Array(128).fill(-1);
for (let c = 0; c < 16; c++) NIBBLE['0123456789abcdef'.charCodeAt(c)] = c;
const nibble = (c: number): number => (c < 128 ? NIBBLE[c]! : -1);

/** The 16 bytes of a lower-case UUID into `out` at `at`; false (nothing written that counts) when `id` is not one. */
export function uuidBytes(id: string, out: Uint8Array, at: number): boolean {
  if (id.length !== 36 || id.charCodeAt(8) !== 45 || id.charCodeAt(13) !== 45 || id.charCodeAt(18) !== 45 || id.charCodeAt(23) !== 45) return false;
  let j = at;
  for (let i = 0; i < 36; i += 2) {
    if (i === 8 || i === 13 || i === 18 || i === 23) i++;
    const hi = nibble(id.charCodeAt(i));
    const lo = nibble(id.charCodeAt(i + 1));
    if ((hi | lo) < 0) return false;
    out[j++] = (hi << 4) | lo;
  }
  return true;
}

/** The UUID whose 16 bytes are at `at`. */
export function uuidText(b: Uint8Array, at: number): string {
  let id = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) id += '-';
    id += HEX[b[at + i]!];
  }
  return id;
}

/**
 * A posting's rows (format 5) as runs of consecutive rows: `runs` holds [first, last, first, last ...] ascending;
 * each run as two varints, its first row less the row after the run before (0 at the start), and last - first.
 * A field that repeats row after row (tenant, service, router, destination, port, path: most of a block) is one
 * run of two bytes or so, not a byte per row (before: ~10 bytes a record of postings, rewritten by the index
 * database's compaction level after level).
 */
export function encodeRuns(runs: readonly number[]): Uint8Array {
  const out = new Uint8Array(runs.length * 5);
  let at = 0;
  let next = 0;
  for (let i = 0; i < runs.length; i += 2) {
    at = varint(out, at, runs[i]! - next);
    at = varint(out, at, runs[i + 1]! - runs[i]!);
    next = runs[i + 1]! + 1;
  }
  return out.slice(0, at);
}

function varint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[at++] = n;
  return at;
}

/** more rows than any block holds */
const MAX_ROW = 1 << 20;

/** The rows of a posting of format 5 (encodeRuns), ascending. */
export function decodeRuns(b: Uint8Array): number[] {
  const out: number[] = [];
  const at = { i: 0 };
  for (let next = 0; at.i < b.length;) {
    const first = next + readVarint(b, at);
    const last = Math.min(first + readVarint(b, at), MAX_ROW); // a bad value: no run past any block's rows
    for (let r = first; r <= last; r++) out.push(r);
    next = last + 1;
  }
  return out;
}

function readVarint(b: Uint8Array, at: { i: number }): number {
  let n = 0;
  for (let shift = 0; ; shift += 7) {
    const x = b[at.i++] ?? 0;
    n |= (x & 0x7f) << shift;
    if (x < 0x80) return n >>> 0;
  }
}

/** The rows of a posting before format 5: varints of the gaps between them (the first's from 0). */
export function decodeRows(b: Uint8Array): number[] {
  const out: number[] = [];
  let last = 0;
  for (let at = 0; at < b.length;) {
    let n = 0;
    let shift = 0;
    for (;;) {
      const x = b[at++]!;
      n |= (x & 0x7f) << shift;
      if (x < 0x80) break;
      shift += 7;
    }
    last += n;
    out.push(last);
  }
  return out;
}
