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

/** The flow key of row r's original 5-tuple (client -> server, before any NAT) on interface ifx. */
export function originalKey(t: SessionTable, r: number, ifx: number, k: SideKey): SideKey {
  k.family = t.family[r] as 4 | 6;
  k.src = t.srcWords(r);
  k.srcOff = t.wordsAt;
  k.dst = t.dstWords(r);
  k.dstOff = t.wordsAt;
  k.srcPort = t.origSrcPort[r]!;
  k.dstPort = t.origDstPort[r]!;
  k.protocol = t.protocol[r]!;
  k.ifIndex = ifx;
  return k;
}

/**
 * The server-side view of row r, into k: toward the server (forward) the translated source/destination and
 * ports; from the server (reverse) the original ones, server -> client. What writeServerSide writes, and
 * what svr-in's native finish writes (steady-receive.ts).
 */
export function serverSideView(t: SessionTable, r: number, forward: boolean, k: SideKey): SideKey {
  if (forward) return serverSideKey(t, r, -1, k);
  originalKey(t, r, -1, k);
  const src = k.src, srcOff = k.srcOff, srcPort = k.srcPort;
  k.src = k.dst;
  k.srcOff = k.dstOff;
  k.srcPort = k.dstPort;
  k.dst = src;
  k.dstOff = srcOff;
  k.dstPort = srcPort;
  return k;
}

const a = new Uint8Array(16);
const b = new Uint8Array(16);
const side: SideKey = { family: 4, src: new Uint32Array(0), srcOff: 0, dst: new Uint32Array(0), dstOff: 0, srcPort: 0, dstPort: 0, protocol: 0, ifIndex: -1 };

/** Writes the server-side view of row r (serverSideView) into a packet. Incremental checksums. */
export function writeServerSide(d: Uint8Array, pi: PacketInfo, t: SessionTable, r: number, forward: boolean): void {
  const k = serverSideView(t, r, forward, side);
  wordsToBytes(k.src, k.srcOff, k.family, a);
  wordsToBytes(k.dst, k.dstOff, k.family, b);
  setAddresses(d, pi, a, 0, b, 0);
  setPorts(d, pi, k.srcPort, k.dstPort);
}

export function hasNat(t: SessionTable, r: number): boolean {
  return (t.flags[r]! & (SF_SNAT | SF_DNAT)) !== 0;
}
