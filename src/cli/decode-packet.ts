/**
 * One captured packet -> the JSON object `svr decode` prints: outer IP/L4 headers, plus the SVR metadata
 * at byte 0 of the TCP/UDP payload when the payload starts with the cookie (an FEC parity packet: its FEC
 * header instead, docs/wan.md "FEC"); a path control message (UDP 1280: BFD, link tests, STEP, MTU probes,
 * ...) or a firewall-detector probe (TCP 1283 -> 1283, docs/wan.md "UDP transform") is named. With the config's keys
 * (decode-keys.ts): the path, the trailer (replay block, HMAC verdict), and encrypted metadata decrypted.
 */
import type { CaptureRecord } from '../io/pcap.js';
import { formatAddress } from '../packet/addr.js';
import { PARSE_ERROR_NAMES, PacketInfo, ParseError, PROTO_TCP, PROTO_UDP, parsePacket } from '../packet/ip.js';
import { verifyL4Checksum } from '../packet/rewrite.js';
import { decodeMetadata, type DecodedMetadata } from '../packet/svr-metadata-decode.js';
import { hasCookie } from '../packet/svr-metadata.js';
import { fecCount, fecGroup, fecParities, fecRow, fecVectorLength, isFecParity } from '../packet/svr-fec.js';
import type { DecodeKeys, DecodedTrailer } from './decode-keys.js';
import { FW_PROBE, PROBE_KINDS, pathMessageKind, type PathMessageKind, type ProbeKind } from '../packet/path-message.js';
import { CONTROL_PORT, PROBE_PORT } from '../dataplane/stages/wan-verify.js';

/** A path control message or a firewall-detector probe: the routers' own traffic between waypoints. */
export interface DecodedControl {
  /** the message's protocol, from its first byte (paths/messages.ts): bfd, link-test-request, step, mtu-probe, fw-probe, ... */
  kind: PathMessageKind;
  /** fw-probe: which probe (tcp-syn, mid-flow, tcp-syn-jumbo) and its round */
  probe?: ProbeKind;
  round?: number;
}

export interface OuterHeaders {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  protocolName: string;
  /** TCP only: flags as names, e.g. "SYN,ACK". */
  tcpFlags?: string;
  /** The L4 checksum verifies (absent for fragments and protocols without one). */
  checksumOk?: boolean;
  /** "first" or "later" for IP fragments (later fragments have no ports and no metadata). */
  fragment?: 'first' | 'later';
}

export interface DecodedPacket {
  frame: number;
  /** ISO 8601 capture time, null when the record has none. */
  time: string | null;
  /** IP packet length (from the IP header), or the captured length when there is no IP packet. */
  length: number;
  outer?: OuterHeaders;
  /** with --config: `<sending router>: <path>` when the packet goes between two waypoints of the config */
  path?: string;
  /** with --config: the replay block and HMAC verdict of a signed packet */
  trailer?: DecodedTrailer;
  metadata?: DecodedMetadata;
  /** path control (UDP 1280) or a firewall-detector probe (TCP 1283): never session traffic */
  control?: DecodedControl;
  /** an FEC parity packet (docs/wan.md "FEC"): its group, row and sizes */
  fec?: { group: number; row: number; dataPackets: number; parityPackets: number; vectorLength: number };
  note?: string;
}

const PROTOCOL_NAMES: Record<number, string> = {
  1: 'icmp', 2: 'igmp', 4: 'ipip', 6: 'tcp', 17: 'udp', 41: 'ipv6', 47: 'gre', 50: 'esp', 51: 'ah', 58: 'icmpv6',
  89: 'ospf', 103: 'pim', 112: 'vrrp', 132: 'sctp',
};

const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'] as const;

export function protocolName(protocol: number): string {
  return PROTOCOL_NAMES[protocol] ?? `proto-${protocol}`;
}

export function tcpFlagNames(flags: number): string {
  return TCP_FLAG_NAMES.filter((_, i) => (flags & (1 << i)) !== 0).join(',');
}

