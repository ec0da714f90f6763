/**
 * IPFIX message encoding (RFC 7011): session records in, messages of at most `maxMessageBytes` out.
 *
 * message = header (§3.1) + sets (§3.3); a template set (Set ID 2, §3.4.1) precedes the data when asked;
 * each data set (Set ID = template id >= 256) holds consecutive data records of one template (§3.4.3).
 * The header's sequence number is the count of data records sent before this message in the transport
 * session, modulo 2^32 (§3.1); template records do not count. Strings are variable-length fields (§7):
 * one length byte below 255, else 255 and a 2-byte length; they are cut at `maxStringBytes` on a UTF-8
 * character boundary so that a flow always fits a UDP message.
 * A flow is written field by field in its template's order (templates.ts), straight from the record: no
 * object per flow, no call per field (~1 µs a session record where a value function per field took ~2).
 * Flows are written in place at the end of their message, in buffers reused once a message is sent
 * (release): no 64 kB buffer made and copied per encode() (that and the copy of each flow from a scratch
 * buffer were a third of the encoding's time). A flow shaped as the last one of its direction in the message is that
 * one's copy with its own numbers, addresses, ports and session id (encodeFlow).
 */
import { SvrError } from '../../errors.js';
import { parseAddress, type ParsedAddress } from '../../packet/addr.js';
import type { FiveTuple, SessionRecord } from '../record.js';
import { BIFLOW_DIRECTION, FLOW_END_REASON, FORWARDING_STATUS, RECORD_TYPE, VARIABLE_LENGTH, fieldLength } from './elements.js';
import { DENIED_STATUS, END_REASON, TEMPLATES, TEMPLATE_ID_BASE, isV6, type Template } from './templates.js';
import {
  IO_AT, IO_COUNT, IO_DIR, IO_ENDED, IO_FLOWS, IO_LENGTH, IO_MAX, IO_NEXT, IO_SET_ID, IO_SET_START, PLAIN_DONE, PLAIN_OVERSIZE, type PlainFlowsFn,
} from './plain-abi.js';

export const IPFIX_VERSION = 10;
const HEADER_BYTES = 16;
const SET_HEADER_BYTES = 4;
const TEMPLATE_SET_ID = 2;
/** largest IPFIX message (the header's 16-bit length) */
export const MAX_MESSAGE_BYTES = 65535;
/** a string field's bytes at most, by default */
export const MAX_STRING_BYTES = 96;

export interface MessageWriterOptions {
  observationDomainId: number;
  /** UDP: path MTU less IP and UDP headers (RFC 7011 §10.3.3); TCP: up to 65535 */
  maxMessageBytes: number;
  /** default MAX_STRING_BYTES */
  maxStringBytes?: number;
}

export interface EncodedMessage {
  bytes: Uint8Array;
  /** data records (flows) in the message */
  dataRecords: number;
  /** session records whose last flow is in this message */
  records: number;
}

/** A message buffer: the message's room plus room for one flow written past it (moved to the next message). */
interface Buffered {
  bytes: Uint8Array;
  view: DataView;
}

const utf8 = new TextEncoder();
/** Message buffers kept for reuse (release()): a UDP exporter has a few in flight at once. */
const POOL = 16;
/** A flow's set header and fixed fields, bytes at most (IPv6 addresses): a flow is this plus its strings. */
const FIXED_FLOW_BYTES = 192;
/** Strings in a flow (interfaceName and the SSR names, recordType to egressRouterName). */
const FLOW_STRINGS = 12;

