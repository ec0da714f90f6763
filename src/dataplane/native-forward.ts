/**
 * The native steady path of svr-out (native/fwd.c; docs/performance.md "A native steady path", issue 19 item 5,
 * first slice). On with the addon; SVR_NATIVE_FORWARD=0 turns it off (read per data path). Every decision stays in
 * TypeScript:
 * 1. svr-out marks a flow (its packet's 5-tuple and input interface) when a packet of it went out steady — IPv4
 *    TCP/UDP (TCP under the UDP transform too), no metadata owed, no false-positive header, regular or time-based HMAC, no NAT relay, duplicate path,
 *    service chain, FEC, fragment or ICMP too big; payload none, plain or AES-CBC — with what the
 *    packet used: path, tx key, payload key, waypoint rewrite, timeout. A mark lasts LEASE_MS (then one packet goes
 *    through JS and marks again: key switches, steering and the metadata-only refresh are decided there).
 * 2. Dataplane.receive runs each batch through forward() first: marked packets come back finished for
 *    their egress; the rest go to the stages as before. native/fwd.c updates the session's columns (with its HA sync
 *    mark, as checkSync does) and the tx key's counter words itself (same thread, so no generation numbers are needed: a change in JS lands between batches).
 * 3. clear() drops every mark; the dataplane calls it on each control change (keys, paths, tables, chains, a
 *    session removed): marks are cheap to make again, and a stale one must never be used.
 */
import type { BatchCipher, BatchHmac } from '../crypto/native-crypto.js';
import { loadTableAddon, NativeTable, type FlowKey, type Handle } from './native-table.js';

/** How long a mark lasts (ms): at most this late a key switch (the peer keeps old keys for seconds) or a steering decision. */
export const LEASE_MS = 250;
const DESC = 20;
/** native/fwd.c's payload framings */
export const SEAL_NONE = 0, SEAL_PLAIN = 1, SEAL_CBC = 2;

interface Addon {
  nfCreate(capacity: number): Handle;
  nfClear(h: Handle): void;
  nfMark(h: Handle, desc: Uint32Array, until: number): void;
  nfPaths(h: Handle, pathUp: Uint8Array): void;
  nfColumns(h: Handle, pktsFwd: Uint32Array, bytesFwd: Float64Array, pktsRev: Uint32Array, bytesRev: Float64Array, lastSeen: Uint32Array, expires: Uint32Array, flags: Uint16Array,
    syncRows: Float64Array, syncDirty: Int32Array, syncTop: Int32Array): void;
  nfKey(h: Handle, slot: number, hmac: unknown, tagLength: number, keyId: number, sender: number, counter: Uint32Array): void;
  nfCipher(h: Handle, slot: number, cipher: unknown): void;
  nfForward(h: Handle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, room: number, ifIndex: number, now: number, res: Uint32Array, slot: number): number;
  NF_BATCH: number;
}

const native = loadTableAddon<Addon>('nfForward');

/** The session table's columns native/fwd.c accounts in, its HA sync arrays (rows marked changed), and its hook for
 *  when it replaces them. */
interface SessionColumns {
  pktsFwd: Uint32Array; bytesFwd: Float64Array; pktsRev: Uint32Array; bytesRev: Float64Array; lastSeen: Uint32Array; expires: Uint32Array; flags: Uint16Array;
  syncRows: Float64Array; syncDirty: Int32Array; readonly syncTop: Int32Array;
  onColumns: (() => void) | null;
}

/** What a mark says about a flow (svr-out fills it). */
export interface NativeMark extends FlowKey {
  row: number; forward: boolean; wpSrc: number; wpDst: number; localPort: number; peerPort: number;
  outIf: number; mtu: number; path: number; seal: number; service: number; keyIdByte: number; timeoutMs: number;
  /** the path's HMAC is time-based: the tag covers the batch's time slot */
  timed: boolean;
  /** the session's flags when marked: a packet whose session's flags differ goes to JS (a re-signal, a close) */
  flags: number;
  /** TCP carried as UDP (the UDP transform): native/fwd.c inserts the UDP header before the TCP header */
  transform: boolean;
}

