/**
 * SVR metadata codec: the 12-byte base header, header TLVs and payload TLVs at byte 0 of the L4 payload
 * (fact sheet ../shared/docs/svr-wire-format.md §2–§3). All integers big-endian.
 *
 * Receive: `scanMetadata` walks every TLV with strict bounds checks into a reusable `MetadataView`
 * (offsets only, no allocation). A length that disagrees with the packet is a `MetaError`, never a throw
 * (CVE-2025-30659 crashed a forwarding engine on exactly this). Unknown types are skipped by length.
 * Send: `MetadataWriter` appends the base header and TLVs into a scratch buffer, then patches the lengths.
 */
import { readU16, readU32, writeU16, writeU32 } from './checksum.js';

/** §2: cookie bytes, in wire order. */
export const COOKIE = Uint8Array.of(0x4c, 0x48, 0xdb, 0xc6, 0xdd, 0xf6, 0x67, 0x0c);
export const BASE_HEADER_LENGTH = 12;
export const METADATA_VERSION = 1;
export const MAX_HEADER_LENGTH = 4095;

/** §3.3 TLV types. */
export const Tlv = {
  Fragment: 1,
  ForwardContextV4: 2,
  ForwardContextV6: 3,
  ReverseContextV4: 4,
  ReverseContextV6: 5,
  SessionUuid: 6,
  TenantName: 7,
  GlobalInterfaceId: 8,
  ServiceName: 10,
  PayloadEncrypted: 11,
  TcpSynPacket: 12,
  ServiceSessionCount: 13,
  SourceRouter: 14,
  SecurityPolicy: 15,
  SecurityId: 16,
  DestinationRouter: 17,
  DisableForwardMetadata: 18,
  PeerPathwayId: 19,
  IcmpErrorLocationV4: 20,
  IcmpErrorLocationV6: 21,
  ControlMessage: 24,
  SourceNatV4: 25,
  PathMetrics: 26,
  ModifyRequest: 28,
  ApplicationName: 35,
  RemainingSessionTime: 42,
  /** length 1: session health check; longer: security encryption key (§3.3 note on type 46). */
  HealthCheckOrKey: 46,
  MulticastGroupContext: 50,
  MulticastEgressList: 51,
} as const;

/** §8 control message codes (TLV 24). */
export const Control = { Unknown: 0, KeepAlive: 1, EnableMetadata: 2, DisableMetadata: 3, DeleteSession: 6, StateExists: 8 } as const;

/** Health check values (TLV 46, length 1). */
export const HealthCheck = { Request: 1, RequestTimeout: 2 } as const;

/** Why metadata did not decode. Values index `META_ERROR_NAMES`. `NotMetadata` is not an error: no cookie. */
export const enum MetaError {
  None = 0,
  NotMetadata = 1,
  BadVersion = 2,
  HeaderTooShort = 3,
  LengthsExceedPacket = 4,
  TlvOverrun = 5,
  BadContextLength = 6,
  BadUuidLength = 7,
  BadTlvLength = 8,
  /** not an error of the packet: a security id and a payload-TLV region that is ciphertext (§4.2) */
  Encrypted = 9,
}

export const META_ERROR_NAMES = [
  'none', 'not-metadata', 'bad-version', 'header-length-below-12', 'lengths-exceed-packet', 'tlv-overruns-region',
  'bad-context-length', 'bad-uuid-length', 'bad-tlv-length', 'encrypted',
] as const;

/**
 * §4.2: a payload-TLV region that does not walk behind a Security ID is opaque ciphertext when its length
 * fits AES-CBC (a 16-byte IV and at least one whole block), as SSR's dissector reads it.
 */
export function looksEncrypted(payloadLength: number): boolean {
  return payloadLength >= 32 && payloadLength % 16 === 0;
}