export class IpfixMessageWriter {
  /** RFC 7011 §3.1: data records sent before the next message, modulo 2^32 */
  sequence = 0;
  /** flows too large for any message (dropped) */
  oversize = 0;
  readonly observationDomainId: number;
  readonly maxMessageBytes: number;
  readonly maxStringBytes: number;
  /** a message buffer's size: the message and one flow past it */
  private readonly bufferBytes: number;
  private readonly free: Buffered[] = [];
  /** the message being filled: its buffer, end, open set (start, template) and counts */
  private open: Buffered | undefined;
  private at = HEADER_BYTES;
  private setStart = -1;
  private setId = -1;
  private inMessage = 0;
  private recordsEnded = 0;
  /** the buffer encodeFlow writes to */
  private b: Uint8Array;
  private v: DataView;
  private readonly templateBytes: Uint8Array;
  /** address texts last written per field and direction, and their bytes (the same waypoint and server, flow after flow) */
  private readonly lastText: (string | undefined)[] = new Array<string | undefined>(8).fill(undefined);
  private readonly lastBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(8).fill(undefined);
  /** the last flow written of each direction (forward, reverse): the next one of the same shape starts as its copy */
  private readonly last: [FlowMemo, FlowMemo] = [newMemo(), newMemo()];
  /** plain(): the addon's arguments and results */
  private readonly io = new Float64Array(IO_LENGTH);

  constructor(opts: MessageWriterOptions) {
    if (!Number.isInteger(opts.observationDomainId) || opts.observationDomainId < 0 || opts.observationDomainId > 0xffffffff) {
      throw new SvrError('SVR_ERR_TELEMETRY_OPTIONS', `IPFIX observation domain id must be a whole number 0-4294967295, got ${opts.observationDomainId}`);
    }
    this.observationDomainId = opts.observationDomainId;
    this.maxMessageBytes = Math.min(MAX_MESSAGE_BYTES, opts.maxMessageBytes);
    this.maxStringBytes = opts.maxStringBytes ?? MAX_STRING_BYTES;
    this.bufferBytes = this.maxMessageBytes + FIXED_FLOW_BYTES + FLOW_STRINGS * (this.maxStringBytes + 7);
    this.templateBytes = encodeTemplateSet(TEMPLATES);
    if (HEADER_BYTES + this.templateBytes.length > this.maxMessageBytes) {
      throw new SvrError('SVR_ERR_TELEMETRY_OPTIONS', `IPFIX messages of ${this.maxMessageBytes} bytes cannot hold the template set (${this.templateBytes.length} bytes): raise the path MTU toward the collector (at least ${HEADER_BYTES + this.templateBytes.length + 48})`);
    }
    const first = this.take();
    this.b = first.bytes;
    this.v = first.view;
    this.free.push(first);
  }

  /** A message with the template set only (TCP: at connect; UDP: on the refresh schedule). */
  templates(exportTimeS: number): Uint8Array {
    const m = new Uint8Array(HEADER_BYTES + this.templateBytes.length);
    m.set(this.templateBytes, HEADER_BYTES);
    writeHeader(new DataView(m.buffer), m.length, exportTimeS, this.sequence, this.observationDomainId);
    return m;
  }

