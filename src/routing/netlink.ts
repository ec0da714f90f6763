/**
 * A strict, bounded decoder of the rtnetlink route messages zebra's FPM module (dplane_fpm_nl) sends:
 * RTM_NEWROUTE / RTM_DELROUTE, each an nlmsghdr (RFC 3549 §2.3.2, 16 bytes, host byte order: zebra
 * writes little-endian on x86 and arm64) + rtmsg (12 bytes) + route attributes (rtattr: u16 length, u16
 * type, payload padded to 4 bytes). Every length is checked against what is left before it is read;
 * a message that breaks a rule is returned as a problem (the caller counts it), never thrown.
 * Other message types (RTM_NEWNEXTHOP, ...) come back as `ignored`.
 */
import { formatAddress, type AddressFamily } from '../packet/addr.js';

export const NLMSG_HDRLEN = 16;
export const RTMSG_LEN = 12;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_MULTIPATH = 9;
export const RTA_TABLE = 15;
export const RTN_UNICAST = 1;
export const RTN_BLACKHOLE = 6;

/**
 * rtm_protocol values (linux/rtnetlink.h and FRR's lib/zebra.h) -> names; others appear as `proto-<n>`.
 * zebra sends connected routes and the kernel's own routes alike with RTPROT_KERNEL (2): one without a
 * gateway is named `connected`, one with a gateway `kernel` (protocolName).
 */
const PROTOCOLS: Readonly<Record<number, string>> = {
  2: 'kernel', 3: 'boot', 4: 'static', 11: 'zebra', 186: 'bgp', 187: 'isis', 188: 'ospf', 189: 'rip', 196: 'static', 42: 'babel',
};

export interface RouteMessage {
  readonly op: 'add' | 'del';
  readonly family: AddressFamily;
  /** masked destination, `198.18.50.0/24` (`0.0.0.0/0` when RTA_DST is absent) */
  readonly prefix: string;
  /** routing table (RTA_TABLE when present, else rtm_table) */
  readonly table: number;
  readonly protocol: string;
  /** rtm_type: RTN_UNICAST, RTN_BLACKHOLE, ... */
  readonly type: number;
  /** the next hops (RTA_GATEWAY/RTA_OIF, or each of RTA_MULTIPATH) */
  readonly nextHops: readonly { readonly gateway?: string; readonly ifindex: number }[];
  /** RTA_PRIORITY, 0 when absent */
  readonly metric: number;
}

export type Decoded =
  | { readonly kind: 'route'; readonly route: RouteMessage }
  | { readonly kind: 'ignored'; readonly type: number }
  | { readonly kind: 'malformed'; readonly why: string };

