/**
 * What travels on a path's control channel (UDP 1280 between waypoints, HMAC-signed per the path's
 * security policy).
 *
 * The first byte says which protocol a message belongs to: the table is in packet/path-message.ts.
 *
 * Link-test echo (16 bytes, big-endian):
 *
 *   0: type (0xc1 request, 0xc2 reply) | 1: format version 0 | 2-3: zero
 *   4: sequence number (u32) | 8: send time (float64, ms, the sender's clock)
 *
 * The reply is the request with the first byte changed to 0xc2: the peer reflects sequence and time
 * untouched, so only the sender's clock is ever used (no clock synchronisation needed).
 */
import { readF64, readU32, writeF64, writeU32 } from '../packet/checksum.js';
import { LINK_TEST_LENGTH, LINK_TEST_REPLY, LINK_TEST_REQUEST, linkTestWellFormed } from '../packet/path-message.js';

/** A message received on a peer path's control channel (UDP 1280: BFD, link tests, STEP), HMAC verified. */
export interface PathMessage {
  path: number;
  pathName: string;
  payload: Uint8Array;
  atMs: number;
  /** on a path to a peer behind NAT: the source address (4 or 16 bytes) and port it arrived from */
  from?: { address: Uint8Array; port: number };
}

export { LINK_TEST_REQUEST, LINK_TEST_REPLY, STEP_FIRST_BYTE, STEP_LAST_BYTE, HANDSHAKE_FIRST_BYTE, HANDSHAKE_LAST_BYTE, LINK_TEST_LENGTH, NAT_ADDRESS, MTU_PROBE, MTU_ACK, FW_PROBE, FW_PROBE_ACK, FW_VERDICT, pathMessageKind } from '../packet/path-message.js';
export type { PathMessageKind } from '../packet/path-message.js';

export interface LinkTestEcho {
  readonly sequence: number;
  /** ms on the sender's clock */
  readonly sentAtMs: number;
}

/** A link-test echo request (or, with `reply`, the reply to one), in `out` (16 bytes; default a new array). */
export function encodeLinkTest(echo: LinkTestEcho, reply = false, out = new Uint8Array(LINK_TEST_LENGTH)): Uint8Array {
  return encodeLinkTestInto(out, echo.sequence, echo.sentAtMs, reply);
}

/** encodeLinkTest without the echo object (the link testers' requests: no allocation per request). */
export function encodeLinkTestInto(out: Uint8Array, sequence: number, sentAtMs: number, reply = false): Uint8Array {
  out.fill(0);
  out[0] = reply ? LINK_TEST_REPLY : LINK_TEST_REQUEST;
  writeU32(out, 4, sequence);
  writeF64(out, 8, sentAtMs);
  return out;
}

/** Reads a request or reply; undefined when the length, format version or reserved bytes are wrong. */
export function decodeLinkTest(payload: Uint8Array): LinkTestEcho | undefined {
  if (!linkTestWellFormed(payload, 0, payload.length)) return undefined;
  return { sequence: readU32(payload, 4), sentAtMs: readF64(payload, 8) };
}

/** The reply to a request: the same bytes, first byte 0xc2. */
export function linkTestReply(request: Uint8Array): Uint8Array {
  const reply = request.slice(0, LINK_TEST_LENGTH);
  reply[0] = LINK_TEST_REPLY;
  return reply;
}
