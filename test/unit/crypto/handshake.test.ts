/** The path key exchange (src/crypto/handshake.ts): Noise IKpsk2 messages, refusals, cookies, forward secrecy. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CONFIRM_LENGTH, INITIATION_LENGTH, RESPONSE_LENGTH, checkConfirm, checkMac1, checkMac2, consumeCookieReply, consumeInitiation, consumeResponse,
  cookieFor, createConfirm, createCookieReply, createInitiation, createResponse, dataPathKeys, identity, peerKey, receiverIndex,
  type AcceptedInitiation, type Identity, type PeerKey, type SessionKeys,
} from '../../../src/crypto/handshake.js';
import { dh, generateKeyPair, hash, kdf, tai64n, compareBytes } from '../../../src/crypto/noise.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const psk = new Uint8Array(32).fill(7);
const r1 = identity(generateKeyPair());
const r2 = identity(generateKeyPair());
const asPeer = (id: Identity, key = psk): PeerKey => peerKey(id.keys.publicKey, key);
const knows = (...ids: Identity[]) => (pub: Uint8Array) => {
  const id = ids.find((i) => hex(i.keys.publicKey) === hex(pub));
  return id === undefined ? undefined : asPeer(id);
};

/** One whole exchange r1 -> r2; returns both sides' keys and the messages. */
function exchange(now = 1_700_000_000_000) {
  const { message: m1, state } = createInitiation(r1, asPeer(r2), 0x11223301, now);
  assert.ok(checkMac1(r2, m1));
  const accepted = consumeInitiation(r2, m1, knows(r1)) as AcceptedInitiation;
  assert.type(accepted, 'object');
  const { message: m2, keys: rKeys } = createResponse(accepted, 0x44556602);
  assert.ok(checkMac1(r1, m2));
  const iKeys = consumeResponse(r1, state, m2) as SessionKeys;
  assert.type(iKeys, 'object');
  const m4 = createConfirm(iKeys);
  return { m1, m2, m4, iKeys, rKeys, accepted, state };
}

test('one round trip: both routers derive the same keys per direction, distinct directions; the confirmation checks', () => {
  const { m1, m2, m4, iKeys, rKeys, accepted } = exchange();
  assert.is(m1.length, INITIATION_LENGTH);
  assert.is(m2.length, RESPONSE_LENGTH);
  assert.is(m4.length, CONFIRM_LENGTH);
  assert.is(hex(iKeys.send), hex(rKeys.receive));
  assert.is(hex(iKeys.receive), hex(rKeys.send));
  assert.is.not(hex(iKeys.send), hex(iKeys.receive), 'a key per direction');
  assert.equal([iKeys.localIndex, iKeys.remoteIndex, rKeys.localIndex, rKeys.remoteIndex], [0x11223301, 0x44556602, 0x44556602, 0x11223301]);
  assert.is(receiverIndex(m2), 0x11223301);
  assert.is(receiverIndex(m4), 0x44556602);
  assert.ok(checkConfirm(rKeys, m4));
  assert.is(hex(accepted.peer.publicKey), hex(r1.keys.publicKey), 'the responder learned who initiated');
  assert.is(hex(accepted.timestamp), hex(tai64n(1_700_000_000_000)));
  const a = dataPathKeys(iKeys.send, 16);
  const b = dataPathKeys(rKeys.receive, 16);
  assert.equal([hex(a.hmacKey), hex(a.metaKey!)], [hex(b.hmacKey), hex(b.metaKey!)]);
  assert.is(a.metaKey!.length, 16);
  assert.is.not(hex(a.hmacKey), hex(dataPathKeys(iKeys.receive, 16).hmacKey));
});