function isoTime(ms: number): string | null {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** Decodes one record; `pi` is scratch space reused between calls; `keys` from --config. */
export function decodeRecord(rec: CaptureRecord, pi: PacketInfo = new PacketInfo(), keys?: DecodeKeys): DecodedPacket {
  const out: DecodedPacket = { frame: rec.frame, time: isoTime(rec.timeMs), length: rec.capturedLength };
  const ip = rec.ip;
  if (ip === null) {
    if (rec.note !== undefined) out.note = rec.note;
    return out;
  }
  const err = parsePacket(ip, 0, ip.length, pi);
  if (err !== ParseError.None) {
    out.length = ip.length;
    out.note = `IP packet does not parse: ${PARSE_ERROR_NAMES[err]}${rec.note === undefined ? '' : ` (${rec.note})`}`;
    return out;
  }
  out.length = pi.end - pi.l3;
  const outer: OuterHeaders = {
    src: formatAddress(ip, pi.srcOff, pi.family as 4 | 6),
    dst: formatAddress(ip, pi.dstOff, pi.family as 4 | 6),
    srcPort: pi.srcPort,
    dstPort: pi.dstPort,
    protocol: pi.protocol,
    protocolName: protocolName(pi.protocol),
  };
  if (pi.protocol === PROTO_TCP && pi.fragment !== 2) outer.tcpFlags = tcpFlagNames(pi.tcpFlags);
  if (pi.fragment !== 0) outer.fragment = pi.fragment === 1 ? 'first' : 'later';
  else if (pi.protocol === PROTO_TCP || pi.protocol === PROTO_UDP || pi.protocol === 1 || pi.protocol === 58) {
    outer.checksumOk = verifyL4Checksum(ip, pi);
  }
  out.outer = outer;
  if ((pi.protocol === PROTO_TCP || pi.protocol === PROTO_UDP) && pi.fragment !== 2) {
    const opened = pi.fragment === 0 ? keys?.open(ip, pi, rec.timeMs) : undefined;
    if (opened !== undefined) {
      out.path = opened.path;
      if (opened.trailer !== undefined) out.trailer = opened.trailer;
    }
    const control = pi.fragment === 0 ? controlOf(ip, pi) : undefined;
    if (control !== undefined) {
      out.control = control;
      if (rec.note !== undefined) out.note = rec.note;
      return out;
    }
    if (isFecParity(ip, pi.payload, pi.end - pi.payload)) {
      const o = pi.payload;
      out.fec = { group: fecGroup(ip, o), row: fecRow(ip, o), dataPackets: fecCount(ip, o), parityPackets: fecParities(ip, o), vectorLength: fecVectorLength(ip, o) };
      if (rec.note !== undefined) out.note = rec.note;
      return out;
    }
    const plain = opened?.plainMetadata;
    // AES-CBC under a wrong key "decrypts" once in 256 (the padding happens to fit): only TLVs that walk count
    const opens = plain === undefined ? null : decodeMetadata(plain, 0, plain.length);
    const m = opens !== null && opens.malformed === undefined ? opens : decodeMetadata(ip, pi.payload, (opened?.end ?? pi.end) - pi.payload);
    if (m !== null && m === opens) {
      m.encrypted = true;
      m.decrypted = true;
    }
    if (m !== null) out.metadata = m;
  }
  if (rec.note !== undefined) out.note = rec.note;
  return out;
}

/** The control message or firewall probe in the packet, if it is one (wan-verify takes the same ports). */
function controlOf(ip: Uint8Array, pi: PacketInfo): DecodedControl | undefined {
  const payload = ip.subarray(pi.payload, pi.end);
  // a session packet on the control binding of a router behind NAT starts with the cookie: metadata (docs/wan.md)
  if (pi.protocol === PROTO_UDP && (pi.dstPort === CONTROL_PORT || pi.srcPort === CONTROL_PORT)) return hasCookie(ip, pi.payload, pi.end - pi.payload) ? undefined : { kind: pathMessageKind(payload) };
  if (pi.protocol !== PROTO_TCP || pi.srcPort !== PROBE_PORT || pi.dstPort !== PROBE_PORT || payload[0] !== FW_PROBE || payload.length < 8) return undefined;
  const probe = PROBE_KINDS[payload[2]!];
  const round = ((payload[4]! << 24) | (payload[5]! << 16) | (payload[6]! << 8) | payload[7]!) >>> 0;
  return probe === undefined ? { kind: 'fw-probe', round } : { kind: 'fw-probe', probe, round };
}
