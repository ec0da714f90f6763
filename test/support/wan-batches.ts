/**
 * What the svr-in golden tests share (test/unit/router/native-receive, wan-pass): a port that keeps what it is given,
 * the client's and server's TCP and UDP packets, WAN packets spoiled on purpose (a payload whose padding does not
 * check, re-signed; an inner TCP header cut off, re-signed; a tampered tag), their checksums right, and the state two copies of a router must end with alike.
 */
import * as assert from 'uvu/assert';
import { createHmac, randomBytes } from 'node:crypto';
import { parseAddress } from '../../src/packet/addr.js';
import type { Dataplane } from '../../src/dataplane/dataplane.js';
import type { PacketPort } from '../../src/dataplane/port.js';
import { collectChanges } from '../../src/dataplane/session-rows.js';
import { buildTcp, buildUdp } from '../../src/packet/build.js';
import { PacketInfo, parsePacket, TCP_ACK } from '../../src/packet/ip.js';
import { fillL4Checksum } from '../../src/packet/rewrite.js';

const C = parseAddress('198.18.1.10')!.bytes, S = parseAddress('198.18.3.20')!.bytes;

/** A port that keeps every packet it is given, in order. */
export class Collect implements PacketPort {
  readonly name = 'collect';
  private got: Uint8Array[] = [];
  start(): void {}
  close(): void {}
  transmit(data: Uint8Array, off: Uint32Array, len: Uint32Array, n: number): void {
    for (let i = 0; i < n; i++) this.got.push(data.slice(off[i]!, off[i]! + len[i]!));
  }
  take(): Uint8Array[] {
    const g = this.got;
    this.got = [];
    return g;
  }
  /** Puts packets sent before the ones kept (a steady pass's, before JS's). */
  before(list: Uint8Array[]): void {
    this.got = [...list, ...this.got];
  }
}

export const hex = (list: Uint8Array[]) => list.map((b) => Buffer.from(b).toString('hex'));

/** The client's (up) or server's TCP segment of the flow 198.18.1.10:40000 <-> 198.18.3.20:5001. */
export const tcp = (up: boolean, flags: number, seq: number, size = 0) => buildTcp({
  src: up ? C : S, dst: up ? S : C, srcPort: up ? 40000 : 5001, dstPort: up ? 5001 : 40000, seq, ack: 7, flags, payload: randomBytes(size),
});
/** The client's (up) or server's UDP datagram of the flow 198.18.1.10:`port` <-> 198.18.3.20:5002. */
export const udp = (up: boolean, size: number, port = 40001) => buildUdp({ src: up ? C : S, dst: up ? S : C, srcPort: up ? port : 5002, dstPort: up ? 5002 : port, payload: randomBytes(size) });

/** A copy of r1's AES-CBC segment (plaintext `plain` bytes) whose padding does not check, re-signed, its checksum right. */
export function badPadding(p: Uint8Array, plain: number, key: Uint8Array, tagLength: number): Uint8Array {
  const q = p.slice();
  const pi = new PacketInfo();
  assert.is(parsePacket(q, 0, q.length, pi), 0);
  const block = pi.end - tagLength - 10; // the replay block; the payload's key id byte before it
  const at = block - 1 - 16 - 1; // the byte over the last padding byte, in the block before: padding 0
  q[at] = q[at]! ^ (16 - (plain % 16));
  q.set(createHmac('sha256', key).update(q.subarray(pi.payload, block + 10)).digest().subarray(0, tagLength), block + 10);
  fillL4Checksum(q, pi);
  return q;
}

/** A copy of r1's TCP segment carried as UDP (a pure ACK) whose inner TCP header claims 24 bytes (cut off), re-signed,
 *  its checksum right. */
export function cutInnerHeader(p: Uint8Array, key: Uint8Array, tagLength: number): Uint8Array {
  const q = p.slice();
  const pi = new PacketInfo();
  assert.is(parsePacket(q, 0, q.length, pi), 0);
  const block = pi.end - tagLength - 10;
  assert.is(block - pi.payload, 20, 'a pure ACK after the UDP header');
  q[pi.payload + 12] = (6 << 4) | (q[pi.payload + 12]! & 0x0f);
  q.set(createHmac('sha256', key).update(q.subarray(pi.payload, block + 10)).digest().subarray(0, tagLength), block + 10);
  fillL4Checksum(q, pi);
  return q;
}

/** A copy with its last tag byte changed, its checksum right. */
export function badTag(p: Uint8Array): Uint8Array {
  const q = p.slice();
  const pi = new PacketInfo();
  assert.is(parsePacket(q, 0, q.length, pi), 0);
  q[pi.end - 1] = q[pi.end - 1]! ^ 1;
  fillL4Checksum(q, pi);
  return q;
}

/** What svr-in must leave the same whichever way a packet went: replay windows, session columns, paths' rx counts, the
 *  counters (but `without`). */
export function receiveState(dp: Dataplane, without: readonly string[] = []): unknown {
  const w = dp.ctx.crypto.keys.windows;
  const t = dp.sessions;
  const rows: number[] = [];
  for (let r = 0; r < t.capacity; r++) {
    if (t.isActive(r)) rows.push(r, t.pktsFwd[r]!, t.pktsRev[r]!, t.bytesFwd[r]!, t.bytesRev[r]!, t.lastSeen[r]!, t.expires[r]!, t.flags[r]!);
  }
  const counters: Record<string, number> = dp.counters.snapshot();
  for (const k of without) delete counters[k];
  return { windows: [[...w.bits], [...w.topHi], [...w.topLo], [...w.fresh]], rows, counters, pathRx: [...dp.ctx.pathRx] };
}

/** HA sync: the rows dp's table marked (in order) and their marks, then what a collection at `now` took. */
export function syncState(dp: Dataplane, now: number, full = false): number[] {
  const t = dp.sessions;
  const rows = [...t.syncDirty.subarray(0, t.syncDirtyTop)];
  const got = collectChanges(t, now, full);
  return [...rows, ...rows.map((r) => t.syncMarkedAt(r)), -1, got.rowCount, got.rows.length, got.left];
}

const SIZES = [1400, 1399, 1, 2, 15, 16, 17, 1024, 777];

/** Round `round`'s client batch: 64 TCP segments and UDP datagrams of sizes odd and even and across the CBC blocks,
 *  then an empty UDP datagram. */
export function upBatch(round: number): Uint8Array[] {
  const up = Array.from({ length: 64 }, (_, i) => (i % 9 === 4 ? udp(true, SIZES[(i + round) % SIZES.length]! % 1200) : tcp(true, TCP_ACK, 200 + i, SIZES[(i + round) % SIZES.length]!)));
  up.push(udp(true, 0));
  return up;
}

/** The server's batch: 32 ACKs and UDP datagrams. */
export const downBatch = (): Uint8Array[] => Array.from({ length: 32 }, (_, i) => (i % 8 === 3 ? udp(false, SIZES[i % SIZES.length]!) : tcp(false, TCP_ACK, 901 + i)));
