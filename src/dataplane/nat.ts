/**
 * NAT of the server side of a session, decided by a plugin's session-open hook (src/dataplane/session-hooks.ts)
 * and applied by the core on every packet: toward the server the source becomes natSrc:natSrcPort and/or
 * the destination natDst:natDstPort (SF_SNAT / SF_DNAT); replies come back to those and are restored.
 * The session's server-side flow key is the translated 5-tuple, so replies find it.
 */
import type { PacketInfo } from '../packet/ip.js';
import { setAddresses, setPorts } from '../packet/rewrite.js';
import { wordsToBytes } from './metadata-build.js';
import { SF_DNAT, SF_SNAT, type SessionTable, type SideKey } from './session-table.js';

/** The flow key of row r's server side on interface ifx: the original 5-tuple with its NAT applied. */
export function serverSideKey(t: SessionTable, r: number, ifx: number, k: SideKey): SideKey {
  const f = t.flags[r]!;
  k.family = t.family[r] as 4 | 6;
  k.src = (f & SF_SNAT) !== 0 ? t.natSrc : t.srcWords(r);
  k.srcOff = (f & SF_SNAT) !== 0 ? r * 4 : t.wordsAt;
  k.dst = (f & SF_DNAT) !== 0 ? t.natDst : t.dstWords(r);
  k.dstOff = (f & SF_DNAT) !== 0 ? r * 4 : t.wordsAt;
  k.srcPort = (f & SF_SNAT) !== 0 ? t.natSrcPort[r]! : t.origSrcPort[r]!;
  k.dstPort = (f & SF_DNAT) !== 0 ? t.natDstPort[r]! : t.origDstPort[r]!;
  k.protocol = t.protocol[r]!;
  k.ifIndex = ifx;
  return k;
}

const a = new Uint8Array(16);
const b = new Uint8Array(16);

/**
 * Writes the server-side view of row r into a packet: toward the server (forward) the translated
 * source/destination; from the server (reverse) the original ones. Incremental checksums.
 */
export function writeServerSide(d: Uint8Array, pi: PacketInfo, t: SessionTable, r: number, forward: boolean): void {
  const f = t.flags[r]!;
  const fam = t.family[r] as 4 | 6;
  const snat = (f & SF_SNAT) !== 0;
  const dnat = (f & SF_DNAT) !== 0;
  if (forward) {
    if (snat) wordsToBytes(t.natSrc, r * 4, fam, a);
    else wordsToBytes(t.srcWords(r), t.wordsAt, fam, a);
    if (dnat) wordsToBytes(t.natDst, r * 4, fam, b);
    else wordsToBytes(t.dstWords(r), t.wordsAt, fam, b);
    setAddresses(d, pi, a, 0, b, 0);
    setPorts(d, pi, snat ? t.natSrcPort[r]! : t.origSrcPort[r]!, dnat ? t.natDstPort[r]! : t.origDstPort[r]!);
  } else {
    wordsToBytes(t.dstWords(r), t.wordsAt, fam, a);
    wordsToBytes(t.srcWords(r), t.wordsAt, fam, b);
    setAddresses(d, pi, a, 0, b, 0);
    setPorts(d, pi, t.origDstPort[r]!, t.origSrcPort[r]!);
  }
}

export function hasNat(t: SessionTable, r: number): boolean {
  return (t.flags[r]! & (SF_SNAT | SF_DNAT)) !== 0;
}
