/**
 * Reading the session history: a query (time range on end time, filters, page size, cursor) runs over one
 * "driver" and checks every filter on each record it reads:
 *   - an exact filter with postings (source/destination address, path, application, service, port,
 *     router, tenant, close reason: the first given, in that order) -> the postings of that value, minute
 *     by minute, in batch order, each posting's rows by end time;
 *   - no such filter (or only address prefixes, source port, kind) -> the blocks in write order whose
 *     end-time range meets the query's, each block's rows by end time (a block holds one write batch, so
 *     records come in end-time order but for those that ended within a flush interval of each other).
 * Only the blocks that can match are read, and of those only the rows looked at are decoded. A record that a
 * later one of its session replaced (an interim record) is skipped: a later row or block holds its id.
 * A page holds at most `limit` records (<= 1000) and reads at most SCAN_BUDGET records: a page can come
 * back short with a cursor, so that no query holds the node for long. The cursor names the driver and the
 * position; it is only valid with the same filters.
 */
import { Unpackr } from 'msgpackr/unpack';
import { parsePrefix, prefixContains, type ParsedPrefix } from '../../packet/addr.js';
import { SvrError } from '../../errors.js';
import { CLOSE_REASONS, type CloseReason, type RecordKind, type SessionRecord } from '../record.js';
import { Block } from './block.js';
import { canonicalAddress, minuteOf, hex, postingPrefix, seqOfKey, type IndexedField } from './keys.js';

export interface HistoryQuery {
  /** end time >= from (ms since the epoch) */
  from?: number;
  /** end time < to */
  to?: number;
  tenant?: string;
  service?: string;
  application?: string;
  /** ingress or egress router */
  router?: string;
  /** a peer path the session used */
  path?: string;
  closeReason?: CloseReason;
  kind?: RecordKind;
  /** the client's address: an address or a prefix (198.18.1.0/24) */
  source?: string;
  /** the server's address or prefix */
  destination?: string;
  /** the server's port */
  port?: number;
  /** the client's port */
  sourcePort?: number;
  /** records per page, 1-1000; default 100 */
  limit?: number;
  /** from the previous page */
  cursor?: string;
  /** default newest first */
  order?: 'newest' | 'oldest';
}

export interface HistoryPage {
  records: SessionRecord[];
  /** more may follow: pass it back with the same query */
  cursor?: string;
  /** records read for this page */
  scanned: number;
}

export const PAGE_DEFAULT = 100;
export const PAGE_MAX = 1000;
export const SCAN_BUDGET = 20_000;

/** What a query reads from the store (the index: a LevelDB sublevel, keys as in keys.ts; and the blocks). */
export interface HistoryReader {
  iterate(range: { gte?: string; lte?: string; gt?: string; lt?: string; reverse: boolean }): AsyncIterable<[string, Uint8Array]>;
  /** block `seq` (undefined when retired) */
  block(seq: number): Promise<Uint8Array | undefined>;
  /** the rows (ascending) of a posting of block `seq` (its encoding is the format the block was indexed in) */
  rows(seq: number, posting: Uint8Array): number[];
  /** whether a later record of the session (a later row of block `seq`, or a later block) replaced this one */
  replaced(sessionId: string, seq: number, row: number): Promise<boolean>;
}

interface Checked {
  q: HistoryQuery;
  limit: number;
  newest: boolean;
  from: number;
  to: number;
  source: ParsedPrefix | undefined;
  destination: ParsedPrefix | undefined;
  driver: [IndexedField, string] | undefined;
  cursor: Cursor | undefined;
}

interface Cursor {
  /** `time` or `<field>=<value>` */
  d: string;
  /** the manifest key (time driver) or the posting key to resume at */
  k: string;
  /** rows of it already read */
  i?: number;
}

function bad(parameter: string, message: string): SvrError {
  return new SvrError('SVR_ERR_HISTORY_QUERY', `history query: ${parameter}: ${message}`, { parameter });
}

function prefixOf(parameter: string, text: string | undefined): ParsedPrefix | undefined {
  if (text === undefined) return undefined;
  const p = parsePrefix(text);
  if (p === undefined) throw bad(parameter, `expected an address or prefix like 198.18.1.0/24 or 2001:db8::/32, got ${JSON.stringify(text)}`);
  return p;
}

