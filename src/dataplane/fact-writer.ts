/**
 * The data path's side of its fact ring (fact-ring.ts): a session's opening, closing and moves, denied first
 * packets and live sessions' totals as fixed rows, written straight from the session table's columns (no
 * object, no string, no message per session). Names (tenants, services, paths, interfaces of the config
 * generation; application names) go as NAME rows the first time a fact needs them after a new generation
 * or a new consumer (the ring's epoch): a GEN row first, which voids the names before it.
 * A fact goes with the names it needs or not at all: without room for all its rows it is counted lost.
 * A fact's rows are committed at its end and published with the batch's (publish(), from Dataplane.flushEvents,
 * which delivers control's facts of the batch too: every path that writes a fact ends there).
 * Cost (bench/records-cost.ts): a few dozen word stores per fact.
 */
import type { ForwardingTables } from '../model/tables.js';
import type { DataplaneContext } from './context.js';
import { DENIED_WORDS, type CloseReason, type MigrationReason } from './events.js';
import {
  COUNTERS_ENTRY, COUNTERS_PER_ROW, FACT_CLOSED, FACT_COUNTERS, FACT_DENIED, FACT_GEN, FACT_MIGRATED, FACT_NAME, FACT_OPENED, FactRing,
  NAME_APP, NAME_BYTES, NAME_INTERFACE, NAME_PATH, NAME_SERVICE, NAME_TABLES, NAME_TENANT, OPENED_DNAT, OPENED_SNAT, ROW_WORDS,
} from './fact-ring.js';
import { SF_DNAT, SF_SNAT } from './session-table.js';

/** Codes of close and migration reasons in rows (index = code). */
export const CLOSE_CODES: readonly CloseReason[] = ['idle', 'fin', 'rst', 'path-lost', 'handshake-failed', 'replaced', 'config', 'no-route', 'admin', 'shutdown', 'standby'];
export const MIGRATION_CODES: readonly MigrationReason[] = ['path-down', 'sla-breach', 'better-path', 'peer-moved'];
const CLOSE_CODE = new Map(CLOSE_CODES.map((r, i) => [r, i]));
const MIGRATION_CODE = new Map(MIGRATION_CODES.map((r, i) => [r, i]));

const MAX_MARKS = 8;
const encoder = new TextEncoder();

export class FactWriter {
  /** the config generation and the ring's epoch the names announced so far belong to */
  private generation = -1;
  private epoch = 0;
  /** per name table: 1 = announced in this generation and epoch */
  private readonly announced: Uint8Array[] = Array.from({ length: NAME_TABLES }, () => new Uint8Array(0));
  /** rows staged for the fact being written, and the names it announces (marked once it is published) */
  private staged = 0;
  private readonly markTable = new Uint8Array(MAX_MARKS);
  private readonly markId = new Uint32Array(MAX_MARKS);
  private marks = 0;
  private failed = false;
  private genStaged = false;
  private newEpoch = 0;
  private newGeneration = -1;

  constructor(readonly ring: FactRing) {}

  /** session.created: row r's tuples, names, interfaces and path. */
  opened(ctx: DataplaneContext, r: number): void {
    if (!this.begin(ctx.tables)) return;
    const t = ctx.sessions;
    const tables = ctx.tables;
    const tenant = t.tenant[r]!;
    const service = t.service[r]!;
    const app = t.app[r]!;
    const path = t.path[r]!;
    this.tenantName(tables, tenant);
    this.serviceName(tables, service);
    this.appName(ctx, app);
    this.pathName(ctx, path);
    this.interfaceName(tables, t.inIf[r]!);
    this.interfaceName(tables, t.outIf[r]!);
    const w = this.row();
    if (w < 0) return this.end();
    const words = this.ring.words;
    const f = t.flags[r]!;
    const snat = (f & SF_SNAT) !== 0;
    const dnat = (f & SF_DNAT) !== 0;
    words[w] = FACT_OPENED | (t.role[r]! << 8) | (t.family[r]! << 16) | ((snat ? OPENED_SNAT : 0) | (dnat ? OPENED_DNAT : 0)) << 20 | (t.protocol[r]! << 24);
    words[w + 1] = ((snat ? t.natSrcPort[r]! : t.origSrcPort[r]!) << 16 | (dnat ? t.natDstPort[r]! : t.origDstPort[r]!)) >>> 0;
    this.ring.f64[(w + 2) / 2] = t.created[r]!;
    copy4(t.uuid, r * 4, words, w + 4);
    words[w + 8] = tenant;
    words[w + 9] = service;
    words[w + 10] = app;
    words[w + 11] = path + 1;
    words[w + 12] = t.inIf[r]!;
    words[w + 13] = t.outIf[r]!;
    words[w + 14] = (t.origSrcPort[r]! << 16 | t.origDstPort[r]!) >>> 0;
    words[w + 15] = (t.wpLocalPort[r]! << 16 | t.wpPeerPort[r]!) >>> 0;
    copyAddress(t.srcWords(r), t.wordsAt, t.family[r]!, words, w + 16);
    copyAddress(t.dstWords(r), t.wordsAt, t.family[r]!, words, w + 20);
    if (snat) copy4(t.natSrc, r * 4, words, w + 24);
    if (dnat) copy4(t.natDst, r * 4, words, w + 28);
    this.end();
  }

