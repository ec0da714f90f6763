/**
 * FEC on the peer path (docs/wan.md "FEC"; ssr-reference §1.4 "Packet resiliency / FEC"), per session and
 * direction, for sessions of services whose policy has `fec` and whose waypoint 5-tuple is UDP. The code
 * (packet/svr-fec.ts): groups of group-size data packets, `parity` parity rows each over GF(2^8); any
 * `parity` lost packets of a group (data or parity) are rebuilt.
 * Sender (svr-out, a data packet in its wire form, signed, without metadata): its vector (length,
 * fingerprint, L4 payload) is added into each parity row of the session's open group and the packet gets
 * its tag (group, index); a group full, or flush-ms old at the next packet or sweep, sends its parity
 * packets right behind its last packet: svr-out writes them into free slots of the batch (the data path
 * leaves room: batchFill) next in the frame; a sweep's go through the dup batch.
 * Receiver (fec-in, before wan-verify: the bytes exactly as sent): a data packet's tag is stripped and its
 * vector added into its group's rows (two groups open per session, for a parity overtaken by the next
 * group); a verified parity packet is added into its row; when the group's missing data packets are no
 * more than its parity rows received, they are solved for and go into the recovered batch, which the data
 * path runs through the graph after the batch: wan-verify checks each like any received packet (its own
 * trailer and replay counter when the path signs). A data packet arriving after its group was rebuilt
 * without it is dropped ('drop-fec-duplicate').
 * State: FEC_POOL sessions per direction and data path, each group taken by a session (row + generation)
 * at its first FEC packet and reused when the session is gone or idle STALE_MS; allocated at first use; no
 * allocation per packet.
 * Cost: per data packet, one pass over its payload per parity row on each side (row 0 XOR, others a table
 * lookup per byte: ~1-3 µs for 1400 B); a rebuild solves a parity x parity system.
 */
import { PROTO_UDP, PacketInfo, parsePacket } from '../packet/ip.js';
import { fillL4Checksum, setIpLength } from '../packet/rewrite.js';
import { writeU16, writeU32, readU16, readU32 } from '../packet/checksum.js';
import {
  FEC_HEADER_LENGTH, FEC_VECTOR_HEADER, fecCount, fecFingerprint, fecGroup, fecParities, fecRow, fecVectorLength, writeFecHeader,
} from '../packet/svr-fec.js';
import { GF_MUL, gfInvert, gfPow } from '../packet/gf256.js';
import { HEADROOM, MAX_BATCH, PF_FEC_RECOVERED, PF_HANDED, SLOT, type Batch } from './batch.js';
import type { ServiceArrays } from '../model/service-arrays.js';
import type { DataplaneContext } from './context.js';
import type { SessionTable } from './session-table.js';
import { signPacket, trailerLength } from './sign.js';

/** sessions with FEC state per direction and data path */
export const FEC_POOL = 256;
export const MAX_PARITY = 4;
export const MAX_GROUP = 64;
/** the longest vector: a batch slot's packet */
const ACC = SLOT - HEADROOM;
/** IP (v4 with options or v6) + UDP header of the latest data packet: the parity packets' headers */
const HDR = 68;
/** a group untouched this long is free for another session */
const STALE_MS = 5000;
/** tag index of a data packet in no group (no FEC state, or too long) */
export const NO_INDEX = 0xff;

/** acc[at, at+n) ^= c * src[off, off+n) over GF(2^8) */
function mulAdd(acc: Uint8Array, at: number, c: number, src: Uint8Array, off: number, n: number): void {
  if (c === 1) {
    for (let k = 0; k < n; k++) acc[at + k] ^= src[off + k]!;
    return;
  }
  const row = c << 8;
  for (let k = 0; k < n; k++) acc[at + k] ^= GF_MUL[row | src[off + k]!]!;
}

/** Per service id, from the tables (read-only, the compile's arrays): group size (0 = no FEC), parity rows, flush deadline. */
export class FecPolicies {
  groupSize: Readonly<Uint8Array> = new Uint8Array(0);
  parity: Readonly<Uint8Array> = new Uint8Array(0);
  flushMs: Readonly<Uint16Array> = new Uint16Array(0);
  any = false;
  /** packets per batch the data path takes in, leaving a slot for each parity packet (svr-out writes them inline) */
  batchFill = MAX_BATCH;

