/**
 * HMAC trailer of SVR packets (fact sheet §4.1): appended after the original payload, covering the whole
 * L4 payload in front of it (metadata + payload, encrypt-then-MAC). Outer IP/L4 headers are not covered,
 * so a NAT between routers does not break it. Time-based mode also covers a 32-bit time slot
 * (TIME_SLOT_MS wide); the receiver accepts the current slot and its two neighbours, so a replay older
 * than about two slots fails.
 * Cost: ~3–4 µs per packet through node:crypto (one Hmac object per packet); batch crypto is issue 5.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { HmacCipher } from '../model/config.js';

export const TIME_SLOT_MS = 2000;

const slotBytes = new Uint8Array(4);

export function tagLength(cipher: HmacCipher): number {
  return cipher === 'sha256' ? 32 : cipher === 'sha1' ? 20 : 16;
}

function digest(cipher: HmacCipher, key: Uint8Array, buf: Uint8Array, start: number, end: number, slot: number): Buffer {
  const h = createHmac(cipher === 'sha1' ? 'sha1' : 'sha256', key);
  h.update(buf.subarray(start, end));
  if (slot >= 0) {
    slotBytes[0] = (slot >>> 24) & 0xff;
    slotBytes[1] = (slot >>> 16) & 0xff;
    slotBytes[2] = (slot >>> 8) & 0xff;
    slotBytes[3] = slot & 0xff;
    h.update(slotBytes);
  }
  return h.digest();
}

/** The time slot for `nowMs` (time-based mode), or -1 for untimed modes. */
export function timeSlot(timed: boolean, nowMs: number): number {
  return timed ? Math.floor(nowMs / TIME_SLOT_MS) >>> 0 : -1;
}

/** Writes the tag of buf[start, end) at buf[end, end + tagLen). The caller makes room. */
export function signInto(cipher: HmacCipher, key: Uint8Array, buf: Uint8Array, start: number, end: number, slot: number): number {
  const d = digest(cipher, key, buf, start, end, slot);
  const n = tagLength(cipher);
  for (let i = 0; i < n; i++) buf[end + i] = d[i]!;
  return n;
}

/** Checks the tag at buf[end - tagLen, end) over buf[start, end - tagLen). For time-based mode, `slot` is
 *  the receiver's current slot and the neighbours slot-1 and slot+1 are accepted too. */
export function verifyTrailer(cipher: HmacCipher, key: Uint8Array, buf: Uint8Array, start: number, end: number, slot: number): boolean {
  const n = tagLength(cipher);
  const dataEnd = end - n;
  if (dataEnd < start) return false;
  const tag = buf.subarray(dataEnd, end);
  if (slot < 0) return timingSafeEqual(digest(cipher, key, buf, start, dataEnd, -1).subarray(0, n), tag);
  return (
    timingSafeEqual(digest(cipher, key, buf, start, dataEnd, slot).subarray(0, n), tag) ||
    timingSafeEqual(digest(cipher, key, buf, start, dataEnd, (slot - 1) >>> 0).subarray(0, n), tag) ||
    timingSafeEqual(digest(cipher, key, buf, start, dataEnd, (slot + 1) >>> 0).subarray(0, n), tag)
  );
}