/** Fixed value lengths the receiver enforces (§3.3, §10); -1 = variable. Flags must be empty. */
function expectedLength(type: number): number {
  switch (type) {
    case Tlv.Fragment: return 10;
    case Tlv.ForwardContextV4: case Tlv.ReverseContextV4: return 13;
    case Tlv.ForwardContextV6: case Tlv.ReverseContextV6: return 37;
    case Tlv.SessionUuid: return 16;
    case Tlv.GlobalInterfaceId: case Tlv.SecurityId: case Tlv.IcmpErrorLocationV4: case Tlv.SourceNatV4:
    case Tlv.RemainingSessionTime: return 4;
    case Tlv.PayloadEncrypted: case Tlv.TcpSynPacket: case Tlv.DisableForwardMetadata: return 0;
    case Tlv.ServiceSessionCount: return 8;
    case Tlv.IcmpErrorLocationV6: return 16;
    case Tlv.ControlMessage: return 1;
    case Tlv.PathMetrics: return 10;
    default: return -1;
  }
}

/** True when the L4 payload at buf[off, off+len) starts with the SVR cookie and is long enough for a header (§1.3). */
export function hasCookie(buf: Uint8Array, off: number, len: number): boolean {
  if (len < BASE_HEADER_LENGTH) return false;
  for (let i = 0; i < 8; i++) if (buf[off + i] !== COOKIE[i]) return false;
  return true;
}

/** Offsets of the TLVs found by `scanMetadata`. Absolute buffer offsets of TLV *values*; -1 = absent. */
export class MetadataView {
  error: MetaError = MetaError.None;
  version = 0;
  headerLength = 0;
  payloadLength = 0;
  /** headerLength + payloadLength: bytes to strip to reach the original payload. */
  total = 0;
  falsePositive = false;
  forwardCtx = -1;
  forwardFamily: 0 | 4 | 6 = 0;
  reverseCtx = -1;
  reverseFamily: 0 | 4 | 6 = 0;
  uuid = -1;
  tenant = -1;
  tenantLength = 0;
  service = -1;
  serviceLength = 0;
  sourceRouter = -1;
  sourceRouterLength = 0;
  destinationRouter = -1;
  destinationRouterLength = 0;
  securityPolicy = -1;
  securityPolicyLength = 0;
  application = -1;
  applicationLength = 0;
  peerPathway = -1;
  peerPathwayLength = 0;
  /** -1 = absent */
  securityId = -1;
  controlCode = -1;
  healthCheck = -1;
  remainingTime = -1;
  sessionCount = -1;
  payloadEncrypted = false;
  tcpSyn = false;
  disableForwardMetadata = false;
  encryptionKey = -1;
  encryptionKeyLength = 0;
  unknownTlvs = 0;
  tlvCount = 0;

  reset(): void {
    this.error = MetaError.None;
    this.version = this.headerLength = this.payloadLength = this.total = 0;
    this.falsePositive = false;
    this.forwardCtx = this.reverseCtx = this.uuid = this.tenant = this.service = -1;
    this.forwardFamily = this.reverseFamily = 0;
    this.sourceRouter = this.destinationRouter = this.securityPolicy = this.application = this.peerPathway = -1;
    this.tenantLength = this.serviceLength = this.sourceRouterLength = this.destinationRouterLength = 0;
    this.securityPolicyLength = this.applicationLength = this.peerPathwayLength = 0;
    this.securityId = this.controlCode = this.healthCheck = this.remainingTime = this.sessionCount = -1;
    this.payloadEncrypted = this.tcpSyn = this.disableForwardMetadata = false;
    this.encryptionKey = -1;
    this.encryptionKeyLength = 0;
    this.unknownTlvs = this.tlvCount = 0;
  }
}

/**
 * Scans the metadata at the start of an L4 payload buf[off, off+len) (HMAC trailer already excluded).
 * Returns MetaError.NotMetadata when there is no cookie, MetaError.None when every TLV fits,
 * MetaError.Encrypted when the payload TLVs are ciphertext (only the header TLVs are then in `v`), else
 * the error.
 */