  reset(a: ServiceArrays): void {
    this.groupSize = a.fecGroupSize;
    this.parity = a.fecParity;
    this.flushMs = a.fecFlushMs;
    this.any = a.fecAny;
    this.batchFill = Math.max(1, Math.floor(MAX_BATCH * a.fecShare));
  }
}

/** Session ownership of pool entries (row + generation), shared by sender and receiver. */
class Pool {
  readonly row = new Int32Array(FEC_POOL).fill(-1);
  readonly gen = new Uint32Array(FEC_POOL);
  readonly usedAt = new Float64Array(FEC_POOL);
  private slotOfRow = new Int32Array(0);

  /** The entry of session (r, gen); a new one as -2 - entry (the caller resets it); -1 when all are in use. */
  take(r: number, gen: number, now: number, t: SessionTable): number {
    if (r >= this.slotOfRow.length) {
      const grown = new Int32Array(Math.max(r + 1, this.slotOfRow.length * 2)).fill(-1); // grows with the session table only
      grown.set(this.slotOfRow);
      this.slotOfRow = grown;
    }
    const known = this.slotOfRow[r]!;
    if (known >= 0 && this.row[known] === r && this.gen[known] === gen) {
      this.usedAt[known] = now;
      return known;
    }
    for (let i = 0; i < FEC_POOL; i++) {
      const o = this.row[i]!;
      if (o >= 0 && now - this.usedAt[i]! < STALE_MS && t.isActive(o) && t.gen[o] === this.gen[i]) continue;
      this.row[i] = r;
      this.gen[i] = gen;
      this.usedAt[i] = now;
      this.slotOfRow[r] = i;
      return -2 - i; // fresh: the caller resets it
    }
    return -1;
  }
}

/** The sender side: the open group of each session this data path sends FEC packets for. */
export class FecSender {
  private readonly pool = new Pool();
  private acc = new Uint8Array(0);
  private readonly header = new Uint8Array(FEC_POOL * HDR);
  private readonly headerLength = new Uint8Array(FEC_POOL);
  private readonly path = new Int16Array(FEC_POOL);
  private readonly group = new Uint32Array(FEC_POOL);
  private readonly count = new Uint8Array(FEC_POOL);
  private readonly parities = new Uint8Array(FEC_POOL);
  private readonly vectorLength = new Uint16Array(FEC_POOL);
  private readonly startedAt = new Float64Array(FEC_POOL);
  private readonly vhead = new Uint8Array(FEC_VECTOR_HEADER);
  private readonly info = new PacketInfo();
  /** the tag of the packet add() took last */
  tagGroup = 0;
  tagIndex = NO_INDEX;
  private cSent = 0;
  private cNotSent = 0;
  private cNoState = 0;

  constructor(private readonly ctx: DataplaneContext) {
    this.cSent = ctx.counters.id('fec-parity-sent');
    this.cNotSent = ctx.counters.id('fec-parity-not-sent');
    this.cNoState = ctx.counters.id('fec-no-state');
  }

  /** Whether packets of session r carry FEC (its service has it; the waypoint 5-tuple is UDP). */
  covers(r: number, pi: PacketInfo): boolean {
    return pi.protocol === PROTO_UDP && (this.ctx.fec.groupSize[this.ctx.sessions.service[r]!] ?? 0) > 0;
  }

