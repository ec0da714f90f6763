/**
 * The TUN part of svrouter's N-API addon (native/tun.c, tun-write.c): its flags, counters and functions,
 * loaded through native/addon.ts.
 */
import { join } from 'node:path';
import { SvrError } from '../../errors.js';
import { NATIVE_ADDON_RELATIVE_PATH, findPackageRoot, tryLoadAddon } from '../../native/addon.js';

/** Flags of `tunOpen` (same values as SVR_TUN_* in native/tun.c). */
export const TUN_OPEN_MULTI_QUEUE = 1;
export const TUN_OPEN_VNET_HDR = 2;
/** Flag of `tunReaderStart` (SVR_READER_OFFLOAD in native/tun.c): segment GSO reads, complete partial checksums. */
export const TUN_READER_OFFLOAD = 1;
/** Flag of `tunReaderStart` (SVR_READER_POLL): start in poll mode (the JS thread reads; see tunReaderMode). */
export const TUN_READER_POLL = 2;

/** Flag of `tunWriterStart` (SVR_WRITER_COALESCE in native/tun-write.c): merge TCP runs into GSO super-packets. */
export const TUN_WRITER_COALESCE = 1;
/**
 * Flag of `tunWriterStart` (SVR_WRITER_COALESCE_UDP), also the `what` of tunWriteBatchOffload and
 * offloadCoalesceForTest: merge runs of equal-length UDP datagrams of one 5-tuple into UDP_L4 super-packets (USO).
 */
export const TUN_WRITER_COALESCE_UDP = 2;
/** Flag of `tunWriterStart` (SVR_WRITER_RAW): single IPv4 packets through a raw IP socket (native/wan-raw.c). */
export const TUN_WRITER_RAW = 4;

/** Indices of the writer's counters (a BigUint64Array of WRITER_COUNTERS on a SharedArrayBuffer; W_* in tun-write.c). */
export const W_TX_PACKETS = 0;
export const W_DROPS = 1;
export const W_SUPER = 2;
export const W_COALESCED = 3;
export const W_ERRORS = 4;
export const W_LAST_ERRNO = 5;
export const W_WRITES = 6;
export const W_WAITS = 7;
export const W_RING_DROPS = 8;
export const W_WAKEUPS = 9;
export const W_FULL_WAITS = 10;
/** Direct writes: tunWriterPush wrote a small call itself because the ring was empty (JS thread). */
export const W_DIRECT_TX = 11;
export const W_DIRECT_DROPS = 12;
export const W_DIRECT_WRITES = 13;
export const W_DIRECT_ERRORS = 14;
export const W_DIRECT_LAST_ERRNO = 15;
export const W_DIRECT_SUPER = 16;
export const W_DIRECT_COALESCED = 17;
/** Packets sent through the raw socket (TUN_WRITER_RAW): the writer thread's, and direct writes'. */
export const W_RAW_TX = 18;
export const W_DIRECT_RAW_TX = 19;
/** Of those, frames sent from the packet socket's TX ring (native/link-send.c): the writer thread's, and direct writes'. */
export const W_RING_TX = 20;
export const W_DIRECT_RING_TX = 21;
export const WRITER_COUNTERS = 22;

declare const writerHandleBrand: unique symbol;
/** Opaque handle of a native writer thread. */
export interface TunWriterHandle {
  readonly [writerHandleBrand]: true;
}

declare const readerHandleBrand: unique symbol;
/** Opaque handle of a native reader thread. */
export interface TunReaderHandle {
  readonly [readerHandleBrand]: true;
}

/**
 * Called once per batch with (buffer index, packet count, truncated total, stalls total), or once with
 * (-1, errno, truncated, stalls, strerror) when the reader thread stopped on a read error. `truncated`
 * counts packets longer than the slot (dropped); `stalls` counts waits for JS to free a buffer.
 * A reader started with TUN_READER_OFFLOAD also passes running totals of GSO super-packets read, segments
 * made from them and malformed offload packets dropped (arguments 6..8; `message` is then undefined for
 * a batch).
 */
export type TunReaderCallback = (
  k: number,
  countOrErrno: number,
  truncated: number,
  stalls: number,
  message?: string,
  superPackets?: number,
  segments?: number,
  offloadErrors?: number,
  rxRing?: number,
) => void;

