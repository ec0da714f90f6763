/**
 * A batch: one slab of packets plus struct-of-arrays metadata, owned by one data path and reused for
 * every batch it processes (no allocation per packet). Packet i lives at data[off[i], off[i] + len[i]);
 * each slot has HEADROOM bytes in front so headers can move left when SVR metadata is inserted.
 * A packet longer than a slot (a datagram reassembled from fragments, up to 65,535 bytes) is placed in the
 * batch's big area behind the slots instead (`placeBig`: headroom in front, BIG_TAILROOM behind); its slot
 * index is used as any other, `slotStart`/`slotEnd` say where its room is. The area is reused per batch.
 * `fill` copies a frame in with one native call (native/frame-copy.c) when the addon is built and the frame
 * carries FILL_NATIVE_BYTES or more: a TUN reader's SharedArrayBuffer is copied out by V8 a relaxed word at a
 * time, and each packet needed a view (1448 B, cold: ~300 ns a packet that way; SVR_NATIVE_FILL=0: always so).
 */
import { PacketInfo } from '../packet/ip.js';
import { MetadataView } from '../packet/svr-metadata.js';
import { tryLoadAddon } from '../native/addon.js';

type FramesCopy = (dst: Uint8Array, src: Uint8Array, desc: Uint32Array, count: number) => void;
/** u32 words per packet in framesCopy's descriptor: source offset, destination offset, length */
const COPY_WORDS = 3;
/** Frames of fewer bytes are copied in JS (the call costs about what a few small packets' views do). */
const FILL_NATIVE_BYTES = 1024;

function loadFramesCopy(): FramesCopy | null {
  const mod = tryLoadAddon();
  if (mod instanceof Error || mod['COPY_WORDS'] !== COPY_WORDS || typeof mod['framesCopy'] !== 'function') return null;
  return mod['framesCopy'] as FramesCopy;
}

const framesCopy = loadFramesCopy();

export const MAX_BATCH = 256;
export const HEADROOM = 512;
export const SLOT = 2048 + HEADROOM;
/** The longest packet a slot carries. */
export const SLOT_PACKET = SLOT - HEADROOM;
/** Bytes behind a packet in the big area (trailer, payload sealing, FEC tag). */
export const BIG_TAILROOM = 512;
/** The big area of a batch: two 65,535-byte packets, or about 60 of 3,000 bytes. */
export const BIG_AREA = 2 * (HEADROOM + 65535 + BIG_TAILROOM);

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
export const PF_REASSEMBLED = 0x800; // reassembled from fragments here (decode): its sender allowed fragmentation
export const PF_NAT_RELAYED = 0x1000; // wan, behind NAT: a session packet the peer sent on the control binding (its session is found by id)

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
  /** the packet's number in its direction of its session, itself counted (session-lookup, when it finds the
   *  session); 0: not counted there. The session's count may already hold later packets of the frame. */
  readonly nth = new Uint32Array(MAX_BATCH);
  /** parsed headers, one reusable object per slot */
  readonly info: PacketInfo[] = [];
  /** parsed SVR metadata (valid when PF_HAS_META) */
  readonly meta: MetadataView[] = [];

  /** per slot: start of its room in the big area (headroom included), -1 for a slot of its own */
  private readonly bigAt = new Int32Array(MAX_BATCH).fill(-1);
  private readonly bigEnd = new Int32Array(MAX_BATCH);
  private bigUsed = 0;
  /** fill's copies: COPY_WORDS per packet; null: copied in JS */
  private readonly copyDesc = new Uint32Array(MAX_BATCH * COPY_WORDS);
  private readonly nativeCopy = process.env['SVR_NATIVE_FILL'] === '0' ? null : framesCopy;

  constructor() {
    this.data = new Uint8Array(MAX_BATCH * SLOT + BIG_AREA);
    for (let i = 0; i < MAX_BATCH; i++) {
      this.info.push(new PacketInfo());
      this.meta.push(new MetadataView());
    }
  }

  /** Copies packets from an rx vector into the slab, starting at slot `count`. Returns how many fit. */
  fill(ifIndex: number, src: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, from: number, n: number): number {
    let taken = 0, bytes = 0;
    const desc = this.copyDesc;
    for (let k = from; k < from + n && this.count < MAX_BATCH; k++) {
      const s = this.count;
      const l = lengths[k]!;
      const o = l <= SLOT_PACKET ? s * SLOT + HEADROOM : this.placeBig(s, l);
      if (o < 0) continue; // oversize: skipped (counted by the caller as the difference)
      if (l <= SLOT_PACKET) this.bigAt[s] = -1;
      const w = taken * COPY_WORDS;
      desc[w] = offsets[k]!;
      desc[w + 1] = o;
      desc[w + 2] = l;
      bytes += l;
      this.off[s] = o;
      this.len[s] = l;
      this.ifIndex[s] = ifIndex;
      this.session[s] = -1;
      this.flags[s] = 0;
      this.chain[s] = 0;
      this.path[s] = -1;
      this.nth[s] = 0;
      this.count++;
      taken++;
    }
    if (this.nativeCopy !== null && bytes >= FILL_NATIVE_BYTES) {
      this.nativeCopy(this.data, src, desc, taken);
    } else {
      for (let w = 0; w < taken * COPY_WORDS; w += COPY_WORDS) this.data.set(src.subarray(desc[w]!, desc[w]! + desc[w + 2]!), desc[w + 1]!);
    }
    return taken;
  }

  /** Start of the slot's bytes (headroom included): the lowest offset a packet may grow to. */
  slotStart(slot: number): number {
    const big = this.bigAt[slot]!;
    return big >= 0 ? big : slot * SLOT;
  }

  /** End of the slot's bytes: the highest offset a packet may grow to. */
  slotEnd(slot: number): number {
    return this.bigAt[slot]! >= 0 ? this.bigEnd[slot]! : (slot + 1) * SLOT;
  }

  /**
   * Gives slot `slot` room for a `len`-byte packet in the big area; returns the packet's offset, or -1 when
   * the area has no room left in this batch (or len is over 65,535).
   */
  placeBig(slot: number, len: number): number {
    const need = HEADROOM + len + BIG_TAILROOM;
    if (len > 65535 || this.bigUsed + need > BIG_AREA) return -1;
    const at = MAX_BATCH * SLOT + this.bigUsed;
    this.bigAt[slot] = at;
    this.bigEnd[slot] = at + need;
    this.bigUsed += need;
    return at + HEADROOM;
  }

  reset(): void {
    this.count = 0;
    if (this.bigUsed === 0) return;
    this.bigAt.fill(-1);
    this.bigUsed = 0;
  }
}

/** The slots a stage must handle in one run. */
export class Frame {
  n = 0;
  readonly slot = new Uint16Array(MAX_BATCH);
}