  /**
   * svr-out: d[pi] is a data packet of FEC session r on path p in its wire form. Adds it to the session's
   * group (sets tagGroup/tagIndex for its tag); returns the group entry when the group is complete (the
   * caller writes its parity packets right behind the packet: writeParity), else -1.
   */
  add(d: Uint8Array, pi: PacketInfo, r: number, p: number, now: number): number {
    const ctx = this.ctx;
    const t = ctx.sessions;
    const svc = t.service[r]!;
    const hl = pi.payload - pi.l3;
    const len = pi.end - pi.payload;
    this.tagIndex = NO_INDEX;
    this.tagGroup = 0;
    if (hl > HDR || len + FEC_VECTOR_HEADER > ACC) return -1;
    let i = this.pool.take(r, t.gen[r]!, now, t);
    if (i === -1) {
      ctx.counters.add(this.cNoState);
      return -1;
    }
    if (i < -1) {
      i = -2 - i;
      if (this.acc.length === 0) this.acc = new Uint8Array(FEC_POOL * MAX_PARITY * ACC); // first FEC session
      this.group[i] = 0;
      this.vectorLength[i] = ACC;
      this.restart(i);
    }
    if (this.count[i]! > 0 && this.path[i] !== p) this.writeParities(i, ctx.dup, now); // a group never spans two paths
    const h = this.header;
    for (let k = 0, at = i * HDR; k < hl; k++) h[at + k] = d[pi.l3 + k]!;
    this.headerLength[i] = hl;
    this.path[i] = p;
    const x = this.count[i]!;
    if (x === 0) {
      this.startedAt[i] = now;
      this.parities[i] = ctx.fec.parity[svc]!;
    }
    const v = this.vhead;
    writeU16(v, 0, len);
    writeU32(v, 2, fecFingerprint(d, pi.payload, len));
    for (let j = 0; j < this.parities[i]!; j++) {
      const at = (i * MAX_PARITY + j) * ACC;
      const c = gfPow(j * x);
      mulAdd(this.acc, at, c, v, 0, FEC_VECTOR_HEADER);
      mulAdd(this.acc, at + FEC_VECTOR_HEADER, c, d, pi.payload, len);
    }
    if (len + FEC_VECTOR_HEADER > this.vectorLength[i]!) this.vectorLength[i] = len + FEC_VECTOR_HEADER;
    this.count[i] = x + 1;
    this.tagGroup = this.group[i]!;
    this.tagIndex = x;
    return x + 1 >= ctx.fec.groupSize[svc]! || now - this.startedAt[i]! >= ctx.fec.flushMs[svc]! ? i : -1;
  }

  /** Parity packets group i sends (0 when it is empty). */
  parityCount(i: number): number {
    return this.count[i] === 0 ? 0 : this.parities[i]!;
  }

  /** Sweep: sends the parity of every group whose first packet is flush-ms old, through the dup batch. */
  flushDue(now: number): void {
    if (this.acc.length === 0) return;
    const t = this.ctx.sessions;
    for (let i = 0; i < FEC_POOL; i++) {
      const r = this.pool.row[i]!;
      if (r < 0 || this.count[i] === 0) continue;
      const svc = t.isActive(r) && t.gen[r] === this.pool.gen[i] ? t.service[r]! : -1;
      if (svc < 0) this.restart(i); // the session is gone: nobody waits for its parity
      else if (now - this.startedAt[i]! >= (this.ctx.fec.flushMs[svc] ?? 0)) this.writeParities(i, this.ctx.dup, now);
    }
  }

  /** All parity packets of group i into `out` (from slot out.count on), then the next group starts. */
  writeParities(i: number, out: Batch, now: number): void {
    for (let j = 0; j < this.parityCount(i); j++) this.writeParity(i, j, out, now);
    this.endGroup(i);
  }

