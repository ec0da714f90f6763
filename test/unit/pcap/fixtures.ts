/** Hand-built capture bytes for the reader tests (not a test file itself). Every field is written explicitly. */

/** Appends integers in a chosen byte order. */
export class ByteWriter {
  private readonly parts: number[] = [];
  constructor(private readonly littleEndian: boolean) {}

  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }

  u16(v: number): this {
    return this.littleEndian ? this.u8(v).u8(v >>> 8) : this.u8(v >>> 8).u8(v);
  }

  u32(v: number): this {
    return this.littleEndian ? this.u16(v & 0xffff).u16(v >>> 16) : this.u16(v >>> 16).u16(v & 0xffff);
  }

  /** Bytes in wire order (never swapped). */
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i]!);
    return this;
  }

  pad4(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }

  get length(): number {
    return this.parts.length;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface FixtureRecord {
  sec: number;
  frac: number;
  data: Uint8Array;
  origLen?: number;
}

/** Classic pcap: `nano` picks the a1b23c4d magic. */
export function pcapFile(le: boolean, nano: boolean, linkType: number, records: FixtureRecord[], snaplen = 65535): Uint8Array {
  const w = new ByteWriter(le);
  w.u32(nano ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(snaplen).u32(linkType);
  for (const r of records) {
    w.u32(r.sec).u32(r.frac).u32(r.data.length).u32(r.origLen ?? r.data.length).raw(r.data);
  }
  return w.bytes();
}

const MAC_A = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B = [0x02, 0, 0, 0, 0, 0x0b];

/** Ethernet II frame with optional VLAN tags (outer first): each tag is [TPID, VLAN id]. */
export function ethernet(ethertype: number, payload: Uint8Array, tags: Array<[number, number]> = []): Uint8Array {
  const w = new ByteWriter(false).raw(MAC_B).raw(MAC_A);
  for (const [tpid, vid] of tags) w.u16(tpid).u16(vid);
  return w.u16(ethertype).raw(payload).bytes();
}

/** Linux cooked v1 (SLL, 16 bytes): packet type, ARPHRD, address length, 8 address bytes, protocol. */
export function sll(protocol: number, payload: Uint8Array): Uint8Array {
  return new ByteWriter(false).u16(0).u16(1).u16(6).raw([...MAC_A, 0, 0]).u16(protocol).raw(payload).bytes();
}

/** Linux cooked v2 (SLL2, 20 bytes): protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 address bytes. */
export function sll2(protocol: number, payload: Uint8Array): Uint8Array {
  return new ByteWriter(false).u16(protocol).u16(0).u32(3).u16(1).u8(4).u8(6).raw([...MAC_A, 0, 0]).raw(payload).bytes();
}

// ---- pcapng ----

function block(le: boolean, type: number, body: Uint8Array): Uint8Array {
  const padded = new ByteWriter(le).raw(body).pad4().bytes();
  const total = 12 + padded.length;
  return new ByteWriter(le).u32(type).u32(total).raw(padded).u32(total).bytes();
}

export function shb(le: boolean): Uint8Array {
  // byte-order magic, version 1.0, section length -1 (unknown), no options
  return block(le, 0x0a0d0d0a, new ByteWriter(le).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).bytes());
}

/** Interface Description Block; `tsresol` adds the if_tsresol option (e.g. 9 = nanoseconds). */
export function idb(le: boolean, linkType: number, tsresol?: number, snaplen = 0): Uint8Array {
  const w = new ByteWriter(le).u16(linkType).u16(0).u32(snaplen);
  if (tsresol !== undefined) w.u16(9).u16(1).u8(tsresol).pad4().u16(0).u16(0);
  return block(le, 1, w.bytes());
}

/** Enhanced Packet Block: timestamp in the interface's units as one 64-bit count. */
export function epb(le: boolean, ifId: number, ts: bigint, data: Uint8Array, origLen = data.length): Uint8Array {
  const w = new ByteWriter(le).u32(ifId).u32(Number(ts >> 32n)).u32(Number(ts & 0xffffffffn)).u32(data.length).u32(origLen).raw(data).pad4();
  return block(le, 6, w.bytes());
}

export function spb(le: boolean, data: Uint8Array): Uint8Array {
  return block(le, 3, new ByteWriter(le).u32(data.length).raw(data).pad4().bytes());
}

/** Interface Statistics Block (skipped by readers that do not need it). */
export function isb(le: boolean, ifId: number): Uint8Array {
  return block(le, 5, new ByteWriter(le).u32(ifId).u32(0).u32(0).bytes());
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
