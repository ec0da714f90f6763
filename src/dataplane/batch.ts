/**
 * A batch: one slab of packets plus struct-of-arrays metadata, owned by one data path and reused for
 * every batch it processes (no allocation per packet). Packet i lives at data[off[i], off[i] + len[i]);
 * each slot has HEADROOM bytes in front so headers can move left when SVR metadata is inserted.
 */
import { PacketInfo } from '../packet/ip.js';
import { MetadataView } from '../packet/svr-metadata.js';

export const MAX_BATCH = 256;
export const HEADROOM = 512;
export const SLOT = 2048 + HEADROOM;

/** Per-packet flags. */
export const PF_REVERSE = 0x01; // packet travels server -> client
export const PF_HAS_META = 0x02; // SVR metadata present (wan side, parsed into meta[slot])
export const PF_FALSE_POSITIVE = 0x04; // only a bare false-positive header was present
export const PF_NEW_SESSION = 0x08; // this packet created its session
export const PF_CONTROL = 0x10; // an SVR control answer built from a received probe (no payload)
export const PF_ALT_PATH = 0x20; // the packet matched its session's alternate (second path) key
export const PF_CHAINED = 0x40; // the packet took its session's chain bits (service-chain)
export const PF_HANDED = 0x80; // handed over by another worker: already steered, TTL already decremented
export const PF_DIVERTED = 0x100; // a chain stage sent the packet to an external function (ifIndex = its out interface)
export const PF_AUTH = 0x200; // wan: HMAC and replay counter verified, or the path's policy disables HMAC (a trusted path)
export const PF_FEC_RECOVERED = 0x400; // wan: rebuilt from an FEC parity packet (fec.ts): not added to a group again
export const PF_NAT_RELAYED = 0x800; // wan, behind NAT: a session packet the peer sent on the control binding (its session is found by id)

/** A packet from a peer router that may not change session state (metadata-only: it carried no trailer). */
export function unauthenticated(b: Batch, slot: number): boolean {
  return b.path[slot]! >= 0 && (b.flags[slot]! & PF_AUTH) === 0;
}

export class Batch {
  count = 0;
  readonly data: Uint8Array;
  readonly off = new Uint32Array(MAX_BATCH);
  readonly len = new Uint32Array(MAX_BATCH);
  /** rx interface, then tx interface once a stage picked it */
  readonly ifIndex = new Int16Array(MAX_BATCH);
  readonly session = new Int32Array(MAX_BATCH);
  readonly flags = new Uint16Array(MAX_BATCH);
  /** remaining service-chain bits (plugin stages) */
  readonly chain = new Uint32Array(MAX_BATCH);
  /** peer path of a WAN packet (rx) or chosen for tx, -1 none */
  readonly path = new Int16Array(MAX_BATCH);
  /** the worker that owns the packet's session (steer -> handoff) */
  readonly owner = new Int16Array(MAX_BATCH);
  /** parsed headers, one reusable object per slot */
  readonly info: PacketInfo[] = [];
  /** parsed SVR metadata (valid when PF_HAS_META) */
  readonly meta: MetadataView[] = [];

  constructor() {
    this.data = new Uint8Array(MAX_BATCH * SLOT);
    for (let i = 0; i < MAX_BATCH; i++) {
      this.info.push(new PacketInfo());
      this.meta.push(new MetadataView());
    }
  }

  /** Copies packets from an rx vector into the slab, starting at slot `count`. Returns how many fit. */
  fill(ifIndex: number, src: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, from: number, n: number): number {
    let taken = 0;
    for (let k = from; k < from + n && this.count < MAX_BATCH; k++) {
      const s = this.count;
      const l = lengths[k]!;
      if (l > SLOT - HEADROOM) continue; // oversize: skipped (counted by the caller as the difference)
      const o = s * SLOT + HEADROOM;
      this.data.set(src.subarray(offsets[k]!, offsets[k]! + l), o);
      this.off[s] = o;
      this.len[s] = l;
      this.ifIndex[s] = ifIndex;
      this.session[s] = -1;
      this.flags[s] = 0;
      this.chain[s] = 0;
      this.path[s] = -1;
      this.count++;
      taken++;
    }
    return taken;
  }

  /** Start of the slot's bytes (headroom included): the lowest offset a packet may grow to. */
  slotStart(slot: number): number {
    return slot * SLOT;
  }

  reset(): void {
    this.count = 0;
  }
}

/** The slots a stage must handle in one run. */
export class Frame {
  n = 0;
  readonly slot = new Uint16Array(MAX_BATCH);
}