  /**
   * Writes parity row j of group i into slot `out.count` of `out` (counted in when it is sent); false when
   * it is not sent (counted). Call endGroup after the last row. The receiver takes a parity for the packets
   * that came before it: it must leave right behind the group's last packet (svr-out puts it there).
   */
  writeParity(i: number, j: number, out: Batch, now: number): boolean {
    const ctx = this.ctx;
    const p = this.path[i]!;
    const path = ctx.tables.paths[p];
    const vlen = this.vectorLength[i]!;
    const hl = this.headerLength[i]!;
    const tail = path === undefined ? 0 : trailerLength(path.hmac);
    const total = hl + FEC_HEADER_LENGTH + vlen + tail;
    if (path === undefined || out.count >= MAX_BATCH || total > ACC || total > ctx.pathMtu[p]!) {
      ctx.counters.add(this.cNotSent); // no room, or longer than the path MTU (docs/wan.md "FEC")
      return false;
    }
    const ds = out.count;
    const o = ds * SLOT + HEADROOM;
    const d = out.data;
    const h = this.header;
    for (let k = 0, at = i * HDR; k < hl; k++) d[o + k] = h[at + k]!;
    const payload = o + hl;
    writeFecHeader(d, payload, this.count[i]!, this.parities[i]!, this.group[i]!, j, vlen);
    const a = this.acc;
    const base = (i * MAX_PARITY + j) * ACC;
    const at = payload + FEC_HEADER_LENGTH;
    for (let k = 0; k < vlen; k++) d[at + k] = a[base + k]!;
    let end = at + vlen;
    if (tail > 0) {
      end = signPacket(ctx, d, payload, end, p, now);
      if (end < 0) {
        ctx.counters.add(this.cNotSent); // no key on the path yet
        return false;
      }
    }
    if (!finishPacket(d, o, hl, end, this.info)) return false;
    out.off[ds] = o;
    out.len[ds] = end - o;
    out.ifIndex[ds] = path.localInterface;
    out.session[ds] = -1;
    out.flags[ds] = 0;
    out.chain[ds] = 0;
    out.path[ds] = p;
    out.count++;
    ctx.counters.add(this.cSent);
    return true;
  }

  /** Starts group i's next group. */
  endGroup(i: number): void {
    this.group[i] = (this.group[i]! + 1) & 0xffffff;
    this.restart(i);
  }

  private restart(i: number): void {
    const n = this.vectorLength[i]!;
    for (let j = 0; j < MAX_PARITY; j++) this.acc.fill(0, (i * MAX_PARITY + j) * ACC, (i * MAX_PARITY + j) * ACC + n);
    this.count[i] = 0;
    this.vectorLength[i] = 0;
  }
}

/** Two groups per session: the current and the next (its data may overtake the current's parity). */
const WINDOWS = 2;

/** The receiver side: the open groups of each session this data path receives FEC packets for. */
export class FecReceiver {
  private readonly pool = new Pool();
  /** per (entry, window), rows: the sum of the received vectors and parities (the syndrome) */
  private acc = new Uint8Array(0);
  private readonly group = new Int32Array(FEC_POOL * WINDOWS).fill(-1);
  /** data packets in the group (0: no parity seen yet) */
  private readonly count = new Uint8Array(FEC_POOL * WINDOWS);
  private readonly parities = new Uint8Array(FEC_POOL * WINDOWS);
  /** data packets received / rebuilt, as two 32-bit masks each; parity rows received */
  private readonly got = new Uint32Array(FEC_POOL * WINDOWS * 2);
  private readonly rebuilt = new Uint32Array(FEC_POOL * WINDOWS * 2);
  private readonly rows = new Uint8Array(FEC_POOL * WINDOWS);
  private readonly vectorLength = new Uint16Array(FEC_POOL * WINDOWS);
  private readonly done = new Uint8Array(FEC_POOL * WINDOWS);
  private readonly vhead = new Uint8Array(FEC_VECTOR_HEADER);
  private readonly info = new PacketInfo();
  private readonly matrix = new Uint8Array(MAX_PARITY * MAX_PARITY);
  private readonly inverse = new Uint8Array(MAX_PARITY * MAX_PARITY);
  private readonly missing = new Uint8Array(MAX_PARITY);
  private readonly usedRows = new Uint8Array(MAX_PARITY);
  private cRecovered = 0;
  private cUnrecoverable = 0;
  private cNoState = 0;

  constructor(private readonly ctx: DataplaneContext) {
    this.cRecovered = ctx.counters.id('fec-packets-recovered');
    this.cUnrecoverable = ctx.counters.id('fec-groups-unrecoverable');
    this.cNoState = ctx.counters.id('fec-no-state');
  }