  /**
   * Packs the records' flows into messages; the template set leads the first message when `withTemplates`.
   * Each flow is written in place, at the end of its message (one past the size limit moves to the next);
   * the messages' bytes are views of buffers the writer reuses once given back with release().
   * `keepOpen`: the last message, unless full, stays open for the next call's flows (fewer, fuller messages);
   * a call without it (or flushOpen) closes it.
   */
  encode(records: readonly SessionRecord[], exportTimeS: number, withTemplates = false, keepOpen = false): EncodedMessage[] {
    const out: EncodedMessage[] = [];
    const max = this.maxMessageBytes;
    let buf = (this.open ??= this.take());
    if (withTemplates) {
      // the template set leads the message: the open message's sets move up behind it (no room: it goes first)
      const t = this.templateBytes.length;
      if (this.at + t > max) buf = this.finish(out, exportTimeS);
      if (this.at > HEADER_BYTES) {
        buf.bytes.copyWithin(HEADER_BYTES + t, HEADER_BYTES, this.at);
        if (this.setStart >= 0) this.setStart += t;
        for (const m of this.last) if (m.in === buf.bytes) m.at += t;
      }
      buf.bytes.set(this.templateBytes, HEADER_BYTES);
      this.at += t;
    }
    for (const r of records) {
      // the forward flow; the reverse one when the reverse direction ever carried a packet
      for (let dir = 0, flows = r.packets[1] === 0 ? 1 : 2; dir < flows; dir++) {
        const id = templateOf(r, dir as 0 | 1);
        let flowAt = this.at + (this.setId === id ? 0 : SET_HEADER_BYTES);
        this.b = buf.bytes;
        this.v = buf.view;
        const len = this.encodeFlow(flowAt, r, dir as 0 | 1, id) - flowAt;
        if (flowAt + len > max) {
          // past the limit: the message goes as it is, the flow moves to the next one
          const full = buf.bytes;
          const from = flowAt;
          buf = this.finish(out, exportTimeS);
          const m = this.last[dir]!;
          if (HEADER_BYTES + SET_HEADER_BYTES + len > max) {
            this.oversize++;
            m.rec = undefined;
            continue;
          }
          flowAt = HEADER_BYTES + SET_HEADER_BYTES;
          buf.bytes.set(full.subarray(from, from + len), flowAt);
          m.rec = r;
          m.in = buf.bytes;
          m.at = flowAt;
        }
        if (this.setId !== id) {
          if (this.setStart >= 0) closeSet(buf.bytes, this.setStart, this.at);
          this.setStart = this.at;
          this.setId = id;
          buf.bytes[this.at] = id >> 8;
          buf.bytes[this.at + 1] = id & 0xff;
        }
        this.at = flowAt + len;
        this.inMessage++;
      }
      this.recordsEnded++;
    }
    if (!keepOpen) this.finish(out, exportTimeS);
    return out;
  }

  /** Session records in the open message (encode with `keepOpen`), not yet in a message returned. */
  get openRecords(): number {
    return this.recordsEnded;
  }

  /** The open message, closed (none when it holds nothing). */
  flushOpen(exportTimeS: number): EncodedMessage[] {
    const out: EncodedMessage[] = [];
    if (this.open !== undefined) this.finish(out, exportTimeS);
    return out;
  }

  /**
   * Plain sessions' flows (plain-flows.ts: `count` entries of `list`, each a session's open-session slot in `slots`,
   * its names' shape in `shapes`, its end) written by the addon into the open message as encode() writes their end
   * records; full messages into `out`.
   */
  plain(flows: PlainFlowsFn, slots: Uint32Array, shapes: Uint8Array, list: Float64Array, count: number, exportTimeS: number, out: EncodedMessage[]): void {
    let buf = (this.open ??= this.take());
    const io = this.io;
    io[IO_MAX] = this.maxMessageBytes;
    io[IO_NEXT] = 0;
    io[IO_DIR] = 0;
    io[IO_COUNT] = count;
    for (;;) {
      io[IO_AT] = this.at;
      io[IO_SET_START] = this.setStart;
      io[IO_SET_ID] = this.setId;
      const status = flows(buf.bytes, slots, shapes, list, io);
      this.at = io[IO_AT]!;
      this.setStart = io[IO_SET_START]!;
      this.setId = io[IO_SET_ID]!;
      this.inMessage += io[IO_FLOWS]!;
      this.recordsEnded += io[IO_ENDED]!;
      if (status === PLAIN_DONE) return;
      // as encode(): the message goes as it is, the flow to the next one (one too large for any: dropped)
      buf = this.finish(out, exportTimeS);
      if (status === PLAIN_OVERSIZE) {
        this.oversize++;
        io[IO_DIR] = io[IO_DIR]! + 1;
      }
    }
  }

