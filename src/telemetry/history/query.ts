/**
 * Reading the session history: a query (time range on end time, filters, page size, cursor) runs over one
 * "driver" and checks every filter on each record it reads:
 *   - an exact filter with postings (source/destination address, path, application, service, port,
 *     router, tenant, close reason: the first given, in that order) -> the postings of that value, minute
 *     by minute, in batch order, each posting's records by end time;
 *   - no such filter (or only address prefixes, source port, kind) -> the records in end-time order.
 * A page holds at most `limit` records (<= 1000) and reads at most SCAN_BUDGET records: a page can come
 * back short with a cursor, so that no query holds the node for long. The cursor names the driver and the
 * position; it is only valid with the same filters.
 */
import { parsePrefix, prefixContains, type ParsedPrefix } from '../../packet/addr.js';
import { SvrError } from '../../errors.js';
import { CLOSE_REASONS, type CloseReason, type RecordKind, type SessionRecord } from '../record.js';
import { canonicalAddress, decodeRefs, minuteOf, hex, postingPrefix, recordKey, timeHex, type IndexedField, type Ref } from './keys.js';

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

/** What a query reads from the store (a LevelDB sublevel, keys as in keys.ts). */
export interface HistoryReader {
  iterate(range: { gte?: string; lte?: string; gt?: string; lt?: string; reverse: boolean }): AsyncIterable<[string, Uint8Array]>;
  getMany(keys: string[]): Promise<(Uint8Array | undefined)[]>;
  decode(value: Uint8Array): SessionRecord;
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
  /** last key read (time driver) or the posting key to resume at */
  k: string;
  /** postings: refs of that posting already read */
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

async function byTime(db: HistoryReader, c: Checked): Promise<HistoryPage> {
  const page: HistoryPage = { records: [], scanned: 0 };
  const lo = `r/${timeHex(c.from)}`;
  const hi = `r/${timeHex(c.to)}`;
  const range = c.newest
    ? { gte: lo, ...(c.cursor !== undefined ? { lt: c.cursor.k } : { lt: hi }), reverse: true }
    : { ...(c.cursor !== undefined ? { gt: c.cursor.k } : { gte: lo }), lt: hi, reverse: false };
  for await (const [key, value] of db.iterate(range)) {
    page.scanned++;
    const r = db.decode(value);
    if (matches(c, r)) page.records.push(r);
    if (page.records.length >= c.limit || page.scanned >= SCAN_BUDGET) {
      page.cursor = encodeCursor({ d: 'time', k: key });
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
  const seen = new Set<string>();
  const tag = driverTag([field, value]);
  for await (const [key, refsBytes] of db.iterate(range)) {
    const refs = decodeRefs(refsBytes);
    if (c.newest) refs.reverse();
    let i = at !== undefined && key === at.k ? at.i ?? 0 : 0;
    while (i < refs.length) {
      // read a chunk of the posting's records at once
      const chunk: Ref[] = [];
      /** each chunk entry's place in refs */
      const place: number[] = [];
      for (; i < refs.length && chunk.length < 256 && page.scanned + chunk.length < SCAN_BUDGET; i++) {
        const ref = refs[i]!;
        if (ref.endMs < c.from || ref.endMs >= c.to) continue;
        chunk.push(ref);
        place.push(i);
      }
      const keys = chunk.map((r) => recordKey(r.endMs, r.id));
      const values = await db.getMany(keys);
      for (let j = 0; j < chunk.length; j++) {
        page.scanned++;
        const v = values[j];
        if (v === undefined || seen.has(keys[j]!)) continue; // replaced by a later record of the session, or retired
        seen.add(keys[j]!);
        const r = db.decode(v);
        if (!matches(c, r)) continue;
        page.records.push(r);
        if (page.records.length >= c.limit) {
          // resume after this record: the refs of this posting up to it are done
          page.cursor = encodeCursor({ d: tag, k: key, i: place[j]! + 1 });
          return page;
        }
      }
      if (page.scanned >= SCAN_BUDGET) {
        page.cursor = encodeCursor({ d: tag, k: key, i });
        return page;
      }
    }
  }
  return page;
}
