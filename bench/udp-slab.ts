/**
 * First packets for the in-process benchmarks (memory, config at scale): a batch of 64-byte IPv4/UDP packets
 * from one template, 198.18.1.1:1024 -> 198.18.3.2:7, each slot stamped with its own flow.
 */
import { buildUdp } from '../src/packet/build.js';
import { PacketInfo, parsePacket } from '../src/packet/ip.js';
import { fillIpv4HeaderChecksum, fillL4Checksum } from '../src/packet/rewrite.js';

/** Source ports a flow number walks through (1024-65535) before the next source address. */
export const FLOW_PORTS = 64512;

export interface UdpSlab {
  readonly slab: Uint8Array;
  readonly offs: Uint32Array;
  readonly lens: Uint32Array;
  /** Writes a flow into slot `k`: source 198.18.1.`srcHost`:`srcPort` -> 198.18.3.`dstHost`:7, checksums filled. */
  stamp(k: number, srcHost: number, dstHost: number, srcPort: number): void;
}

export function udpSlab(batch: number): UdpSlab {
  const tpl = buildUdp({ src: Uint8Array.of(198, 18, 1, 1), dst: Uint8Array.of(198, 18, 3, 2), srcPort: 1024, dstPort: 7, payload: new Uint8Array(36) });
  const len = tpl.length;
  const slab = new Uint8Array(batch * len);
  const offs = Uint32Array.from({ length: batch }, (_, k) => k * len);
  const lens = new Uint32Array(batch).fill(len);
  const pi = new PacketInfo();
  const stamp = (k: number, srcHost: number, dstHost: number, srcPort: number): void => {
    const o = offs[k]!;
    slab.set(tpl, o);
    slab[o + 15] = srcHost;
    slab[o + 19] = dstHost;
    slab[o + 20] = srcPort >>> 8;
    slab[o + 21] = srcPort & 0xff;
    fillIpv4HeaderChecksum(slab, o);
    parsePacket(slab, o, len, pi);
    fillL4Checksum(slab, pi);
  };
  return { slab, offs, lens, stamp };
}

/** Stamps slots 0..m-1 with flows first..first+m-1: sources 198.18.1.1-16 × FLOW_PORTS ports, then the next server. */
export function stampFlows(stamp: UdpSlab['stamp'], first: number, m: number): void {
  for (let k = 0; k < m; k++) {
    const id = first + k;
    stamp(k, 1 + (Math.floor(id / FLOW_PORTS) % 16), 2 + Math.floor(id / (FLOW_PORTS * 16)), 1024 + (id % FLOW_PORTS));
  }
}
