/**
 * BFD control packets (RFC 5880 §4.1): the 24-byte mandatory section, big-endian.
 *
 *   0: Vers(3) Diag(5) | 1: Sta(2) P F C A D M | 2: Detect Mult | 3: Length
 *   4: My Discriminator | 8: Your Discriminator | 12: Desired Min TX Interval (µs)
 *   16: Required Min RX Interval (µs) | 20: Required Min Echo RX Interval (µs)
 *
 * No authentication section: the path control channel is HMAC-signed already, so a packet with the
 * A bit set is dropped (§6.8.6: "A bit set and no authentication in use"). Decoding never throws: a
 * bad packet comes back as `{ ok: false, reason }` for the caller to count.
 */
import { readU32, writeU32 } from './checksum.js';

/** Local or remote session state (RFC 5880 §4.1 Sta, §6.2). */
export type BfdState = 'adminDown' | 'down' | 'init' | 'up';

/** Sta field values: AdminDown 0, Down 1, Init 2, Up 3 (RFC 5880 §4.1). */
export const BFD_STATES: readonly BfdState[] = ['adminDown', 'down', 'init', 'up'];

/** Diagnostic codes (RFC 5880 §4.1); we use 0, 1, 3 and 7, and 31 (pairStandby, below). */
export const BfdDiag = {
  none: 0,
  controlDetectionTimeExpired: 1,
  echoFunctionFailed: 2,
  neighborSignaledSessionDown: 3,
  forwardingPlaneReset: 4,
  pathDown: 5,
  concatenatedPathDown: 6,
  administrativelyDown: 7,
  reverseConcatenatedPathDown: 8,
  /** svrouter's own use of a value RFC 5880 §4.1 reserves (9-31): in an Up packet, "this end is a router pair's
   *  standby node": the peer keeps the path Up but carries no session on it (docs/high-availability.md,
   *  "Per-node WAN interfaces"). Another BFD implementation takes it as an unknown diagnostic (informational). */
  pairStandby: 31,
} as const;

export const BFD_VERSION = 1;
/** Length of the mandatory section, and of every packet we send. */
export const BFD_CONTROL_LENGTH = 24;

export interface BfdControlPacket {
  /** 0-31 (§4.1 Diag) */
  readonly diag: number;
  readonly state: BfdState;
  /** P: poll, asks for a packet with F set (§6.5) */
  readonly poll: boolean;
  /** F: answers a poll */
  readonly final: boolean;
  /** C: control plane independent */
  readonly controlPlaneIndependent: boolean;
  /** D: demand mode (we never ask for it) */
  readonly demand: boolean;
  /** 1-255 */
  readonly detectMult: number;
  readonly myDiscriminator: number;
  readonly yourDiscriminator: number;
  readonly desiredMinTxUs: number;
  readonly requiredMinRxUs: number;
  readonly requiredMinEchoRxUs: number;
}

/** Why a packet was dropped before reaching a session (counted as `bfd-drop-<reason>`). */
export type BfdDropReason =
  | 'short'
  | 'bad-version'
  | 'bad-length'
  | 'zero-detect-mult'
  | 'multipoint'
  | 'zero-my-discriminator'
  | 'auth-not-used';

export type BfdDecodeResult = { ok: true; packet: BfdControlPacket } | { ok: false; reason: BfdDropReason };

/**
 * Writes `p` into `out` (at least 24 bytes, default a new array) and returns the 24 bytes written: `out`
 * itself when it is 24 bytes long (a sender's reused buffer: no object per packet).
 */
export function encodeBfdControl(p: BfdControlPacket, out = new Uint8Array(BFD_CONTROL_LENGTH)): Uint8Array {
  const flags = (p.poll ? 0x20 : 0) | (p.final ? 0x10 : 0) | (p.controlPlaneIndependent ? 0x08 : 0) | (p.demand ? 0x02 : 0);
  return writeBfdControl(out, p.diag, p.state, flags, p.detectMult, p.myDiscriminator, p.yourDiscriminator, p.desiredMinTxUs, p.requiredMinRxUs, p.requiredMinEchoRxUs);
}

/**
 * encodeBfdControl from the fields, without a packet object (a hub's supervisor sends ~2,000 a second from its
 * sessions' contexts): `flags` is the P/F/C/D bits of byte 1 (0x20 poll, 0x10 final, 0x08 C, 0x02 demand).
 */
