/**
 * The native steady path of svr-in (native/fwd-in.c; docs/performance.md "A native steady path for svr-in", issue 19
 * item 5, second slice). On with the addon; SVR_NATIVE_IN=0 turns it off (read per data path). Every decision stays in
 * TypeScript:
 * 1. svr-in marks a flow (its WAN 5-tuple and interface) when a packet of it was delivered steady (native-mark-in.ts),
 *    with what that packet used: rx key and replay window, payload key, LAN rewrite, egress, session flags, timeout.
 *    A mark lasts LEASE_MS (native-forward.ts), and no longer than its rx key is accepted.
 * 2. Dataplane.receive runs each batch of a WAN interface through receive() first: marked packets come back finished
 *    for their LAN egress (or dropped: a payload that does not decrypt, counted by the caller); the rest go to the
 *    stages unchanged, in their order. native/fwd-in.c moves the replay windows in the pool's own arrays (and its
 *    worker marks) and accounts the session's columns itself: one thread, so a change in JS lands between batches.
 * 3. Marks follow control: prepare() drops them all when svr-out's marks were cleared since (NativeForward's
 *    generation: the dataplane's clearing hooks), or when the path keys changed (installed, retired, a newer key used),
 *    or a flow key was set or deleted. What it compares are words (WATCH) it copies into `seen` (niWatch), so a
 *    poll-mode WAN queue's steady pass (native/tun-pass.c, steady-pass.ts) can tell by itself whether the marks still
 *    hold: when one word moved, or the columns or windows were replaced, the whole batch goes to JS, which prepares.
 *    A router pair's active node marks rows for HA sync per packet: native/fwd-in.c does it in the table's sync arrays
 *    (SVR_NATIVE_SYNC=0, A/B: no marks while the table syncs).
 */
import type { BatchCipher, BatchHmac } from '../crypto/native-crypto.js';
import { loadTableAddon, NativeTable, type FlowKey, type Handle } from './native-table.js';
import type { ReplayWindows } from './replay-window.js';

const DESC = 24;
const SLOTS = 1024;

interface Addon {
  niCreate(capacity: number): Handle;
  niClear(h: Handle): void;
  niMark(h: Handle, desc: Uint32Array, until: number): void;
  niColumns(h: Handle, pktsFwd: Uint32Array, bytesFwd: Float64Array, pktsRev: Uint32Array, bytesRev: Float64Array, lastSeen: Uint32Array,
    expires: Uint32Array, flags: Uint16Array, syncRows: Float64Array, syncDirty: Int32Array, syncTop: Int32Array, pathRx: Float64Array): void;
  niWindows(h: Handle, bits: Uint32Array, topHi: Uint32Array, topLo: Uint32Array, fresh: Uint8Array, marks: Uint32Array): void;
  niWatch(h: Handle, seen: Uint32Array, ...words: Uint32Array[]): void;
  niKey(h: Handle, slot: number, hmac: unknown): void;
  niCipher(h: Handle, slot: number, cipher: unknown): void;
  niReceive(h: Handle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, ifIndex: number, now: number, res: Uint32Array, slot: number): number;
  NI_BATCH: number;
}

const native = loadTableAddon<Addon>('niReceive');

/** What a mark says about a flow (svr-in fills it). */
export interface ReceiveMark extends FlowKey {
  row: number; flags: number; forward: boolean; path: number; timeoutMs: number;
  /** the replay block's key id and sender, the window they name, the path's tag length; time-based: tags cover the slot */
  keyId: number; sender: number; window: number; tagLength: number; timed: boolean;
  /** the session frames payloads (SF_PAYLOAD); the AES-CBC key id the peer seals with (0: plain marker only) */
  framed: boolean; payloadKeyId: number;
  /** the LAN 5-tuple (big-endian address words, source port << 16 | destination port) and its interface */
  lanSrc: number; lanDst: number; lanPorts: number; outIf: number;
  /** TCP carried as UDP (the UDP transform): native/fwd-in.c takes the UDP header out before the TCP header */
  transform: boolean;
}

