/**
 * One TUN queue: packets reach JS in batches, read by a native reader thread or, at low load, by the JS thread.
 *
 *   const tun = TunDevice.open({ name: 'svr0' });        // link up/addresses/routes: see link.ts
 *   tun.start((data, offsets, lengths, count) => { ... copy what you keep ... });
 *   tun.writeBatch(out, outOffsets, outLengths, n);
 *   tun.close();
 *
 * Buffer ownership: the reader owns `buffers` batch buffers of `batchSize` slots of `snapLength` bytes.
 * The handler gets one of them; it is handed back to the reader thread when the handler returns, so
 * the handler must copy whatever it keeps. While every buffer is with JS the thread waits and packets
 * queue in the kernel (which drops and counts them in the link's tx_dropped once its queue is full).
 * With `offload: true` the queue is opened with IFF_VNET_HDR and TUNSETOFFLOAD, the reader thread cuts TSO/USO
 * super-packets into MSS-sized segments and completes partial checksums (native/offload.c), and writeBatch
 * merges runs of TCP segments (with `coalesceUdp`, also of UDP datagrams) into GSO super-packets: the handler
 * still sees plain IP packets <= MTU with valid checksums, and writeBatch still takes them. See docs/tun-io.md.
 *
 * Writes go through a native writer thread by default (`writer: 'thread'`): writeBatch copies the packets into a
 * preallocated ring and returns; the thread does the write()/writev() calls (and the offload coalescing) and
 * counts what it wrote or dropped in `stats`. `writer: 'sync'` keeps the old path: the syscalls run inside
 * writeBatch on the JS thread.
 *
 * Reads run where the `reader` option says: 'adaptive' (default) polls the fd from the JS thread's event loop
 * (one wake-up per batch: the latency of a router pass at low load) and moves reads to the reader thread when
 * batches fill up (JS falling behind), back after a calm half second (reader-mode.ts). While the reader polls,
 * a small writeBatch that finds the ring empty is written at once (writeDirectMax): no writer-thread wake-up.
 */
import { constants as osConstants } from 'node:os';
import { SvrError } from '../../errors.js';
import { parseAddress } from '../../packet/addr.js';
import {
  isNativeErrnoError,
  loadNative,
  TUN_OPEN_MULTI_QUEUE,
  TUN_OPEN_VNET_HDR,
  TUN_READER_OFFLOAD,
  TUN_READER_POLL,
  TUN_WRITER_COALESCE,
  TUN_WRITER_COALESCE_UDP,
  TUN_WRITER_RAW,
  W_COALESCED,
  W_DIRECT_COALESCED,
  W_DIRECT_DROPS,
  W_DIRECT_ERRORS,
  W_DIRECT_LAST_ERRNO,
  W_DIRECT_SUPER,
  W_DIRECT_TX,
  W_DIRECT_RAW_TX,
  W_RAW_TX,
  W_DIRECT_RING_TX,
  W_DIRECT_WRITES,
  W_DROPS,
  W_ERRORS,
  W_FULL_WAITS,
  W_LAST_ERRNO,
  W_RING_DROPS,
  W_RING_TX,
  W_SUPER,
  W_TX_PACKETS,
  W_WAITS,
  W_WAKEUPS,
  W_WRITES,
  WRITER_COUNTERS,
  type NativeErrnoError,
  type SvrNative,
  type TunReaderCallback,
  type TunReaderHandle,
  type TunWriterHandle,
} from './native.js';
import { AdaptiveReaderMode, READER_MODE_TICK_MS, type ReaderMode } from './reader-mode.js';