export class NativeForward extends NativeTable {
  private readonly desc = new Uint32Array(DESC);
  /** what each key / cipher slot holds now (path index / service index) */
  private readonly hmacs = new Map<number, { hmac: BatchHmac; counter: Uint32Array }>();
  private readonly ciphers = new Map<number, BatchCipher>();
  /** packets forwarded natively (counter 'native-forwarded') */
  forwarded = 0;

  constructor() {
    const on = native !== null && process.env['SVR_NATIVE_FORWARD'] !== '0'; // read per data path
    super(on ? { create: native!.nfCreate, clear: native!.nfClear, batch: native!.NF_BATCH } : null, 2); // res: native, rest
  }

  /** clear(): drops every mark (a control change; svr-in's native marks follow its generation: native-receive.ts). */
  protected override forget(): void {
    this.hmacs.clear();
    this.ciphers.clear();
  }

  /** Accounts native packets (and marks their rows for HA sync) in `t`'s columns: passed now and again each time the
   *  table replaces them (it grew, or started syncing). */
  follow(t: SessionColumns): void {
    if (!this.on) return;
    const push = (): void => native!.nfColumns(this.h!, t.pktsFwd, t.bytesFwd, t.pktsRev, t.bytesRev, t.lastSeen, t.expires, t.flags, t.syncRows, t.syncDirty, t.syncTop);
    t.onColumns = push;
    push();
  }

  /** The data path's pathUp (read per packet: a worker's is written by control without a call, docs/architecture.md). */
  paths(pathUp: Uint8Array): void {
    if (this.on) native!.nfPaths(this.h!, pathUp);
  }

  /**
   * Marks a flow until now + LEASE_MS, signed with `hmac` (tx key `keyId` of `sender`, counter words `counter`),
   * sealed with `cipher` when m.seal is SEAL_CBC. False when a key has no native handle (not marked).
   */
  mark(m: NativeMark, hmac: BatchHmac, keyId: number, sender: number, counter: Uint32Array, cipher: BatchCipher | null, now: number): boolean {
    const n = native!;
    const h = this.h!;
    const have = this.hmacs.get(m.path);
    if (have === undefined || have.hmac !== hmac || have.counter !== counter) {
      const handle = hmac.nativeHandle;
      if (handle === null || m.path >= 1024) return false;
      n.nfKey(h, m.path, handle, hmac.tagLength, keyId, sender, counter);
      this.hmacs.set(m.path, { hmac, counter });
    }
    if (m.seal === SEAL_CBC && this.ciphers.get(m.service) !== cipher) {
      const handle = cipher?.nativeHandle ?? null;
      if (handle === null || m.service >= 1024) return false;
      n.nfCipher(h, m.service, handle);
      this.ciphers.set(m.service, cipher!);
    }
    const d = this.desc;
    d[0] = m.ifIndex; d[1] = m.protocol; d[2] = m.src; d[3] = m.dst; d[4] = m.ports;
    d[5] = m.row; d[6] = m.forward ? 1 : 0; d[7] = m.wpSrc; d[8] = m.wpDst;
    d[9] = ((m.localPort << 16) | m.peerPort) >>> 0;
    d[10] = m.outIf; d[11] = m.mtu; d[12] = m.path; d[13] = m.seal; d[14] = m.service; d[15] = m.keyIdByte;
    d[16] = m.timeoutMs;
    d[17] = m.timed ? 1 : 0;
    d[18] = m.flags;
    d[19] = m.transform ? 1 : 0;
    n.nfMark(h, d, now + LEASE_MS);
    this.marks++;
    return true;
  }

  /**
   * Forwards the marked packets of a batch from `ifIndex` (at most `batch`): returns how many (natOff/natLen/natIf);
   * the others are in restOff/restLen (res[1] of them), in their order. `room`: bytes each packet may use from its offset;
   * `slot`: the time slot of time-based tags (timeSlot of the batch's wall clock).
   */
  forward(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, room: number, ifIndex: number, now: number, slot: number): number {
    const n = native!.nfForward(this.h!, data, offsets, lengths, count, room, ifIndex, now, this.res, slot);
    this.forwarded += n;
    return n;
  }

  /** Whether any flow may be marked now (receive skips the call otherwise). */
  get active(): boolean {
    return this.marks > 0;
  }
}
