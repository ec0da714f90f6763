/**
 * The path key exchange: codec and key schedule (docs/security.md "Key exchange"). Noise IKpsk2
 * (Noise spec §7.5, the pattern WireGuard uses) with X25519, ChaCha20-Poly1305 and SHA-256: the initiator
 * knows the responder's static key from the config; one round trip authenticates both routers by their
 * static keys, agrees keys from fresh ephemeral keys (forward secrecy) and mixes in an optional
 * pre-shared key. WireGuard's rules around it (§5.4): mac1 (keyed by the responder's public key) is
 * checked before any Diffie-Hellman, mac2 carries a cookie when the responder is under load, a TAI64N
 * timestamp makes an old initiation worthless, and a fourth message confirms the keys to the responder.
 *
 * Messages (first byte = type, on the path control channel next to BFD; all integers big-endian):
 *   initiation  0xc8  148 B: type, 3 zero, sender index u32, ephemeral 32, static 32+16, timestamp 12+16, mac1 16, mac2 16
 *   response    0xc9   92 B: type, 3 zero, sender index u32, receiver index u32, ephemeral 32, empty 0+16, mac1 16, mac2 16
 *   cookie      0xca   52 B: type, 3 zero, receiver index u32, nonce 12, cookie 16+16
 *   confirm     0xcb   24 B: type, 3 zero, receiver index u32, empty 0+16
 * An index names one handshake and, through its low byte, the receiver's key slot in the data path (key
 * id 1..255 in the replay block of every signed packet).
 *
 * Traffic keys (T_i2r, T_r2i) = HKDF(chaining key, ε); each direction's data-path keys derive from its
 * traffic key: HMAC key = HKDF(T, "svr path hmac"), metadata key = HKDF(T, "svr path metadata").
 * Control-plane rate: allocates freely.
 */
import { randomBytes } from 'node:crypto';
import {
  KEY_LENGTH, NONCE_LENGTH, TIMESTAMP_LENGTH, aeadOpen, aeadSeal, counterNonce, dh, equalBytes, generateKeyPair, hash, hmac, kdf, tai64n,
  type KeyPair,
} from './noise.js';

export const MSG_INITIATION = 0xc8;
export const MSG_RESPONSE = 0xc9;
export const MSG_COOKIE = 0xca;
export const MSG_CONFIRM = 0xcb;
export const INITIATION_LENGTH = 148;
export const RESPONSE_LENGTH = 92;
export const COOKIE_LENGTH = 52;
export const CONFIRM_LENGTH = 24;
const MAC_LENGTH = 16;

const CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_SHA256';
const IDENTIFIER = 'svrouter path keys v1';
const LABEL_MAC1 = 'mac1----';
const LABEL_COOKIE = 'cookie--';
const text = new TextEncoder();
const EMPTY = new Uint8Array(0);
const ZERO_NONCE = counterNonce(0);
const C_INIT = hash(text.encode(CONSTRUCTION));
const H_INIT = hash(C_INIT, text.encode(IDENTIFIER));

/** This router's long-term key and the keys derived from its public half. */
export interface Identity {
  readonly keys: KeyPair;
  readonly mac1Key: Uint8Array;
  readonly cookieKey: Uint8Array;
}

/** A peer router as the config knows it: its public key (and the keys derived from it) and the pre-shared key. */
export interface PeerKey {
  readonly publicKey: Uint8Array;
  readonly mac1Key: Uint8Array;
  readonly cookieKey: Uint8Array;
  /** 32 bytes; zeros when the config has none */
  readonly psk: Uint8Array;
}

export function identity(keys: KeyPair): Identity {
  return { keys, mac1Key: hash(text.encode(LABEL_MAC1), keys.publicKey), cookieKey: hash(text.encode(LABEL_COOKIE), keys.publicKey) };
}

export function peerKey(publicKey: Uint8Array, psk: Uint8Array = new Uint8Array(KEY_LENGTH)): PeerKey {
  return { publicKey, mac1Key: hash(text.encode(LABEL_MAC1), publicKey), cookieKey: hash(text.encode(LABEL_COOKIE), publicKey), psk };
}

/** Why a handshake message was refused (counted by the caller; no state is kept). */
export type Refusal = 'malformed' | 'bad-mac1' | 'bad-auth' | 'unknown-key';

