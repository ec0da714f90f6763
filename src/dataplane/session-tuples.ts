/**
 * A session row's 5-tuples as text, for the facts control gets once per session (created, migrated) and
 * for session listings: the client's original 5-tuple, the forward direction's waypoint 5-tuple on its
 * path and the forward 5-tuple after NAT. Allocates (strings, objects): once per session, never per packet.
 * IPv4 addresses are formatted straight from their word (four table lookups); path waypoints are formatted once per
 * config generation (DataplaneContext.pathText).
 */
import { formatAddress } from '../packet/addr.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_UDP } from '../packet/ip.js';
import type { FiveTuple } from '../packet/svr-metadata-decode.js';
import type { DataplaneContext } from './context.js';
import { fmix32 } from './hash.js';
import { wordsToBytes } from './metadata-build.js';
import { ROLE_INGRESS, ROLE_LOCAL, SF_DNAT, SF_SNAT } from './session-table.js';

const scratch = new Uint8Array(16);
/** "0".."255": an IPv4 address is four lookups and a concatenation, no number formatting */
const OCTET = Array.from({ length: 256 }, (_, i) => String(i));

/** IPv4 texts made recently, direct-mapped by address: a busy site's sessions share their servers' and
 *  clients' addresses, so most tuples reuse a string instead of building one (with the other per-session
 *  strings, ~1.5 µs of a router's CPU per new session before, bench/session-cost.ts) */
const V4_CACHE = 4096;
const v4Word = new Uint32Array(V4_CACHE);
const v4Text: string[] = new Array<string>(V4_CACHE).fill('');

/** The address at words[at..at+4) (IPv4 in the first word) as text. */
export function addressText(words: Uint32Array, at: number, family: 4 | 6): string {
  if (family === 4) {
    const v = words[at]!;
    const slot = fmix32(v) & (V4_CACHE - 1);
    const cached = v4Text[slot]!;
    if (cached !== '' && v4Word[slot] === v) return cached;
    const text = `${OCTET[v >>> 24]!}.${OCTET[(v >>> 16) & 0xff]!}.${OCTET[(v >>> 8) & 0xff]!}.${OCTET[v & 0xff]!}`;
    v4Word[slot] = v;
    v4Text[slot] = text;
    return text;
  }
  wordsToBytes(words, at, 6, scratch);
  return formatAddress(scratch, 0, 6);
}

/** The client's 5-tuple of row r, as it sent the first packet. */
export function forwardTuple(ctx: DataplaneContext, r: number): FiveTuple {
  const t = ctx.sessions;
  const fam = t.family[r] as 4 | 6;
  return { src: addressText(t.srcWords(r), t.wordsAt, fam), dst: addressText(t.dstWords(r), t.wordsAt, fam), srcPort: t.origSrcPort[r]!, dstPort: t.origDstPort[r]!, protocol: t.protocol[r]! };
}

/** The forward direction's SVR 5-tuple of row r on its path (outer protocol: ICMP travels as UDP); undefined for local sessions. */
export function waypointTuple(ctx: DataplaneContext, r: number): FiveTuple | undefined {
  const t = ctx.sessions;
  const p = t.path[r]!;
  if (t.role[r] === ROLE_LOCAL || p < 0 || p >= ctx.pathText.length) return undefined;
  const w = ctx.pathText[p]!;
  const proto = t.protocol[r]!;
  const protocol = proto === PROTO_ICMP || proto === PROTO_ICMPV6 ? PROTO_UDP : proto;
  return t.role[r] === ROLE_INGRESS
    ? { src: w.local, dst: w.remote, srcPort: t.wpLocalPort[r]!, dstPort: t.wpPeerPort[r]!, protocol }
    : { src: w.remote, dst: w.local, srcPort: t.wpPeerPort[r]!, dstPort: t.wpLocalPort[r]!, protocol };
}

/** The forward 5-tuple of row r toward the server after this router's NAT; undefined without NAT. */
export function natTuple(ctx: DataplaneContext, r: number): FiveTuple | undefined {
  const t = ctx.sessions;
  const f = t.flags[r]!;
  const snat = (f & SF_SNAT) !== 0;
  const dnat = (f & SF_DNAT) !== 0;
  if (!snat && !dnat) return undefined;
  const fam = t.family[r] as 4 | 6;
  return {
    src: snat ? addressText(t.natSrc, r * 4, fam) : addressText(t.srcWords(r), t.wordsAt, fam),
    dst: dnat ? addressText(t.natDst, r * 4, fam) : addressText(t.dstWords(r), t.wordsAt, fam),
    srcPort: snat ? t.natSrcPort[r]! : t.origSrcPort[r]!, dstPort: dnat ? t.natDstPort[r]! : t.origDstPort[r]!, protocol: t.protocol[r]!,
  };
}