  /** session.removed: row r's final totals. */
  closed(ctx: DataplaneContext, r: number, reason: CloseReason, now: number): void {
    if (!this.begin(ctx.tables)) return;
    const t = ctx.sessions;
    const app = t.app[r]!;
    this.appName(ctx, app);
    const w = this.row();
    if (w < 0) return this.end();
    const words = this.ring.words;
    const f64 = this.ring.f64;
    words[w] = FACT_CLOSED | (CLOSE_CODE.get(reason)! << 8);
    words[w + 1] = app;
    f64[(w + 2) / 2] = now;
    copy4(t.uuid, r * 4, words, w + 4);
    f64[(w + 8) / 2] = t.pktsFwd[r]!;
    f64[(w + 10) / 2] = t.pktsRev[r]!;
    f64[(w + 12) / 2] = t.bytesFwd[r]!;
    f64[(w + 14) / 2] = t.bytesRev[r]!;
    this.end();
  }

  /** session.migrated: row r moved from path `from` to its current path. */
  migrated(ctx: DataplaneContext, r: number, from: number, reason: MigrationReason, now: number): void {
    if (!this.begin(ctx.tables)) return;
    const t = ctx.sessions;
    const to = t.path[r]!;
    this.pathName(ctx, from);
    this.pathName(ctx, to);
    const w = this.row();
    if (w < 0) return this.end();
    const words = this.ring.words;
    words[w] = FACT_MIGRATED | (MIGRATION_CODE.get(reason)! << 8) | (t.role[r]! << 16) | (t.protocol[r]! << 24);
    words[w + 1] = (t.wpLocalPort[r]! << 16 | t.wpPeerPort[r]!) >>> 0;
    this.ring.f64[(w + 2) / 2] = now;
    copy4(t.uuid, r * 4, words, w + 4);
    words[w + 8] = from + 1;
    words[w + 9] = to + 1;
    this.end();
  }

  /** session.denied: the batch's denied first packets (DENIED_WORDS each); `suppressed` more were not recorded (on the first row). */
  denied(ctx: DataplaneContext, records: Uint32Array, count: number, suppressed: number, atMs: number): void {
    for (let i = 0; i < count; i++) {
      if (!this.begin(ctx.tables)) return;
      const at = i * DENIED_WORDS;
      this.tenantName(ctx.tables, records[at + 3]! - 1);
      this.serviceName(ctx.tables, records[at + 4]! - 1);
      this.interfaceName(ctx.tables, records[at + 2]!);
      const w = this.row();
      if (w < 0) {
        this.end(i === 0 ? 1 + suppressed : 1);
        continue;
      }
      const words = this.ring.words;
      words[w] = FACT_DENIED;
      words[w + 1] = i === 0 ? suppressed : 0;
      this.ring.f64[(w + 2) / 2] = atMs;
      for (let k = 0; k < DENIED_WORDS; k++) words[w + 4 + k] = records[at + k]!;
      this.end();
    }
  }

  /** session.counters: `count` entries of COUNTER_WORDS (events.ts) in `data`. */
  counters(ctx: DataplaneContext, data: Float64Array, count: number, atMs: number): void {
    for (let i = 0; i < count; i += COUNTERS_PER_ROW) {
      if (!this.begin(ctx.tables)) return;
      const w = this.row();
      if (w < 0) return this.end();
      const n = Math.min(COUNTERS_PER_ROW, count - i);
      const words = this.ring.words;
      const f64 = this.ring.f64;
      words[w] = FACT_COUNTERS;
      words[w + 1] = n;
      f64[(w + 2) / 2] = atMs;
      for (let e = 0; e < n; e++) {
        const at = (i + e) * 8;
        const o = w + 4 + e * COUNTERS_ENTRY;
        for (let k = 0; k < 4; k++) words[o + k] = data[at + k]!;
        for (let k = 0; k < 4; k++) f64[(o + 4) / 2 + k] = data[at + 4 + k]!;
      }
      this.end(n);
    }
  }

