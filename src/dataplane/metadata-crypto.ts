/**
 * Metadata encryption per peer path (fact sheet §4.2): when the path's security policy encrypts, the
 * payload-TLV region is encrypted with the path's metadata key (per hop, unlike the end-to-end payload
 * key); the base header and header TLVs (security id, control) stay in clear, and payload_length counts
 * the ciphertext (IV included). The key is the path's tx key slot (path-keys.ts); the receiver decrypts
 * with the rx key whose HMAC verified the packet.
 */
import { fillL4Checksum, setIpLength } from '../packet/rewrite.js';
import { readU16, writeU16 } from '../packet/checksum.js';
import type { PacketInfo } from '../packet/ip.js';
import type { BatchCipher } from '../crypto/native-crypto.js';
import type { Batch } from './batch.js';
import type { DataplaneContext } from './context.js';
import { exhausted } from './path-crypto.js';

/**
 * Encrypts the payload TLVs of the metadata just written into ctx.writer (length n); returns the new
 * length, or -1 when the path's metadata key reached its AES-GCM nonce budget.
 */
export function sealMetadata(ctx: DataplaneContext, path: number, n: number, now: number): number {
  const k = ctx.crypto.keys.tx(path, now);
  const cipher = k?.meta ?? null;
  if (k === null || cipher === null) return n;
  const buf = ctx.writer.buf;
  const headerLength = readU16(buf, 8) & 0x0fff;
  if (n === headerLength) return n;
  const cx = ctx.crypto;
  if (exhausted(cipher, cx.limits)) return -1;
  cx.off[0] = headerLength;
  cx.len[0] = n - headerLength;
  cipher.encryptBatch(buf, cx.off, cx.len, 1);
  writeU16(buf, 10, cx.len[0]!);
  return headerLength + cx.len[0]!;
}

/**
 * Decrypts the payload TLVs of a received metadata packet in place with `cipher` (the metadata key of
 * the rx key that verified it), before they are scanned: the plaintext is shorter, so the headers move
 * right to close the gap. Returns false when it does not decrypt.
 */
export function openMetadata(ctx: DataplaneContext, b: Batch, s: number, pi: PacketInfo, cipher: BatchCipher): boolean {
  const d = b.data;
  const headerLength = readU16(d, pi.payload + 8) & 0x0fff;
  const payloadLength = readU16(d, pi.payload + 10);
  if (payloadLength === 0) return true; // the false-positive header: nothing encrypted
  if (headerLength < 12 || headerLength + payloadLength > pi.end - pi.payload) return false;
  const cx = ctx.crypto;
  cx.off[0] = pi.payload + headerLength;
  cx.len[0] = payloadLength;
  if (cipher.decryptBatch(d, cx.off, cx.len, 1, cx.status) !== 1) return false;
  const plain = cx.len[0]!;
  const gap = payloadLength - plain;
  const start = b.off[s]!;
  d.copyWithin(start + gap, start, pi.payload + headerLength + plain);
  b.off[s] = start + gap;
  b.len[s] = b.len[s]! - gap;
  pi.l3 += gap;
  pi.l4 += gap;
  pi.srcOff += gap;
  pi.dstOff += gap;
  pi.payload += gap;
  writeU16(d, pi.payload + 10, plain);
  setIpLength(d, pi, pi.end);
  fillL4Checksum(d, pi);
  return true;
}
