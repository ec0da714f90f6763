/**
 * The TCP side of a simulated host: listeners, the connection table keyed by (remote address, remote port,
 * local port), active opens with ephemeral ports, RST for segments nobody owns (RFC 9293 §3.10.7.1), and
 * one batched ACK per connection per receive batch.
 */
import { randomBytes } from 'node:crypto';
import { SvrError } from '../errors.js';
import { formatAddress } from '../packet/addr.js';
import { buildTcp } from '../packet/build.js';
import { readU16, readU32 } from '../packet/checksum.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type PacketInfo } from '../packet/ip.js';
import type { HostStats } from './stats.js';
import { TcpConnection, type TcpOptions, type TcpSegment, type TcpTransport } from './tcp.js';
import { readMss, seqAdd } from './tcp-seq.js';

/** What the stack needs from its host. */
export interface StackHost {
  readonly family: 4 | 6;
  readonly addressBytes: Uint8Array;
  readonly address: string;
  readonly ttl: number;
  readonly stats: HostStats;
  transmit(packet: Uint8Array): void;
}

export type ConnectionHandler = (conn: TcpConnection) => void;

export interface TcpConnectOptions {
  /** Local port; default: a free ephemeral port (49152–65535). */
  srcPort?: number;
  /** Give up after this many ms (default: only the retransmission limit: 6 SYN retransmissions, about 25 s). */
  timeoutMs?: number;
}

const EPHEMERAL_FIRST = 49152;
const EPHEMERAL_COUNT = 65536 - EPHEMERAL_FIRST;

function connKey(remote: string, remotePort: number, localPort: number): string {
  return `${remote}|${remotePort}|${localPort}`;
}

export class TcpStack implements TcpTransport {
  private readonly conns = new Map<string, TcpConnection>();
  private readonly peers = new Map<TcpConnection, Uint8Array>();
  private readonly listeners = new Map<number, ConnectionHandler>();
  private readonly portUse = new Map<number, number>();
  private readonly ackPending = new Set<TcpConnection>();
  private nextEphemeral = EPHEMERAL_FIRST + Math.floor(Math.random() * EPHEMERAL_COUNT);
  private readonly seg: TcpSegment = { seq: 0, ack: 0, flags: 0, window: 0, mss: 0, payload: new Uint8Array(0) };

  constructor(private readonly host: StackHost, private readonly options: TcpOptions) {}

  listen(port: number, onConnection: ConnectionHandler): void {
    if (this.listeners.has(port)) throw new SvrError('SVR_ERR_SIM_PORT_IN_USE', `${this.host.address}: TCP port ${port} already has a listener`);
    this.listeners.set(port, onConnection);
  }

  unlisten(port: number): void {
    this.listeners.delete(port);
  }

  /** Open connections (including TIME-WAIT). */
  get connectionCount(): number {
    return this.conns.size;
  }

