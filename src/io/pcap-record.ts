/** What the capture readers yield, and helpers they share (endian-aware reads, coded errors). */
import { SvrError } from '../errors.js';
import { ipFromFrame } from './pcap-link.js';

export interface CaptureRecord {
  /** 1-based frame number, counted as Wireshark does (packet records only). */
  frame: number;
  /** Capture time in ms since the Unix epoch (fractional); NaN when the record has no timestamp (pcapng Simple Packet Block). */
  timeMs: number;
  /** The IP packet (a view into the file bytes), or null for non-IP frames and truncated records. */
  ip: Uint8Array | null;
  /** Why `ip` is null, or anything odd about the record. */
  note?: string;
  /** LINKTYPE_* of the interface the frame was captured on. */
  linkType: number;
  /** Bytes of the frame present in the file. */
  capturedLength: number;
  /** Length of the frame on the wire. */
  originalLength: number;
  /** Set on the last record when the file ends inside it (a capture cut short). */
  truncated?: boolean;
}

export function formatError(file: string, offset: number, what: string): SvrError {
  return new SvrError('SVR_ERR_PCAP_FORMAT', `${file}: offset ${offset}: ${what}`);
}

/** Reads unsigned integers in the byte order of the file (or section). */
export class EndianReader {
  constructor(readonly bytes: Uint8Array, public littleEndian: boolean) {}

  u16(off: number): number {
    const b = this.bytes;
    return this.littleEndian ? b[off]! | (b[off + 1]! << 8) : (b[off]! << 8) | b[off + 1]!;
  }

  u32(off: number): number {
    const b = this.bytes;
    return this.littleEndian
      ? (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0
      : ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
  }

  /** Signed 32-bit. */
  i32(off: number): number {
    return this.u32(off) | 0;
  }

  /** Unsigned 64-bit as BigInt. */
  u64(off: number): bigint {
    const a = BigInt(this.u32(off));
    const b = BigInt(this.u32(off + 4));
    return this.littleEndian ? (b << 32n) | a : (a << 32n) | b;
  }
}

/** A packet record: the IP packet found behind the link header, with a note when there is none or it was cut. */
export function packetRecord(frame: number, timeMs: number, linkType: number, data: Uint8Array, originalLength: number): CaptureRecord {
  const { ip, note } = ipFromFrame(linkType, data);
  const rec: CaptureRecord = { frame, timeMs, ip, linkType, capturedLength: data.length, originalLength };
  if (note !== undefined) rec.note = note;
  else if (data.length < originalLength) rec.note = `captured ${data.length} of ${originalLength} bytes (snaplen)`;
  return rec;
}

/** The record reported when the file ends inside a record. */
export function truncatedRecord(frame: number, what: string): CaptureRecord {
  return { frame, timeMs: NaN, ip: null, note: `truncated capture: ${what}`, linkType: -1, capturedLength: 0, originalLength: 0, truncated: true };
}
