/**
 * Ethernet frames that announce an address moved to this host (a router pair's node taking the shared
 * addresses, docs/high-availability.md "Shared addresses"): the neighbours replace the old MAC in their
 * caches without waiting for their entries to expire.
 *   IPv4: gratuitous ARP, an ARP request from the address to itself, broadcast (RFC 5227 §3 "ARP
 *         Announcement", RFC 5944 §4.6); Linux takes it over an existing entry at once (no locktime).
 *   IPv6: unsolicited Neighbor Advertisement to all-nodes ff02::1, Override set, with the target
 *         link-layer address option (RFC 4861 §7.2.6); Router set, the sender is a router (§4.4).
 * Control side only: a few frames per role change.
 */
import { sumBytesJs, finish } from './checksum.js';
import type { ParsedAddress } from './addr.js';

const ETH_HEADER = 14;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ICMPV6 = 58;
const NEIGHBOR_ADVERTISEMENT = 136;
/** RFC 4861 §4.4: R (router), S (solicited), O (override) */
const NA_ROUTER = 0x80;
const NA_OVERRIDE = 0x20;
/** RFC 4861 §4.6.1: option 2, target link-layer address, length in units of 8 bytes */
const OPTION_TARGET_LL = 2;
/** ARP payload (RFC 826) for Ethernet/IPv4; frames are padded to the 60-byte Ethernet minimum */
const ARP_LENGTH = 28;
const MIN_FRAME = 60;

/** Parses `aa:bb:cc:dd:ee:ff`; undefined unless six hex bytes. */
export function parseMac(text: string): Uint8Array | undefined {
  const parts = text.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return undefined;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

function ethernet(frame: Uint8Array, dst: ArrayLike<number>, src: Uint8Array, type: number): void {
  frame.set(dst, 0);
  frame.set(src, 6);
  frame[12] = type >> 8;
  frame[13] = type & 0xff;
}

/** The announcement of `address` (4 or 16 bytes) from `mac`: a gratuitous ARP or an unsolicited NA. */
export function announcementFrame(mac: Uint8Array, address: ParsedAddress): Uint8Array {
  return address.family === 4 ? gratuitousArp(mac, address.bytes) : unsolicitedNa(mac, address.bytes);
}

/** RFC 5227 §3: op request, sender = target = the address, target MAC zero, to broadcast. */
export function gratuitousArp(mac: Uint8Array, ipv4: Uint8Array): Uint8Array {
  const f = new Uint8Array(MIN_FRAME);
  ethernet(f, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], mac, ETHERTYPE_ARP);
  const a = ETH_HEADER;
  f.set([0, 1, ETHERTYPE_IPV4 >> 8, ETHERTYPE_IPV4 & 0xff, 6, 4, 0, 1], a); // Ethernet, IPv4, hlen 6, plen 4, request
  f.set(mac, a + 8);
  f.set(ipv4, a + 14);
  f.set(ipv4, a + 24);
  return f.subarray(0, Math.max(MIN_FRAME, a + ARP_LENGTH));
}

/** RFC 4861 §7.2.6: from the address itself to ff02::1 (33:33:00:00:00:01), hop limit 255, R and O set. */
export function unsolicitedNa(mac: Uint8Array, ipv6: Uint8Array): Uint8Array {
  const icmpLength = 24 + 8; // header, reserved, target; the option
  const f = new Uint8Array(ETH_HEADER + 40 + icmpLength);
  ethernet(f, [0x33, 0x33, 0, 0, 0, 1], mac, ETHERTYPE_IPV6);
  const ip = ETH_HEADER;
  f[ip] = 0x60;
  f[ip + 4] = icmpLength >> 8;
  f[ip + 5] = icmpLength & 0xff;
  f[ip + 6] = ICMPV6;
  f[ip + 7] = 255; // §7.1.2: receivers drop an NA whose hop limit is not 255
  f.set(ipv6, ip + 8);
  f.set([0xff, 0x02], ip + 24);
  f[ip + 39] = 1;
  const icmp = ip + 40;
  f[icmp] = NEIGHBOR_ADVERTISEMENT;
  f[icmp + 4] = NA_ROUTER | NA_OVERRIDE;
  f.set(ipv6, icmp + 8);
  f[icmp + 24] = OPTION_TARGET_LL;
  f[icmp + 25] = 1;
  f.set(mac, icmp + 26);
  // RFC 4443 §2.3: the checksum covers the pseudo-header (addresses, length, next header) and the message
  let acc = sumBytesJs(f, ip + 8, 32, 0);
  acc += icmpLength + ICMPV6;
  acc = sumBytesJs(f, icmp, icmpLength, acc);
  const c = finish(acc);
  f[icmp + 2] = c >> 8;
  f[icmp + 3] = c & 0xff;
  return f;
}
