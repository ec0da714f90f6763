/**
 * SVR metadata to plain objects, for `svr decode`, tests and troubleshooting (allocates; not the data path).
 * Validity comes from the same strict `scanMetadata` the data path uses, so what this prints as
 * `malformed` is exactly what a router drops.
 */
import { formatAddress } from './addr.js';
import { readU16, readU32 } from './checksum.js';
import { META_ERROR_NAMES, MetaError, MetadataView, Tlv, scanMetadata } from './svr-metadata.js';

export interface FiveTuple {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
}

export interface DecodedTlv {
  type: number;
  name: string;
  section: 'header' | 'payload';
  length: number;
  value: unknown;
}

export interface DecodedMetadata {
  version: number;
  headerLength: number;
  payloadLength: number;
  falsePositive: boolean;
  tlvs: DecodedTlv[];
  forward?: FiveTuple;
  reverse?: FiveTuple;
  sessionId?: string;
  tenant?: string;
  service?: string;
  sourceRouter?: string;
  destinationRouter?: string;
  securityId?: number;
  securityPolicy?: string;
  payloadEncrypted: boolean;
  disableForwardMetadata: boolean;
  tcpSyn: boolean;
  application?: string;
  peerPathway?: string;
  control?: { code: number; name: string };
  healthCheck?: number;
  remainingSessionTime?: number;
  serviceSessionCount?: number;
  /** The payload TLVs were ciphertext on the wire (§4.2: behind a security id). Without `decrypted`, only
   *  the header TLVs are shown. */
  encrypted?: boolean;
  /** ... and they were decrypted with a key from the config (`svr decode --config`). */
  decrypted?: boolean;
  /** Present when the metadata does not fit: the reason, as the data path counts it. */
  malformed?: string;
}

const TLV_NAMES: Record<number, string> = {
  1: 'fragment', 2: 'forward-context-ipv4', 3: 'forward-context-ipv6', 4: 'reverse-context-ipv4',
  5: 'reverse-context-ipv6', 6: 'session-uuid', 7: 'tenant-name', 8: 'global-interface-id', 10: 'service-name',
  11: 'session-payload-encrypted', 12: 'tcp-syn-packet', 13: 'service-session-count', 14: 'source-router-name',
  15: 'security-policy', 16: 'security-id', 17: 'destination-router-name', 18: 'disable-forward-metadata',
  19: 'peer-pathway-id', 20: 'icmp-error-location-ipv4', 21: 'icmp-error-location-ipv6', 24: 'control-message',
  25: 'source-nat-ipv4', 26: 'path-metrics', 28: 'modify-request', 35: 'application-name',
  42: 'remaining-session-time', 50: 'multicast-group-context', 51: 'multicast-egress-list',
};

const CONTROL_NAMES: Record<number, string> = {
  0: 'unknown', 1: 'keep-alive', 2: 'enable-metadata', 3: 'disable-metadata', 6: 'delete-session', 8: 'state-exists',
};

export function tlvName(type: number, length: number): string {
  if (type === Tlv.HealthCheckOrKey) return length === 1 ? 'session-health-check' : 'security-encryption-key';
  return TLV_NAMES[type] ?? `unknown-${type}`;
}

export function controlName(code: number): string {
  return CONTROL_NAMES[code] ?? `drop-reason-${code}`;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

function text(buf: Uint8Array, off: number, len: number): string {
  return decoder.decode(buf.subarray(off, off + len));
}

function hex(buf: Uint8Array, off: number, len: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + off, len).toString('hex');
}