/** Validates a query; SVR_ERR_HISTORY_QUERY names the bad parameter (data.parameter). */
export function checkQuery(q: HistoryQuery): Checked {
  const limit = q.limit ?? PAGE_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX) throw bad('limit', `expected 1-${PAGE_MAX}, got ${limit}`);
  for (const k of ['port', 'sourcePort'] as const) {
    const v = q[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 65535)) throw bad(k, `expected a port 0-65535, got ${v}`);
  }
  for (const k of ['from', 'to'] as const) {
    const v = q[k];
    if (v !== undefined && !Number.isFinite(v)) throw bad(k, `expected a time in ms since the epoch, got ${v}`);
  }
  const from = Math.max(0, q.from ?? 0);
  const to = Math.min(q.to ?? 0xffff_ffff_ffff, 0xffff_ffff_ffff);
  if (from > to) throw bad('from', `from (${from}) is after to (${to})`);
  if (q.closeReason !== undefined && !CLOSE_REASONS.includes(q.closeReason)) throw bad('closeReason', `expected one of ${CLOSE_REASONS.join(', ')}, got ${JSON.stringify(q.closeReason)}`);
  if (q.kind !== undefined && q.kind !== 'end' && q.kind !== 'interim') throw bad('kind', `expected end or interim, got ${JSON.stringify(q.kind)}`);
  if (q.order !== undefined && q.order !== 'newest' && q.order !== 'oldest') throw bad('order', `expected newest or oldest, got ${JSON.stringify(q.order)}`);
  const source = prefixOf('source', q.source);
  const destination = prefixOf('destination', q.destination);
  const driver = chooseDriver(q, source, destination);
  const c: Checked = { q, limit, newest: q.order !== 'oldest', from, to, source, destination, driver, cursor: undefined };
  if (q.cursor !== undefined) {
    let cursor: Cursor;
    try {
      cursor = JSON.parse(Buffer.from(q.cursor, 'base64url').toString('utf8')) as Cursor;
    } catch {
      throw bad('cursor', 'not a cursor from a previous page');
    }
    if (typeof cursor?.d !== 'string' || typeof cursor.k !== 'string' || (cursor.i !== undefined && !Number.isInteger(cursor.i))) throw bad('cursor', 'not a cursor from a previous page');
    if (cursor.d !== driverTag(driver)) throw bad('cursor', 'the cursor belongs to a query with other filters');
    c.cursor = cursor;
  }
  return c;
}

const isFullLength = (p: ParsedPrefix): boolean => p.length === p.bytes.length * 8;

function chooseDriver(q: HistoryQuery, source: ParsedPrefix | undefined, destination: ParsedPrefix | undefined): [IndexedField, string] | undefined {
  if (source !== undefined && isFullLength(source)) return ['source', canonicalAddress(q.source!.split('/')[0]!)];
  if (destination !== undefined && isFullLength(destination)) return ['destination', canonicalAddress(q.destination!.split('/')[0]!)];
  if (q.path !== undefined) return ['path', q.path];
  if (q.application !== undefined) return ['application', q.application];
  if (q.service !== undefined) return ['service', q.service];
  if (q.port !== undefined) return ['port', String(q.port)];
  if (q.router !== undefined) return ['router', q.router];
  if (q.tenant !== undefined) return ['tenant', q.tenant];
  if (q.closeReason !== undefined) return ['reason', q.closeReason];
  return undefined;
}

/** A manifest's end-time range (history.ts writes it, MessagePack). */
const manifests = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: false });
const unpackManifest = (v: Uint8Array): { minEnd: number; maxEnd: number } => manifests.unpack(v) as { minEnd: number; maxEnd: number };

const driverTag = (d: [IndexedField, string] | undefined): string => (d === undefined ? 'time' : `${d[0]}=${d[1]}`);
const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');

function addressIn(prefix: ParsedPrefix | undefined, text: string): boolean {
  if (prefix === undefined) return true;
  const a = parsePrefix(text);
  return a !== undefined && a.length === a.bytes.length * 8 && prefixContains(prefix, a.bytes, 0, a.family);
}

/** Every filter of the query, on one record. */
export function matches(c: Checked, r: SessionRecord): boolean {
  const q = c.q;
  return r.endMs >= c.from && r.endMs < c.to &&
    (q.tenant === undefined || r.tenant === q.tenant) &&
    (q.service === undefined || r.service === q.service) &&
    (q.application === undefined || r.application === q.application) &&
    (q.router === undefined || r.ingressRouter === q.router || r.egressRouter === q.router) &&
    (q.path === undefined || r.paths.includes(q.path)) &&
    (q.closeReason === undefined || r.closeReason === q.closeReason) &&
    (q.kind === undefined || r.kind === q.kind) &&
    (q.port === undefined || r.forward.dstPort === q.port) &&
    (q.sourcePort === undefined || r.forward.srcPort === q.sourcePort) &&
    addressIn(c.source, r.forward.src) && addressIn(c.destination, r.forward.dst);
}