  /** The open message into `out` when it holds anything; the next one begun (returned). */
  private finish(out: EncodedMessage[], exportTimeS: number): Buffered {
    let buf = (this.open ??= this.take());
    if (this.setStart >= 0) closeSet(buf.bytes, this.setStart, this.at);
    for (const m of this.last) if (m.in === buf.bytes) m.rec = undefined; // its buffer goes (and comes back reused)
    if (this.at > HEADER_BYTES) {
      writeHeader(buf.view, this.at, exportTimeS, this.sequence, this.observationDomainId);
      out.push({ bytes: buf.bytes.subarray(0, this.at), dataRecords: this.inMessage, records: this.recordsEnded });
      this.sequence = (this.sequence + this.inMessage) >>> 0;
      this.open = buf = this.take();
    }
    this.at = HEADER_BYTES;
    this.setStart = -1;
    this.setId = -1;
    this.inMessage = 0;
    this.recordsEnded = 0;
    return buf;
  }

  /** A message's buffer is free again (its bytes sent): encode() reuses it. */
  release(m: EncodedMessage): void {
    const buffer = m.bytes.buffer;
    if (m.bytes.byteOffset !== 0 || buffer.byteLength !== this.bufferBytes || this.free.length >= POOL) return;
    this.free.push({ bytes: new Uint8Array(buffer), view: new DataView(buffer) });
  }

  private take(): Buffered {
    const b = this.free.pop();
    if (b !== undefined) return b;
    const bytes = new Uint8Array(this.bufferBytes);
    return { bytes, view: new DataView(bytes.buffer) };
  }