export function writeBfdControl(out: Uint8Array, diag: number, state: BfdState, flags: number, detectMult: number, myDiscriminator: number,
  yourDiscriminator: number, desiredMinTxUs: number, requiredMinRxUs: number, requiredMinEchoRxUs = 0): Uint8Array {
  out[0] = (BFD_VERSION << 5) | (diag & 0x1f);
  out[1] = (BFD_STATES.indexOf(state) << 6) | flags;
  out[2] = detectMult & 0xff;
  out[3] = BFD_CONTROL_LENGTH;
  writeU32(out, 4, myDiscriminator);
  writeU32(out, 8, yourDiscriminator);
  writeU32(out, 12, desiredMinTxUs);
  writeU32(out, 16, requiredMinRxUs);
  writeU32(out, 20, requiredMinEchoRxUs);
  return out.length === BFD_CONTROL_LENGTH ? out : out.subarray(0, BFD_CONTROL_LENGTH);
}

/** Reads a control packet with the session-independent checks of RFC 5880 §6.8.6 (first seven bullets). */
export function decodeBfdControl(buf: Uint8Array): BfdDecodeResult {
  if (buf.length < BFD_CONTROL_LENGTH) return { ok: false, reason: 'short' };
  const v = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const b0 = v.getUint8(0);
  const b1 = v.getUint8(1);
  const length = v.getUint8(3);
  // §6.8.6: version must be 1; Length at least 24 and not beyond the payload
  if (b0 >> 5 !== BFD_VERSION) return { ok: false, reason: 'bad-version' };
  if (length < BFD_CONTROL_LENGTH || length > buf.length) return { ok: false, reason: 'bad-length' };
  // §6.8.6: A bit set while no authentication is in use (ours: the channel HMAC) -> discard
  if ((b1 & 0x04) !== 0) return { ok: false, reason: 'auth-not-used' };
  // without an authentication section the packet is exactly the mandatory section
  if (length !== BFD_CONTROL_LENGTH) return { ok: false, reason: 'bad-length' };
  const detectMult = v.getUint8(2);
  if (detectMult === 0) return { ok: false, reason: 'zero-detect-mult' };
  if ((b1 & 0x01) !== 0) return { ok: false, reason: 'multipoint' };
  const myDiscriminator = v.getUint32(4);
  if (myDiscriminator === 0) return { ok: false, reason: 'zero-my-discriminator' };
  return {
    ok: true,
    packet: {
      diag: b0 & 0x1f,
      state: BFD_STATES[b1 >> 6]!,
      poll: (b1 & 0x20) !== 0,
      final: (b1 & 0x10) !== 0,
      controlPlaneIndependent: (b1 & 0x08) !== 0,
      demand: (b1 & 0x02) !== 0,
      detectMult,
      myDiscriminator,
      yourDiscriminator: v.getUint32(8),
      desiredMinTxUs: v.getUint32(12),
      requiredMinRxUs: v.getUint32(16),
      requiredMinEchoRxUs: v.getUint32(20),
    },
  };
}

/** P, F, A, M (§4.1 byte 1): a packet with any of them is not steady state (C and D change nothing) */
const NOT_STEADY_BITS = 0x20 | 0x10 | 0x04 | 0x01;
const STA_UP = 3 << 6;

/**
 * Whether d[off, off + len) is a steady-state control packet of a session whose machine last accepted these
 * fields: Vers 1, state Up, no Poll, Final, A or M bit, Length 24, the same Detect Mult, discriminators and
 * intervals (µs). §6.8.6 would use such a packet only to restart the Detection Time (paths/bfd-schedule.ts,
 * dataplane/control-fast-path.ts). The Diag is not compared (the caller decides what it means).
 */
export function bfdSteady(
  d: Uint8Array, off: number, len: number, detectMult: number, myDiscr: number, yourDiscr: number, desiredMinTxUs: number, requiredMinRxUs: number,
): boolean {
  if (len < BFD_CONTROL_LENGTH || d[off]! >>> 5 !== BFD_VERSION || (d[off + 1]! & 0xc0) !== STA_UP || (d[off + 1]! & NOT_STEADY_BITS) !== 0) return false;
  if (d[off + 3] !== BFD_CONTROL_LENGTH || d[off + 2] !== detectMult || readU32(d, off + 4) !== myDiscr || readU32(d, off + 8) !== yourDiscr) return false;
  return readU32(d, off + 12) === desiredMinTxUs && readU32(d, off + 16) === requiredMinRxUs;
}
