/**
 * The trailer of a signed packet between routers (fact sheet §4.1; docs/security.md "Wire format"):
 *   | L4 payload | replay block: key id, sender, counter (10) | HMAC tag over everything before it |
 * send (signPacket): the path's tx key writes the block with its next counter, then the tag;
 * receive (verifyPacket): the key by key id, the tag, then the counter against the sender's replay
 * window (RFC 6479) — in that order, so a forged packet never moves a window.
 * Cost: one HMAC (~1 µs native) plus ~30 ns for the block and the window.
 * Time: keys by the data path's clock (`now`, never stepping); time-based slots by the batch's wall clock
 * (ctx.wallMs), which must agree with the peer's.
 */
import { timeSlot } from '../crypto/hmac.js';
import type { CompiledHmac } from '../model/tables.js';
import { REPLAY_BLOCK_LENGTH, replayCounterHi, replayCounterLo, replayKeyId, replaySender, writeReplayBlock } from '../packet/svr-trailer.js';
import type { DataplaneContext } from './context.js';
import type { TagBatch } from './batch-tags.js';
import type { TxKey } from './path-keys.js';
import { REPLAY_OK, REPLAY_SEEN } from './replay-window.js';

/** Bytes a signed packet grows by on path with HMAC settings h (0 when it is not signed). */
export function trailerLength(h: CompiledHmac): number {
  return h.mode === 'disabled' ? 0 : h.tagLength + REPLAY_BLOCK_LENGTH;
}

/**
 * Signs the L4 payload d[payload, end) of a packet on path p: appends the replay block and the tag (the
 * caller made trailerLength bytes of room). Returns the new end, or -1 when the path has no tx key.
 */
export function signPacket(ctx: DataplaneContext, d: Uint8Array, payload: number, end: number, p: number, now: number): number {
  const cx = ctx.crypto;
  const k = replayBlock(ctx, d, end, p, now);
  if (k === null) return -1;
  cx.off[0] = payload;
  cx.len[0] = end + REPLAY_BLOCK_LENGTH - payload;
  k.hmac.signBatch(d, cx.off, cx.len, 1, timeSlot(ctx.tables.paths[p]!.hmac.mode === 'time-based', ctx.wallMs));
  return payload + cx.len[0]!;
}

/**
 * signPacket with the tag left to `tags` (TagBatch.sign, once for the batch): writes the replay block now
 * (the packet's counter is taken in send order), queues slot s's region. Returns the end the packet has once
 * its tag is written, or -1 when the path has no tx key.
 */
export function signPacketLater(ctx: DataplaneContext, d: Uint8Array, payload: number, end: number, p: number, now: number, tags: TagBatch, s: number): number {
  const k = replayBlock(ctx, d, end, p, now);
  if (k === null) return -1;
  tags.add(s, k.hmac, timeSlot(ctx.tables.paths[p]!.hmac.mode === 'time-based', ctx.wallMs), payload, end + REPLAY_BLOCK_LENGTH - payload);
  return end + REPLAY_BLOCK_LENGTH + k.hmac.tagLength;
}

/** Writes path p's replay block at d[end] with its tx key's next counter; that key, or null when it has none. */
function replayBlock(ctx: DataplaneContext, d: Uint8Array, end: number, p: number, now: number): TxKey | null {
  const cx = ctx.crypto;
  const k = cx.keys.tx(p, now);
  if (k === null) return null;
  writeReplayBlock(d, end, k.keyId, cx.keys.sender, k.hi, k.lo);
  k.advance();
  return k;
}

export const VERIFY_OK = 0;
/** too short for the trailer, or the tag does not match */
export const VERIFY_BAD_TAG = 1;
/** no accepted key has the block's key id (never installed, or retired) */
export const VERIFY_UNKNOWN_KEY = 2;
/** authentic, but its counter was seen before */
export const VERIFY_REPLAY = 3;
/** authentic, but its counter is behind the replay window */
export const VERIFY_TOO_OLD = 4;

/**
 * Checks the trailer of the L4 payload d[payload, end) received on path p. VERIFY_OK: the trailer
 * (trailerLength bytes) may be stripped and `ctx.crypto.matched` is the key that matched. With `tags`, the
 * tag verdict slot s got from TagBatch.verify under the same key is used instead of checking it again.
 */
export function verifyPacket(ctx: DataplaneContext, d: Uint8Array, payload: number, end: number, p: number, now: number, tags?: TagBatch, s = 0): number {
  const h = ctx.tables.paths[p]!.hmac;
  const at = end - h.tagLength - REPLAY_BLOCK_LENGTH;
  if (at < payload) return VERIFY_BAD_TAG;
  const keys = ctx.crypto.keys;
  const k = keys.rx(p, replayKeyId(d, at), now);
  if (k === null) return VERIFY_UNKNOWN_KEY;
  const cx = ctx.crypto;
  cx.off[0] = payload;
  cx.len[0] = end - payload;
  // checked with the frame's others already (TagBatch.verify, wan-verify), else now
  const checked = tags === undefined ? -1 : tags.checked(s, k.hmac);
  if (checked === 0 || (checked < 0 && k.hmac.verifyBatch(d, cx.off, cx.len, 1, timeSlot(h.mode === 'time-based', ctx.wallMs), cx.status) !== 1)) return VERIFY_BAD_TAG;
  const r = keys.windows.check(keys.window(k, replaySender(d, at)), replayCounterHi(d, at), replayCounterLo(d, at));
  if (r !== REPLAY_OK) return r === REPLAY_SEEN ? VERIFY_REPLAY : VERIFY_TOO_OLD;
  if (!k.used) keys.used(p, k, now);
  cx.matched = k;
  return VERIFY_OK;
}
