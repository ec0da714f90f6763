/**
 * IPFIX message encoding (RFC 7011): session records in, messages of at most `maxMessageBytes` out.
 *
 * message = header (§3.1) + sets (§3.3); a template set (Set ID 2, §3.4.1) precedes the data when asked;
 * each data set (Set ID = template id >= 256) holds consecutive data records of one template (§3.4.3).
 * The header's sequence number is the count of data records sent before this message in the transport
 * session, modulo 2^32 (§3.1); template records do not count. Strings are variable-length fields (§7):
 * one length byte below 255, else 255 and a 2-byte length; they are cut at `maxStringBytes` on a UTF-8
 * character boundary so that a flow always fits a UDP message.
 */
import { SvrError } from '../../errors.js';
import { parseAddress, type ParsedAddress } from '../../packet/addr.js';
import type { SessionRecord } from '../record.js';
import { VARIABLE_LENGTH, fieldLength, type IeType } from './elements.js';
import { TEMPLATES, flowsOf, templateFor, type FieldValue, type FlowView, type Template } from './templates.js';

export const IPFIX_VERSION = 10;
const HEADER_BYTES = 16;
const SET_HEADER_BYTES = 4;
const TEMPLATE_SET_ID = 2;
/** largest IPFIX message (the header's 16-bit length) */
export const MAX_MESSAGE_BYTES = 65535;

export interface MessageWriterOptions {
  observationDomainId: number;
  /** UDP: path MTU less IP and UDP headers (RFC 7011 §10.3.3); TCP: up to 65535 */
  maxMessageBytes: number;
  /** default 96 */
  maxStringBytes?: number;
}

export interface EncodedMessage {
  bytes: Uint8Array;
  /** data records (flows) in the message */
  dataRecords: number;
  /** session records whose last flow is in this message */
  records: number;
}

const utf8 = new TextEncoder();

export class IpfixMessageWriter {
  /** RFC 7011 §3.1: data records sent before the next message, modulo 2^32 */
  sequence = 0;
  /** flows too large for any message (dropped) */
  oversize = 0;
  readonly observationDomainId: number;
  readonly maxMessageBytes: number;
  private readonly maxStringBytes: number;
  private readonly scratch = new Uint8Array(MAX_MESSAGE_BYTES);
  private readonly scratchView = new DataView(this.scratch.buffer);
  private readonly templateBytes: Uint8Array;

  constructor(opts: MessageWriterOptions) {
    if (!Number.isInteger(opts.observationDomainId) || opts.observationDomainId < 0 || opts.observationDomainId > 0xffffffff) {
      throw new SvrError('SVR_ERR_TELEMETRY_OPTIONS', `IPFIX observation domain id must be a whole number 0-4294967295, got ${opts.observationDomainId}`);
    }
    this.observationDomainId = opts.observationDomainId;
    this.maxMessageBytes = Math.min(MAX_MESSAGE_BYTES, opts.maxMessageBytes);
    this.maxStringBytes = opts.maxStringBytes ?? 96;
    this.templateBytes = encodeTemplateSet(TEMPLATES);
    if (HEADER_BYTES + this.templateBytes.length > this.maxMessageBytes) {
      throw new SvrError('SVR_ERR_TELEMETRY_OPTIONS', `IPFIX messages of ${this.maxMessageBytes} bytes cannot hold the template set (${this.templateBytes.length} bytes): raise the path MTU toward the collector (at least ${HEADER_BYTES + this.templateBytes.length + 48})`);
    }
  }

  /** A message with the template set only (TCP: at connect; UDP: on the refresh schedule). */
  templates(exportTimeS: number): Uint8Array {
    const m = new Uint8Array(HEADER_BYTES + this.templateBytes.length);
    m.set(this.templateBytes, HEADER_BYTES);
    writeHeader(m, m.length, exportTimeS, this.sequence, this.observationDomainId);
    return m;
  }

