/**
 * The UDP socket under a sync link (sync-link.ts). With the addon (native/sync-socket.c) datagrams are read with
 * recvmmsg into the slots of one ring allocated here once, and handed over as views of it: node's dgram made a new
 * Buffer per datagram (up to 32 KB of external memory per state batch on the standby, which drove V8's collections:
 * GC was 34 % of the standby's thread, docs/performance.md "HA", ha21/ha22). Sends are one sendto each, no request
 * object or callback. Without the addon, or with SVR_NATIVE_SYNC_SOCKET=0 (A/B), node's dgram.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { constants } from 'node:os';
import { tryLoadAddon } from '../native/addon.js';

declare const syncHandleBrand: unique symbol;
interface SyncHandle {
  readonly [syncHandleBrand]: true;
}

interface NativeSync {
  syncOpen(family: 4 | 6, address: string, port: number, partnerAddress: string, partnerPort: number, ring: Uint8Array, slotBytes: number,
    lens: Int32Array, onRead: (count: number) => void): SyncHandle;
  /** 0, or the errno of the send */
  syncSend(h: SyncHandle, data: Uint8Array): number;
  syncClose(h: SyncHandle): void;
}

/** lens[i] of a datagram from another address or port than the partner's, and of one longer than a slot */
const LEN_NOT_PARTNER = -1;
const LEN_TRUNCATED = -2;
/** Socket buffers for a window's burst (the kernel caps them at net.core.[rw]mem_max). */
const SOCKET_BUFFER = 4 << 20;
/** a slot holds the largest UDP datagram (a partner's may be larger than this node's maxDatagram) */
const SLOT_BYTES = 65536;
/** slots a read fills: more than a window of the pair's 32,000-byte datagrams (5); their pages are touched as used */
const SLOTS = 16;

const errnoNames = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** Whether the addon has the sync socket (else links use node's dgram). */
export function nativeSyncSocket(): boolean {
  return nativeSync() !== undefined;
}

let loaded: NativeSync | null | undefined;
function nativeSync(): NativeSync | undefined {
  if (loaded === undefined) {
    const a = tryLoadAddon();
    loaded = a instanceof Error || typeof a['syncOpen'] !== 'function' ? null : (a as unknown as NativeSync);
  }
  return loaded ?? undefined;
}

/** What the socket hands its owner: a datagram from the partner's address and port (a view, valid during the call
 *  only), one from elsewhere, or one longer than a slot (not sent over UDP/IPv4; a malformed one). */
export interface SyncSocketHandlers {
  onDatagram(buf: Buffer): void;
  onNotPartner(): void;
  onTooLong(): void;
  onSendError(): void;
}

export interface SyncSocketOptions {
  localAddress: string;
  port: number;
  partnerAddress: string;
  partnerPort: number;
  /** node's dgram even with the addon (tests of the fallback) */
  dgram?: boolean;
}

export interface SyncSocket {
  start(): Promise<void>;
  send(buf: Uint8Array): void;
  close(): void;
  /** 'native' (recvmmsg into a ring) or 'dgram' */
  readonly kind: 'native' | 'dgram';
}

export function openSyncSocket(o: SyncSocketOptions, h: SyncSocketHandlers): SyncSocket {
  const n = o.dgram === true || process.env['SVR_NATIVE_SYNC_SOCKET'] === '0' ? undefined : nativeSync();
  return n === undefined ? new DgramSyncSocket(o, h) : new NativeSyncSocket(n, o, h);
}

class NativeSyncSocket implements SyncSocket {
  readonly kind = 'native';
  private handle: SyncHandle | undefined;
  private readonly ring: Uint8Array;
  private readonly lens: Int32Array;
  /** per slot a Buffer over it, made once */
  private readonly slots: Buffer[] = [];

  constructor(private readonly n: NativeSync, private readonly o: SyncSocketOptions, private readonly h: SyncSocketHandlers) {
    this.ring = new Uint8Array(SLOT_BYTES * SLOTS);
    this.lens = new Int32Array(SLOTS);
    for (let i = 0; i < SLOTS; i++) this.slots.push(Buffer.from(this.ring.buffer, i * SLOT_BYTES, SLOT_BYTES));
  }

  start(): Promise<void> {
    try {
      this.handle = this.n.syncOpen(isIPv6(this.o.localAddress) ? 6 : 4, this.o.localAddress, this.o.port, this.o.partnerAddress, this.o.partnerPort,
        this.ring, SLOT_BYTES, this.lens, (count) => this.read(count));
      return Promise.resolve();
    } catch (e) {
      // as dgram's bind reports it: `bind EADDRINUSE 127.0.0.1:4789`, with `code`
      const { errno, syscall } = e as { errno?: number; syscall?: string };
      const code = errnoNames.get(errno ?? 0) ?? String(errno);
      return Promise.reject(errno === undefined ? e as Error : Object.assign(new Error(`${syscall ?? 'bind'} ${code} ${this.o.localAddress}:${this.o.port}`), { code, errno: -errno, syscall }));
    }
  }

  private read(count: number): void {
    for (let i = 0; i < count && this.handle !== undefined; i++) {
      const len = this.lens[i]!;
      if (len === LEN_NOT_PARTNER) this.h.onNotPartner();
      else if (len === LEN_TRUNCATED) this.h.onTooLong();
      else this.h.onDatagram(this.slots[i]!.subarray(0, len));
    }
  }

  send(buf: Uint8Array): void {
    if (this.handle === undefined || this.n.syncSend(this.handle, buf) !== 0) this.h.onSendError();
  }

  close(): void {
    if (this.handle !== undefined) this.n.syncClose(this.handle);
    this.handle = undefined;
  }
}

class DgramSyncSocket implements SyncSocket {
  readonly kind = 'dgram';
  private readonly socket: Socket;

  constructor(private readonly o: SyncSocketOptions, private readonly h: SyncSocketHandlers) {
    this.socket = createSocket(isIPv6(o.localAddress) ? 'udp6' : 'udp4');
    this.socket.on('message', (buf, from) => {
      if (from.address !== o.partnerAddress || from.port !== o.partnerPort) h.onNotPartner();
      else h.onDatagram(buf);
    });
    this.socket.on('error', () => h.onSendError());
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(this.o.port, this.o.localAddress, () => {
        this.socket.off('error', reject);
        this.socket.setRecvBufferSize(SOCKET_BUFFER);
        this.socket.setSendBufferSize(SOCKET_BUFFER);
        resolve();
      });
    });
  }

  send(buf: Uint8Array): void {
    this.socket.send(buf, this.o.partnerPort, this.o.partnerAddress, (err) => { if (err) this.h.onSendError(); });
  }

  close(): void {
    this.socket.close();
  }
}
