/**
 * End-to-end payload encryption of a session (fact sheet §4.3; our framing, documented in docs/crypto.md):
 * the L4 payload of every data packet of an encrypting service travels as
 *     encrypted:  IV(16) || AES-CBC(payload || PKCS#7)  || key id (1..255)     (GCM: nonce || ct || tag || key id)
 *     plain:      payload || 0x00                                              (adaptive: already TLS/IPsec)
 * The trailing byte makes every packet self-describing, so adaptive decisions and key rotation never race
 * with packets in flight. Only the ingress and egress routers touch the payload; the HMAC trailer covers
 * the result (encrypt-then-MAC). Adaptive encryption (ssr-reference §1.7): the ingress looks at a session's
 * first forward data packet; TLS (record types 20–23, version 3.x), DTLS or IPsec NAT-T (UDP 4500) is not
 * encrypted again and the session re-signals its metadata without TLV 11.
 */
import { PROTO_UDP, type PacketInfo } from '../packet/ip.js';
import type { Batch } from './batch.js';
import type { DataplaneContext } from './context.js';
import { exhausted, type PolicyKey } from './path-crypto.js';
import { keyId } from './path-keys.js';
import { ROLE_INGRESS, SF_ENC_DECIDED, SF_ENC_ON, SF_NEEDS_META, SF_PAYLOAD } from './session-table.js';

/** Initial encryption flags of an ingress session of a service with payload security `sec`. */
export function payloadFlags(sec: { adaptive: boolean } | undefined): number {
  if (sec === undefined) return 0;
  return SF_PAYLOAD | SF_ENC_ON | (sec.adaptive ? 0 : SF_ENC_DECIDED);
}

/** Maximum growth of a payload: CBC IV + a full padding block + the key id byte. */
export const PAYLOAD_GROWTH = 16 + 16 + 1;

/** True when the payload already looks encrypted (TLS/DTLS record, IPsec NAT-T). */
export function alreadyEncrypted(d: Uint8Array, pi: PacketInfo): boolean {
  const p = pi.payload;
  if (pi.end - p >= 3) {
    const type = d[p]!;
    if (type >= 20 && type <= 23 && d[p + 1] === 3 && d[p + 2]! <= 4) return true; // TLS record (RFC 8446 §5.1)
    if (type >= 20 && type <= 23 && d[p + 1] === 0xfe) return true; // DTLS record (RFC 9147)
  }
  return pi.protocol === PROTO_UDP && (pi.dstPort === 4500 || pi.srcPort === 4500); // IPsec NAT-T (RFC 3948)
}

/**
 * Decides, at the ingress, on the first forward data packet, whether the session's payload is encrypted.
 * A session skipped by adaptive encryption re-signals (its metadata then lacks TLV 11).
 */
export function decideAdaptive(ctx: DataplaneContext, r: number, d: Uint8Array, pi: PacketInfo, forward: boolean): void {
  const t = ctx.sessions;
  const f = t.flags[r]!;
  if ((f & SF_ENC_DECIDED) !== 0 || !forward || t.role[r] !== ROLE_INGRESS || pi.end === pi.payload) return;
  if (alreadyEncrypted(d, pi)) {
    t.flags[r] = (f | SF_ENC_DECIDED | SF_NEEDS_META) & ~SF_ENC_ON;
    ctx.counters.add(ctx.counters.id('sessions-adaptive-plain'));
  } else {
    t.flags[r] = f | SF_ENC_DECIDED;
  }
}

/**
 * Frames the payload of slot s for session r in place: encrypts it (when the session encrypts) and appends
 * the key id byte. Returns false (drop, counted by the caller) when no key is available or the AES-GCM
 * key reached its nonce budget (path-crypto.ts).
 */
export function sealPayload(ctx: DataplaneContext, b: Batch, s: number, pi: PacketInfo, r: number, now: number): boolean {
  const t = ctx.sessions;
  const d = b.data;
  if (pi.end === pi.payload) return true; // nothing to frame
  if ((t.flags[r]! & SF_ENC_ON) === 0) {
    d[pi.end] = 0;
    pi.end += 1;
    b.len[s] = pi.end - pi.l3;
    return true;
  }
  const key = sealKey(ctx, r, now);
  if (key === undefined) return false;
  const cx = ctx.crypto;
  cx.off[0] = pi.payload;
  cx.len[0] = pi.end - pi.payload;
  key.cipher.encryptBatch(d, cx.off, cx.len, 1);
  endSealed(b, s, pi, cx.len[0]!, key.version);
  return true;
}

/** The key session r's payload is sealed with now, or undefined: no key, or a GCM key at its nonce budget. */
export function sealKey(ctx: DataplaneContext, r: number, now: number): PolicyKey | undefined {
  const key = ctx.crypto.sendKey(ctx.sessions.service[r]!, now);
  return key === undefined || exhausted(key.cipher, ctx.crypto.limits) ? undefined : key;
}

/** After the payload of slot s was encrypted into `sealedLength` bytes: appends the key id of `version`. */
export function endSealed(b: Batch, s: number, pi: PacketInfo, sealedLength: number, version: number): void {
  pi.end = pi.payload + sealedLength;
  b.data[pi.end] = keyId(version);
  pi.end += 1;
  b.len[s] = pi.end - pi.l3;
}

/** Removes the framing of slot s: decrypts with the key id's cipher, or strips the plain marker.
 *  Returns false for an unknown key id or a payload that does not decrypt. */
export function openPayload(ctx: DataplaneContext, b: Batch, s: number, pi: PacketInfo, r: number): boolean {
  const d = b.data;
  if (pi.end === pi.payload) return true;
  const kid = d[pi.end - 1]!;
  pi.end -= 1;
  if (kid !== 0) {
    const cipher = ctx.crypto.receiveKey(ctx.sessions.service[r]!, kid);
    if (cipher === undefined) return false;
    const cx = ctx.crypto;
    cx.off[0] = pi.payload;
    cx.len[0] = pi.end - pi.payload;
    if (cipher.decryptBatch(d, cx.off, cx.len, 1, cx.status) !== 1) return false;
    pi.end = pi.payload + cx.len[0]!;
  }
  b.len[s] = pi.end - pi.l3;
  return true;
}
