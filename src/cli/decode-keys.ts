/**
 * Keys for `svr decode --config`: every peer path of every router in an authority config, found by its
 * (sender waypoint, receiver waypoint), with the static keys the config derives (docs/security.md "Key
 * schedule"; keys agreed by a key exchange never leave the routers). With them a captured packet's
 * trailer (replay block + HMAC) is split off and checked, and encrypted metadata is decrypted.
 */
import { BatchCipher } from '../crypto/native-crypto.js';
import { timeSlot, verifyTrailer } from '../crypto/hmac.js';
import { CIPHER_KIND } from '../dataplane/path-keys.js';
import { compileRouter } from '../model/compile.js';
import type { SvrConfig } from '../model/config.js';
import type { CompiledPath } from '../model/tables.js';
import { formatAddress } from '../packet/addr.js';
import { readU16, writeU16 } from '../packet/checksum.js';
import { CONTROL_PORT } from '../dataplane/stages/wan-verify.js';
import { PROTO_UDP, type PacketInfo } from '../packet/ip.js';
import { hasCookie } from '../packet/svr-metadata.js';
import { REPLAY_BLOCK_LENGTH, replayCounterHi, replayCounterLo, replayKeyId, replaySender } from '../packet/svr-trailer.js';

export interface DecodedTrailer {
  /** key id of the replay block (the receiver's key slot) */
  keyId: number;
  /** the sending data-path thread */
  sender: number;
  /** u64 counter, in decimal */
  counter: string;
  /** the HMAC tag checks with the config's key (`unchecked`: time-based, and the capture has no time) */
  hmac: 'ok' | 'bad' | 'unchecked';
}

/** What the config says about a captured packet: its path, trailer and (for metadata) the plaintext. */
export interface OpenedPacket {
  /** `<router>: <path>` of the sender */
  path: string;
  /** end of the L4 payload without the trailer */
  end: number;
  trailer?: DecodedTrailer;
  /** metadata with its payload TLVs decrypted (header, plaintext TLVs, original payload), when it was encrypted */
  plainMetadata?: Uint8Array;
}

export class DecodeKeys {
  private readonly paths = new Map<string, { router: string; path: CompiledPath }>();
  private readonly ciphers = new Map<CompiledPath, BatchCipher>();

  /** Compiles every router of the authority (SvrError for a config that does not compile). */
  static fromConfig(config: SvrConfig): DecodeKeys {
    const k = new DecodeKeys();
    for (const r of config.authority.routers) {
      for (const p of compileRouter(config, r.name, 1).paths) {
        k.paths.set(`${formatAddress(p.localWaypoint, 0, p.family)}>${formatAddress(p.remoteWaypoint, 0, p.family)}`, { router: r.name, path: p });
      }
    }
    return k;
  }

  /** Splits and checks the trailer of a TCP/UDP packet between two waypoints of the config, decrypts its metadata. */
  open(ip: Uint8Array, pi: PacketInfo, timeMs: number): OpenedPacket | undefined {
    const fam = pi.family as 4 | 6;
    const found = this.paths.get(`${formatAddress(ip, pi.srcOff, fam)}>${formatAddress(ip, pi.dstOff, fam)}`);
    if (found === undefined) return undefined;
    const { path } = found;
    const h = path.hmac;
    const meta = hasCookie(ip, pi.payload, pi.end - pi.payload);
    const control = pi.protocol === PROTO_UDP && pi.srcPort === CONTROL_PORT && pi.dstPort === CONTROL_PORT;
    const out: OpenedPacket = { path: `${found.router}: ${path.name}`, end: pi.end };
    const signed = h.mode !== 'disabled' && (meta || control || h.mode !== 'metadata-only');
    const at = pi.end - h.tagLength - REPLAY_BLOCK_LENGTH;
    if (signed && at >= pi.payload) {
      const timed = h.mode === 'time-based';
      const hmac = timed && !Number.isFinite(timeMs) ? 'unchecked'
        : verifyTrailer(h.cipher, h.key, ip, pi.payload, pi.end, timeSlot(timed, timeMs)) ? 'ok' : 'bad';
      const counter = ((BigInt(replayCounterHi(ip, at)) << 32n) | BigInt(replayCounterLo(ip, at))).toString();
      out.trailer = { keyId: replayKeyId(ip, at), sender: replaySender(ip, at), counter, hmac };
      out.end = at;
    }
    if (meta && path.metadataCipher !== undefined) out.plainMetadata = this.decrypt(path, ip.subarray(pi.payload, out.end));
    return out;
  }

  /** The L4 payload `l4` with its payload TLVs decrypted, or undefined when they do not decrypt. */
  private decrypt(path: CompiledPath, l4: Uint8Array): Uint8Array | undefined {
    let cipher = this.ciphers.get(path);
    if (cipher === undefined) {
      cipher = BatchCipher.create(CIPHER_KIND[path.metadataCipher!.cipher], path.metadataCipher!.key);
      this.ciphers.set(path, cipher);
    }
    return decryptMetadata(cipher, l4);
  }

  close(): void {
    for (const c of this.ciphers.values()) c.destroy();
    this.ciphers.clear();
  }
}

/** A copy of the L4 payload `l4` (metadata first) with its payload TLVs decrypted by `cipher`, or undefined when they do not decrypt. */
export function decryptMetadata(cipher: BatchCipher, l4: Uint8Array): Uint8Array | undefined {
  const headerLength = readU16(l4, 8) & 0x0fff;
  const payloadLength = readU16(l4, 10);
  if (payloadLength === 0 || headerLength < 12 || headerLength + payloadLength > l4.length) return undefined;
  const buf = new Uint8Array(l4); // a copy (Buffer.slice would share: a failed decryption clears its buffer)
  const off = Uint32Array.of(headerLength);
  const len = Uint32Array.of(payloadLength);
  const status = new Uint8Array(1);
  if (cipher.decryptBatch(buf, off, len, 1, status) !== 1) return undefined;
  const plain = len[0]!;
  const out = new Uint8Array(l4.length - (payloadLength - plain));
  out.set(buf.subarray(0, headerLength + plain), 0);
  out.set(l4.subarray(headerLength + payloadLength), headerLength + plain);
  writeU16(out, 10, plain);
  return out;
}