  /** Packs the records' flows into messages; the template set leads the first message when `withTemplates`. */
  encode(records: readonly SessionRecord[], exportTimeS: number, withTemplates = false): EncodedMessage[] {
    const out: EncodedMessage[] = [];
    const msg = new Uint8Array(this.maxMessageBytes);
    let at = HEADER_BYTES;
    let setStart = -1;
    let setId = -1;
    let inMessage = 0;
    let recordsEnded = 0;
    if (withTemplates) {
      msg.set(this.templateBytes, at);
      at += this.templateBytes.length;
    }
    const finish = (): void => {
      if (setStart >= 0) closeSet(msg, setStart, at);
      if (at > HEADER_BYTES) {
        const m = msg.slice(0, at);
        writeHeader(m, at, exportTimeS, this.sequence, this.observationDomainId);
        out.push({ bytes: m, dataRecords: inMessage, records: recordsEnded });
        this.sequence = (this.sequence + inMessage) >>> 0;
      }
      at = HEADER_BYTES;
      setStart = -1;
      setId = -1;
      inMessage = 0;
      recordsEnded = 0;
    };
    for (const r of records) {
      for (const f of flowsOf(r)) {
        const t = templateFor(f);
        const len = this.encodeFlow(f, t);
        const need = len + (setId === t.id ? 0 : SET_HEADER_BYTES);
        if (at + need > this.maxMessageBytes) {
          finish();
          if (HEADER_BYTES + SET_HEADER_BYTES + len > this.maxMessageBytes) {
            this.oversize++;
            continue;
          }
        }
        if (setId !== t.id) {
          if (setStart >= 0) closeSet(msg, setStart, at);
          setStart = at;
          setId = t.id;
          msg[at] = t.id >> 8;
          msg[at + 1] = t.id & 0xff;
          at += SET_HEADER_BYTES;
        }
        msg.set(this.scratch.subarray(0, len), at);
        at += len;
        inMessage++;
      }
      recordsEnded++;
    }
    finish();
    return out;
  }

  /** Encodes one data record into the scratch buffer; returns its length. */
  private encodeFlow(f: FlowView, t: Template): number {
    let at = 0;
    for (const field of t.fields) at = this.writeValue(at, field.ie.type, field.value(f));
    return at;
  }

  private writeValue(at: number, type: IeType, v: FieldValue): number {
    const b = this.scratch;
    const dv = this.scratchView;
    const n = typeof v === 'number' ? Math.max(0, v) : 0;
    switch (type) {
      case 'unsigned8':
        b[at] = n & 0xff;
        return at + 1;
      case 'unsigned16':
        dv.setUint16(at, n & 0xffff);
        return at + 2;
      case 'unsigned32':
        dv.setUint32(at, n >>> 0);
        return at + 4;
      case 'unsigned64':
      case 'dateTimeMilliseconds':
        dv.setUint32(at, Math.floor(n / 0x1_0000_0000) >>> 0);
        dv.setUint32(at + 4, n >>> 0);
        return at + 8;
      case 'ipv4Address':
      case 'ipv6Address': {
        const size = type === 'ipv4Address' ? 4 : 16;
        const parsed = typeof v === 'string' ? addressBytes(v) : undefined;
        if (parsed !== undefined && parsed.bytes.length === size) b.set(parsed.bytes, at);
        else b.fill(0, at, at + size);
        return at + size;
      }
      case 'string':
        return this.writeString(at, typeof v === 'string' ? v : String(v));
    }
  }

  private writeString(at: number, s: string): number {
    const room = this.maxStringBytes;
    // ASCII that fits (names, session ids, reasons: nearly every string) byte by byte: no view, no encoder call
    if (s.length <= room && s.length < 255) {
      const b = this.scratch;
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
    const body = this.scratch.subarray(at + 3, at + 3 + room + 4);
    let len = utf8.encodeInto(s, body).written;
    if (len > room) {
      len = room;
      while (len > 0 && (body[len]! & 0xc0) === 0x80) len--; // never cut inside a UTF-8 character
    }
    if (len < 255) {
      this.scratch[at] = len;
      this.scratch.copyWithin(at + 1, at + 3, at + 3 + len);
      return at + 1 + len;
    }
    this.scratch[at] = 255;
    this.scratchView.setUint16(at + 1, len);
    return at + 3 + len;
  }
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

/** RFC 7011 §3.1 message header. */
function writeHeader(m: Uint8Array, length: number, exportTimeS: number, sequence: number, domain: number): void {
  const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
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
    for (const f of t.fields) size += f.ie.pen !== 0 ? 8 : 4;
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
    for (const f of t.fields) {
      dv.setUint16(at, f.ie.pen !== 0 ? 0x8000 | f.ie.id : f.ie.id);
      const len = fieldLength(f.ie.type);
      dv.setUint16(at + 2, len === VARIABLE_LENGTH ? VARIABLE_LENGTH : len);
      at += 4;
      if (f.ie.pen !== 0) {
        dv.setUint32(at, f.ie.pen);
        at += 4;
      }
    }
  }
  return out;
}