test('refusals: any flipped byte, an unknown static key, the wrong responder, another PSK, a forged confirmation', () => {
  const { message: m1, state } = createInitiation(r1, asPeer(r2), 1, Date.now());
  for (let i = 4; i < INITIATION_LENGTH - 32; i += 7) {
    const bad = m1.slice();
    bad[i]! ^= 1;
    assert.not.ok(checkMac1(r2, bad), `byte ${i}: mac1 catches it before any DH`);
  }
  // an attacker who knows r2's public key can compute mac1, but not the AEADs
  const forged = m1.slice();
  forged[60]! ^= 1;
  assert.is(consumeInitiation(r2, forged, knows(r1)), 'bad-auth');
  assert.is(consumeInitiation(r2, m1, knows()), 'unknown-key', 'r1 is not a peer of r2 here');
  const r3 = identity(generateKeyPair());
  assert.not.ok(checkMac1(r3, m1), 'not addressed to r3');
  assert.is(consumeInitiation(r3, m1, knows(r1)), 'bad-auth');
  assert.is(consumeInitiation(r2, m1.subarray(0, 100), knows(r1)), 'malformed');
  // the responder uses another PSK: the initiator refuses the response
  const accepted = consumeInitiation(r2, m1, (pub) => (hex(pub) === hex(r1.keys.publicKey) ? peerKey(pub, new Uint8Array(32)) : undefined)) as AcceptedInitiation;
  const { message: m2 } = createResponse(accepted, 2);
  assert.is(consumeResponse(r1, state, m2), 'bad-auth');
  const { rKeys, m4 } = exchange();
  const wrong = m4.slice();
  wrong[10]! ^= 1;
  assert.not.ok(checkConfirm(rKeys, wrong));
});

test('cookies: a reply carries the cookie to the initiator only; its next initiation has a valid mac2', () => {
  const secret = new Uint8Array(32).fill(3);
  const source = new TextEncoder().encode('wan0->r1/wan0');
  const { message: m1, state } = createInitiation(r1, asPeer(r2), 9, Date.now());
  const cookie = cookieFor(secret, source);
  assert.not.ok(checkMac2(cookie, m1), 'no cookie yet');
  const reply = createCookieReply(r2, m1, cookie);
  assert.is(hex(consumeCookieReply(state, reply)!), hex(cookie));
  const other = createInitiation(r1, asPeer(r2), 10, Date.now());
  assert.is(consumeCookieReply(other.state, reply), undefined, 'bound to that initiation');
  const { message: again } = createInitiation(r1, asPeer(r2), 9, Date.now(), cookie);
  assert.ok(checkMac1(r2, again) && checkMac2(cookie, again));
});

test('forward secrecy at the key schedule: both static keys, the PSK and the transcript do not give the traffic keys', () => {
  const { m1, m2, iKeys, state } = exchange();
  // the attacker replays the responder's computation with r2's private key up to where an ephemeral
  // private key is needed, then tries every DH it can compute in place of DH(e_r, e_i)
  const accepted = consumeInitiation(r2, m1, knows(r1)) as AcceptedInitiation;
  const eR = m2.slice(12, 44);
  const eI = m1.slice(8, 40);
  const derive = (ee: Uint8Array) => {
    let [c] = kdf(accepted.chainingKey, eR, 1) as [Uint8Array];
    [c] = kdf(c, ee, 1) as [Uint8Array];
    [c] = kdf(c, dh(r1.keys, eR), 1) as [Uint8Array]; // DH(e_r, s_i) = DH(s_i, e_r): computable with r1's private key
    const [c2] = kdf(c, psk, 3) as [Uint8Array];
    return kdf(c2, new Uint8Array(0), 2) as [Uint8Array, Uint8Array];
  };
  const candidates = [dh(r1.keys, eR), dh(r2.keys, eI), dh(r1.keys, r2.keys.publicKey), new Uint8Array(32), hash(eR, eI)];
  for (const guess of candidates) {
    const [i2r, r2i] = derive(guess);
    assert.ok(hex(i2r) !== hex(iKeys.send) && hex(r2i) !== hex(iKeys.receive), 'traffic keys not derivable');
  }
  // the same computation with an ephemeral private key (erased after the handshake) gives them: the
  // ephemeral DH is what an attacker lacks
  const [i2r] = derive(dh(state.ephemeral, eR));
  assert.is(hex(i2r), hex(iKeys.send));
  // and a rekey gives keys unrelated to the previous ones (fresh ephemeral keys on both sides)
  const second = exchange();
  for (const k of [second.iKeys.send, second.iKeys.receive]) {
    for (const old of [iKeys.send, iKeys.receive]) assert.is.not(hex(k), hex(old));
  }
});

test('TAI64N timestamps order as bytes', () => {
  assert.ok(compareBytes(tai64n(1000), tai64n(1001)) < 0);
  assert.ok(compareBytes(tai64n(2500), tai64n(1999)) > 0);
  assert.is(compareBytes(tai64n(5), tai64n(5)), 0);
});

test.run();