/** The keys one completed handshake gives one side. */
export interface SessionKeys {
  readonly initiator: boolean;
  /** our index (our key slot: its low byte is the key id the peer puts in packets to us) */
  readonly localIndex: number;
  /** the peer's index (the key id we put in packets to it) */
  readonly remoteIndex: number;
  /** traffic key we send with, and the one we receive with */
  readonly send: Uint8Array;
  readonly receive: Uint8Array;
  /** proves the initiator holds the keys (message 4) */
  readonly confirmKey: Uint8Array;
  /** the handshake transcript hash (bound into the confirmation) */
  readonly transcript: Uint8Array;
}

/** The initiator's state between its initiation and the response. */
export interface InitiatorState {
  readonly peer: PeerKey;
  readonly localIndex: number;
  readonly ephemeral: KeyPair;
  readonly chainingKey: Uint8Array;
  readonly hash: Uint8Array;
  /** mac1 of the initiation (a cookie reply is bound to it) */
  readonly mac1: Uint8Array;
}

/** An initiation the responder authenticated. */
export interface AcceptedInitiation {
  readonly peer: PeerKey;
  readonly remoteIndex: number;
  readonly remoteEphemeral: Uint8Array;
  readonly timestamp: Uint8Array;
  readonly chainingKey: Uint8Array;
  readonly hash: Uint8Array;
}

function mac(key: Uint8Array, msg: Uint8Array, end: number): Uint8Array {
  return hmac(key, msg.subarray(0, end)).subarray(0, MAC_LENGTH);
}

export function messageType(msg: Uint8Array): number {
  return msg.length === 0 ? -1 : msg[0]!;
}

function u32(msg: Uint8Array, at: number): number {
  return ((msg[at]! << 24) | (msg[at + 1]! << 16) | (msg[at + 2]! << 8) | msg[at + 3]!) >>> 0;
}

function putU32(msg: Uint8Array, at: number, v: number): void {
  msg[at] = v >>> 24;
  msg[at + 1] = (v >>> 16) & 0xff;
  msg[at + 2] = (v >>> 8) & 0xff;
  msg[at + 3] = v & 0xff;
}

/** Length of each handshake message type (initiation, response, cookie reply, confirmation). */
const LENGTHS: Readonly<Record<number, number>> = {
  [MSG_INITIATION]: INITIATION_LENGTH, [MSG_RESPONSE]: RESPONSE_LENGTH, [MSG_COOKIE]: COOKIE_LENGTH, [MSG_CONFIRM]: CONFIRM_LENGTH,
};

/**
 * True when d[off, off + len) has the shape of a handshake message: its type, three zero bytes and that
 * type's exact length (what the data path lets through unsigned; the exchange then authenticates it).
 */
export function isHandshakeMessage(d: Uint8Array, off: number, len: number): boolean {
  return len >= 4 && LENGTHS[d[off]!] === len && d[off + 1] === 0 && d[off + 2] === 0 && d[off + 3] === 0;
}

/** The receiver index of a response, cookie reply or confirmation (which handshake it answers). */
export function receiverIndex(msg: Uint8Array): number {
  return u32(msg, messageType(msg) === MSG_RESPONSE ? 8 : 4);
}

function wellFormed(msg: Uint8Array, type: number, length: number): boolean {
  return msg.length === length && msg[0] === type && msg[1] === 0 && msg[2] === 0 && msg[3] === 0;
}

/** mac1 of an initiation or response, keyed by its receiver's public key: checked before any DH. */
export function checkMac1(receiver: Identity, msg: Uint8Array): boolean {
  const at = msg.length - 2 * MAC_LENGTH;
  return at > 0 && equalBytes(mac(receiver.mac1Key, msg, at), msg.subarray(at, at + MAC_LENGTH));
}

/** mac2 of an initiation or response: MAC(cookie, message up to mac2). */
export function checkMac2(cookie: Uint8Array, msg: Uint8Array): boolean {
  const at = msg.length - MAC_LENGTH;
  return at > 0 && equalBytes(mac(cookie, msg, at), msg.subarray(at));
}

function addMacs(msg: Uint8Array, receiverMac1Key: Uint8Array, cookie: Uint8Array | undefined): Uint8Array {
  const m1 = msg.length - 2 * MAC_LENGTH;
  const m1v = mac(receiverMac1Key, msg, m1);
  msg.set(m1v, m1);
  if (cookie !== undefined) msg.set(mac(cookie, msg, m1 + MAC_LENGTH), m1 + MAC_LENGTH);
  return m1v;
}