/** An error thrown by the addon for a failed system call. */
export interface NativeErrnoError extends Error {
  errno: number;
  syscall: string;
  /** tunWriteBatch only: packets written before the failing one, and its index. */
  written?: number;
  index?: number;
}

export function isNativeErrnoError(e: unknown): e is NativeErrnoError {
  return e instanceof Error && typeof (e as Partial<NativeErrnoError>).errno === 'number';
}

/** Busy polling of one thread (tunBusyPollStats): running totals since the addon loaded in that thread. */
export interface BusyPollStats {
  /** The window in µs (0: off). */
  windowUs: number;
  /** Times a batch started busy polling. */
  runs: number;
  /** Packets read while busy polling (each one a wake-up saved). */
  packets: number;
  /** Time spent polling without a packet, µs. */
  idleUs: number;
  /** Times busy polling stopped at its 1 ms limit to let timers and messages run. */
  capped: number;
}

/** The TUN part of the addon (see native/tun.c and native/tun-write.c for the contract of each function). */
export interface SvrNativeTun {
  tunOpen(name: string, flags: number): { fd: number; name: string };
  tunSetOffload(fd: number, flags: number): void;
  tunReaderStart(
    fd: number,
    data: Uint8Array,
    lens: Uint32Array,
    buffers: number,
    batch: number,
    snap: number,
    cb: TunReaderCallback,
    flags?: number,
  ): TunReaderHandle;
  tunReaderStop(handle: TunReaderHandle): void;
  tunReaderRef(handle: TunReaderHandle, ref: boolean): void;
  /**
   * poll true: the reader thread parks and this thread reads from a uv_poll watcher on its event loop (one
   * wake-up per batch instead of two); false: the thread reads. thread -> poll takes effect once the thread has
   * delivered what it read.
   */
  tunReaderMode(handle: TunReaderHandle, poll: boolean): void;
  /** The reader thread's gather window from its next pass (native/tun-gather.h): `us` (at most 1000), or when
   *  negative SVR_TUN_READ_GATHER_US's again. */
  tunReaderGather(handle: TunReaderHandle, us: number): void;
  /** An offload reader also takes the SVR packets of these Ethernet devices for `waypoint` (a.b.c.d as a << 24 | ... | d, as an int32)
   *  from a packet ring (native/wan-rx-ring.c), in either mode; throws an errno error (EPERM without CAP_NET_RAW). */
  tunReaderRxRing(handle: TunReaderHandle, ifindexes: Uint32Array, waypoint: number): void;
  /** The longest packet the ring takes (SVR_RX_RING_MAX_LEN of native/wan-rx-ring.h); longer ones stay the kernel's. */
  readonly TUN_RX_RING_MAX_LEN: number;
  /**
   * Poll mode's steady pass (native/tun-pass.c): native/fwd.c's table runs on each batch read in poll mode, its packets
   * go to `writers` (by interface index) and the counters at `idx`, the callback gets only the rest. null: off.
   */
  tunReaderPass(handle: TunReaderHandle, table: unknown, ifIndex?: number, writers?: (TunWriterHandle | null)[], counters?: Float64Array,
    idx?: Uint32Array, tally?: Float64Array, clockOffsetMs?: number, slotMs?: number): void;
  /** Tests only (test/unit/router/wan-pass, io/tun-pass-verdict): the steady pass on a caller's batch (slots of `snap`
   *  bytes) at clock `now`, its egress packets copied to `out` (outLens / outIf; their count in tally[3]); returns the
   *  packets left, moved to slots 0.. as JS would get them. `l4ok`: per packet, 1 when the reader thread verified its L4
   *  checksum (the verdicts a thread-mode reader hands over with a batch; absent: none, the pass checks). */
  tunPassProbe(table: unknown, ifIndex: number, counters: Float64Array, idx: Uint32Array, tally: Float64Array, now: number, data: Uint8Array,
    lens: Uint32Array, count: number, snap: number, out: Uint8Array, outLens: Uint32Array, outIf: Uint32Array, l4ok?: Uint8Array): number;
  tunWriteBatch(fd: number, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  /**
   * vnet_hdr queues: coalesces TCP runs (and with `what` & TUN_WRITER_COALESCE_UDP, UDP runs; default
   * TUN_WRITER_COALESCE) into GSO super-packets (native/offload.c), writes the rest behind an empty vnet header.
   * Returns input packets written; `stats` gets [super-packets written, packets merged].
   */
  tunWriteBatchOffload(fd: number, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, stats: Uint32Array, what?: number): number;
  /**
   * Starts a writer thread for fd with a ring of `slots` packets (a power of two) and `bytes` bytes. Its
   * counters (W_*) are stored atomically into `counters` (read them with Atomics.load). When the ring is full,
   * tunWriterPush waits up to `waitUs` µs per call for space (default 0: drops at once). A call of at most
   * `directMax` packets (default 0) that finds the ring empty is written by tunWriterPush itself (W_DIRECT_*).
   */
  /** `rawGate`: a word on a SharedArrayBuffer; while it is non-zero, no raw sends (TUN_WRITER_RAW) */
  tunWriterStart(fd: number, counters: BigUint64Array, slots: number, bytes: number, flags: number, waitUs?: number, directMax?: number, rawGate?: Int32Array): TunWriterHandle;
  /**
   * Copies the packets into the ring and wakes the thread (or writes a small call directly, see directMax);
   * returns how many it took (the rest: ring full, counted).
   */
  /** `directMax`: this call's threshold for a direct write instead of the writer's (tunWriterStart, tunWriterDirect). */
  tunWriterPush(handle: TunWriterHandle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, directMax?: number): number;
  /** Changes tunWriterStart's directMax. */
  tunWriterDirect(handle: TunWriterHandle, directMax: number): void;
  /** Writes what is queued, then joins the thread. Idempotent. */
  tunWriterStop(handle: TunWriterHandle): void;
  /**
   * After a poll-mode batch, this thread keeps polling its poll-mode queues until none has had a packet for
   * `us` µs (0: off; native/tun.c busy_poll). Applies to every queue this thread reads.
   */
  tunBusyPoll(us: number): void;
  /** This thread's busy-poll window and running totals. */
  tunBusyPollStats(): BusyPollStats;
  tunStrerror(errno: number): string;
  /** false when fd was not open through tunOpen (for example a second close). */
  tunClose(fd: number): boolean;
  readonly TUN_MULTI_QUEUE: number;
  readonly TUN_VNET_HDR: number;
  readonly TUN_READER_OFFLOAD: number;
  readonly TUN_READER_POLL: number;
}

/** Test-only entry points of native/offload.c and native/tun-gather.h (no system calls). */
export interface SvrNativeOffloadTest {
  /**
   * Segments one TUN read (vnet header + packet) into `out` slots of `snap` bytes, `perBatch` slots per
   * emit call; returns the segment count, -1 for a malformed packet, -2 when a segment exceeds `snap`.
   */
  offloadSegmentForTest(input: Uint8Array, snap: number, out: Uint8Array, outLens: Uint32Array, perBatch: number): number;
  /**
   * Plans the writes of a batch like tunWriteBatchOffload (`what`: TUN_WRITER_COALESCE and/or
   * TUN_WRITER_COALESCE_UDP, default the former); write w's bytes (vnet header included) are stored back to back
   * in `out`, outInfo[2w] = its length, outInfo[2w+1] = the packets it covers. Returns the writes.
   */
  offloadCoalesceForTest(
    data: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    out: Uint8Array,
    outInfo: Uint32Array,
    what?: number,
  ): number;
  /**
   * native/tun-gather.h's rule: the ns a reader thread with these windows (µs), batch size, packet spacing (EWMA,
   * ns) and last pass (packets) sleeps `sinceNs` after that pass ended before its next one; 0: not at all.
   */
  tunGatherGapForTest(windowUs: number, bulkUs: number, batch: number, pktNs: number, lastN: number, sinceNs: number): number;
}

export type SvrNative = SvrNativeTun & SvrNativeOffloadTest;

/** Loads (once per root) `<root>/build/Release/svr_native.node` with its TUN functions. Throws SvrError SVR_ERR_NATIVE_MISSING. */
export function loadNative(root?: string): SvrNative {
  const mod = tryLoadAddon(root);
  if (mod instanceof SvrError) throw mod;
  if (typeof mod['tunOpen'] !== 'function') {
    throw new SvrError(
      'SVR_ERR_NATIVE_MISSING',
      `the native addon ${join(root ?? findPackageRoot(), NATIVE_ADDON_RELATIVE_PATH)} has no TUN support (built for another OS?): rebuild it with npm run build:native`,
    );
  }
  return mod as unknown as SvrNative;
}