export interface TunOptions {
  /** Interface name, at most 15 bytes; '' or a pattern such as 'svr%d' lets the kernel choose. */
  name: string;
  /** IFF_MULTI_QUEUE: every open() of the same name adds one queue (all opens must set it). */
  multiQueue?: boolean;
  /** IFF_VNET_HDR: each packet starts with a 10-byte virtio_net_hdr; see setOffload(). Ignored with `offload`. */
  vnetHdr?: boolean;
  /**
   * TSO/GSO at the edge, invisible to the caller: IFF_VNET_HDR + TUNSETOFFLOAD (CSUM, TSO4/6, TSO_ECN, and
   * USO4/6 when the kernel has them); reads are segmented to plain IP packets with full checksums, and
   * writeBatch coalesces TCP runs into super-packets. Packets in and out carry no vnet header.
   */
  offload?: boolean;
  /**
   * With offload: writeBatch also merges runs of equal-length UDP datagrams of one 5-tuple into UDP_L4 GSO
   * super-packets (USO; the kernel cuts them back into the same datagrams where the next device cannot carry
   * them whole). For WAN interfaces, whose SVR packets of one TCP stream are such runs. Default false.
   */
  coalesceUdp?: boolean;
  /**
   * writer 'thread': single IPv4 packets (not merged into a super-packet) go out through a raw IP socket, up to 64
   * per sendmmsg, instead of a TUN write that the kernel routes in and forwards: the same bytes on the wire (the
   * TTL lowered as forwarding would), past the input route, source check and forward. For WAN interfaces. Without
   * CAP_NET_RAW, for an IP id of 0, a TTL of 1 or a send error (no route, too big): the TUN write, as without it.
   * Routing then is the host's output route (policy rules on `iif <this device>` no longer apply). Default false.
   */
  rawSend?: boolean;
  /**
   * With rawSend: a word on a SharedArrayBuffer (any thread may hold it) that turns raw sends off while it is
   * non-zero, e.g. while the device's ingress is shaped (src/node/egress-shaper.ts), which raw sends would pass by.
   */
  rawSendGate?: Int32Array;
  /** Packets per batch, 1..1024 (default 64; 256 with offload: a 64 KB super-packet becomes ~45 segments). */
  batchSize?: number;
  /** Batch buffers, 1..64 (default 4). */
  buffers?: number;
  /**
   * Bytes per packet slot (default 2048, or 65552 with vnetHdr, which needs at least 65545). With offload a
   * slot holds one segment or packet (<= MTU): default 2048, raise it for an MTU above 2048.
   */
  snapLength?: number;
  /**
   * 'thread' (default): writeBatch copies the packets into a native ring and a writer thread per queue does the
   * write() syscalls; write errors then show in stats.txErrors / lastWriteError instead of being thrown, and a
   * full ring drops (stats.txQueueDrops, included in txDrops). 'sync': the syscalls run inside writeBatch.
   */
  writer?: TunWriterMode;
  /** writer 'thread': packets the ring holds (rounded up to a power of two, 16..1048576; default 2048). */
  writeQueuePackets?: number;
  /** writer 'thread': bytes the ring holds (65536..2^30, default 4 MiB); a packet may use at most half of it. */
  writeQueueBytes?: number;
  /**
   * writer 'thread': when the ring is full, how long (µs, per writeBatch call) the JS thread may wait for the
   * writer thread to make room before it drops the rest. 0 (default): drop at once. See docs/tun-io.md.
   */
  writeQueueWaitUs?: number;
  /**
   * Where reads run: 'adaptive' (default) polls from the JS thread's event loop while batches stay small and
   * hands reads to the reader thread when they fill up (reader-mode.ts); 'poll' or 'thread' fix it.
   */
  reader?: TunReaderChoice;
  /**
   * writer 'thread': a writeBatch of at most this many packets that finds the ring empty is written right away
   * on the JS thread, saving the writer thread's wake-up (default 8; 0: never). Applies while this device's
   * reader polls, or when it has no reader.
   */
  writeDirectMax?: number;
}

export type TunWriterMode = 'sync' | 'thread';
export type TunReaderChoice = ReaderMode | 'adaptive';

/**
 * Gets `count` packets: packet i is `data.subarray(offsets[i], offsets[i] + lengths[i])`. The arrays
 * are reused for later batches as soon as the handler returns: copy what you keep, do not modify them.
 */
export type TunBatchHandler = (data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number) => void;

/** Called once if the reader thread stops on a read error (code SVR_ERR_IO_PORT). */
export type TunErrorHandler = (err: SvrError) => void;

export interface TunStats {
  rxPackets: number;
  rxBatches: number;
  /** Packets longer than snapLength: dropped by the reader and counted here. */
  rxTruncated: number;
  /** Times the reader thread waited because JS held every buffer (back-pressure; the kernel queues meanwhile). */
  rxStalls: number;
  /** Packets written (writer 'thread': counted by the writer thread when the write succeeded). */
  txPackets: number;
  /**
   * Packets not written. 'sync': the kernel said EAGAIN/ENOBUFS. 'thread': ENOBUFS, a full ring (txQueueDrops),
   * a failed write (txErrors), or discarded at close() while the fd said EAGAIN.
   */
  txDrops: number;
  /** writer 'thread': packets dropped because the ring was full (included in txDrops). */
  txQueueDrops: number;
  /** writer 'thread': writes that failed (EIO, EINVAL, EBADFD...): their packets are in txDrops; see lastWriteError. */
  txErrors: number;
  /** writer 'thread': write()/writev() calls made, times the thread waited for POLLOUT (EAGAIN), wake-ups sent. */
  txWrites: number;
  txWaits: number;
  txWakeups: number;
  /** writer 'thread' with writeQueueWaitUs: times writeBatch waited for ring space. */
  txFullWaits: number;
  /** offload: GSO super-packets read (each delivered as rxSegments segments, which rxPackets includes). */
  rxSuperPackets: number;
  rxSegments: number;
  /** offload: packets read with a malformed vnet header or GSO headers, dropped. */
  rxOffloadErrors: number;
  /** offload: packets taken from the WAN receive's packet ring (takeFromRing), included in rxPackets. */
  rxRing: number;
  /** writer 'thread': packets written directly by writeBatch (writeDirectMax), included in txPackets. */
  txDirect: number;
  /** rawSend: packets sent through the raw socket (writer thread and direct), included in txPackets. */
  txRaw: number;
  /** rawSend: of txRaw, the Ethernet frames sent from the packet socket's TX ring (docs/tun-io.md "Frames to a next hop on the link"). */
  txRing: number;
  /** Times the reader moved between poll and thread mode (reader 'adaptive'). */
  rxModeSwitches: number;
  /** offload: super-packets written, and the packets (counted in txPackets) merged into them. */
  txSuperPackets: number;
  txCoalesced: number;
}

