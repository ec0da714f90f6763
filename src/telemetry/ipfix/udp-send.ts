/**
 * The IPFIX exporter's UDP sends through the native addon (native/udp-send.c): a connected non-blocking socket of
 * its own, a flush's messages in one sendmmsg(2) with no request or callback per message; with a segment size, runs of
 * messages of that size as one UDP GSO entry each (one pass through the socket and IP layers for some 40 datagrams). Without the addon (not
 * built) the exporter uses node's dgram, one send per message.
 */
import { constants } from 'node:os';
import { tryLoadAddon } from '../../native/addon.js';

declare const udpHandleBrand: unique symbol;
/** A socket of udpOpen (closed by udpClose, or when collected). */
export interface UdpHandle {
  readonly [udpHandleBrand]: true;
}

export interface NativeUdp {
  udpOpen(family: 4 | 6, address: string, port: number): UdpHandle;
  /**
   * Messages tried, in order (fewer than count: the socket's buffer is full); status[i] 0, message i's errno or
   * UDP_ERROR_CONSUMED, status[count] an error reported meanwhile. `segment` (status of count + 3): messages of that
   * size and the one after each run go as one GSO entry (sharing its status); status[count + 1] the messages sent so,
   * status[count + 2] the errno with which the socket refused GSO (0 none; then, and from then on, one entry a message).
   */
  udpSendMany(h: UdpHandle, messages: readonly Uint8Array[], count: number, status: Int32Array, segment?: number): number;
  /** an error the socket reported since (ICMP unreachable for an earlier message), cleared; 0 none */
  udpPendingError(h: UdpHandle): number;
  /** the connected route's path MTU (IP_MTU, IPV6_MTU: the device's, or lower as path MTU discovery found), or -errno */
  udpPathMtu(h: UdpHandle): number;
  /** a GSO send's bytes at most (an IPv4 packet's 16-bit length less the IPv4 and UDP headers) */
  readonly UDP_GSO_MAX_BYTES: number;
  udpClose(h: UdpHandle): void;
}

let loaded: NativeUdp | null | undefined;

/** The addon's UDP functions, or undefined when it is not built (or built from sources without them). */
export function nativeUdp(): NativeUdp | undefined {
  if (loaded === undefined) {
    const a = tryLoadAddon();
    loaded = a instanceof Error || typeof a['udpPathMtu'] !== 'function' ? null : (a as unknown as NativeUdp);
  }
  return loaded ?? undefined;
}

const names = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** A message's status when sendmmsg consumed its error without returning it (an ICMP unreachable for an earlier message). */
export const UDP_ERROR_CONSUMED = -1;

/** An Error as node's dgram makes for a failed send: `send ECONNREFUSED 127.0.0.1:4739`, with `code` and `errno`. */
export function udpError(errno: number, where: string): Error {
  if (errno === UDP_ERROR_CONSUMED) return Object.assign(new Error(`send ${where}: refused (an ICMP unreachable for an earlier message)`), { code: 'EREFUSED', syscall: 'send' });
  const code = names.get(errno) ?? `errno ${errno}`;
  return Object.assign(new Error(`send ${code} ${where}`), { code, errno: -errno, syscall: 'send' });
}
