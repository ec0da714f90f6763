/** Types and defaults shared by the simulated TCP connection, its stack and their users. */
import type { SvrError } from '../errors.js';
import type { TcpConnection } from './tcp.js';

export type TcpState =
  | 'SYN_SENT' | 'SYN_RECEIVED' | 'ESTABLISHED' | 'FIN_WAIT_1' | 'FIN_WAIT_2'
  | 'CLOSE_WAIT' | 'CLOSING' | 'LAST_ACK' | 'TIME_WAIT' | 'CLOSED';

/** Why a connection closed: both FINs exchanged, RST received, retransmissions exhausted, or closed locally. */
export type TcpCloseReason = 'normal' | 'reset' | 'timeout' | 'aborted';

export interface TcpOptions {
  /** MSS we advertise and the largest segment we send (default 1400). */
  mss: number;
  /** Initial retransmission timeout in ms (default 200); doubles on each consecutive timeout. */
  rtoMs: number;
  /** Retransmissions of one segment before the connection is reset (default 6). */
  maxRetries: number;
  /** Receive buffer in bytes = the largest window we advertise (default and maximum 65535: no window scaling). */
  receiveBuffer: number;
  /** Most bytes in flight regardless of the peer's window (default 65536). */
  maxInFlight: number;
  /** How long a closed connection lingers to re-acknowledge a retransmitted FIN, in ms (default 1000). */
  timeWaitMs: number;
}

export const DEFAULT_TCP_OPTIONS: TcpOptions = {
  mss: 1400, rtoMs: 200, maxRetries: 6, receiveBuffer: 65535, maxInFlight: 65536, timeWaitMs: 1000,
};

/** One received segment; `payload` is only valid during the call. */
export interface TcpSegment {
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** MSS option value, or 0 when absent. */
  mss: number;
  payload: Uint8Array;
}

/** What a connection needs from its host. */
export interface TcpTransport {
  send(conn: TcpConnection, seq: number, ack: number, flags: number, window: number, payload?: Uint8Array, options?: Uint8Array): void;
  /** Asks for an ACK at the end of the current receive batch (one ACK per batch, not per segment). */
  scheduleAck(conn: TcpConnection): void;
  /** The connection left the table (closed, reset, or TIME-WAIT ended). */
  release(conn: TcpConnection): void;
  countRetransmit(): void;
  countOutOfOrder(): void;
}

export interface TcpConnectionEvents {
  /** In-order bytes from the peer (the chunk is yours to keep). */
  data: [Uint8Array];
  /** The peer sent FIN: no more data will arrive (you may still write). */
  end: [];
  /** The connection is finished; no more events follow. */
  close: [TcpCloseReason];
  /** The peer reset the connection or stopped answering; `close` follows. */
  reset: [SvrError];
}