export function scanMetadata(buf: Uint8Array, off: number, len: number, v: MetadataView): MetaError {
  v.reset();
  if (!hasCookie(buf, off, len)) return (v.error = MetaError.NotMetadata);
  const word = readU16(buf, off + 8);
  v.version = word >>> 12;
  v.headerLength = word & 0x0fff;
  v.payloadLength = readU16(buf, off + 10);
  if (v.version !== METADATA_VERSION) return (v.error = MetaError.BadVersion);
  if (v.headerLength < BASE_HEADER_LENGTH) return (v.error = MetaError.HeaderTooShort);
  v.total = v.headerLength + v.payloadLength;
  if (v.total > len) return (v.error = MetaError.LengthsExceedPacket);
  v.falsePositive = v.total === BASE_HEADER_LENGTH;
  const e1 = walkRegion(buf, off + BASE_HEADER_LENGTH, off + v.headerLength, v);
  if (e1 !== MetaError.None) return (v.error = e1);
  const e2 = walkRegion(buf, off + v.headerLength, off + v.total, v);
  if (e2 !== MetaError.None && v.securityId >= 0 && looksEncrypted(v.payloadLength)) {
    // what the partial walk of the ciphertext set is noise: keep the header TLVs only
    const headerLength = v.headerLength;
    const payloadLength = v.payloadLength;
    v.reset();
    v.version = METADATA_VERSION;
    v.headerLength = headerLength;
    v.payloadLength = payloadLength;
    v.total = headerLength + payloadLength;
    walkRegion(buf, off + BASE_HEADER_LENGTH, off + headerLength, v);
    return (v.error = MetaError.Encrypted);
  }
  return (v.error = e2);
}

/** Walks TLVs in [start, end); §10.3: stop (error) when a TLV would run past its region. */
function walkRegion(buf: Uint8Array, start: number, end: number, v: MetadataView): MetaError {
  let p = start;
  while (p < end) {
    if (p + 4 > end) return MetaError.TlvOverrun;
    const type = readU16(buf, p);
    const len = readU16(buf, p + 2);
    const val = p + 4;
    if (val + len > end) return MetaError.TlvOverrun;
    const want = expectedLength(type);
    if (want >= 0 && len !== want) {
      if (want === 13 || want === 37) return MetaError.BadContextLength;
      if (type === Tlv.SessionUuid) return MetaError.BadUuidLength;
      return MetaError.BadTlvLength;
    }
    v.tlvCount++;
    switch (type) {
      case Tlv.ForwardContextV4: v.forwardCtx = val; v.forwardFamily = 4; break;
      case Tlv.ForwardContextV6: v.forwardCtx = val; v.forwardFamily = 6; break;
      case Tlv.ReverseContextV4: v.reverseCtx = val; v.reverseFamily = 4; break;
      case Tlv.ReverseContextV6: v.reverseCtx = val; v.reverseFamily = 6; break;
      case Tlv.SessionUuid: v.uuid = val; break;
      case Tlv.TenantName: v.tenant = val; v.tenantLength = len; break;
      case Tlv.ServiceName: v.service = val; v.serviceLength = len; break;
      case Tlv.SourceRouter: v.sourceRouter = val; v.sourceRouterLength = len; break;
      case Tlv.DestinationRouter: v.destinationRouter = val; v.destinationRouterLength = len; break;
      case Tlv.SecurityPolicy: v.securityPolicy = val; v.securityPolicyLength = len; break;
      case Tlv.ApplicationName: v.application = val; v.applicationLength = len; break;
      case Tlv.PeerPathwayId: v.peerPathway = val; v.peerPathwayLength = len; break;
      case Tlv.SecurityId: v.securityId = readU32(buf, val); break;
      case Tlv.ControlMessage: v.controlCode = buf[val]!; break;
      case Tlv.RemainingSessionTime: v.remainingTime = readU32(buf, val); break;
      case Tlv.ServiceSessionCount: v.sessionCount = readU32(buf, val) * 0x100000000 + readU32(buf, val + 4); break;
      case Tlv.PayloadEncrypted: v.payloadEncrypted = true; break;
      case Tlv.TcpSynPacket: v.tcpSyn = true; break;
      case Tlv.DisableForwardMetadata: v.disableForwardMetadata = true; break;
      case Tlv.HealthCheckOrKey:
        if (len === 1) v.healthCheck = buf[val]!;
        else if (len > 1) { v.encryptionKey = val; v.encryptionKeyLength = len; }
        else return MetaError.BadTlvLength;
        break;
      case Tlv.Fragment: case Tlv.GlobalInterfaceId: case Tlv.IcmpErrorLocationV4: case Tlv.IcmpErrorLocationV6:
      case Tlv.SourceNatV4: case Tlv.PathMetrics: case Tlv.ModifyRequest: case Tlv.MulticastGroupContext:
      case Tlv.MulticastEgressList:
        break; // known, carried, not used by the data path
      default:
        v.unknownTlvs++; // §2.2: skip unknown types by length
    }
    p = val + len;
  }
  return MetaError.None;
}