/** Message 1. `cookie`: the responder's last cookie when it is fresh (fills mac2). */
export function createInitiation(self: Identity, peer: PeerKey, localIndex: number, nowMs: number, cookie?: Uint8Array): { message: Uint8Array; state: InitiatorState } {
  const msg = new Uint8Array(INITIATION_LENGTH);
  msg[0] = MSG_INITIATION;
  putU32(msg, 4, localIndex);
  const e = generateKeyPair();
  let h = hash(H_INIT, peer.publicKey);
  let [c] = kdf(C_INIT, e.publicKey, 1) as [Uint8Array];
  msg.set(e.publicKey, 8);
  h = hash(h, e.publicKey);
  let k: Uint8Array;
  [c, k] = kdf(c, dh(e, peer.publicKey), 2) as [Uint8Array, Uint8Array];
  const encStatic = aeadSeal(k, ZERO_NONCE, self.keys.publicKey, h);
  msg.set(encStatic, 40);
  h = hash(h, encStatic);
  [c, k] = kdf(c, dh(self.keys, peer.publicKey), 2) as [Uint8Array, Uint8Array];
  const encTime = aeadSeal(k, ZERO_NONCE, tai64n(nowMs), h);
  msg.set(encTime, 88);
  h = hash(h, encTime);
  const mac1 = addMacs(msg, peer.mac1Key, cookie);
  return { message: msg, state: { peer, localIndex, ephemeral: e, chainingKey: c, hash: h, mac1 } };
}

/**
 * The responder's side of message 1 (after checkMac1 and the load check): decrypts the initiator's static
 * key, which must belong to a known peer (`findPeer`), and its timestamp. Keeps no state.
 */
export function consumeInitiation(self: Identity, msg: Uint8Array, findPeer: (publicKey: Uint8Array) => PeerKey | undefined): AcceptedInitiation | Refusal {
  if (!wellFormed(msg, MSG_INITIATION, INITIATION_LENGTH)) return 'malformed';
  const ephemeral = msg.slice(8, 40);
  let h = hash(H_INIT, self.keys.publicKey);
  let [c] = kdf(C_INIT, ephemeral, 1) as [Uint8Array];
  h = hash(h, ephemeral);
  let k: Uint8Array;
  let shared: Uint8Array;
  try {
    shared = dh(self.keys, ephemeral);
  } catch {
    return 'bad-auth'; // a low-order point
  }
  [c, k] = kdf(c, shared, 2) as [Uint8Array, Uint8Array];
  const encStatic = msg.subarray(40, 88);
  const staticKey = aeadOpen(k, ZERO_NONCE, encStatic, h);
  if (staticKey === undefined) return 'bad-auth';
  const peer = findPeer(staticKey);
  if (peer === undefined) return 'unknown-key';
  h = hash(h, encStatic);
  [c, k] = kdf(c, dh(self.keys, staticKey), 2) as [Uint8Array, Uint8Array];
  const encTime = msg.subarray(88, 116);
  const timestamp = aeadOpen(k, ZERO_NONCE, encTime, h);
  if (timestamp === undefined || timestamp.length !== TIMESTAMP_LENGTH) return 'bad-auth';
  h = hash(h, encTime);
  return { peer, remoteIndex: u32(msg, 4), remoteEphemeral: ephemeral, timestamp, chainingKey: c, hash: h };
}

function split(c: Uint8Array, h: Uint8Array, initiator: boolean, localIndex: number, remoteIndex: number): SessionKeys {
  const [i2r, r2i] = kdf(c, EMPTY, 2) as [Uint8Array, Uint8Array];
  const [confirmKey] = kdf(i2r, text.encode('svr path confirm'), 1) as [Uint8Array];
  return { initiator, localIndex, remoteIndex, send: initiator ? i2r : r2i, receive: initiator ? r2i : i2r, confirmKey, transcript: h };
}

/** Message 2, and the responder's keys (it sends with them only after the confirmation). */
export function createResponse(init: AcceptedInitiation, localIndex: number, cookie?: Uint8Array): { message: Uint8Array; keys: SessionKeys } {
  const msg = new Uint8Array(RESPONSE_LENGTH);
  msg[0] = MSG_RESPONSE;
  putU32(msg, 4, localIndex);
  putU32(msg, 8, init.remoteIndex);
  const e = generateKeyPair();
  let [c] = kdf(init.chainingKey, e.publicKey, 1) as [Uint8Array];
  msg.set(e.publicKey, 12);
  let h = hash(init.hash, e.publicKey);
  [c] = kdf(c, dh(e, init.remoteEphemeral), 1) as [Uint8Array];
  [c] = kdf(c, dh(e, init.peer.publicKey), 1) as [Uint8Array];
  const [c2, tau, k] = kdf(c, init.peer.psk, 3) as [Uint8Array, Uint8Array, Uint8Array];
  h = hash(h, tau);
  const empty = aeadSeal(k, ZERO_NONCE, EMPTY, h);
  msg.set(empty, 44);
  h = hash(h, empty);
  addMacs(msg, init.peer.mac1Key, cookie);
  return { message: msg, keys: split(c2, h, false, localIndex, init.remoteIndex) };
}

