/**
 * pcapng reader (draft-ietf-opsawg-pcapng; tshark's and Wireshark's default format).
 * Blocks: Section Header (byte order per section), Interface Description (link type, snaplen, if_tsresol,
 * if_tsoffset), Enhanced Packet, Simple Packet and the obsolete Packet Block. Other blocks (name resolution,
 * statistics, secrets, custom) are skipped by their length.
 */
import { EndianReader, formatError, packetRecord, truncatedRecord, type CaptureRecord } from './pcap-record.js';

export const PCAPNG_SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BLOCK_IDB = 1;
const BLOCK_PB = 2;
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;
const OPT_END = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

interface Interface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second. */
  unitsPerSecond: bigint;
  offsetSeconds: bigint;
}

/** Yields the packets of a pcapng file held in `bytes`; `file` names it in errors. */
export function* readPcapng(bytes: Uint8Array, file: string): Generator<CaptureRecord> {
  const r = new EndianReader(bytes, true);
  let interfaces: Interface[] = [];
  let frame = 0;
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < 12) {
      yield truncatedRecord(++frame, `file ends ${bytes.length - off} bytes into a block header at offset ${off}`);
      return;
    }
    const type = r.u32(off);
    if (type === PCAPNG_SHB) {
      const bom = new EndianReader(bytes, true).u32(off + 8);
      if (bom === BYTE_ORDER_MAGIC) r.littleEndian = true;
      else if (bom === 0x4d3c2b1a) r.littleEndian = false;
      else throw formatError(file, off + 8, `section header has byte-order magic 0x${bom.toString(16)}, expected 0x1a2b3c4d`);
    } else if (off === 0) {
      throw formatError(file, 0, 'pcapng file does not start with a Section Header Block');
    }
    const total = r.u32(off + 4);
    if (total < 12 || total % 4 !== 0) throw formatError(file, off + 4, `block length ${total} is not a multiple of 4 of at least 12`);
    if (off + total > bytes.length) {
      const what = type === BLOCK_EPB || type === BLOCK_SPB || type === BLOCK_PB ? 'packet block' : `block of type ${type}`;
      yield truncatedRecord(++frame, `${what} at offset ${off} needs ${total} bytes, file has ${bytes.length - off}`);
      return;
    }
    if (r.u32(off + total - 4) !== total) {
      throw formatError(file, off + total - 4, `block trailer length ${r.u32(off + total - 4)} differs from header length ${total}`);
    }
    const body = off + 8;
    const bodyEnd = off + total - 4;
    switch (type) {
      case PCAPNG_SHB: {
        if (bodyEnd - body < 16) throw formatError(file, off, 'section header block is too short');
        const major = r.u16(body + 4);
        if (major !== 1) throw formatError(file, body + 4, `pcapng major version ${major}, expected 1`);
        interfaces = [];
        break;
      }
      case BLOCK_IDB:
        if (bodyEnd - body < 8) throw formatError(file, off, 'interface description block is too short');
        interfaces.push(readInterface(r, body, bodyEnd));
        break;
      case BLOCK_EPB: case BLOCK_PB: {
        if (bodyEnd - body < 20) throw formatError(file, off, 'packet block is too short');
        const ifId = type === BLOCK_EPB ? r.u32(body) : r.u16(body);
        const iface = interfaces[ifId];
        if (iface === undefined) throw formatError(file, body, `packet refers to interface ${ifId}, only ${interfaces.length} described`);
        const capLen = r.u32(body + 12);
        const origLen = r.u32(body + 16);
        if (body + 20 + capLen > bodyEnd) throw formatError(file, body + 12, `captured length ${capLen} runs past the end of its block`);
        const ts = (BigInt(r.u32(body + 4)) << 32n) | BigInt(r.u32(body + 8));
        yield packetRecord(++frame, toMs(ts, iface), iface.linkType, bytes.subarray(body + 20, body + 20 + capLen), origLen);
        break;
      }
      case BLOCK_SPB: {
        if (bodyEnd - body < 4) throw formatError(file, off, 'simple packet block is too short');
        const iface = interfaces[0];
        if (iface === undefined) throw formatError(file, off, 'simple packet block before any interface description');
        const origLen = r.u32(body);
        let capLen = Math.min(origLen, bodyEnd - body - 4);
        if (iface.snaplen > 0) capLen = Math.min(capLen, iface.snaplen);
        yield packetRecord(++frame, NaN, iface.linkType, bytes.subarray(body + 4, body + 4 + capLen), origLen);
        break;
      }
      default:
        break; // NRB, ISB, DSB, custom blocks: nothing we need
    }
    off += total;
  }
}

function readInterface(r: EndianReader, body: number, end: number): Interface {
  const iface: Interface = { linkType: r.u16(body), snaplen: r.u32(body + 4), unitsPerSecond: 1_000_000n, offsetSeconds: 0n };
  let p = body + 8;
  while (p + 4 <= end) {
    const code = r.u16(p);
    const len = r.u16(p + 2);
    if (code === OPT_END || p + 4 + len > end) break;
    if (code === OPT_IF_TSRESOL && len >= 1) {
      const v = r.bytes[p + 4]!;
      // high bit set: negative power of 2, else negative power of 10
      iface.unitsPerSecond = (v & 0x80) !== 0 ? 1n << BigInt(v & 0x7f) : 10n ** BigInt(v);
    } else if (code === OPT_IF_TSOFFSET && len >= 8) {
      iface.offsetSeconds = BigInt.asIntN(64, r.u64(p + 4));
    }
    p += 4 + ((len + 3) & ~3);
  }
  return iface;
}

function toMs(ts: bigint, iface: Interface): number {
  const whole = ts / iface.unitsPerSecond;
  const frac = ts % iface.unitsPerSecond;
  return Number(whole + iface.offsetSeconds) * 1000 + (Number(frac) * 1000) / Number(iface.unitsPerSecond);
}