  /**
   * A data packet of FEC session r (tag stripped): its L4 payload, group and index. Returns false when it
   * is a packet its group already rebuilt (the caller drops it), else true.
   */
  data(b: Batch, s: number, pi: PacketInfo, r: number, group: number, index: number, now: number): boolean {
    if (index >= MAX_GROUP || pi.end - pi.payload + FEC_VECTOR_HEADER > ACC) return true; // a reassembled packet longer than a slot is in no group
    const w = this.window(r, group, now);
    if (w < 0) return true;
    const word = w * 2 + (index >> 5);
    const bit = 1 << (index & 31);
    if ((this.got[word]! & bit) !== 0) return true;
    if (this.done[w] === 1) return (this.rebuilt[word]! & bit) === 0;
    const d = b.data;
    const len = pi.end - pi.payload;
    const v = this.vhead;
    writeU16(v, 0, len);
    writeU32(v, 2, fecFingerprint(d, pi.payload, len));
    const m = this.ctx.fec.parity[this.ctx.sessions.service[r]!]!;
    for (let j = 0; j < m; j++) {
      const at = (w * MAX_PARITY + j) * ACC;
      const c = gfPow(j * index);
      mulAdd(this.acc, at, c, v, 0, FEC_VECTOR_HEADER);
      mulAdd(this.acc, at + FEC_VECTOR_HEADER, c, d, pi.payload, len);
    }
    this.got[word] |= bit;
    if (len + FEC_VECTOR_HEADER > this.vectorLength[w]!) this.vectorLength[w] = len + FEC_VECTOR_HEADER;
    if (this.count[w]! > 0) this.solve(w, b, s, pi);
    return true;
  }

  /** A verified parity packet of session r (slot s of b; FEC header at `fec`, parity bytes up to `end`). */
  parity(b: Batch, s: number, pi: PacketInfo, fec: number, r: number, now: number): void {
    const d = b.data;
    const row = fecRow(d, fec);
    const m = this.ctx.fec.parity[this.ctx.sessions.service[r]!]!;
    const w = row < m && row < MAX_PARITY ? this.window(r, fecGroup(d, fec) & 0xffffff, now) : -1;
    if (w < 0 || this.done[w] === 1 || (this.rows[w]! & (1 << row)) !== 0) return;
    const vlen = fecVectorLength(d, fec);
    mulAdd(this.acc, (w * MAX_PARITY + row) * ACC, 1, d, fec + FEC_HEADER_LENGTH, vlen);
    this.rows[w] |= 1 << row;
    this.count[w] = Math.min(fecCount(d, fec), MAX_GROUP);
    this.parities[w] = fecParities(d, fec);
    if (vlen > this.vectorLength[w]!) this.vectorLength[w] = vlen;
    this.solve(w, b, s, pi);
  }

  /** The window of session r for `group` (-1: an older group, or no state), reset when the group is new. */
  private window(r: number, group: number, now: number): number {
    const t = this.ctx.sessions;
    let i = this.pool.take(r, t.gen[r]!, now, t);
    if (i === -1) {
      this.ctx.counters.add(this.cNoState);
      return -1;
    }
    if (i < -1) {
      i = -2 - i;
      if (this.acc.length === 0) this.acc = new Uint8Array(FEC_POOL * WINDOWS * MAX_PARITY * ACC); // first FEC session
      for (let k = 0; k < WINDOWS; k++) {
        this.vectorLength[i * WINDOWS + k] = ACC;
        this.reset(i * WINDOWS + k, -1);
      }
    }
    const w = i * WINDOWS + (group & 1);
    const have = this.group[w]!;
    if (have === group) return w;
    if (have >= 0 && ((group - have) & 0xffffff) > 0x800000) return -1; // older than the window's: late
    if (have >= 0 && this.done[w] === 0 && this.count[w]! > 0) this.ctx.counters.add(this.cUnrecoverable);
    this.reset(w, group);
    return w;
  }

  private reset(w: number, group: number): void {
    const n = this.vectorLength[w]!;
    for (let j = 0; j < MAX_PARITY; j++) this.acc.fill(0, (w * MAX_PARITY + j) * ACC, (w * MAX_PARITY + j) * ACC + n);
    this.group[w] = group;
    this.count[w] = 0;
    this.parities[w] = 0;
    this.got[w * 2] = this.got[w * 2 + 1] = 0;
    this.rebuilt[w * 2] = this.rebuilt[w * 2 + 1] = 0;
    this.rows[w] = 0;
    this.vectorLength[w] = 0;
    this.done[w] = 0;
  }

