/**
 * The replay block of a signed SVR packet (docs/security.md "Wire format"): 10 bytes between the L4
 * payload and the HMAC tag, covered by the HMAC (fact sheet §4.1 places the tag at the very end; SSR's
 * dissector shows everything after the metadata as payload, so first packets stay decodable).
 *
 *   | metadata? | payload | key id (u8) | sender (u8) | counter (u64, big-endian) | HMAC tag |
 *
 * key id: the receiver's key slot (1..255; TLV 16 carries the key's Security ID on metadata packets);
 * sender: the sending data-path thread; counter: strictly increasing per (path, key, sender), as two
 * u32 words (hi, lo) so the data path never needs BigInt.
 */
import { readU32, writeU32 } from './checksum.js';

export const REPLAY_BLOCK_LENGTH = 10;

/** Writes the replay block at d[at, at + 10). */
export function writeReplayBlock(d: Uint8Array, at: number, keyId: number, sender: number, hi: number, lo: number): void {
  d[at] = keyId;
  d[at + 1] = sender;
  writeU32(d, at + 2, hi);
  writeU32(d, at + 6, lo);
}

export function replayKeyId(d: Uint8Array, at: number): number {
  return d[at]!;
}

export function replaySender(d: Uint8Array, at: number): number {
  return d[at + 1]!;
}

export function replayCounterHi(d: Uint8Array, at: number): number {
  return readU32(d, at + 2);
}

export function replayCounterLo(d: Uint8Array, at: number): number {
  return readU32(d, at + 6);
}