  /**
   * Writes direction `dir` (0 forward, 1 reverse) of a record at `at` of the current buffer as a data record
   * of `template` (templateOf: the families of its addresses); returns where it ends. The 5-tuple is the one that direction's sender used;
   * post-NAT: the same direction's 5-tuple on this router's other side (the NAT, else the waypoint; zero without).
   * A flow of the same shape as the last one of its direction in this buffer (template, interface name, names, reasons: a
   * site's sessions, one after another) starts as that flow's copy: only the fields that can differ are written (the same
   * bytes; a lab-like record's two flows 13 % less CPU, docs/performance.md "wave 21, reci").
   */
  private encodeFlow(start: number, r: SessionRecord, dir: 0 | 1, template: number): number {
    const fwd = dir === 0;
    const b = this.b;
    const m = this.last[dir]!;
    const p = m.rec !== undefined && m.in === b && m.at + m.len <= start && m.template === template && m.idLen === 1 + r.sessionId.length &&
      r.sessionId.length <= this.maxStringBytes && r.sessionId.length < 255 && sameShape(m.rec, r, dir) ? m.rec : undefined;
    if (p !== undefined) b.copyWithin(start, m.at, m.at + m.len);
    const tuple = fwd ? r.forward : r.reverse;
    // forward: the NAT 5-tuple, else the waypoint's; reverse: swapped, the client's (NAT) or the waypoint's
    const post: FiveTuple | undefined = r.nat !== undefined ? (fwd ? r.nat : r.forward) : r.waypoint;
    const postSrc = post === undefined ? undefined : fwd ? post.src : post.dst;
    const postDst = post === undefined ? undefined : fwd ? post.dst : post.src;
    const postSrcPort = post === undefined ? 0 : fwd ? post.srcPort : post.dstPort;
    const postDstPort = post === undefined ? 0 : fwd ? post.dstPort : post.srcPort;
    const v6 = ((template - TEMPLATE_ID_BASE) & 1) !== 0;
    const postV6 = ((template - TEMPLATE_ID_BASE) & 2) !== 0;
    const size = v6 ? 16 : 4;
    const postSize = postV6 ? 16 : 4;
    const inIf = fwd ? r.ingressInterface : r.egressInterface;
    const outIf = fwd ? r.egressInterface : r.ingressInterface;
    const slot = dir * 4;
    // the copy's addresses where they are the same texts (a site's server, waypoint): not written again
    const pTuple = p === undefined ? undefined : fwd ? p.forward : p.reverse;
    const pPost = p === undefined ? undefined : p.nat !== undefined ? (fwd ? p.nat : p.forward) : p.waypoint;
    let at = pTuple !== undefined && pTuple.src === tuple.src ? start + size : this.address(start, tuple.src, v6, slot);
    at = pTuple !== undefined && pTuple.dst === tuple.dst ? at + size : this.address(at, tuple.dst, v6, slot + 1);
    at = this.u16(at, tuple.srcPort);
    at = this.u16(at, tuple.dstPort);
    b[at++] = tuple.protocol & 0xff;
    at = this.u64(at, r.delta.bytes[dir]);
    at = this.u64(at, r.delta.packets[dir]);
    at = this.u64(at, r.startMs);
    at = this.u64(at, r.endMs);
    if (p !== undefined) at += 3; // flowEndReason, forwardingStatus, biflowDirection: the same kind, reasons and direction
    else {
      b[at++] = r.kind === 'interim' ? FLOW_END_REASON.activeTimeout : END_REASON[r.closeReason ?? 'admin'];
      b[at++] = r.closeReason === 'denied' ? DENIED_STATUS[r.deniedReason ?? 'no-route'] ?? FORWARDING_STATUS.droppedUnknown : FORWARDING_STATUS.forwarded;
      b[at++] = fwd ? BIFLOW_DIRECTION.initiator : BIFLOW_DIRECTION.reverseInitiator;
    }
    const pSrc = pPost === undefined ? undefined : fwd ? pPost.src : pPost.dst;
    const pDst = pPost === undefined ? undefined : fwd ? pPost.dst : pPost.src;
    at = p !== undefined && pSrc === postSrc ? at + postSize : this.address(at, postSrc, postV6, slot + 2);
    at = p !== undefined && pDst === postDst ? at + postSize : this.address(at, postDst, postV6, slot + 3);
    at = this.u16(at, postSrcPort);
    at = this.u16(at, postDstPort);
    at = this.u32(at, inIf?.index ?? 0);
    at = this.u32(at, outIf?.index ?? 0);
    if (p !== undefined) at = start + m.ifEnd + 1; // interfaceName and recordType: the same
    else {
      at = this.writeString(at, inIf?.name ?? '');
      m.ifEnd = at - start;
      b[at++] = RECORD_TYPE[r.kind];
    }
    at = this.u64(at, r.startMs);
    at = this.u64(at, r.endMs);
    at = this.u64(at, r.bytes[dir]);
    at = this.u64(at, r.packets[dir]);
    at = this.u64(at, r.tcpRetransmissions?.[dir] ?? 0);
    if (p !== undefined) {
      // the names are the copy's; the session id its own (same length)
      if (!this.ascii(start + m.idAt + 1, r.sessionId)) {
        m.rec = undefined;
        return this.encodeFlow(start, r, dir, template);
      }
      m.rec = r;
      m.at = start;
      return start + m.len;
    }
    const tailAt = at;
    const f = this.last[0];
    if (!fwd && f.rec === r && f.in === b && f.at + f.len <= start) {
      // the reverse flow's strings are the forward flow's, just written: copied
      const from = f.at + f.tailAt;
      const n = f.len - f.tailAt;
      b.copyWithin(at, from, from + n);
      m.idAt = at + f.idAt - f.tailAt - start;
      m.idLen = f.idLen;
      at += n;
    } else {
      at = this.writeString(at, r.service);
      m.idAt = at - start;
      at = this.writeString(at, r.sessionId);
      m.idLen = at - start - m.idAt;
      at = this.writeString(at, r.tenant);
      at = this.writeString(at, r.router);
      at = this.writeString(at, r.application);
      at = this.writeString(at, lastPath(r));
      at = this.u16(at, Math.min(r.pathChanges.length, 0xffff));
      at = this.writeString(at, r.closeReason ?? '');
      at = this.writeString(at, r.deniedReason ?? '');
      at = this.writeString(at, r.ingressRouter);
      at = this.writeString(at, r.egressRouter);
    }
    m.rec = r;
    m.in = b;
    m.at = start;
    m.len = at - start;
    m.template = template;
    m.tailAt = tailAt - start;
    return at;
  }