/** TUNSETOFFLOAD flags (linux/if_tun.h). */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;
export const TUN_F_UFO = 0x10;
export const TUN_F_USO4 = 0x20;
export const TUN_F_USO6 = 0x40;
/** What `offload: true` asks for; USO4/6 (Linux >= 6.2) are dropped when the kernel refuses them. */
export const TUN_OFFLOAD_FLAGS = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6;

/** Bytes of the virtio_net_hdr in front of every packet when vnetHdr is set. */
export const VNET_HDR_LEN = 10;
export const TUN_NAME_MAX_BYTES = 15;
export const DEFAULT_BATCH_SIZE = 64;
export const DEFAULT_BUFFERS = 4;
export const DEFAULT_SNAP_LENGTH = 2048;
/** 65535 + VNET_HDR_LEN, rounded up to 16. */
export const DEFAULT_VNET_SNAP_LENGTH = 65552;
export const DEFAULT_OFFLOAD_BATCH_SIZE = 256;
export const DEFAULT_WRITE_QUEUE_PACKETS = 2048;
export const DEFAULT_WRITE_QUEUE_BYTES = 4 << 20;
export const DEFAULT_WRITE_QUEUE_WAIT_US = 0;
export const DEFAULT_WRITE_DIRECT_MAX = 8;
/**
 * writeBatch(.., control): the most control packets written on the calling thread when the writer's ring is empty,
 * whatever the reader mode. A hub's ticks and its answers to a received batch (2,000 paths: ~1,600 calls a second)
 * then wake no writer thread: each wake-up cost the hub's main and writer threads more than the write
 * (docs/performance.md, hub). SVR_TUN_CONTROL_DIRECT=0: 0, control packets take the ring like the others (A/B).
 */
const CONTROL_DIRECT_MAX = process.env['SVR_TUN_CONTROL_DIRECT'] === '0' ? 0 : 256;

/** The longest packet takeFromRing's ring takes (the addon's; native/wan-rx-ring.h): the ingress drop rule's bound. */
export function rxRingMaxLen(): number {
  return loadNative().TUN_RX_RING_MAX_LEN;
}

const E = osConstants.errno;
/** Linux EBADFD ("File descriptor in bad state"): a TUN queue whose device is gone. Not in os.constants. */
const EBADFD = 77;

function writeHint(errno: number, name: string): string {
  if (errno === E.EIO) return ` (is the link down? ip link set dev ${name} up)`;
  if (errno === E.EINVAL) return ' (not an IPv4/IPv6 packet, or a bad virtio_net_hdr)';
  if (errno === EBADFD) return ' (the device was deleted)';
  return '';
}

function rethrow(e: unknown): never {
  throw e;
}

function optInt(v: number | undefined, dflt: number, min: number, max: number, what: string, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new SvrError('SVR_ERR_IO_TUN_OPEN', `cannot open TUN device "${name}": ${what} must be an integer in ${min}..${max}, got ${v}`);
  }
  return v;
}

function openError(name: string, e: NativeErrnoError): SvrError {
  const details = { name, errno: e.errno, syscall: e.syscall };
  if (e.syscall === 'open' && (e.errno === E.ENOENT || e.errno === E.ENODEV || e.errno === E.ENXIO)) {
    return new SvrError(
      'SVR_ERR_IO_TUN_MISSING',
      `cannot open TUN device "${name}": /dev/net/tun: ${e.message}: load the tun module (modprobe tun) or, in a container, pass /dev/net/tun in`,
      details,
    );
  }
  if (e.errno === E.EPERM || e.errno === E.EACCES) {
    return new SvrError(
      'SVR_ERR_IO_TUN_PERM',
      `cannot open TUN device "${name}": ${e.syscall === 'open' ? 'open /dev/net/tun' : e.syscall}: ${e.message}: run as root or grant cap_net_admin`,
      details,
    );
  }
  let hint = '';
  if (e.errno === E.EBUSY) hint = ' (the name is taken by another device, or by a TUN queue opened without multiQueue)';
  else if (e.errno === E.EINVAL) hint = ' (invalid name, or the device exists with other flags: multiQueue/vnetHdr must match)';
  return new SvrError('SVR_ERR_IO_TUN_OPEN', `cannot open TUN device "${name}": ${e.syscall}: ${e.message}${hint}`, details);
}

/** TUNSETOFFLOAD with TUN_OFFLOAD_FLAGS, without USO4/6 when the kernel refuses them (EINVAL before 6.2). */
function enableOffload(native: SvrNative, fd: number): number {
  try {
    native.tunSetOffload(fd, TUN_OFFLOAD_FLAGS);
    return TUN_OFFLOAD_FLAGS;
  } catch (e) {
    if (!isNativeErrnoError(e) || e.errno !== E.EINVAL) throw e;
  }
  const noUso = TUN_OFFLOAD_FLAGS & ~(TUN_F_USO4 | TUN_F_USO6);
  native.tunSetOffload(fd, noUso);
  return noUso;
}