  /** When window w's missing data packets are no more than its parity rows, rebuilds them (headers from slot s). */
  private solve(w: number, b: Batch, s: number, pi: PacketInfo): void {
    const n = this.count[w]!;
    let e = 0;
    for (let x = 0; x < n; x++) {
      if ((this.got[w * 2 + (x >> 5)]! & (1 << (x & 31))) !== 0) continue;
      if (e === MAX_PARITY) return;
      this.missing[e++] = x;
    }
    if (e === 0) {
      this.done[w] = 1;
      return;
    }
    let r = 0;
    for (let j = 0; j < MAX_PARITY && r < e; j++) if ((this.rows[w]! & (1 << j)) !== 0) this.usedRows[r++] = j;
    if (r < e) return; // wait for more
    const a = this.matrix;
    for (let p = 0; p < e; p++) for (let q = 0; q < e; q++) a[p * e + q] = gfPow(this.usedRows[p]! * this.missing[q]!);
    this.done[w] = 1;
    if (!gfInvert(a, e, this.inverse)) {
      this.ctx.counters.add(this.cUnrecoverable);
      return;
    }
    for (let q = 0; q < e; q++) {
      const x = this.missing[q]!;
      if (this.rebuild(w, q, e, b, s, pi)) {
        this.rebuilt[w * 2 + (x >> 5)] |= 1 << (x & 31);
        this.ctx.counters.add(this.cRecovered);
      } else {
        this.ctx.counters.add(this.cUnrecoverable);
      }
    }
  }

  /** Missing packet q of window w: row q of the inverse times the syndromes, behind slot s's headers. */
  private rebuild(w: number, q: number, e: number, b: Batch, s: number, pi: PacketInfo): boolean {
    const rec = this.ctx.recovered;
    if (rec.count >= MAX_BATCH) return false;
    const vlen = this.vectorLength[w]!;
    const hl = pi.payload - pi.l3;
    const rs = rec.count;
    const o = rs * SLOT + HEADROOM;
    const out = rec.data;
    if (hl + vlen > ACC) return false;
    // the vector lands at o + hl - 6 (its length and fingerprint overwrite the UDP header, rewritten after)
    const v = o + hl - FEC_VECTOR_HEADER;
    out.fill(0, v, v + vlen);
    for (let p = 0; p < e; p++) {
      const c = this.inverse[q * e + p]!;
      if (c !== 0) mulAdd(out, v, c, this.acc, (w * MAX_PARITY + this.usedRows[p]!) * ACC, vlen);
    }
    const len = readU16(out, v);
    const fp = readU32(out, v + 2);
    if (len > vlen - FEC_VECTOR_HEADER || fecFingerprint(out, o + hl, len) !== fp) return false;
    const d = b.data;
    for (let k = 0; k < hl; k++) out[o + k] = d[pi.l3 + k]!;
    if (!finishPacket(out, o, hl, o + hl + len, this.info)) return false;
    rec.off[rs] = o;
    rec.len[rs] = hl + len;
    rec.ifIndex[rs] = b.ifIndex[s]!;
    rec.session[rs] = -1;
    // already steered and its TTL decremented (the headers of a packet that was); fec-in lets it pass
    rec.flags[rs] = PF_HANDED | PF_FEC_RECOVERED;
    rec.chain[rs] = 0;
    rec.path[rs] = -1;
    rec.count++;
    return true;
  }
}

/** Sets the lengths and checksums of a UDP packet built at d[o, end) with hl bytes of IP + UDP headers. */
function finishPacket(d: Uint8Array, o: number, hl: number, end: number, pi: PacketInfo): boolean {
  pi.family = d[o]! >> 4 === 6 ? 6 : 4;
  pi.l3 = o;
  pi.l4 = o + hl - 8;
  pi.payload = o + hl;
  pi.protocol = PROTO_UDP;
  pi.fragment = 0;
  setIpLength(d, pi, end);
  if (parsePacket(d, o, end - o, pi) !== 0) return false;
  fillL4Checksum(d, pi);
  return true;
}
