/**
 * The admission decision for a new session, in typed arrays (no allocation per session):
 *   1. max-sessions: sessions this plugin let open and that have not closed;
 *   2. half-open (TCP only): sessions let open whose handshake has not completed;
 *   3. per-service-rate: one token bucket per service (sessions/s, depth = burst);
 *   4. per-source-rate: one token bucket per source-address hash (`source-buckets` of them).
 * Tokens are taken only when every check passed, so a refused session costs no one's budget.
 * Per row: whether it is counted open / half-open, and the server's ISN once its SYN/ACK is seen, so
 * the `track` stage can tell when the client's ACK completes the handshake.
 */
import type { OpeningSession } from '../../api.js';
import type { PluginTables } from '../../api.js';
import { addressBucket } from '../shared/address.js';
import { withRow } from '../shared/rows.js';
import { Episodes, R_HALF_OPEN, R_MAX_SESSIONS, R_SERVICE_RATE, R_SOURCE_RATE } from './episodes.js';
import type { DosOptions } from './options.js';

export const ADMIT = -1;

const ROW_OPEN = 0x1;
const ROW_HALF_OPEN = 0x2;
const ROW_SYNACK = 0x4;

/** A set of token buckets (tokens, last refill) with one rate and depth each. */
class Buckets {
  tokens: Float64Array;
  last: Float64Array;
  perMs: Float64Array;
  depth: Float64Array;

  constructor(n: number) {
    this.tokens = new Float64Array(n);
    this.last = new Float64Array(n).fill(-1);
    this.perMs = new Float64Array(n);
    this.depth = new Float64Array(n);
  }

  /** Refills bucket b to `now` and says whether one token is there. */
  has(b: number, now: number): boolean {
    const last = this.last[b]!;
    if (last < 0) this.tokens[b] = this.depth[b]!;
    else if (now > last) this.tokens[b] = Math.min(this.depth[b]!, this.tokens[b]! + (now - last) * this.perMs[b]!);
    if (now > last) this.last[b] = now;
    return this.tokens[b]! >= 1;
  }

  take(b: number): void {
    this.tokens[b]! -= 1;
  }
}

export class DosLimits {
  open = 0;
  halfOpen = 0;
  readonly episodes: Episodes;
  private readonly sources: Buckets | null;
  private readonly mask: number;
  private services = new Buckets(0);
  /** per service id: 1 when it has a rate limit */
  private limited = new Uint8Array(0);
  private tables: PluginTables | null = null;
  private rowCap = 0;
  private rowFlags = new Uint8Array(0);
  private serverIsn = new Uint32Array(0);

  constructor(private readonly opts: DosOptions) {
    const n = opts.sourceBuckets;
    this.mask = n - 1;
    this.sources = opts.perSource.rate > 0 ? new Buckets(n) : null;
    if (this.sources !== null) {
      this.sources.perMs.fill(opts.perSource.rate / 1000);
      this.sources.depth.fill(opts.perSource.burst);
    }
    this.episodes = new Episodes(n + 2);
    this.ensure(0);
  }

  get tracksHalfOpen(): boolean {
    return this.opts.halfOpen > 0;
  }

  /** Room for `row` (session-open hook). */
  ensure(row: number): void {
    if (row < this.rowCap) return;
    this.rowFlags = withRow(this.rowFlags, row);
    this.serverIsn = withRow(this.serverIsn, row);
    this.rowCap = this.rowFlags.length;
  }

  get capacity(): number {
    return this.rowCap;
  }

  /** Service buckets follow the router's tables (config applied). */
  refresh(t: PluginTables): void {
    if (t === this.tables) return;
    this.tables = t;
    const n = t.services.length;
    this.services = new Buckets(n);
    this.limited = new Uint8Array(n);
    t.services.forEach((svc, id) => {
      const l = this.opts.perService.get(svc.name);
      if (l === undefined) return;
      this.limited[id] = 1;
      this.services.perMs[id] = l.rate / 1000;
      this.services.depth[id] = l.burst;
    });
    this.episodes.grow(this.opts.sourceBuckets + 2 + n);
  }

  /** ADMIT, or the reason (R_*) to refuse; an admitted session is counted open (and half-open). */
  admit(s: OpeningSession, now: number, tcp: boolean): number {
    const o = this.opts;
    const n = o.sourceBuckets;
    this.forget(s.row); // a row whose previous session never closed here (refused by a later plugin)
    if (o.maxSessions > 0 && this.open >= o.maxSessions) return this.refuse(R_MAX_SESSIONS, n + 1, s, now);
    if (tcp && o.halfOpen > 0 && this.halfOpen >= o.halfOpen) return this.refuse(R_HALF_OPEN, n, s, now);
    const svc = s.service;
    const svcLimited = svc >= 0 && svc < this.limited.length && this.limited[svc] === 1;
    if (svcLimited && !this.services.has(svc, now)) return this.refuse(R_SERVICE_RATE, n + 2 + svc, s, now);
    const src = this.sources === null ? -1 : addressBucket(s.src, s.family, this.mask);
    if (this.sources !== null && !this.sources.has(src, now)) return this.refuse(R_SOURCE_RATE, src, s, now);
    if (svcLimited) this.services.take(svc);
    if (this.sources !== null) this.sources.take(src);
    this.open++;
    let f = ROW_OPEN;
    if (tcp && o.halfOpen > 0) {
      f |= ROW_HALF_OPEN;
      this.halfOpen++;
    }
    this.rowFlags[s.row] = f;
    return ADMIT;
  }

  /** The session on `row` is gone (close hook). */
  forget(row: number): void {
    if (row >= this.rowCap) return;
    const f = this.rowFlags[row]!;
    if ((f & ROW_OPEN) !== 0) this.open--;
    if ((f & ROW_HALF_OPEN) !== 0) this.halfOpen--;
    this.rowFlags[row] = 0;
  }

  isHalfOpen(row: number): boolean {
    return row >= 0 && row < this.rowCap && (this.rowFlags[row]! & ROW_HALF_OPEN) !== 0;
  }

  /** The server's SYN/ACK of a half-open row. */
  sawSynAck(row: number, isn: number): void {
    this.serverIsn[row] = isn;
    this.rowFlags[row] = this.rowFlags[row]! | ROW_SYNACK;
  }

  /** The client's ACK: true (and no longer half-open) when it acknowledges the server's SYN. */
  sawClientAck(row: number, ack: number): boolean {
    const f = this.rowFlags[row]!;
    if ((f & ROW_SYNACK) === 0 || ack !== ((this.serverIsn[row]! + 1) >>> 0)) return false;
    this.rowFlags[row] = f & ~(ROW_HALF_OPEN | ROW_SYNACK);
    this.halfOpen--;
    return true;
  }

  private refuse(reason: number, key: number, s: OpeningSession, now: number): number {
    this.episodes.refused(key, reason, s, now);
    return reason;
  }
}
