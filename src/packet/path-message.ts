/**
 * The first byte of what travels on a path's control channel (UDP 1280 between waypoints,
 * HMAC-signed per the path's security policy): the first payload byte says which protocol a message belongs to.
 *
 * | first byte  | message                                                        | owner           |
 * |-------------|----------------------------------------------------------------|-----------------|
 * | 0x20-0x3f   | BFD control packet: version bits 001 (RFC 5880 §4.1)          | packet/bfd      |
 * | 0xc1        | link-test echo request                                         | paths/link-test |
 * | 0xc2        | link-test echo reply                                           | paths/link-test |
 * | 0xc3-0xc7   | STEP (document chunk, request, ack; 0xc6-0xc7 reserved)        | step/codec      |
 * | 0xc8-0xcb   | key exchange (initiation, response, cookie, confirmation)      | crypto/handshake, paths/key-exchange |
 * | 0xcc        | NAT address: where the peer sees our packets come from         | paths/nat-traversal |
 * | 0xcd / 0xce | path MTU probe (padded to the size under test) / its answer    | paths/path-mtu  |
 * | 0xcf        | firewall-detector probe (arrives as TCP 1283, not on UDP 1280) | paths/firewall-detector |
 * | 0xd0        | its answer (on UDP 1280)                                       | paths/firewall-detector |
 * | 0xd1        | firewall-detector verdict: what the sender found in its direction | paths/firewall-detector |
 * | 0x4c (cookie) | not a message: a session packet (SVR metadata) the hub sends on the control binding of a router behind NAT (wan-verify, docs/wan.md) | dataplane |
 * | anything else | unknown: dropped and counted                                 |                 |
 *
 * The control part of the router (paths/) owns each protocol; `svr decode` names them from here too.
 */

export type PathMessageKind = 'bfd' | 'link-test-request' | 'link-test-reply' | 'step' | 'handshake' | 'nat-address' | 'mtu-probe' | 'mtu-ack' | 'fw-probe' | 'fw-probe-ack' | 'fw-verdict' | 'unknown';

export const LINK_TEST_REQUEST = 0xc1;
export const LINK_TEST_REPLY = 0xc2;
/** First and last byte of the range that belongs to STEP (step/codec.ts). */
export const STEP_FIRST_BYTE = 0xc3;
export const STEP_LAST_BYTE = 0xc7;
/** First and last byte of the key exchange's messages (crypto/handshake.ts MSG_*). */
export const HANDSHAKE_FIRST_BYTE = 0xc8;
export const HANDSHAKE_LAST_BYTE = 0xcb;
export const LINK_TEST_LENGTH = 16;
/** paths/nat-traversal.ts */
export const NAT_ADDRESS = 0xcc;
/** paths/path-mtu.ts */
export const MTU_PROBE = 0xcd;
export const MTU_ACK = 0xce;
/** paths/firewall-detector.ts */
export const FW_PROBE = 0xcf;
export const FW_PROBE_ACK = 0xd0;
export const FW_VERDICT = 0xd1;

/**
 * Whether d[off, off + len) is a well-formed link-test echo (paths/messages.ts): 16 bytes, format version 0,
 * reserved bytes zero, a finite send time (a float64 whose exponent bits are not all ones). The first byte is
 * not checked (request or reply).
 */
export function linkTestWellFormed(d: Uint8Array, off: number, len: number): boolean {
  if (len !== LINK_TEST_LENGTH || d[off + 1] !== 0 || d[off + 2] !== 0 || d[off + 3] !== 0) return false;
  return (d[off + 8]! & 0x7f) !== 0x7f || (d[off + 9]! & 0xf0) !== 0xf0;
}

/** Which protocol a control-channel payload belongs to, from its first byte. */
export function pathMessageKind(payload: Uint8Array): PathMessageKind {
  if (payload.length === 0) return 'unknown';
  const b = payload[0]!;
  if (b >> 5 === 1) return 'bfd'; // RFC 5880 §4.1: Vers = 1 in the top three bits
  if (b === LINK_TEST_REQUEST) return 'link-test-request';
  if (b === LINK_TEST_REPLY) return 'link-test-reply';
  if (b >= STEP_FIRST_BYTE && b <= STEP_LAST_BYTE) return 'step';
  if (b >= HANDSHAKE_FIRST_BYTE && b <= HANDSHAKE_LAST_BYTE) return 'handshake';
  if (b === NAT_ADDRESS) return 'nat-address';
  if (b === MTU_PROBE) return 'mtu-probe';
  if (b === MTU_ACK) return 'mtu-ack';
  if (b === FW_PROBE) return 'fw-probe';
  if (b === FW_PROBE_ACK) return 'fw-probe-ack';
  if (b === FW_VERDICT) return 'fw-verdict';
  return 'unknown';
}

/** The firewall detector's probes, as SSR's `show udp-transform` names their reasons (probe byte 2 = index). */
export const PROBE_KINDS = ['tcp-syn', 'mid-flow', 'tcp-syn-jumbo'] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];