/** 8-4-4-4-12 lowercase (§3.2). */
export function formatUuid(buf: Uint8Array, off: number): string {
  const h = hex(buf, off, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function decodeContext(buf: Uint8Array, off: number, family: 4 | 6): FiveTuple {
  const a = family === 6 ? 16 : 4;
  return {
    src: formatAddress(buf, off, family),
    dst: formatAddress(buf, off + a, family),
    srcPort: readU16(buf, off + 2 * a),
    dstPort: readU16(buf, off + 2 * a + 2),
    protocol: buf[off + 2 * a + 4]!,
  };
}

function tlvValue(type: number, buf: Uint8Array, off: number, len: number): unknown {
  switch (type) {
    case Tlv.ForwardContextV4: case Tlv.ReverseContextV4: return len === 13 ? decodeContext(buf, off, 4) : hex(buf, off, len);
    case Tlv.ForwardContextV6: case Tlv.ReverseContextV6: return len === 37 ? decodeContext(buf, off, 6) : hex(buf, off, len);
    case Tlv.SessionUuid: return len === 16 ? formatUuid(buf, off) : hex(buf, off, len);
    case Tlv.TenantName: case Tlv.ServiceName: case Tlv.SourceRouter: case Tlv.SecurityPolicy:
    case Tlv.DestinationRouter: case Tlv.PeerPathwayId: case Tlv.ApplicationName:
      return text(buf, off, len);
    case Tlv.SecurityId: case Tlv.GlobalInterfaceId: case Tlv.RemainingSessionTime:
      return len === 4 ? readU32(buf, off) : hex(buf, off, len);
    case Tlv.ServiceSessionCount: return len === 8 ? readU32(buf, off) * 0x100000000 + readU32(buf, off + 4) : hex(buf, off, len);
    case Tlv.PayloadEncrypted: case Tlv.TcpSynPacket: case Tlv.DisableForwardMetadata: return true;
    case Tlv.IcmpErrorLocationV4: case Tlv.SourceNatV4: return len === 4 ? formatAddress(buf, off, 4) : hex(buf, off, len);
    case Tlv.IcmpErrorLocationV6: return len === 16 ? formatAddress(buf, off, 6) : hex(buf, off, len);
    case Tlv.ControlMessage: return len === 1 ? { code: buf[off]!, name: controlName(buf[off]!) } : hex(buf, off, len);
    case Tlv.HealthCheckOrKey: return len === 1 ? buf[off]! : `<${len}-byte key blob>`;
    case Tlv.PathMetrics: {
      if (len !== 10) return hex(buf, off, len);
      const tx = readU32(buf, off), rx = readU32(buf, off + 4), d = readU16(buf, off + 8);
      return {
        txColor: tx >>> 28, txTimeMs: tx & 0x0fffffff, rxColor: rx >>> 28, rxTimeMs: rx & 0x0fffffff,
        drop: (d & 0x8000) !== 0, previousRxColorCount: d & 0x7fff,
      };
    }
    case Tlv.Fragment:
      if (len !== 10) return hex(buf, off, len);
      return {
        extendedId: readU32(buf, off), originalIpId: readU16(buf, off + 4),
        flags: readU16(buf, off + 6) >>> 13, offset: readU16(buf, off + 6) & 0x1fff, largestSeen: readU16(buf, off + 8),
      };
    default: return hex(buf, off, len);
  }
}

/** Lists TLVs in [start, end) as far as they fit. */
function listRegion(buf: Uint8Array, start: number, end: number, section: 'header' | 'payload', out: DecodedTlv[]): void {
  let p = start;
  while (p + 4 <= end) {
    const type = readU16(buf, p);
    const length = readU16(buf, p + 2);
    if (p + 4 + length > end) return;
    out.push({ type, name: tlvName(type, length), section, length, value: tlvValue(type, buf, p + 4, length) });
    p += 4 + length;
  }
}

/**
 * Decodes the metadata at the start of the L4 payload buf[off, off+len) (HMAC trailer excluded).
 * Returns null when the payload does not start with the cookie.
 */
export function decodeMetadata(buf: Uint8Array, off: number, len: number): DecodedMetadata | null {
  const v = new MetadataView();
  const err = scanMetadata(buf, off, len, v);
  if (err === MetaError.NotMetadata) return null;
  const m: DecodedMetadata = {
    version: v.version,
    headerLength: v.headerLength,
    payloadLength: v.payloadLength,
    falsePositive: v.total === 12,
    tlvs: [],
    payloadEncrypted: false,
    disableForwardMetadata: false,
    tcpSyn: false,
  };
  if (v.version !== 1 || v.headerLength < 12) {
    m.malformed = META_ERROR_NAMES[err];
    return m;
  }
  const headerEnd = Math.min(off + v.headerLength, off + len);
  listRegion(buf, off + 12, headerEnd, 'header', m.tlvs);
  if (err === MetaError.Encrypted) {
    m.encrypted = true; // opaque: the header TLVs (security id, control) are all there is to show
    fillFields(m, buf, v);
    return m;
  }
  listRegion(buf, headerEnd, Math.min(off + v.total, off + len), 'payload', m.tlvs);
  if (err !== MetaError.None) {
    m.malformed = META_ERROR_NAMES[err];
    return m;
  }
  fillFields(m, buf, v);
  return m;
}

/** The named fields of `m` from the TLVs `v` found. */
function fillFields(m: DecodedMetadata, buf: Uint8Array, v: MetadataView): void {
  if (v.forwardCtx >= 0) m.forward = decodeContext(buf, v.forwardCtx, v.forwardFamily as 4 | 6);
  if (v.reverseCtx >= 0) m.reverse = decodeContext(buf, v.reverseCtx, v.reverseFamily as 4 | 6);
  if (v.uuid >= 0) m.sessionId = formatUuid(buf, v.uuid);
  if (v.tenant >= 0) m.tenant = text(buf, v.tenant, v.tenantLength);
  if (v.service >= 0) m.service = text(buf, v.service, v.serviceLength);
  if (v.sourceRouter >= 0) m.sourceRouter = text(buf, v.sourceRouter, v.sourceRouterLength);
  if (v.destinationRouter >= 0) m.destinationRouter = text(buf, v.destinationRouter, v.destinationRouterLength);
  if (v.securityPolicy >= 0) m.securityPolicy = text(buf, v.securityPolicy, v.securityPolicyLength);
  if (v.application >= 0) m.application = text(buf, v.application, v.applicationLength);
  if (v.peerPathway >= 0) m.peerPathway = text(buf, v.peerPathway, v.peerPathwayLength);
  if (v.securityId >= 0) m.securityId = v.securityId;
  if (v.controlCode >= 0) m.control = { code: v.controlCode, name: controlName(v.controlCode) };
  if (v.healthCheck >= 0) m.healthCheck = v.healthCheck;
  if (v.remainingTime >= 0) m.remainingSessionTime = v.remainingTime;
  if (v.sessionCount >= 0) m.serviceSessionCount = v.sessionCount;
  m.payloadEncrypted = v.payloadEncrypted;
  m.disableForwardMetadata = v.disableForwardMetadata;
  m.tcpSyn = v.tcpSyn;
}
