/**
 * Fragments of a packet this router sends, in a batch: IPv4 (packet/ipv4-fragment.ts) or IPv6
 * (packet/ipv6-fragment.ts) by the packet's version. Fragments 1.. go into new slots of an out batch (b
 * itself when it has room, else the dup batch sent after it); fragment 0 is written in place last.
 * Used by svr-out (a packet longer than the path MTU, per the wan interface's `fragmentation`) and at the
 * LAN egress (lanFragments: a datagram this router reassembled, longer than the LAN interface's `mtu`).
 */
import { readU16 } from '../packet/checksum.js';
import { IPV4_DF, ipv4FragmentCount, writeIpv4Fragment } from '../packet/ipv4-fragment.js';
import { IPV6_FRAGMENT_HEADER, ipv6FragmentCount, writeIpv6Fragment } from '../packet/ipv6-fragment.js';
import { HEADROOM, PF_REASSEMBLED, SLOT, type Batch } from './batch.js';
import { headroom } from './packet-ops.js';

/** Fragments the `len`-byte packet at d[l3] needs for `mtu` (1: fits; 0: cannot be split). */
export function fragmentCount(d: Uint8Array, l3: number, len: number, mtu: number): number {
  return d[l3]! >> 4 === 6 ? ipv6FragmentCount(d, l3, len, mtu) : ipv4FragmentCount(d, l3, len, mtu);
}

/** Writes fragment j (> 0) of the packet in slot s of b into slot out.count of out (same interface and path); returns that slot. */
export function writeFragmentSlot(b: Batch, s: number, mtu: number, j: number, id: number, out: Batch): number {
  const ps = out.count++;
  const o = ps * SLOT + HEADROOM;
  const d = b.data, l3 = b.off[s]!, len = b.len[s]!;
  out.len[ps] = d[l3]! >> 4 === 6 ? writeIpv6Fragment(d, l3, len, mtu, j, id, out.data, o) : writeIpv4Fragment(d, l3, len, mtu, j, id & 0xffff, out.data, o);
  out.off[ps] = o;
  out.ifIndex[ps] = b.ifIndex[s]!;
  out.session[ps] = -1;
  out.flags[ps] = 0;
  out.chain[ps] = 0;
  out.path[ps] = b.path[s]!;
  return ps;
}

/** Fragment 0 of the packet in slot s, in place (after every other one was written); its offset and length updated. */
export function writeFirstFragment(b: Batch, s: number, mtu: number, id: number): void {
  const d = b.data, l3 = b.off[s]!, len = b.len[s]!;
  if (d[l3]! >> 4 === 6) {
    b.len[s] = writeIpv6Fragment(d, l3, len, mtu, 0, id, d, l3 - IPV6_FRAGMENT_HEADER);
    b.off[s] = l3 - IPV6_FRAGMENT_HEADER;
  } else {
    b.len[s] = writeIpv4Fragment(d, l3, len, mtu, 0, id & 0xffff, d, l3);
  }
}

/**
 * At the LAN egress: how many fragments the packet in slot s leaves as on an interface of MTU `mtu`: more
 * than 1 only for a datagram this router reassembled (its source allowed fragmentation) that is longer than
 * the interface's MTU, IPv6 or IPv4 without DF; 0 or 1: sent as it is.
 */
export function lanFragments(b: Batch, s: number, mtu: number): number {
  const l3 = b.off[s]!, len = b.len[s]!;
  if (len <= mtu || (b.flags[s]! & PF_REASSEMBLED) === 0) return 0;
  const d = b.data;
  if (d[l3]! >> 4 === 4 && (readU16(d, l3 + 6) & IPV4_DF) !== 0) return 0;
  if (d[l3]! >> 4 === 6 && headroom(b, s) < IPV6_FRAGMENT_HEADER) return 0;
  return fragmentCount(d, l3, len, mtu);
}