  /** An ASCII string's bytes at `at` (its length byte already there); false (nothing sure written) when it is not ASCII. */
  private ascii(at: number, s: string): boolean {
    const b = this.b;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      b[at + i] = c;
    }
    return true;
  }

// numbers: negative ones as 0 (unsigned types), the low bits of those too large

  private u16(at: number, v: number): number {
    this.v.setUint16(at, Math.max(0, v) & 0xffff);
    return at + 2;
  }

  private u32(at: number, v: number): number {
    this.v.setUint32(at, Math.max(0, v) >>> 0);
    return at + 4;
  }

  private u64(at: number, v: number): number {
    const n = Math.max(0, v);
    this.v.setUint32(at, Math.floor(n / 0x1_0000_0000) >>> 0);
    this.v.setUint32(at + 4, n >>> 0);
    return at + 8;
  }

  /** An address of the template's family (zero when absent or not of it); `slot`: its field and direction (the last one's bytes kept). */
  private address(at: number, text: string | undefined, v6: boolean, slot: number): number {
    const size = v6 ? 16 : 4;
    let bytes = this.lastBytes[slot];
    if (text !== this.lastText[slot]) {
      bytes = text !== undefined ? addressBytes(text)?.bytes : undefined;
      this.lastText[slot] = text;
      this.lastBytes[slot] = bytes;
    }
    const b = this.b;
    if (bytes !== undefined && bytes.length === size) {
      for (let i = 0; i < size; i++) b[at + i] = bytes[i]!; // byte by byte: set() costs more for 4 or 16 bytes
    } else b.fill(0, at, at + size);
    return at + size;
  }

  private writeString(at: number, s: string): number {
    return writeStringField(this.b, this.v, at, s, this.maxStringBytes);
  }
}

/**
 * A string field (§7) at `at` of `b` (`v` its view): one length byte below 255, else 255 and a 2-byte length; cut at
 * `room` bytes on a UTF-8 character boundary. Returns where it ends.
 */
export function writeStringField(b: Uint8Array, v: DataView, at: number, s: string, room: number): number {
  // ASCII that fits (names, session ids, reasons: nearly every string) byte by byte: no view, no encoder call
  if (s.length <= room && s.length < 255) {
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      b[at + 1 + i] = c;
    }
    if (i === s.length) {
      b[at] = i;
      return at + 1 + i;
    }
  }
  // encode after the longest length prefix, then move down if the short form fits
  const body = b.subarray(at + 3, at + 3 + room + 4);
  let len = utf8.encodeInto(s, body).written;
  if (len > room) {
    len = room;
    while (len > 0 && (body[len]! & 0xc0) === 0x80) len--; // never cut inside a UTF-8 character
  }
  if (len < 255) {
    b[at] = len;
    b.copyWithin(at + 1, at + 3, at + 3 + len);
    return at + 1 + len;
  }
  b[at] = 255;
  v.setUint16(at + 1, len);
  return at + 3 + len;
}

/** The last flow written of a direction, in its buffer: offsets from its start (interfaceName's end, the strings from
 *  serviceName on, the session id's length byte) and the id's bytes with that byte. */
interface FlowMemo {
  rec: SessionRecord | undefined;
  in: Uint8Array | undefined;
  at: number;
  len: number;
  template: number;
  ifEnd: number;
  tailAt: number;
  idAt: number;
  idLen: number;
}

const newMemo = (): FlowMemo => ({ rec: undefined, in: undefined, at: 0, len: 0, template: 0, ifEnd: 0, tailAt: 0, idAt: 0, idLen: 0 });

/** The last path's name (peerPathName). */
const lastPath = (r: SessionRecord): string => r.paths[r.paths.length - 1] ?? '';