/** Every netlink message in buf[off, off+len): an FPM frame's payload. Stops at the first malformed header (its length cannot be trusted). */
export function decodeNetlink(buf: Uint8Array, off: number, len: number): Decoded[] {
  const out: Decoded[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const end = off + len;
  let at = off;
  while (at < end) {
    if (end - at < NLMSG_HDRLEN) {
      out.push(malformed(`${end - at} bytes left, a netlink header has ${NLMSG_HDRLEN}`));
      break;
    }
    const msgLen = view.getUint32(at, true);
    if (msgLen < NLMSG_HDRLEN || msgLen > end - at) {
      out.push(malformed(`nlmsg_len ${msgLen} outside ${NLMSG_HDRLEN}-${end - at}`));
      break;
    }
    const type = view.getUint16(at + 4, true);
    out.push(type === RTM_NEWROUTE || type === RTM_DELROUTE ? decodeRoute(view, buf, at + NLMSG_HDRLEN, msgLen - NLMSG_HDRLEN, type) : { kind: 'ignored', type });
    at += align4(msgLen);
  }
  return out;
}

function decodeRoute(view: DataView, buf: Uint8Array, off: number, len: number, type: number): Decoded {
  if (len < RTMSG_LEN) return malformed(`a route message has ${len} bytes after its header, rtmsg needs ${RTMSG_LEN}`);
  const af = buf[off]!;
  if (af !== AF_INET && af !== AF_INET6) return malformed(`address family ${af} (expected AF_INET 2 or AF_INET6 10)`);
  const family: AddressFamily = af === AF_INET ? 4 : 6;
  const size = family === 4 ? 4 : 16;
  const dstLen = buf[off + 1]!;
  if (dstLen > size * 8) return malformed(`rtm_dst_len ${dstLen} for IPv${family}`);
  let table = buf[off + 4]!;
  const protocol = buf[off + 5]!;
  const rtmType = buf[off + 7]!;
  let dst: Uint8Array | undefined;
  let metric = 0;
  let gateway: string | undefined;
  let ifindex = 0;
  const hops: { gateway?: string; ifindex: number }[] = [];
  const end = off + len;
  let at = off + RTMSG_LEN;
  while (at < end) {
    if (end - at < 4) return malformed(`${end - at} bytes left, an attribute header has 4`);
    const aLen = view.getUint16(at, true);
    const aType = view.getUint16(at + 2, true) & 0x3fff; // NLA_F_NESTED / NLA_F_NET_BYTEORDER off
    if (aLen < 4 || aLen > end - at) return malformed(`attribute ${aType}: rta_len ${aLen} outside 4-${end - at}`);
    const p = at + 4;
    const pLen = aLen - 4;
    switch (aType) {
      case RTA_DST:
        if (pLen !== size) return malformed(`RTA_DST of ${pLen} bytes for IPv${family}`);
        dst = buf.subarray(p, p + size);
        break;
      case RTA_GATEWAY:
        if (pLen !== size) return malformed(`RTA_GATEWAY of ${pLen} bytes for IPv${family}`);
        gateway = formatAddress(buf, p, family);
        break;
      case RTA_OIF:
        if (pLen !== 4) return malformed(`RTA_OIF of ${pLen} bytes`);
        ifindex = view.getUint32(p, true);
        break;
      case RTA_PRIORITY:
        if (pLen !== 4) return malformed(`RTA_PRIORITY of ${pLen} bytes`);
        metric = view.getUint32(p, true);
        break;
      case RTA_TABLE:
        if (pLen !== 4) return malformed(`RTA_TABLE of ${pLen} bytes`);
        table = view.getUint32(p, true);
        break;
      case RTA_MULTIPATH: {
        const problem = decodeMultipath(view, buf, p, pLen, family, hops);
        if (problem !== undefined) return malformed(problem);
        break;
      }
      default:
        break; // other attributes (RTA_ENCAP, RTA_NH_ID, ...) are not needed here
    }
    at += align4(aLen);
  }
  if (dstLen > 0 && dst === undefined) return malformed(`rtm_dst_len ${dstLen} without RTA_DST`);
  if (hops.length === 0 && (gateway !== undefined || ifindex !== 0)) hops.push({ ...(gateway !== undefined ? { gateway } : {}), ifindex });
  const name = PROTOCOLS[protocol] ?? `proto-${protocol}`;
  return {
    kind: 'route',
    route: {
      op: type === RTM_NEWROUTE ? 'add' : 'del', family, prefix: maskedPrefix(dst, dstLen, family), table,
      protocol: name === 'kernel' && hops.every((h) => h.gateway === undefined) ? 'connected' : name, type: rtmType, nextHops: hops, metric,
    },
  };
}

/** RTA_MULTIPATH: rtnexthop records (u16 len, u8 flags, u8 hops, i32 ifindex) each followed by its attributes. */
function decodeMultipath(view: DataView, buf: Uint8Array, off: number, len: number, family: AddressFamily, hops: { gateway?: string; ifindex: number }[]): string | undefined {
  const end = off + len;
  let at = off;
  while (at < end) {
    if (end - at < 8) return `RTA_MULTIPATH: ${end - at} bytes left, rtnexthop has 8`;
    const nhLen = view.getUint16(at, true);
    if (nhLen < 8 || nhLen > end - at) return `RTA_MULTIPATH: rtnh_len ${nhLen} outside 8-${end - at}`;
    const ifindex = view.getInt32(at + 4, true);
    let gateway: string | undefined;
    let a = at + 8;
    const nhEnd = at + nhLen;
    while (a < nhEnd) {
      if (nhEnd - a < 4) return `RTA_MULTIPATH: ${nhEnd - a} bytes left in a next hop, an attribute header has 4`;
      const aLen = view.getUint16(a, true);
      const aType = view.getUint16(a + 2, true) & 0x3fff;
      if (aLen < 4 || aLen > nhEnd - a) return `RTA_MULTIPATH: attribute ${aType}: rta_len ${aLen} outside 4-${nhEnd - a}`;
      if (aType === RTA_GATEWAY) {
        if (aLen - 4 !== (family === 4 ? 4 : 16)) return `RTA_MULTIPATH: RTA_GATEWAY of ${aLen - 4} bytes for IPv${family}`;
        gateway = formatAddress(buf, a + 4, family);
      }
      a += align4(aLen);
    }
    hops.push({ ...(gateway !== undefined ? { gateway } : {}), ifindex });
    at += align4(nhLen);
  }
  return undefined;
}

function maskedPrefix(dst: Uint8Array | undefined, dstLen: number, family: AddressFamily): string {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  if (dst !== undefined) bytes.set(dst);
  for (let bit = dstLen; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${formatAddress(bytes, 0, family)}/${dstLen}`;
}

const align4 = (n: number): number => (n + 3) & ~3;
const malformed = (why: string): Decoded => ({ kind: 'malformed', why });
