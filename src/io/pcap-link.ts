/**
 * Link-layer headers of captured frames -> the IP packet inside (tcpdump.org LINKTYPE_* values).
 * Supported: Ethernet (with up to two 802.1Q / 802.1ad tags), raw IP (101 and the legacy 12 and 14),
 * Linux cooked capture v1 (113) and v2 (276), BSD loopback (0, host byte order; 108, network byte order).
 * Anything else yields `ip: null` with a note saying what the frame was.
 */

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW_LEGACY_12 = 12;
export const LINKTYPE_RAW_LEGACY_14 = 14;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_LINUX_SLL2 = 276;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const VLAN_TAGS = new Set([0x8100, 0x88a8, 0x9100]);
const MAX_VLAN_TAGS = 2;

const ETHERTYPE_NAMES: Record<number, string> = {
  0x0806: 'ARP', 0x8035: 'RARP', 0x88cc: 'LLDP', 0x8847: 'MPLS', 0x8848: 'MPLS multicast', 0x8863: 'PPPoE discovery',
  0x8864: 'PPPoE session', 0x888e: 'EAPOL', 0x88f7: 'PTP', 0x8809: 'slow protocols (LACP)', 0x9000: 'loopback',
};

export interface LinkPayload {
  ip: Uint8Array | null;
  note?: string;
}

/** Human name of a link type, for notes and errors. */
export function linkTypeName(linkType: number): string {
  switch (linkType) {
    case LINKTYPE_NULL: return 'BSD loopback';
    case LINKTYPE_ETHERNET: return 'Ethernet';
    case LINKTYPE_RAW: case LINKTYPE_RAW_LEGACY_12: case LINKTYPE_RAW_LEGACY_14: return 'raw IP';
    case LINKTYPE_LOOP: return 'OpenBSD loopback';
    case LINKTYPE_LINUX_SLL: return 'Linux cooked (SLL)';
    case LINKTYPE_LINUX_SLL2: return 'Linux cooked v2 (SLL2)';
    default: return `link type ${linkType}`;
  }
}

/** The IP packet carried by one captured frame. `ip` is a view into `frame`. */
export function ipFromFrame(linkType: number, frame: Uint8Array): LinkPayload {
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      if (frame.length < 14) return short('Ethernet', 14, frame.length);
      return fromEthertype(frame, 14, u16(frame, 12));
    case LINKTYPE_RAW: case LINKTYPE_RAW_LEGACY_12: case LINKTYPE_RAW_LEGACY_14:
      return rawIp(frame, 0, 0);
    case LINKTYPE_LINUX_SLL:
      if (frame.length < 16) return short('SLL', 16, frame.length);
      return fromEthertype(frame, 16, u16(frame, 14));
    case LINKTYPE_LINUX_SLL2:
      if (frame.length < 20) return short('SLL2', 20, frame.length);
      return fromEthertype(frame, 20, u16(frame, 0));
    case LINKTYPE_NULL: case LINKTYPE_LOOP: {
      if (frame.length < 4) return short('loopback', 4, frame.length);
      const be = ((frame[0]! << 24) | (frame[1]! << 16) | (frame[2]! << 8) | frame[3]!) >>> 0;
      const le = ((frame[3]! << 24) | (frame[2]! << 16) | (frame[1]! << 8) | frame[0]!) >>> 0;
      // DLT_NULL is in the capturing host's byte order: the smaller reading is the right one
      const family = linkType === LINKTYPE_LOOP ? be : Math.min(be, le);
      if (family === 2) return rawIp(frame, 4, 4);
      if (family === 24 || family === 28 || family === 30) return rawIp(frame, 4, 6);
      return { ip: null, note: `loopback frame of address family ${family} (not IP)` };
    }
    default:
      return { ip: null, note: `unsupported link type ${linkType}` };
  }
}

function u16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

function short(what: string, need: number, have: number): LinkPayload {
  return { ip: null, note: `${what} header needs ${need} bytes, frame has ${have}` };
}

/** Follows VLAN tags from an EtherType at frame[off - 2] to the IP header. */
function fromEthertype(frame: Uint8Array, off: number, type: number): LinkPayload {
  let tags = 0;
  while (VLAN_TAGS.has(type)) {
    if (++tags > MAX_VLAN_TAGS) return { ip: null, note: `more than ${MAX_VLAN_TAGS} VLAN tags` };
    if (off + 4 > frame.length) return { ip: null, note: 'frame ends inside a VLAN tag' };
    type = u16(frame, off + 2);
    off += 4;
  }
  if (type === ETHERTYPE_IPV4) return rawIp(frame, off, 4);
  if (type === ETHERTYPE_IPV6) return rawIp(frame, off, 6);
  if (type <= 1500) return { ip: null, note: 'IEEE 802.3 length field (LLC frame, not IP)' };
  const name = ETHERTYPE_NAMES[type];
  return { ip: null, note: `non-IP ethertype 0x${type.toString(16).padStart(4, '0')}${name === undefined ? '' : ` (${name})`}` };
}

/** The IP packet at frame[off..]; `want` 4 or 6 checks the version nibble against the link header, 0 accepts both. */
function rawIp(frame: Uint8Array, off: number, want: 0 | 4 | 6): LinkPayload {
  if (off >= frame.length) return { ip: null, note: 'no bytes after the link header' };
  const version = frame[off]! >>> 4;
  if (version !== 4 && version !== 6) return { ip: null, note: `not an IP packet (version nibble ${version})` };
  if (want !== 0 && version !== want) return { ip: null, note: `link header says IPv${want}, packet says IPv${version}` };
  return { ip: frame.subarray(off) };
}