  connect(dst: Uint8Array, dstText: string, dstPort: number, opts: TcpConnectOptions): Promise<TcpConnection> {
    const srcPort = opts.srcPort ?? this.ephemeralPort();
    const key = connKey(dstText, dstPort, srcPort);
    const old = this.conns.get(key);
    if (old !== undefined && old.state === 'TIME_WAIT') old.destroy();
    else if (old !== undefined) {
      return Promise.reject(new SvrError('SVR_ERR_SIM_PORT_IN_USE', `${this.host.address}:${srcPort} is already connected to ${dstText}:${dstPort}`));
    }
    const conn = this.add(key, dst.slice(), dstText, dstPort, srcPort);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          conn.failOpen(new SvrError('SVR_ERR_SIM_TCP_TIMEOUT', `connect to ${dstText}:${dstPort} timed out after ${opts.timeoutMs} ms`), true);
        }, opts.timeoutMs);
      }
      const done = (): void => {
        if (timer !== null) clearTimeout(timer);
      };
      conn.openActive({ resolve: (c) => { done(); resolve(c); }, reject: (e) => { done(); reject(e); } });
    });
  }

  /** A TCP segment addressed to this host with a verified checksum. */
  receive(buf: Uint8Array, pi: PacketInfo): void {
    const l4 = pi.l4;
    const seg = this.seg;
    seg.seq = readU32(buf, l4 + 4);
    seg.ack = readU32(buf, l4 + 8);
    seg.flags = pi.tcpFlags;
    seg.window = readU16(buf, l4 + 14);
    seg.mss = (seg.flags & TCP_SYN) !== 0 ? readMss(buf, l4 + 20, pi.payload, 0) : 0;
    seg.payload = buf.subarray(pi.payload, pi.end);
    const remote = formatAddress(buf, pi.srcOff, this.host.family);
    const key = connKey(remote, pi.srcPort, pi.dstPort);
    let conn = this.conns.get(key);
    if (conn !== undefined && conn.state === 'TIME_WAIT' && (seg.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      conn.destroy(); // a new connection reusing the tuple
      conn = undefined;
    }
    if (conn !== undefined) {
      conn.onSegment(seg);
      return;
    }
    if ((seg.flags & TCP_RST) !== 0) return;
    const onConnection = this.listeners.get(pi.dstPort);
    if (onConnection !== undefined && (seg.flags & (TCP_SYN | TCP_ACK | TCP_FIN)) === TCP_SYN) {
      const peer = buf.slice(pi.srcOff, pi.srcOff + pi.addrLen);
      this.add(key, peer, remote, pi.srcPort, pi.dstPort).openPassive(seg, onConnection);
      return;
    }
    this.host.stats.tcpNoListener++;
    this.resetFor(buf.slice(pi.srcOff, pi.srcOff + pi.addrLen), pi.srcPort, pi.dstPort, seg);
  }

  /** Sends the ACKs collected during a receive batch. */
  flushAcks(): void {
    if (this.ackPending.size === 0) return;
    const list = [...this.ackPending];
    this.ackPending.clear();
    for (const c of list) c.sendAck();
  }

  close(): void {
    const err = new SvrError('SVR_ERR_SIM_CLOSED', `host ${this.host.address} was closed`);
    for (const c of [...this.conns.values()]) c.abortLocal(err);
    this.conns.clear();
    this.peers.clear();
    this.listeners.clear();
    this.ackPending.clear();
    this.portUse.clear();
  }

  // ---- TcpTransport ----

  send(conn: TcpConnection, seq: number, ack: number, flags: number, window: number, payload?: Uint8Array, options?: Uint8Array): void {
    const peer = this.peers.get(conn);
    if (peer === undefined) return;
    if ((flags & TCP_ACK) !== 0) this.ackPending.delete(conn); // this segment carries the ACK
    this.sendRaw(peer, conn.remotePort, conn.localPort, seq, ack, flags, window, payload, options);
  }

  scheduleAck(conn: TcpConnection): void {
    this.ackPending.add(conn);
  }

  release(conn: TcpConnection): void {
    const key = connKey(conn.remoteAddress, conn.remotePort, conn.localPort);
    if (this.conns.get(key) !== conn) return;
    this.conns.delete(key);
    this.peers.delete(conn);
    this.ackPending.delete(conn);
    const n = (this.portUse.get(conn.localPort) ?? 1) - 1;
    if (n > 0) this.portUse.set(conn.localPort, n);
    else this.portUse.delete(conn.localPort);
  }

  countRetransmit(): void {
    this.host.stats.tcpRetransmits++;
  }

  countOutOfOrder(): void {
    this.host.stats.tcpOutOfOrder++;
  }

  // ---- internals ----

  private add(key: string, peer: Uint8Array, remote: string, remotePort: number, localPort: number): TcpConnection {
    const iss = randomBytes(4).readUInt32BE(0);
    const conn = new TcpConnection(this, this.host.address, localPort, remote, remotePort, this.options, iss);
    this.conns.set(key, conn);
    this.peers.set(conn, peer);
    this.portUse.set(localPort, (this.portUse.get(localPort) ?? 0) + 1);
    return conn;
  }

  private ephemeralPort(): number {
    for (let i = 0; i < EPHEMERAL_COUNT; i++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p === 65535 ? EPHEMERAL_FIRST : p + 1;
      if (!this.portUse.has(p) && !this.listeners.has(p)) return p;
    }
    throw new SvrError('SVR_ERR_SIM_PORT_IN_USE', `${this.host.address}: no free ephemeral TCP port`);
  }

  /** RFC 9293 §3.10.7.1: the reset for a segment to a closed port. */
  private resetFor(peer: Uint8Array, remotePort: number, localPort: number, seg: TcpSegment): void {
    if ((seg.flags & TCP_ACK) !== 0) {
      this.sendRaw(peer, remotePort, localPort, seg.ack, 0, TCP_RST, 0);
    } else {
      const len = seg.payload.length + ((seg.flags & TCP_SYN) !== 0 ? 1 : 0) + ((seg.flags & TCP_FIN) !== 0 ? 1 : 0);
      this.sendRaw(peer, remotePort, localPort, 0, seqAdd(seg.seq, len), TCP_RST | TCP_ACK, 0);
    }
  }

  private sendRaw(
    peer: Uint8Array, remotePort: number, localPort: number, seq: number, ack: number, flags: number, window: number,
    payload?: Uint8Array, options?: Uint8Array,
  ): void {
    const h = this.host;
    const pkt = buildTcp({
      src: h.addressBytes, dst: peer, ttl: h.ttl, srcPort: localPort, dstPort: remotePort,
      seq, ack, flags, window, payload, options,
    });
    h.stats.tcpSegmentsOut++;
    if ((flags & TCP_RST) !== 0) h.stats.tcpRstSent++;
    h.transmit(pkt);
  }
}