/**
 * Direction `dir` of `r` is written as the same bytes as of `a` but for its numbers, addresses, ports and session id: the same
 * kind, reasons, interface name and the names from serviceName to egressRouterName (the same text, mostly the same strings).
 */
function sameShape(a: SessionRecord, r: SessionRecord, dir: 0 | 1): boolean {
  const aIf = dir === 0 ? a.ingressInterface : a.egressInterface;
  const rIf = dir === 0 ? r.ingressInterface : r.egressInterface;
  return a.kind === r.kind && a.closeReason === r.closeReason && a.deniedReason === r.deniedReason && (aIf?.name ?? '') === (rIf?.name ?? '') &&
    a.service === r.service && a.tenant === r.tenant && a.router === r.router && a.application === r.application && lastPath(a) === lastPath(r) &&
    Math.min(a.pathChanges.length, 0xffff) === Math.min(r.pathChanges.length, 0xffff) && a.ingressRouter === r.ingressRouter && a.egressRouter === r.egressRouter;
}

/** Parsed addresses, remembered: a router's records name few distinct addresses (clients, servers, waypoints). */
const addresses = new Map<string, ParsedAddress | undefined>();
function addressBytes(text: string): ParsedAddress | undefined {
  let a = addresses.get(text);
  if (a === undefined && !addresses.has(text)) {
    if (addresses.size >= 65_536) addresses.clear();
    a = parseAddress(text);
    addresses.set(text, a);
  }
  return a;
}

/** The template of direction `dir` of a record (encodeFlow's families: the 5-tuple's, the post-NAT one's). */
function templateOf(r: SessionRecord, dir: 0 | 1): number {
  const fwd = dir === 0;
  const v6 = isV6(fwd ? r.forward.src : r.reverse.src);
  const post = r.nat !== undefined ? (fwd ? r.nat : r.forward) : r.waypoint;
  const postV6 = post !== undefined ? isV6(fwd ? post.src : post.dst) : v6;
  return TEMPLATE_ID_BASE + (v6 ? 1 : 0) + (postV6 ? 2 : 0);
}

/** RFC 7011 §3.1 message header. */
function writeHeader(dv: DataView, length: number, exportTimeS: number, sequence: number, domain: number): void {
  dv.setUint16(0, IPFIX_VERSION);
  dv.setUint16(2, length);
  dv.setUint32(4, exportTimeS >>> 0);
  dv.setUint32(8, sequence >>> 0);
  dv.setUint32(12, domain >>> 0);
}

/** Writes the set length (§3.3.2) of the set that starts at `start` and ends at `end`. */
function closeSet(m: Uint8Array, start: number, end: number): void {
  const len = end - start;
  m[start + 2] = len >> 8;
  m[start + 3] = len & 0xff;
}

/** RFC 7011 §3.4.1 template set; §3.2 field specifiers (enterprise bit + PEN for enterprise elements). */
export function encodeTemplateSet(templates: readonly Template[]): Uint8Array {
  let size = SET_HEADER_BYTES;
  for (const t of templates) {
    size += 4;
    for (const ie of t.fields) size += ie.pen !== 0 ? 8 : 4;
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, TEMPLATE_SET_ID);
  dv.setUint16(2, size);
  let at = SET_HEADER_BYTES;
  for (const t of templates) {
    dv.setUint16(at, t.id);
    dv.setUint16(at + 2, t.fields.length);
    at += 4;
    for (const ie of t.fields) {
      dv.setUint16(at, ie.pen !== 0 ? 0x8000 | ie.id : ie.id);
      const len = fieldLength(ie.type);
      dv.setUint16(at + 2, len === VARIABLE_LENGTH ? VARIABLE_LENGTH : len);
      at += 4;
      if (ie.pen !== 0) {
        dv.setUint32(at, ie.pen);
        at += 4;
      }
    }
  }
  return out;
}
