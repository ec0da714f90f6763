/**
 * A simulated end host: one IPv4 or IPv6 address on one PacketPort (typically an end of a MemoryLink), with a
 * small real UDP and TCP stack, so tests and examples can run genuine sessions through routers in one process.
 *
 * Receive path per packet: parse -> addressed to us? -> IPv4 header checksum -> not a fragment -> L4 checksum
 * -> UDP handler / TCP stack / ICMP echo reply. Every drop is counted in `stats`. After each batch the TCP stack
 * sends its collected ACKs (one per connection per batch).
 */
import { SvrError } from '../errors.js';
import type { PacketPort } from '../dataplane/port.js';
import { addressesEqual, formatAddress, parseAddress } from '../packet/addr.js';
import { buildIcmpEcho, buildUdp } from '../packet/build.js';
import { finish, readU16, sumBytes } from '../packet/checksum.js';
import { PacketInfo, ParseError, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, parsePacket } from '../packet/ip.js';
import { verifyL4Checksum } from '../packet/rewrite.js';
import { newHostStats, type HostStats } from './stats.js';
import { DEFAULT_TCP_OPTIONS, type TcpConnection, type TcpOptions } from './tcp.js';
import { TcpStack, type ConnectionHandler, type TcpConnectOptions } from './tcp-stack.js';
import { UdpTable, type UdpMessageHandler } from './udp.js';

export interface SimHostOptions {
  /** The host's address, IPv4 or IPv6 text (`10.1.1.10`, `2001:db8:1::10`). */
  address: string;
  /** Where the host sends and receives raw IP packets. */
  port: PacketPort;
  /** Shown in errors; default: the address. */
  name?: string;
  /** TTL / hop limit of packets the host sends (default 64). */
  ttl?: number;
  tcp?: Partial<TcpOptions>;
}

export class SimHost {
  readonly name: string;
  readonly address: string;
  readonly family: 4 | 6;
  readonly addressBytes: Uint8Array;
  readonly ttl: number;
  readonly stats: HostStats = newHostStats();
  private readonly port: PacketPort;
  private readonly udp = new UdpTable();
  private readonly tcp: TcpStack;
  private readonly pi = new PacketInfo();
  private readonly txOffsets = new Uint32Array(1);
  private readonly txLengths = new Uint32Array(1);
  private closed = false;

  constructor(opts: SimHostOptions) {
    const parsed = parseAddress(opts.address);
    if (parsed === undefined) throw new SvrError('SVR_ERR_SIM_ADDRESS', `"${opts.address}" is not an IPv4 or IPv6 address`);
    this.family = parsed.family;
    this.addressBytes = parsed.bytes;
    this.address = formatAddress(parsed.bytes, 0, parsed.family);
    this.name = opts.name ?? this.address;
    this.ttl = opts.ttl ?? 64;
    this.port = opts.port;
    this.tcp = new TcpStack(this, { ...DEFAULT_TCP_OPTIONS, ...opts.tcp });
    this.port.start((data, offsets, lengths, count) => {
      for (let i = 0; i < count; i++) this.receive(data, offsets[i]!, lengths[i]!);
      this.tcp.flushAcks();
    });
  }

  // ---- UDP ----

  /** Delivers datagrams to `port` to `onMessage`. Throws SVR_ERR_SIM_PORT_IN_USE when bound twice. */
  udpBind(port: number, onMessage: UdpMessageHandler): void {
    checkPort(port);
    this.udp.bind(this.address, port, onMessage);
  }

  udpUnbind(port: number): void {
    this.udp.unbind(port);
  }

  /** Sends one datagram (with a UDP checksum). */
  udpSend(srcPort: number, dstAddress: string, dstPort: number, data: Uint8Array): void {
    checkPort(srcPort);
    checkPort(dstPort);
    const dst = this.peerAddress(dstAddress);
    this.transmit(buildUdp({ src: this.addressBytes, dst, ttl: this.ttl, srcPort, dstPort, payload: data }));
  }

  // ---- TCP ----

  /** Accepts connections on `port`; `onConnection` runs once the 3-way handshake completes. */
  tcpListen(port: number, onConnection: ConnectionHandler): void {
    checkPort(port);
    this.tcp.listen(port, onConnection);
  }

  tcpUnlisten(port: number): void {
    this.tcp.unlisten(port);
  }