/** What prepare() reads of the session table: the columns and HA sync arrays native/fwd-in.c accounts and marks in,
 *  and (follow) the words counting the flow keys set or deleted, and its hook for when it replaces the columns. */
export interface ReceiveTable {
  pktsFwd: Uint32Array; bytesFwd: Float64Array; pktsRev: Uint32Array; bytesRev: Float64Array; lastSeen: Uint32Array; expires: Uint32Array; flags: Uint16Array;
  syncRows: Float64Array; syncDirty: Int32Array; readonly syncTop: Int32Array;
  readonly syncing: boolean;
  readonly v4: { readonly changeWord: Uint32Array };
  readonly v6: { readonly changeWord: Uint32Array };
  onColumns: (() => void) | null;
}

/** The words the marks follow (each [0]): svr-out's clearing generation, the path keys' changes, the flow keys' changes
 *  (v4, v6): a move drops every mark; the replay pool's and the session columns' replacements: handed over again. */
const WATCH = 6;
const CLEARING = 4;
const NO_MARKS = new Uint32Array(0);

export class NativeReceive extends NativeTable {
  private readonly desc = new Uint32Array(DESC);
  /** the words the marks follow (WATCH; follow()), and their values when prepare() last ran (native/tun-pass.c
   *  compares them before a WAN batch: svr_ni_current) */
  private watched: Uint32Array[] = [];
  private readonly seen = new Uint32Array(WATCH);
  /** [0]: bumped when the session table replaced its columns or HA sync arrays */
  private readonly columnsReplaced = new Uint32Array(1);
  /** handle slots: which HMAC / cipher each holds (reset by clear) */
  private readonly hmacs = new Map<BatchHmac, number>();
  private readonly ciphers = new Map<BatchCipher, number>();
  /** the arrays native/fwd-in.c holds now (prepare) */
  private readonly passed: unknown[] = [];

  constructor() {
    const on = native !== null && process.env['SVR_NATIVE_IN'] !== '0'; // read per data path
    super(on ? { create: native!.niCreate, clear: native!.niClear, batch: native!.NI_BATCH } : null, 3); // res: native, rest, dropped
  }

  protected override forget(): void {
    this.hmacs.clear();
    this.ciphers.clear();
  }

  /** Once, before the first prepare(): the words the marks follow (WATCH), handed to native/fwd-in.c with `seen`. */
  follow(fwd: NativeTable, keys: { readonly changeWord: Uint32Array; readonly windows: ReplayWindows }, t: ReceiveTable): void {
    if (!this.on) return;
    this.watched = [fwd.generationWord, keys.changeWord, t.v4.changeWord, t.v6.changeWord, keys.windows.replaced, this.columnsReplaced];
    this.seen.fill(0xffffffff); // nothing prepared yet
    const before = t.onColumns;
    t.onColumns = () => {
      before?.();
      this.columnsReplaced[0]++;
    };
    native!.niWatch(this.h!, this.seen, ...this.watched);
  }

