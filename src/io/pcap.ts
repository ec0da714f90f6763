/**
 * Packet captures: `PcapWriter` writes classic pcap (LINKTYPE_RAW by default, so the raw IP packets our ports
 * carry go in unchanged); `readCapture` / `parseCapture` read classic pcap (either byte order, microsecond,
 * nanosecond and the old "modified" record format) and pcapng (see ./pcapng.ts), and yield the IP packet of
 * every frame (see ./pcap-link.ts for the link types).
 *
 * Classic pcap layout: 24-byte file header (magic, version 2.4, zone, sigfigs, snaplen, link type), then per
 * packet a 16-byte record header (seconds, micro/nanoseconds, captured length, original length) and the bytes.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { SvrError } from '../errors.js';
import { LINKTYPE_RAW } from './pcap-link.js';
import { readPcapng, PCAPNG_SHB } from './pcapng.js';
import { EndianReader, formatError, packetRecord, truncatedRecord, type CaptureRecord } from './pcap-record.js';

export type { CaptureRecord } from './pcap-record.js';
export * from './pcap-link.js';

const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
/** Alexey Kuznetzov's patched libpcap: 8 more bytes per record header. */
const MAGIC_MODIFIED = 0xa1b2cd34;
const FILE_HEADER = 24;
/** libpcap rejects records larger than this unless the snaplen says otherwise. */
const MAX_RECORD = 262144;

export interface PcapWriterOptions {
  /** LINKTYPE_* written in the header (default 101, raw IP). */
  linkType?: number;
  /** Longest packet stored; longer ones are cut (default 262144). */
  snaplen?: number;
}

/** Writes classic little-endian microsecond pcap, one synchronous write per packet (nothing lost on a crash). */
export class PcapWriter {
  private fd: number | null;
  private readonly snaplen: number;
  private count = 0;

  constructor(readonly path: string, opts: PcapWriterOptions = {}) {
    this.snaplen = opts.snaplen ?? MAX_RECORD;
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new SvrError('SVR_ERR_PCAP_IO', `cannot create ${path}: ${(e as Error).message}`);
    }
    const h = Buffer.alloc(FILE_HEADER);
    h.writeUInt32LE(MAGIC_USEC, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(this.snaplen, 16);
    h.writeUInt32LE(opts.linkType ?? LINKTYPE_RAW, 20);
    this.put(h);
  }

  /** Packets written so far. */
  get packets(): number {
    return this.count;
  }

  /** Appends one packet captured at `timeMs` (ms since the epoch, fractions kept to the microsecond). */
  write(packet: Uint8Array, timeMs: number = Date.now()): void {
    if (this.fd === null) throw new SvrError('SVR_ERR_PCAP_IO', `${this.path} is closed`);
    const caplen = Math.min(packet.length, this.snaplen);
    let sec = Math.floor(timeMs / 1000);
    let usec = Math.round((timeMs - sec * 1000) * 1000);
    if (usec >= 1_000_000) {
      sec++;
      usec -= 1_000_000;
    }
    const rec = Buffer.alloc(16 + caplen);
    rec.writeUInt32LE(sec >>> 0, 0);
    rec.writeUInt32LE(usec, 4);
    rec.writeUInt32LE(caplen, 8);
    rec.writeUInt32LE(packet.length, 12);
    rec.set(packet.subarray(0, caplen), 16);
    this.put(rec);
    this.count++;
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }

  private put(b: Uint8Array): void {
    try {
      writeSync(this.fd!, b);
    } catch (e) {
      throw new SvrError('SVR_ERR_PCAP_IO', `cannot write ${this.path}: ${(e as Error).message}`);
    }
  }
}

/** Reads a whole capture file and yields its packets. Throws SVR_ERR_PCAP_IO / SVR_ERR_PCAP_FORMAT. */
export function readCapture(path: string): Generator<CaptureRecord> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new SvrError('SVR_ERR_PCAP_IO', `cannot read ${path}: ${why}`);
  }
  return parseCapture(bytes, path);
}

/** Yields the packets of a pcap or pcapng capture held in memory. The format is detected from the magic. */
export function parseCapture(bytes: Uint8Array, file = '<capture>'): Generator<CaptureRecord> {
  if (bytes.length < 4) throw formatError(file, 0, `file is ${bytes.length} bytes long, too short to be a capture`);
  const magic = new EndianReader(bytes, true).u32(0);
  if (magic === PCAPNG_SHB) return readPcapng(bytes, file);
  return readPcap(bytes, file);
}

function* readPcap(bytes: Uint8Array, file: string): Generator<CaptureRecord> {
  const r = new EndianReader(bytes, true);
  let magic = r.u32(0);
  if (magic !== MAGIC_USEC && magic !== MAGIC_NSEC && magic !== MAGIC_MODIFIED) {
    r.littleEndian = false;
    magic = r.u32(0);
  }
  if (magic !== MAGIC_USEC && magic !== MAGIC_NSEC && magic !== MAGIC_MODIFIED) {
    const hex = Buffer.from(bytes.subarray(0, 4)).toString('hex');
    throw formatError(file, 0, `magic ${hex} is neither pcap (a1b2c3d4 / a1b23c4d, either byte order) nor pcapng (0a0d0d0a)`);
  }
  if (bytes.length < FILE_HEADER) throw formatError(file, 0, `pcap file header needs 24 bytes, file has ${bytes.length}`);
  const major = r.u16(4);
  if (major !== 2) throw formatError(file, 4, `pcap version ${major}.${r.u16(6)}, expected 2.4`);
  const snaplen = r.u32(16);
  const linkType = r.u32(20) & 0xffff; // upper bits: FCS length flags
  const fracPerMs = magic === MAGIC_NSEC ? 1e6 : 1e3;
  const recordHeader = magic === MAGIC_MODIFIED ? 24 : 16;
  const limit = Math.max(snaplen, MAX_RECORD);
  let off = FILE_HEADER;
  let frame = 0;
  while (off < bytes.length) {
    frame++;
    if (bytes.length - off < recordHeader) {
      yield truncatedRecord(frame, `record header at offset ${off} needs ${recordHeader} bytes, file has ${bytes.length - off}`);
      return;
    }
    const capLen = r.u32(off + 8);
    const origLen = r.u32(off + 12);
    if (capLen > limit) throw formatError(file, off + 8, `record ${frame} claims ${capLen} captured bytes (snaplen ${snaplen}): corrupt file`);
    const data = off + recordHeader;
    if (data + capLen > bytes.length) {
      yield truncatedRecord(frame, `record ${frame} at offset ${off} needs ${capLen} bytes, file has ${bytes.length - data}`);
      return;
    }
    const timeMs = r.u32(off) * 1000 + r.u32(off + 4) / fracPerMs;
    yield packetRecord(frame, timeMs, linkType, bytes.subarray(data, data + capLen), origLen);
    off = data + capLen;
  }
}