export class TunDevice {
  /** The interface name (the kernel's choice when a pattern or '' was asked for). */
  readonly name: string;
  /** The queue's file descriptor (non-blocking); owned by this object. */
  readonly fd: number;
  readonly multiQueue: boolean;
  readonly vnetHdr: boolean;
  readonly offload: boolean;
  /** offload: UDP runs are merged into UDP_L4 super-packets too (TunOptions.coalesceUdp). */
  readonly coalesceUdp: boolean;
  /** single IPv4 packets through a raw IP socket (TunOptions.rawSend). */
  readonly rawSend: boolean;
  readonly #rawSendGate: Int32Array | undefined;
  /** The TUN_F_* flags TUNSETOFFLOAD accepted when opened with `offload` (0 otherwise). */
  readonly offloadFlags: number;
  readonly batchSize: number;
  readonly buffers: number;
  readonly snapLength: number;
  /** Where writeBatch's syscalls run: 'thread' (a native writer thread, default) or 'sync' (inside writeBatch). */
  readonly writer: TunWriterMode;
  readonly writeQueuePackets: number;
  readonly writeQueueBytes: number;
  readonly writeQueueWaitUs: number;
  readonly writeDirectMax: number;
  /** 'adaptive', 'poll' or 'thread' as opened; readerMode is where reads run now. */
  readonly reader: TunReaderChoice;
  readonly #stats: TunStats = {
    rxPackets: 0,
    rxBatches: 0,
    rxTruncated: 0,
    rxStalls: 0,
    txPackets: 0,
    txDrops: 0,
    txQueueDrops: 0,
    txErrors: 0,
    txWrites: 0,
    txWaits: 0,
    txWakeups: 0,
    txFullWaits: 0,
    txDirect: 0,
    txRaw: 0,
    txRing: 0,
    rxModeSwitches: 0,
    rxSuperPackets: 0,
    rxSegments: 0,
    rxOffloadErrors: 0,
    rxRing: 0,
    txSuperPackets: 0,
    txCoalesced: 0,
  };

  readonly #native: SvrNative;
  #reader: TunReaderHandle | undefined;
  #writerHandle: TunWriterHandle | undefined;
  /** writer 'thread': the W_* counters, stored by the native side with atomics */
  #wc: BigUint64Array | undefined;
  #lastWriteError: SvrError | undefined;
  #lastWriteErrorAt = 0;
  #lastDirectErrors = 0;
  #closed = false;
  #refed = true;
  #readerMode: ReaderMode;
  #modeTimer: NodeJS.Timeout | undefined;
  /** setReadGather: µs, or -1 for the thread's default */
  #readGatherUs = -1;
  /** reader 'adaptive', quiet in poll mode: the tick's timer is stopped and the next batch arms it again */
  #modeWake: (() => void) | undefined;
  readonly #txStats = new Uint32Array(2);
  /** poll mode's steady pass (native/tun-pass.c): packets and batches it finished without JS, and [2] = 1: call JS
   *  with the next batch (#modeWake); #passSeen: what stats took of them */
  readonly #pass = new Float64Array(3);
  readonly #passSeen = new Float64Array(2);

  private constructor(native: SvrNative, fd: number, name: string, o: Required<Omit<TunOptions, 'name' | 'rawSendGate'>> & Pick<TunOptions, 'rawSendGate'>, offloadFlags: number) {
    this.writer = o.writer;
    this.writeQueuePackets = o.writeQueuePackets;
    this.writeQueueBytes = o.writeQueueBytes;
    this.writeQueueWaitUs = o.writeQueueWaitUs;
    this.writeDirectMax = o.writeDirectMax;
    this.reader = o.reader;
    this.#readerMode = o.reader === 'thread' ? 'thread' : 'poll';
    this.#native = native;
    this.fd = fd;
    this.name = name;
    this.multiQueue = o.multiQueue;
    this.vnetHdr = o.vnetHdr;
    this.offload = o.offload;
    this.coalesceUdp = o.coalesceUdp;
    this.rawSend = o.rawSend;
    this.#rawSendGate = o.rawSendGate;
    this.offloadFlags = offloadFlags;
    this.batchSize = o.batchSize;
    this.buffers = o.buffers;
    this.snapLength = o.snapLength;
  }

  /** Opens one queue of TUN device `opts.name`. Throws SvrError (SVR_ERR_IO_TUN_*, SVR_ERR_NATIVE_MISSING). */
  static open(opts: TunOptions): TunDevice {
    const name = opts.name;
    if (typeof name !== 'string') throw new SvrError('SVR_ERR_IO_TUN_OPEN', 'cannot open TUN device: name must be a string');
    if (Buffer.byteLength(name) > TUN_NAME_MAX_BYTES) {
      throw new SvrError(
        'SVR_ERR_IO_TUN_OPEN',
        `cannot open TUN device "${name}": the name is longer than ${TUN_NAME_MAX_BYTES} bytes (IFNAMSIZ)`,
        { name },
      );
    }
    const offload = opts.offload === true;
    const coalesceUdp = opts.coalesceUdp === true;
    if (coalesceUdp && !offload) {
      throw new SvrError('SVR_ERR_IO_TUN_OPEN', `cannot open TUN device "${name}": coalesceUdp needs offload: true (UDP super-packets need the vnet header)`, { name });
    }
    const vnetHdr = offload || opts.vnetHdr === true;
    // with offload, slots hold segments: the super-packets only ever sit in the reader's scratch buffer
    const rawVnet = vnetHdr && !offload;
    const minSnap = rawVnet ? 65535 + VNET_HDR_LEN : 64;
    const writer = opts.writer ?? 'thread';
    if (writer !== 'thread' && writer !== 'sync') {
      throw new SvrError('SVR_ERR_IO_TUN_OPEN', `cannot open TUN device "${name}": writer must be 'thread' or 'sync', got ${String(writer)}`);
    }
    const reader = opts.reader ?? 'adaptive';
    if (reader !== 'adaptive' && reader !== 'poll' && reader !== 'thread') {
      throw new SvrError('SVR_ERR_IO_TUN_OPEN', `cannot open TUN device "${name}": reader must be 'adaptive', 'poll' or 'thread', got ${String(reader)}`);
    }
    const queuePackets = optInt(opts.writeQueuePackets, DEFAULT_WRITE_QUEUE_PACKETS, 1, 1 << 20, 'writeQueuePackets', name);
    const o = {
      writer,
      writeQueuePackets: Math.max(16, 2 ** Math.ceil(Math.log2(queuePackets))),
      writeQueueBytes: optInt(opts.writeQueueBytes, DEFAULT_WRITE_QUEUE_BYTES, 65536, 2 ** 30, 'writeQueueBytes', name),
      writeQueueWaitUs: optInt(opts.writeQueueWaitUs, DEFAULT_WRITE_QUEUE_WAIT_US, 0, 1_000_000, 'writeQueueWaitUs', name),
      writeDirectMax: optInt(opts.writeDirectMax, DEFAULT_WRITE_DIRECT_MAX, 0, 1024, 'writeDirectMax', name),
      reader,
      multiQueue: opts.multiQueue === true,
      vnetHdr,
      offload,
      coalesceUdp,
      rawSend: opts.rawSend === true,
      rawSendGate: opts.rawSendGate,
      batchSize: optInt(opts.batchSize, offload ? DEFAULT_OFFLOAD_BATCH_SIZE : DEFAULT_BATCH_SIZE, 1, 1024, 'batchSize', name),
      buffers: optInt(opts.buffers, DEFAULT_BUFFERS, 1, 64, 'buffers', name),
      snapLength: optInt(opts.snapLength, rawVnet ? DEFAULT_VNET_SNAP_LENGTH : DEFAULT_SNAP_LENGTH, minSnap, 1 << 20, 'snapLength', name),
    };
    const native = loadNative();
    const flags = (o.multiQueue ? TUN_OPEN_MULTI_QUEUE : 0) | (o.vnetHdr ? TUN_OPEN_VNET_HDR : 0);
    let r: { fd: number; name: string };
    try {
      r = native.tunOpen(name, flags);
    } catch (e) {
      if (isNativeErrnoError(e)) throw openError(name, e);
      throw e;
    }
    let offloadFlags = 0;
    if (offload) {
      try {
        offloadFlags = enableOffload(native, r.fd);
      } catch (e) {
        native.tunClose(r.fd);
        if (!isNativeErrnoError(e)) throw e;
        throw new SvrError('SVR_ERR_IO_TUN_OPEN', `cannot open TUN device "${r.name}": TUNSETOFFLOAD: ${e.message}`, {
          name: r.name,
          errno: e.errno,
          syscall: 'TUNSETOFFLOAD',
        });
      }
    }
    return new TunDevice(native, r.fd, r.name, o, offloadFlags);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The counters. With writer 'thread' the tx counters are read (atomically) from the writer thread's counters
   * on every access, so they count what was actually written or dropped so far.
   */
  get stats(): TunStats {
    const c = this.#wc;
    const s = this.#stats;
    const p = this.#pass, seen = this.#passSeen;
    s.rxPackets += p[0]! - seen[0]!;
    s.rxBatches += p[1]! - seen[1]!;
    seen.set(p.subarray(0, 2));
    if (c !== undefined) {
      const at = (i: number): number => Number(Atomics.load(c, i));
      s.txDirect = at(W_DIRECT_TX);
      s.txRaw = at(W_RAW_TX) + at(W_DIRECT_RAW_TX);
      s.txRing = at(W_RING_TX) + at(W_DIRECT_RING_TX);
      s.txPackets = at(W_TX_PACKETS) + s.txDirect;
      s.txQueueDrops = at(W_RING_DROPS);
      s.txDrops = at(W_DROPS) + at(W_DIRECT_DROPS) + s.txQueueDrops;
      s.txSuperPackets = at(W_SUPER) + at(W_DIRECT_SUPER);
      s.txCoalesced = at(W_COALESCED) + at(W_DIRECT_COALESCED);
      s.txErrors = at(W_ERRORS) + at(W_DIRECT_ERRORS);
      s.txWrites = at(W_WRITES) + at(W_DIRECT_WRITES);
      s.txWaits = Number(Atomics.load(c, W_WAITS));
      s.txWakeups = Number(Atomics.load(c, W_WAKEUPS));
      s.txFullWaits = Number(Atomics.load(c, W_FULL_WAITS));
    }
    return s;
  }

  /**
   * writer 'thread': the last write error the writer thread met (code SVR_ERR_IO_PORT, details.errno), or
   * undefined. Such errors cannot be thrown by writeBatch, which returned before the write; their packets are
   * counted in stats.txErrors/txDrops and the thread goes on with the next packet.
   */
  get lastWriteError(): SvrError | undefined {
    const c = this.#wc;
    if (c === undefined) return undefined;
    const direct = Number(Atomics.load(c, W_DIRECT_ERRORS));
    const n = Number(Atomics.load(c, W_ERRORS)) + direct;
    if (n !== this.#lastWriteErrorAt) {
      // whichever side failed since the last look (both: the writer thread's)
      const errno = Number(Atomics.load(c, direct !== this.#lastDirectErrors && n - this.#lastWriteErrorAt === direct - this.#lastDirectErrors ? W_DIRECT_LAST_ERRNO : W_LAST_ERRNO));
      this.#lastWriteErrorAt = n;
      this.#lastDirectErrors = direct;
      this.#lastWriteError = new SvrError(
        'SVR_ERR_IO_PORT',
        `writing to TUN device ${this.name} failed: ${this.#native.tunStrerror(errno)}${writeHint(errno, this.name)} (${n} failed writes so far)`,
        { name: this.name, errno, errors: n },
      );
    }
    return this.#lastWriteError;
  }

  /** TUNSETOFFLOAD with TUN_F_* flags; only for a device opened with vnetHdr. */
  setOffload(flags: number): void {
    this.#assertOpen('setOffload');
    if (!this.vnetHdr) {
      throw new SvrError('SVR_ERR_IO_TUN_OPEN', `TUN device ${this.name}: setOffload needs a device opened with vnetHdr`);
    }
    try {
      this.#native.tunSetOffload(this.fd, flags);
    } catch (e) {
      if (!isNativeErrnoError(e)) throw e;
      throw new SvrError('SVR_ERR_IO_TUN_OPEN', `TUN device ${this.name}: TUNSETOFFLOAD 0x${flags.toString(16)}: ${e.message}`, {
        name: this.name,
        errno: e.errno,
      });
    }
  }

  /**
   * Starts the native reader thread: `onBatch` runs on the JS thread once per batch. A read error stops
   * the reader and goes to `onError`, or becomes an uncaught exception when there is none; so does an
   * exception thrown by `onBatch` (the reader goes on).
   */
  start(onBatch: TunBatchHandler, onError?: TunErrorHandler): void {
    this.#assertOpen('start');
    if (this.#reader) throw new SvrError('SVR_ERR_IO_PORT', `TUN device ${this.name}: start() was already called`);
    const { buffers: K, batchSize: B, snapLength: S } = this;
    const slab = B * S;
    // SharedArrayBuffers cannot be detached (transferred away) while the native thread writes into them.
    const data = new Uint8Array(new SharedArrayBuffer(K * slab));
    const lens = new Uint32Array(new SharedArrayBuffer(K * B * 4));
    const views: Uint8Array[] = [];
    const lensViews: Uint32Array[] = [];
    for (let k = 0; k < K; k++) {
      views.push(data.subarray(k * slab, (k + 1) * slab));
      lensViews.push(lens.subarray(k * B, (k + 1) * B));
    }
    const offsets = new Uint32Array(B);
    for (let i = 0; i < B; i++) offsets[i] = i * S;
    const stats = this.#stats;
    const name = this.name;

    // Arrow function over `this`: the native threadsafe function holds this callback, so a started device
    // (and its reader handle) stays reachable until close(), even when the caller drops it.
    const onNative: TunReaderCallback = (k, n, truncated, stalls, message, superPackets, segments, offloadErrors, rxRing) => {
      if (this.#closed) return;
      stats.rxTruncated = truncated;
      stats.rxStalls = stalls;
      if (superPackets !== undefined) {
        stats.rxSuperPackets = superPackets;
        stats.rxSegments = segments ?? 0;
        stats.rxOffloadErrors = offloadErrors ?? 0;
        stats.rxRing = rxRing ?? 0;
      }
      if (k >= 0) {
        if (this.#modeWake !== undefined) this.#modeWake();
        if (n === 0) return; // the steady pass took the whole batch (a call for #modeWake)
        stats.rxPackets += n;
        stats.rxBatches++;
        try {
          onBatch(views[k]!, offsets, lensViews[k]!, n);
        } catch (e) {
          // Node-API would only print a warning for an exception thrown into it; make it a real one.
          process.nextTick(rethrow, e);
        }
        return;
      }
      const hint = n === EBADFD ? ' (the device was deleted)' : '';
      const err = new SvrError('SVR_ERR_IO_PORT', `reading TUN device ${name} failed: ${message ?? `errno ${n}`}${hint}; its reader stopped`, {
        name,
        errno: n,
      });
      process.nextTick(onError ?? rethrow, err);
    };
    const flags = (this.offload ? TUN_READER_OFFLOAD : 0) | (this.#readerMode === 'poll' ? TUN_READER_POLL : 0);
    this.#reader = this.#native.tunReaderStart(this.fd, data, lens, K, B, S, onNative, flags);
    if (this.#readGatherUs >= 0) this.#native.tunReaderGather(this.#reader, this.#readGatherUs);
    if (!this.#refed) this.#native.tunReaderRef(this.#reader, false);
    if (this.reader === 'adaptive') this.#adaptReaderMode();
    this.#applyWriteDirect();
  }

  /** Where reads run now: 'poll' (the JS thread's event loop) or 'thread' (see the `reader` option). */
  get readerMode(): ReaderMode {
    return this.#readerMode;
  }

  /**
   * Moves reads to `mode` now and keeps them there (ends 'adaptive'). thread -> poll takes effect once the
   * thread's batches in flight were delivered, so packets stay in order.
   */
  setReaderMode(mode: ReaderMode): void {
    this.#assertOpen('setReaderMode');
    clearInterval(this.#modeTimer);
    this.#modeTimer = undefined;
    this.#modeWake = undefined;
    this.#switchReader(mode);
  }

  /**
   * The WAN receive from a packet ring (docs/tun-io.md "The WAN receive from a packet ring"): from now on the reader
   * also takes the IPv4 packets for `waypoint` arriving on the devices `ifindexes` (1-4 Ethernet devices) from an
   * AF_PACKET ring, TTL - 1 as the forwarding would give them; the caller then drops them at the devices' ingress
   * (src/node/wan-packet-rx.ts). An offload queue, started, once. Returns why not (no CAP_NET_RAW, ...), or undefined.
   */
  takeFromRing(ifindexes: readonly number[], waypoint: string): string | undefined {
    this.#assertOpen('takeFromRing');
    const wp = parseAddress(waypoint);
    if (wp === undefined || wp.family !== 4) return 'the ring takes IPv4 waypoints only';
    if (this.#reader === undefined || !this.offload) return 'not an offload queue that reads';
    try {
      this.#native.tunReaderRxRing(this.#reader, Uint32Array.from(ifindexes), new DataView(wp.bytes.buffer).getInt32(0));
      return undefined;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  /**
   * How long the reader thread lets a busy queue gather before its next read (interrupt moderation,
   * native/tun-gather.h), in µs, at most 1000; undefined: SVR_TUN_READ_GATHER_US's (300 by default). A queue the
   * JS thread polls reads as packets come either way.
   */
  setReadGather(us: number | undefined): void {
    this.#assertOpen('setReadGather');
    this.#readGatherUs = us === undefined ? -1 : Math.max(0, Math.min(1000, Math.round(us)));
    if (this.#reader !== undefined) this.#native.tunReaderGather(this.#reader, this.#readGatherUs);
  }

  #switchReader(mode: ReaderMode): void {
    if (mode === this.#readerMode) return;
    this.#readerMode = mode;
    this.#stats.rxModeSwitches++;
    if (this.#reader !== undefined) this.#native.tunReaderMode(this.#reader, mode === 'poll');
    this.#applyWriteDirect();
  }

  /**
   * reader 'adaptive': every tick, AdaptiveReaderMode looks at the batches delivered (reader-mode.ts). A tick
   * without a batch in poll mode changes nothing until a batch comes, so the timer stops there and the next batch
   * arms it again (one compare per batch): an idle queue (an idle node, a pair's standby with its devices down) costs
   * no wake-up every tick (a standby's two queues: 20 of the 110-125 its main thread had a second).
   */
  #adaptReaderMode(): void {
    const policy = new AdaptiveReaderMode();
    let packets = 0;
    let batches = 0;
    const arm = (): void => {
      this.#modeWake = undefined;
      this.#pass[2] = 0;
      const stats = this.stats; // the getter: with what the steady pass took
      packets = stats.rxPackets;
      batches = stats.rxBatches;
      this.#modeTimer = setInterval(() => {
        const stats = this.stats;
        const mode = policy.tick(stats.rxPackets - packets, stats.rxBatches - batches);
        packets = stats.rxPackets;
        batches = stats.rxBatches;
        if (this.#closed) return;
        this.#switchReader(mode);
        if (policy.idle) {
          clearInterval(this.#modeTimer);
          this.#modeTimer = undefined;
          this.#modeWake = arm;
          this.#pass[2] = 1; // the steady pass calls JS with the next batch, which arms the timer again
        }
      }, READER_MODE_TICK_MS).unref();
    };
    arm();
  }

  /**
   * Poll mode's steady pass (native/tun-pass.c, docs/tun-io.md): `table` (native/fwd.c's) runs on each batch this
   * thread reads, its packets go to `writers` (passWriter() of each egress, by interface index) and count at
   * `idx` in `counters`; the handler gets only what is left, and is not called when nothing is. null: off. False: not
   * started (or closed), nothing armed.
   */
  steadyPass(table: unknown, ifIndex = 0, writers: (TunWriterHandle | null)[] = [], counters: Float64Array = new Float64Array(0), idx: Uint32Array = new Uint32Array(0),
    clockOffsetMs = 0, slotMs = 0): boolean {
    if (this.#reader === undefined || this.#closed) return false;
    if (table === null) this.#native.tunReaderPass(this.#reader, null);
    else this.#native.tunReaderPass(this.#reader, table, ifIndex, writers, counters, idx, this.#pass, clockOffsetMs, slotMs);
    return true;
  }

  /** Packets the steady pass finished without JS (included in stats.rxPackets). */
  get steadyPackets(): number {
    return this.#pass[0]!;
  }

  /** The writer thread's handle for a steady pass (started now if need be); undefined: writer 'sync' or closed. */
  passWriter(): TunWriterHandle | undefined {
    if (this.writer !== 'thread' || this.#closed) return undefined;
    return this.#writerHandle ?? this.#startWriter();
  }

  /** Direct writes while the reader polls (low load) or when there is no reader. */
  #directMax(): number {
    return this.#reader === undefined || this.#readerMode === 'poll' ? this.writeDirectMax : 0;
  }

  #applyWriteDirect(): void {
    if (this.#writerHandle !== undefined) this.#native.tunWriterDirect(this.#writerHandle, this.#directMax());
  }

  /** A running reader keeps the event loop alive (like a socket); unref() lets the process exit anyway. */
  unref(): this {
    this.#refed = false;
    if (this.#reader && !this.#closed) this.#native.tunReaderRef(this.#reader, false);
    return this;
  }

  ref(): this {
    this.#refed = true;
    if (this.#reader && !this.#closed) this.#native.tunReaderRef(this.#reader, true);
    return this;
  }

  /**
   * Writes packet i = data[offsets[i], offsets[i] + lengths[i]) for i < count, in one call into C; the caller
   * may reuse its buffers as soon as this returns.
   *
   * writer 'thread' (default): copies the packets into the writer thread's ring and returns how many it queued;
   * the rest (ring full) are dropped and counted in stats.txQueueDrops and txDrops. The thread writes them in
   * order; stats.txPackets/txDrops/txSuperPackets/txCoalesced count what it wrote or dropped, write errors go to
   * stats.txErrors and lastWriteError. Only bad arguments (RangeError, TypeError) and use after close() throw.
   *
   * writer 'sync': returns how many were written; the others were dropped by the kernel (EAGAIN/ENOBUFS) and
   * counted in stats.txDrops. Any other error throws SvrError SVR_ERR_IO_PORT (details.written says how many
   * went out before it).
   *
   * With `offload`, runs of TCP segments of one flow (and with `coalesceUdp`, runs of UDP datagrams of one
   * 5-tuple) go out as one GSO super-packet (stats.txSuperPackets, stats.txCoalesced); counts are still in
   * packets given.
   *
   * `control` (writer 'thread'): the router's own control packets (BFD, link tests and their answers): written
   * here, up to 32 writes per io_uring_enter, when the ring is empty, in either reader mode (CONTROL_DIRECT_MAX).
   */
  writeBatch(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, control = false): number {
    this.#assertOpen('writeBatch');
    if (this.writer === 'thread') {
      const h = this.#writerHandle ?? this.#startWriter();
      return control ? this.#native.tunWriterPush(h, data, offsets, lengths, count, CONTROL_DIRECT_MAX) : this.#native.tunWriterPush(h, data, offsets, lengths, count);
    }
    let written: number;
    try {
      if (this.offload) {
        written = this.#native.tunWriteBatchOffload(this.fd, data, offsets, lengths, count, this.#txStats, this.#coalesceFlags());
        this.#stats.txSuperPackets += this.#txStats[0]!;
        this.#stats.txCoalesced += this.#txStats[1]!;
      } else {
        written = this.#native.tunWriteBatch(this.fd, data, offsets, lengths, count);
      }
    } catch (e) {
      if (!isNativeErrnoError(e)) throw e;
      const done = e.written ?? 0;
      this.#stats.txPackets += done;
      if (this.offload) {
        // the addon counted what went out before the failing write
        this.#stats.txSuperPackets += this.#txStats[0]!;
        this.#stats.txCoalesced += this.#txStats[1]!;
      }
      throw new SvrError(
        'SVR_ERR_IO_PORT',
        `writing to TUN device ${this.name} failed at packet ${e.index ?? '?'} of ${count}: ${e.message}${writeHint(e.errno, this.name)}`,
        { name: this.name, errno: e.errno, written: done, index: e.index },
      );
    }
    this.#stats.txPackets += written;
    this.#stats.txDrops += count - written;
    return written;
  }

  /** What writes merge (TUN_WRITER_COALESCE*): TCP runs with offload, UDP runs too with coalesceUdp. */
  #coalesceFlags(): number {
    return this.offload ? TUN_WRITER_COALESCE | (this.coalesceUdp ? TUN_WRITER_COALESCE_UDP : 0) : 0;
  }

  /** The writer thread starts with the first writeBatch: a queue that is only read costs no thread. */
  #startWriter(): TunWriterHandle {
    const wc = new BigUint64Array(new SharedArrayBuffer(WRITER_COUNTERS * 8));
    const h = this.#native.tunWriterStart(
      this.fd,
      wc,
      this.writeQueuePackets,
      this.writeQueueBytes,
      this.#coalesceFlags() | (this.rawSend ? TUN_WRITER_RAW : 0),
      this.writeQueueWaitUs,
      this.#directMax(),
      this.#rawSendGate,
    );
    this.#writerHandle = h;
    this.#wc = wc;
    return h;
  }

  /**
   * Stops and joins the reader thread; stops the writer thread after it wrote what was queued (a flush, bounded:
   * the fd is non-blocking; only packets still waiting behind EAGAIN are discarded, counted in txDrops); then
   * closes the fd. Safe to call more than once.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#modeTimer);
    if (this.#reader) this.#native.tunReaderStop(this.#reader);
    if (this.#writerHandle) this.#native.tunWriterStop(this.#writerHandle);
    this.#native.tunClose(this.fd);
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new SvrError('SVR_ERR_IO_PORT', `TUN device ${this.name}: ${what}() after close()`);
  }
}