/**
 * Builds metadata into a scratch buffer. Usage:
 *   w.begin(); w.u32(Tlv.SecurityId, 1); w.endHeader(); w.context(...); w.bytes(Tlv.TenantName, ...); const n = w.finish();
 * Then copy w.buf[0, n) into the packet. Throws only on programming errors (region overflow).
 */
export class MetadataWriter {
  readonly buf: Uint8Array;
  private pos = 0;
  private headerEnd = 0;

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(capacity);
  }

  get length(): number {
    return this.pos;
  }

  begin(): this {
    this.buf.set(COOKIE, 0);
    this.pos = BASE_HEADER_LENGTH;
    this.headerEnd = -1;
    return this;
  }

  /** Ends the header-TLV region; what follows are payload TLVs. */
  endHeader(): this {
    this.headerEnd = this.pos;
    return this;
  }

  private tlv(type: number, len: number): number {
    if (this.pos + 4 + len > this.buf.length) throw new RangeError(`metadata exceeds ${this.buf.length} bytes`);
    writeU16(this.buf, this.pos, type);
    writeU16(this.buf, this.pos + 2, len);
    this.pos += 4 + len;
    return this.pos - len;
  }

  flag(type: number): this {
    this.tlv(type, 0);
    return this;
  }

  u8(type: number, value: number): this {
    this.buf[this.tlv(type, 1)] = value;
    return this;
  }

  u32(type: number, value: number): this {
    writeU32(this.buf, this.tlv(type, 4), value);
    return this;
  }

  u64(type: number, value: number): this {
    const at = this.tlv(type, 8);
    writeU32(this.buf, at, Math.floor(value / 0x100000000));
    writeU32(this.buf, at + 4, value >>> 0);
    return this;
  }

  /** A TLV whose value is src[off, off+len). */
  bytes(type: number, src: Uint8Array, off: number, len: number): this {
    const at = this.tlv(type, len);
    for (let i = 0; i < len; i++) this.buf[at + i] = src[off + i]!;
    return this;
  }

  /** §3.1 context TLV: addresses read from src/dst buffers; family picks type+0 (v4) or type+1 (v6). */
  context(
    typeV4: number, family: 4 | 6, src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number,
    srcPort: number, dstPort: number, protocol: number,
  ): this {
    const a = family === 6 ? 16 : 4;
    const at = this.tlv(family === 6 ? typeV4 + 1 : typeV4, 2 * a + 5);
    for (let i = 0; i < a; i++) {
      this.buf[at + i] = src[srcOff + i]!;
      this.buf[at + a + i] = dst[dstOff + i]!;
    }
    writeU16(this.buf, at + 2 * a, srcPort);
    writeU16(this.buf, at + 2 * a + 2, dstPort);
    this.buf[at + 2 * a + 4] = protocol;
    return this;
  }

  /** Patches version/header_length/payload_length; returns the total metadata length. */
  finish(): number {
    const headerLength = this.headerEnd < 0 ? this.pos : this.headerEnd;
    if (headerLength > MAX_HEADER_LENGTH) throw new RangeError('metadata header exceeds 4095 bytes');
    writeU16(this.buf, 8, (METADATA_VERSION << 12) | headerLength);
    writeU16(this.buf, 10, this.pos - headerLength);
    return this.pos;
  }
}

/** §2.3: the bare 12-byte header placed before a payload that happens to start with the cookie. */
export const FALSE_POSITIVE_HEADER = Uint8Array.of(...COOKIE, 0x10, 0x0c, 0x00, 0x00);