  /** Starts a fact: false while records are off. A new generation or consumer: a GEN row first, names again. */
  private begin(tables: ForwardingTables): boolean {
    const epoch = this.ring.epoch;
    if (epoch === 0) return false;
    this.staged = 0;
    this.marks = 0;
    this.failed = false;
    this.genStaged = false;
    if (epoch !== this.epoch || tables.generation !== this.generation) {
      const w = this.row();
      if (w < 0) return true; // counted by end()
      this.ring.words[w] = FACT_GEN;
      this.ring.words[w + 1] = tables.generation;
      this.ring.words[w + 2] = epoch;
      this.genStaged = true;
      const sizes = [tables.tenants.length, tables.services.length, tables.paths.length, tables.interfaces.length, 0x10000];
      for (let k = 0; k < NAME_TABLES; k++) {
        if (this.announced[k]!.length < sizes[k]!) this.announced[k] = new Uint8Array(sizes[k]!);
        else this.announced[k]!.fill(0);
      }
      this.newEpoch = epoch;
      this.newGeneration = tables.generation;
    }
    return true;
  }

  /** Commits the staged rows (published with the batch: publish()) and marks their names announced; or counts the fact (`facts`) lost. */
  private end(facts = 1): void {
    if (this.failed) {
      this.ring.lose(facts);
      return; // a GEN row staged: announced again with the next fact
    }
    if (this.genStaged) {
      this.epoch = this.newEpoch;
      this.generation = this.newGeneration;
    }
    for (let i = 0; i < this.marks; i++) this.announced[this.markTable[i]!]![this.markId[i]!] = 1;
    this.ring.commit(this.staged);
  }

  /** The facts written since the last call, to the consumer (the data path's batch ends: Dataplane.flushEvents). */
  publish(): void {
    this.ring.publish();
  }

  /** Word offset of the next staged row, or -1 (ring full: the fact fails). */
  private row(): number {
    if (this.failed || !this.ring.fits(this.staged + 1)) {
      this.failed = true;
      return -1;
    }
    return this.ring.nextRow(this.staged++);
  }

  private tenantName(tables: ForwardingTables, id: number): void {
    if (id >= 0 && id < tables.tenants.length) this.name(NAME_TENANT, id, tables.tenantNameBytes[id]!);
  }

  private serviceName(tables: ForwardingTables, id: number): void {
    const s = tables.services[id];
    if (id >= 0 && s !== undefined) this.name(NAME_SERVICE, id, s.nameBytes);
  }

  private interfaceName(tables: ForwardingTables, id: number): void {
    const i = tables.interfaces[id];
    if (id >= 0 && i !== undefined && this.announced[NAME_INTERFACE]![id] === 0) this.name(NAME_INTERFACE, id, encoder.encode(i.name));
  }

  private appName(ctx: DataplaneContext, id: number): void {
    if (id > 0) this.name(NAME_APP, id, ctx.applications.nameBytes(id));
  }

  private pathName(ctx: DataplaneContext, id: number): void {
    const p = ctx.tables.paths[id];
    if (id < 0 || p === undefined || this.announced[NAME_PATH]![id] !== 0) return;
    const text = ctx.pathText[id];
    const peer = p.peer >= 0 ? ctx.tables.peers[p.peer]?.name ?? '' : '';
    this.name(NAME_PATH, id, encoder.encode(`${p.name}\0${peer}\0${text?.local ?? ''}\0${text?.remote ?? ''}`));
  }

  /** A NAME row (and continuation rows) unless announced already or staged for this fact. */
  private name(table: number, id: number, bytes: Uint8Array): void {
    if (this.announced[table]![id] !== 0 || this.failed) return;
    for (let i = 0; i < this.marks; i++) if (this.markTable[i] === table && this.markId[i] === id) return;
    const rows = 1 + Math.ceil(Math.max(0, bytes.length - (ROW_WORDS * 4 - NAME_BYTES)) / (ROW_WORDS * 4));
    if (this.marks >= MAX_MARKS || !this.ring.fits(this.staged + rows)) {
      this.failed = true;
      return;
    }
    const w = this.row();
    const words = this.ring.words;
    words[w] = FACT_NAME | (table << 8);
    words[w + 1] = id;
    words[w + 2] = bytes.length;
    words[w + 3] = rows;
    let at = 0;
    let o = w * 4 + NAME_BYTES;
    let room = ROW_WORDS * 4 - NAME_BYTES;
    for (let k = 1; ; k++) {
      const n = Math.min(room, bytes.length - at);
      this.ring.bytes.set(bytes.subarray(at, at + n), o);
      at += n;
      if (k >= rows) break;
      o = this.row() * 4;
      room = ROW_WORDS * 4;
    }
    this.markTable[this.marks] = table;
    this.markId[this.marks++] = id;
  }
}

/** An address's words (IPv4: one, the other three 0; IPv6: four) into 4 words at `o`. */
function copyAddress(from: Uint32Array, at: number, family: number, to: Uint32Array, o: number): void {
  if (family === 6) return copy4(from, at, to, o);
  to[o] = from[at]!;
  to[o + 1] = to[o + 2] = to[o + 3] = 0;
}

function copy4(from: Uint32Array, at: number, to: Uint32Array, o: number): void {
  to[o] = from[at]!;
  to[o + 1] = from[at + 1]!;
  to[o + 2] = from[at + 2]!;
  to[o + 3] = from[at + 3]!;
}