/** One page of a checked query. */
export async function runQuery(db: HistoryReader, c: Checked): Promise<HistoryPage> {
  return c.driver === undefined ? byTime(db, c) : byPostings(db, c, c.driver);
}

/** The blocks a page reads (the last one kept: consecutive postings are mostly of one block). */
class Blocks {
  private seq = -1;
  private block: Block | undefined;
  constructor(private readonly db: HistoryReader) {}

  async get(seq: number): Promise<Block | undefined> {
    if (seq !== this.seq) {
      const bytes = await this.db.block(seq);
      this.seq = seq;
      this.block = bytes === undefined ? undefined : new Block(bytes);
    }
    return this.block;
  }
}

/** False for a record that a later one of its session replaced. */
async function current(db: HistoryReader, r: SessionRecord, seq: number, row: number): Promise<boolean> {
  return r.kind === 'end' || !(await db.replaced(r.sessionId, seq, row));
}

/**
 * Reads `rows` of block `seq` from position `i` (positions in the query's order) into the page; returns the
 * cursor when the page is full or its scan budget spent, else undefined.
 */
async function readRows(db: HistoryReader, c: Checked, page: HistoryPage, block: Block, seq: number, rows: readonly number[], i: number, cursor: (i: number) => string): Promise<string | undefined> {
  for (; i < rows.length; i++) {
    const row = rows[i]!;
    page.scanned++;
    const r = block.row(row);
    if (matches(c, r) && (await current(db, r, seq, row))) page.records.push(r);
    if (page.records.length >= c.limit || page.scanned >= SCAN_BUDGET) return cursor(i + 1);
  }
  return undefined;
}

/** 0..n-1, or n-1..0 for newest first */
function allRows(n: number, newest: boolean): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = newest ? n - 1 - i : i;
  return out;
}

async function byTime(db: HistoryReader, c: Checked): Promise<HistoryPage> {
  const page: HistoryPage = { records: [], scanned: 0 };
  const at = c.cursor;
  const range = c.newest
    ? { gte: 'b/', ...(at !== undefined ? { lte: at.k } : { lt: 'b0' }), reverse: true }
    : { gte: at !== undefined ? at.k : 'b/', lt: 'b0', reverse: false };
  const blocks = new Blocks(db);
  for await (const [key, value] of db.iterate(range)) {
    const m = unpackManifest(value);
    if (m.maxEnd < c.from || m.minEnd >= c.to) continue;
    const seq = seqOfKey(key);
    const block = await blocks.get(seq);
    if (block === undefined) continue;
    const start = at !== undefined && key === at.k ? at.i ?? 0 : 0;
    const cursor = await readRows(db, c, page, block, seq, allRows(block.rows, c.newest), start, (i) => encodeCursor({ d: 'time', k: key, i }));
    if (cursor !== undefined) {
      page.cursor = cursor;
      break;
    }
  }
  return page;
}

async function byPostings(db: HistoryReader, c: Checked, [field, value]: [IndexedField, string]): Promise<HistoryPage> {
  const page: HistoryPage = { records: [], scanned: 0 };
  const prefix = postingPrefix(field, value);
  const lo = prefix + hex(minuteOf(c.from), 8);
  const hi = prefix + hex(minuteOf(c.to) + 1, 8);
  const at = c.cursor;
  const range = c.newest
    ? { gte: lo, ...(at !== undefined ? { lte: at.k } : { lt: hi }), reverse: true }
    : { ...(at !== undefined ? { gte: at.k } : { gte: lo }), lt: hi, reverse: false };
  const tag = driverTag([field, value]);
  const blocks = new Blocks(db);
  for await (const [key, rowsBytes] of db.iterate(range)) {
    const seq = seqOfKey(key);
    const block = await blocks.get(seq);
    if (block === undefined) continue; // retired while this page read
    const rows = db.rows(seq, rowsBytes);
    if (c.newest) rows.reverse();
    const start = at !== undefined && key === at.k ? at.i ?? 0 : 0;
    const cursor = await readRows(db, c, page, block, seq, rows, start, (i) => encodeCursor({ d: tag, k: key, i }));
    if (cursor !== undefined) {
      page.cursor = cursor;
      break;
    }
  }
  return page;
}