/** The initiator's side of message 2 (after checkMac1): the keys, or why not. */
export function consumeResponse(self: Identity, state: InitiatorState, msg: Uint8Array): SessionKeys | Refusal {
  if (!wellFormed(msg, MSG_RESPONSE, RESPONSE_LENGTH) || u32(msg, 8) !== state.localIndex) return 'malformed';
  const ephemeral = msg.slice(12, 44);
  let [c] = kdf(state.chainingKey, ephemeral, 1) as [Uint8Array];
  let h = hash(state.hash, ephemeral);
  try {
    [c] = kdf(c, dh(state.ephemeral, ephemeral), 1) as [Uint8Array];
    [c] = kdf(c, dh(self.keys, ephemeral), 1) as [Uint8Array];
  } catch {
    return 'bad-auth';
  }
  const [c2, tau, k] = kdf(c, state.peer.psk, 3) as [Uint8Array, Uint8Array, Uint8Array];
  h = hash(h, tau);
  const empty = msg.subarray(44, 60);
  if (aeadOpen(k, ZERO_NONCE, empty, h) === undefined) return 'bad-auth';
  h = hash(h, empty);
  return split(c2, h, true, state.localIndex, u32(msg, 4));
}

/** Message 4 (initiator -> responder): proves the initiator derived the same keys. */
export function createConfirm(keys: SessionKeys): Uint8Array {
  const msg = new Uint8Array(CONFIRM_LENGTH);
  msg[0] = MSG_CONFIRM;
  putU32(msg, 4, keys.remoteIndex);
  msg.set(aeadSeal(keys.confirmKey, ZERO_NONCE, EMPTY, keys.transcript), 8);
  return msg;
}

export function checkConfirm(keys: SessionKeys, msg: Uint8Array): boolean {
  return wellFormed(msg, MSG_CONFIRM, CONFIRM_LENGTH) && u32(msg, 4) === keys.localIndex
    && aeadOpen(keys.confirmKey, ZERO_NONCE, msg.subarray(8, 24), keys.transcript) !== undefined;
}

/** The cookie for a source: MAC(the responder's rotating secret, source id). */
export function cookieFor(secret: Uint8Array, source: Uint8Array): Uint8Array {
  return hmac(secret, source).subarray(0, MAC_LENGTH);
}

/** Cookie reply to an initiation (under load, mac2 missing or stale): the cookie sealed to the initiator. */
export function createCookieReply(self: Identity, initiation: Uint8Array, cookie: Uint8Array): Uint8Array {
  const msg = new Uint8Array(COOKIE_LENGTH);
  msg[0] = MSG_COOKIE;
  putU32(msg, 4, u32(initiation, 4));
  const nonce = randomBytes(NONCE_LENGTH);
  msg.set(nonce, 8);
  const mac1 = initiation.subarray(INITIATION_LENGTH - 2 * MAC_LENGTH, INITIATION_LENGTH - MAC_LENGTH);
  msg.set(aeadSeal(self.cookieKey, nonce, cookie, mac1), 20);
  return msg;
}

/** The cookie in a reply to our initiation, or undefined when it is not for it. */
export function consumeCookieReply(state: InitiatorState, msg: Uint8Array): Uint8Array | undefined {
  if (!wellFormed(msg, MSG_COOKIE, COOKIE_LENGTH) || u32(msg, 4) !== state.localIndex) return undefined;
  const cookie = aeadOpen(state.peer.cookieKey, msg.subarray(8, 20), msg.subarray(20, 52), state.mac1);
  return cookie?.length === MAC_LENGTH ? cookie : undefined;
}

/** The data-path keys of one direction from its traffic key: HMAC key and (metaLength > 0) metadata key. */
export function dataPathKeys(traffic: Uint8Array, metaLength: number): { hmacKey: Uint8Array; metaKey?: Uint8Array } {
  const [hmacKey] = kdf(traffic, text.encode('svr path hmac'), 1) as [Uint8Array];
  if (metaLength === 0) return { hmacKey };
  const [meta] = kdf(traffic, text.encode('svr path metadata'), 1) as [Uint8Array];
  return { hmacKey, metaKey: meta.slice(0, metaLength) };
}