  /**
   * Before each native call and each mark: drops the marks made under another state (svr-out's marks cleared, path
   * keys changed, a flow key set or deleted: a session came, went or moved), hands native/fwd-in.c the session columns,
   * HA sync arrays and replay window arrays when they were replaced. True when some flow may be marked.
   */
  prepare(t: ReceiveTable, pathRx: Float64Array, w: ReplayWindows): boolean {
    const off = t.syncing && !this.syncAware; // SVR_NATIVE_SYNC=0
    const x = this.watched, s = this.seen;
    let moved = off;
    for (let k = 0; k < CLEARING; k++) moved ||= x[k]![0] !== s[k];
    if (moved) this.clear();
    for (let k = 0; k < WATCH; k++) s[k] = x[k]![0]!;
    if (off) return false;
    const p = this.passed;
    if (p[0] !== t.pktsFwd || p[1] !== t.bytesFwd || p[2] !== t.pktsRev || p[3] !== t.bytesRev || p[4] !== t.lastSeen || p[5] !== t.expires || p[6] !== t.flags ||
      p[7] !== t.syncRows || p[8] !== t.syncDirty || p[9] !== t.syncTop || p[10] !== pathRx) {
      native!.niColumns(this.h!, t.pktsFwd, t.bytesFwd, t.pktsRev, t.bytesRev, t.lastSeen, t.expires, t.flags, t.syncRows, t.syncDirty, t.syncTop, pathRx);
      p.splice(0, 11, t.pktsFwd, t.bytesFwd, t.pktsRev, t.bytesRev, t.lastSeen, t.expires, t.flags, t.syncRows, t.syncDirty, t.syncTop, pathRx);
    }
    const m = w.marks?.words ?? NO_MARKS;
    if (p[11] !== w.bits || p[12] !== w.topHi || p[13] !== w.topLo || p[14] !== w.fresh || p[15] !== m) {
      native!.niWindows(this.h!, w.bits, w.topHi, w.topLo, w.fresh, m);
      p.splice(11, 5, w.bits, w.topHi, w.topLo, w.fresh, m);
    }
    return this.marks > 0;
  }

  /** Marks a flow until `until` (prepare() called since the last batch), its tags checked with `hmac`, its payloads
   *  opened with `cipher` (AES-CBC) when m.payloadKeyId is not 0. False when a handle is missing (not marked). */
  mark(m: ReceiveMark, hmac: BatchHmac, cipher: BatchCipher | null, until: number): boolean {
    const n = native!;
    const key = this.slot(this.hmacs, hmac, hmac.nativeHandle, (s, x) => n.niKey(this.h!, s, x));
    const cs = cipher === null ? 0 : this.slot(this.ciphers, cipher, cipher.nativeHandle, (s, x) => n.niCipher(this.h!, s, x));
    if (key < 0 || cs < 0) return false;
    const d = this.desc;
    d[0] = m.ifIndex; d[1] = m.protocol; d[2] = m.src; d[3] = m.dst; d[4] = m.ports;
    d[5] = m.row; d[6] = m.flags; d[7] = m.forward ? 1 : 0; d[8] = m.path; d[9] = m.timeoutMs;
    d[10] = key; d[11] = m.keyId; d[12] = m.sender; d[13] = m.window; d[14] = m.tagLength; d[15] = m.timed ? 1 : 0;
    d[16] = m.framed ? 1 : 0; d[17] = cs; d[18] = cipher === null ? 0 : m.payloadKeyId;
    d[19] = m.lanSrc; d[20] = m.lanDst; d[21] = m.lanPorts; d[22] = m.outIf; d[23] = m.transform ? 1 : 0;
    n.niMark(this.h!, d, until);
    this.marks++;
    return true;
  }

  /** The slot of a crypto object's native handle (given to native/fwd-in.c on first use), -1 when there is none. */
  private slot<T>(slots: Map<T, number>, x: T, handle: unknown, give: (slot: number, handle: unknown) => void): number {
    let s = slots.get(x);
    if (s !== undefined) return s;
    if (handle === null || slots.size >= SLOTS) return -1;
    s = slots.size;
    give(s, handle);
    slots.set(x, s);
    return s;
  }

  /**
   * Finishes the marked packets of a batch from WAN interface `ifIndex` (at most `batch`) in place: returns how many
   * (natOff/natLen/natIf); `dropped` did not decrypt; the others are in restOff/restLen (`rest`), in their order.
   * `slot`: the time slot of time-based tags (timeSlot of the batch's wall clock).
   */
  receive(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, ifIndex: number, now: number, slot: number): number {
    return native!.niReceive(this.h!, data, offsets, lengths, count, ifIndex, now, this.res, slot);
  }

  get rest(): number {
    return this.res[1]!;
  }

  get dropped(): number {
    return this.res[2]!;
  }
}