  /** Opens a connection. Rejects with SVR_ERR_SIM_TCP_RESET (RST) or SVR_ERR_SIM_TCP_TIMEOUT. */
  tcpConnect(dstAddress: string, dstPort: number, opts: TcpConnectOptions = {}): Promise<TcpConnection> {
    if (this.closed) return Promise.reject(new SvrError('SVR_ERR_SIM_CLOSED', `host ${this.name} is closed`));
    try {
      checkPort(dstPort);
      if (opts.srcPort !== undefined) checkPort(opts.srcPort);
      const dst = this.peerAddress(dstAddress);
      return this.tcp.connect(dst, formatAddress(dst, 0, this.family), dstPort, opts);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** TCP connections in the table (including TIME-WAIT). */
  get tcpConnectionCount(): number {
    return this.tcp.connectionCount;
  }

  /** Aborts every connection (they emit `close('aborted')`), unbinds everything and closes the port. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tcp.close();
    this.udp.clear();
    this.port.close();
  }

  /** @internal used by the TCP stack. */
  transmit(packet: Uint8Array): void {
    if (this.closed) return;
    this.txLengths[0] = packet.length;
    this.stats.txPackets++;
    this.port.transmit(packet, this.txOffsets, this.txLengths, 1);
  }

  // ---- receive path ----

  private receive(buf: Uint8Array, off: number, len: number): void {
    const st = this.stats;
    const pi = this.pi;
    st.rxPackets++;
    if (parsePacket(buf, off, len, pi) !== ParseError.None) {
      st.malformed++;
      return;
    }
    if (pi.family !== this.family || !addressesEqual(buf, pi.dstOff, this.addressBytes, 0, this.family)) {
      st.notForUs++;
      return;
    }
    if (pi.family === 4 && finish(sumBytes(buf, pi.l3, (buf[pi.l3]! & 0x0f) * 4, 0)) !== 0) {
      st.badChecksum++;
      return;
    }
    if (pi.fragment !== 0) {
      st.fragments++;
      return;
    }
    if (!verifyL4Checksum(buf, pi)) {
      st.badChecksum++;
      return;
    }
    switch (pi.protocol) {
      case PROTO_UDP: this.receiveUdp(buf, pi); break;
      case PROTO_TCP: st.tcpSegmentsIn++; this.tcp.receive(buf, pi); break;
      case PROTO_ICMP: case PROTO_ICMPV6: this.receiveIcmp(buf, pi); break;
      default: st.unsupported++;
    }
  }

  private receiveUdp(buf: Uint8Array, pi: PacketInfo): void {
    const handler = this.udp.handler(pi.dstPort);
    if (handler === undefined) {
      this.stats.udpNoListener++;
      return;
    }
    this.stats.udpDelivered++;
    handler(buf.slice(pi.payload, pi.end), { address: formatAddress(buf, pi.srcOff, this.family), port: pi.srcPort });
  }

  /** Answers echo requests (ping); other ICMP is counted as unsupported. */
  private receiveIcmp(buf: Uint8Array, pi: PacketInfo): void {
    const request = pi.protocol === PROTO_ICMP ? 8 : 128;
    if (pi.icmpType !== request || pi.icmpCode !== 0) {
      this.stats.unsupported++;
      return;
    }
    this.stats.icmpEchoReplies++;
    this.transmit(buildIcmpEcho({
      src: this.addressBytes, dst: buf.slice(pi.srcOff, pi.srcOff + pi.addrLen), ttl: this.ttl, request: false,
      id: readU16(buf, pi.l4 + 4), seq: readU16(buf, pi.l4 + 6), payload: buf.subarray(pi.payload, pi.end),
    }));
  }

  private peerAddress(text: string): Uint8Array {
    const a = parseAddress(text);
    if (a === undefined) throw new SvrError('SVR_ERR_SIM_ADDRESS', `"${text}" is not an IPv4 or IPv6 address`);
    if (a.family !== this.family) {
      throw new SvrError('SVR_ERR_SIM_ADDRESS', `host ${this.name} is IPv${this.family} and cannot reach IPv${a.family} address ${text}`);
    }
    return a.bytes;
  }
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SvrError('SVR_ERR_SIM_ADDRESS', `port ${port} is not an integer in 1..65535`);
  }
}
