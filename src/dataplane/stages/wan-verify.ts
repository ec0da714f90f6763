/**
 * wan-verify: admit a packet from a peer router only if it is SVR traffic for us and intact.
 * 1. must be TCP or UDP to this interface's waypoint -> else drop 'not-for-waypoint';
 * 2. the source waypoint must be a peer path of this interface -> else drop 'unknown-peer'. A peer behind
 *    NAT (`outbound-only`, docs/wan.md) is found by the address control learned for it, else by trying its
 *    paths' keys: only a packet that authenticates with one of them is taken (a forged or unsigned packet
 *    from a new address is dropped 'unknown-peer' and changes nothing);
 * 3. UDP to 1280 from 1280 (from any port when the peer is behind NAT, which translates it) is the path
 *    control channel (BFD, link tests, STEP), and so is TCP to 1283 from 1283 (the firewall detector's
 *    probes, paths/firewall-detector.ts: whatever their flags, only their signed payload counts): after the HMAC check its payload is copied into a
 *    `path.message` event for control (with the source address and port for a NAT peer) and consumed; a
 *    well-formed link-test request from a peer at its configured address is answered by the data path
 *    instead (link-echo.ts: no event), and counted in both consumed-path-messages and link-test-echoes-answered;
 *    a steady BFD packet or a link-test reply control armed the data path for is kept in typed arrays that
 *    control reads at its ticks (control-fast-path.ts: no event), counted in consumed-path-messages and steady-path-messages;
 *    On an `outbound-only` path a UDP packet to 1280 whose payload starts with the SVR cookie is instead a
 *    session packet the peer sent on our control binding (docs/wan.md "Sessions toward a router behind
 *    NAT"): marked PF_NAT_RELAYED and checked like any metadata packet (its session is found by id);
 *    The one exception: on a path whose keys come from the key exchange, a payload of exactly a handshake
 *    message's shape travels unsigned (it authenticates itself; mac1 is checked before any work in
 *    control), at most HANDSHAKE_RATE a second per path -> else drop 'handshake-rate'; from a new source
 *    it goes to every such path to a peer behind NAT of the interface (a NAT peer's address is learned from
 *    signed packets, or from a handshake message once the key exchange proved it the peer's);
 * 4. cookie first, then the trailer (fact sheet §4.1, docs/security.md): metadata packets are signed
 *    unless the path's policy is `disabled`; every packet is signed in `regular`/`time-based` mode. The
 *    key by the replay block's key id -> drop 'unknown-key'; the HMAC (the frame's tags checked together
 *    first, one native call per key: batch-tags.ts) -> drop 'bad-hmac'; the counter
 *    against the sender's replay window (RFC 6479) -> drop 'replay' ('replay-seen' / 'replay-too-old').
 *    The trailer is stripped (incremental checksum, so end-to-end corruption stays detectable); the packet
 *    is marked PF_AUTH (only such packets change session state; a `disabled` path is trusted, so all of
 *    its packets are); verified data packets are counted per path (ctx.pathRx: BFD liveness under load);
 * 5. encrypted metadata (the path's policy encrypts) is decrypted with the verified key -> drop
 *    'metadata-decrypt'; on a path that does not encrypt, a payload-TLV region that does not walk behind a
 *    security id (SSR's encrypted metadata, fact sheet §4.2) -> drop 'metadata-encrypted' (no key);
 * 6. metadata is scanned with strict bounds -> drop 'bad-metadata' (+ the reason).
 */
import { badMetadataCounter } from '../counter-names.js';
import { META_ERROR_NAMES, MetaError, hasCookie, scanMetadata } from '../../packet/svr-metadata.js';
import { PROTO_TCP, PROTO_UDP } from '../../packet/ip.js';
import { setIpLength } from '../../packet/rewrite.js';
import type { BatchCipher } from '../../crypto/native-crypto.js';
import { NO_PATH, type ForwardingTables } from '../../model/tables.js';
import { PF_FALSE_POSITIVE, PF_HAS_META, PF_AUTH, PF_NAT_RELAYED, type Batch, type Frame } from '../batch.js';
import type { DataplaneContext } from '../context.js';
import { adjustChecksumForTail } from '../packet-ops.js';
import { openMetadata } from '../metadata-crypto.js';
import { VERIFY_BAD_TAG, VERIFY_OK, VERIFY_REPLAY, VERIFY_UNKNOWN_KEY, trailerLength, verifyPacket } from '../sign.js';
import { isHandshakeMessage } from '../../crypto/handshake.js';
import { timeSlot } from '../../crypto/hmac.js';
import { REPLAY_BLOCK_LENGTH, replayKeyId } from '../../packet/svr-trailer.js';
import { TagBatch } from '../batch-tags.js';
import { SOURCE_UNKNOWN, SourcePaths } from '../source-paths.js';
import { MAX_BATCH } from '../batch.js';
import { readU32 } from '../../packet/checksum.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';

/** UDP port of the path control channel between waypoints (BFD in SSR uses 1280). */
export const CONTROL_PORT = 1280;
/** TCP port of the firewall detector's probes between waypoints (SSR probes on 1280 and 1283/TCP). */
export const PROBE_PORT = 1283;
const N_LOOKUP = 0, N_DROP = 1, N_CONSUMED = 1;
/** Unsigned handshake messages handed to control per path: a token bucket (per second, burst). A
 *  handshake needs 2-3 messages a rekey; the rest of a flood is dropped here, before any copy. */
export const HANDSHAKE_RATE = 500;
const HANDSHAKE_BURST = 100;

export class WanVerifyStage implements Stage {
  readonly name = 'wan-verify';
  readonly nexts = ['session-lookup', 'drop'] as const;
  private cNotOurs = 0;
  private cControl = 0;
  private cEchoes = 0;
  private cSteady = 0;
  private cMetaDecrypt = 0;
  private cMetaEncrypted = 0;
  private cPeer = 0;
  private cHmac = 0;
  private cUnknownKey = 0;
  private cReplay = 0;
  private cReplaySeen = 0;
  private cReplayOld = 0;
  private cMeta = 0;
  private cMetaReason: number[] = [];
  private cHandshakeIn = 0;
  private cHandshakeRate = 0;
  /** per path: handshake tokens left and when they were last refilled */
  private tokens = new Float64Array(0);
  private tokensAt = new Float64Array(0);
  /** the frame's tags, checked together (batch-tags.ts) */
  private readonly tags = new TagBatch();
  /** the path of the last source looked up, kept across frames while the tables stay: a frame is mostly one
   *  peer's, and so are the next ones (see pathFrom) */
  private memoTables: ForwardingTables | null = null;
  private memoIf = -1;
  private memoFamily = 0;
  private memoPath = NO_PATH;
  private readonly memoSrc = new Uint32Array(4);
  /** IPv4 source -> path past the memo (source-paths.ts: a hub's frames mix many peers) */
  private readonly sources = new SourcePaths();
  /** per batch slot: the path checkTags found (run takes it instead of a second lookup) */
  private readonly slotPath = new Int32Array(MAX_BATCH);

  constructor(private readonly ctx: DataplaneContext) {}

  init(i: StageInit): void {
    this.cNotOurs = i.counter('drop-not-for-waypoint');
    this.cControl = i.counter('consumed-path-messages');
    this.cEchoes = i.counter('link-test-echoes-answered');
    this.cSteady = i.counter('steady-path-messages');
    this.cMetaDecrypt = i.counter('drop-metadata-decrypt');
    this.cMetaEncrypted = i.counter('drop-metadata-encrypted');
    this.cPeer = i.counter('drop-unknown-peer');
    this.cHmac = i.counter('drop-bad-hmac');
    this.cUnknownKey = i.counter('drop-unknown-key');
    this.cReplay = i.counter('drop-replay');
    this.cReplaySeen = i.counter('replay-seen');
    this.cReplayOld = i.counter('replay-too-old');
    this.cMeta = i.counter('drop-bad-metadata');
    this.cMetaReason = META_ERROR_NAMES.map((_, k) => { const name = badMetadataCounter(k); return name === undefined ? -1 : i.counter(name); });
    this.cHandshakeIn = i.counter('handshake-messages-received');
    this.cHandshakeRate = i.counter('drop-handshake-rate');
  }

  /** Takes a handshake token of path p (refilled at HANDSHAKE_RATE a second up to HANDSHAKE_BURST). */
  private takeHandshakeToken(p: number, now: number): boolean {
    if (p >= this.tokens.length) {
      const n = Math.max(p + 1, this.tokens.length * 2);
      const t = new Float64Array(n).fill(HANDSHAKE_BURST);
      t.set(this.tokens);
      const a = new Float64Array(n).fill(now);
      a.set(this.tokensAt);
      this.tokens = t;
      this.tokensAt = a;
    }
    const left = Math.min(HANDSHAKE_BURST, this.tokens[p]! + ((now - this.tokensAt[p]!) * HANDSHAKE_RATE) / 1000);
    this.tokensAt[p] = now;
    if (left < 1) {
      this.tokens[p] = left;
      return false;
    }
    this.tokens[p] = left - 1;
    return true;
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    const c = rt.counters;
    const t = this.ctx.tables;
    const d = b.data;
    const wp = this.ctx.ifWaypointWords;
    const tags = this.ctx.crypto.batchTags ? this.tags : undefined;
    if (t !== this.memoTables) { // the tables were replaced since the last frame: their paths may differ
      this.memoIf = -1;
      this.memoTables = t;
      this.sources.clear();
    }
    if (tags !== undefined) this.checkTags(b, f, rt.now, tags);
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      rt.next[s] = N_DROP;
      const pi = b.info[s]!;
      const ifx = b.ifIndex[s]!;
      const iface = t.interfaces[ifx]!;
      if ((pi.protocol !== PROTO_TCP && pi.protocol !== PROTO_UDP) || iface.waypointFamily !== pi.family || !sameAddress(d, pi.dstOff, wp, ifx * 4, pi.family)) {
        c.add(this.cNotOurs);
        continue;
      }
      let path = tags !== undefined ? this.slotPath[s]! : this.pathFrom(ifx, d, pi.srcOff, pi.family);
      let verdict = -1; // not verified yet
      if (path === NO_PATH && this.ctx.natPaths[ifx]!.length > 0) {
        path = this.natPeerPath(ifx, d, pi.srcOff, pi.family);
        if (path === NO_PATH && this.handshakeFromNewSource(b, s, ifx, rt)) continue;
        if (path === NO_PATH) {
          path = this.authenticatedNatPath(ifx, d, pi.payload, pi.end, rt.now);
          verdict = VERIFY_OK;
        }
      }
      if (path === NO_PATH) {
        c.add(this.cPeer);
        continue;
      }
      b.path[s] = path;
      const cp = t.paths[path]!;
      // a firewall-detector probe (TCP PROBE_PORT both ends) is a control message too: signed, handed to control
      let control = pi.protocol === PROTO_UDP ? pi.dstPort === CONTROL_PORT && (pi.srcPort === CONTROL_PORT || cp.peerBehindNat)
        : pi.dstPort === PROBE_PORT && (pi.srcPort === PROBE_PORT || cp.peerBehindNat);
      if (control && cp.outboundOnly && pi.protocol === PROTO_UDP && hasCookie(d, pi.payload, pi.end - pi.payload)) {
        control = false; // a session packet of the peer's riding our control binding (we are behind NAT)
        b.flags[s] |= PF_NAT_RELAYED;
      }
      const meta = !control && hasCookie(d, pi.payload, pi.end - pi.payload);
      const h = cp.hmac;
      if (control && cp.keyExchange === 'handshake' && isHandshakeMessage(d, pi.payload, pi.end - pi.payload)) {
        if (!this.takeHandshakeToken(path, rt.now)) {
          c.add(this.cHandshakeRate);
          continue;
        }
        c.add(this.cHandshakeIn);
        this.pushHandshake(b, s, path, cp.peerBehindNat, rt.now);
        rt.next[s] = N_CONSUMED;
        continue;
      }
      const signed = h.mode !== 'disabled' && (meta || control || h.mode === 'regular' || h.mode === 'time-based');
      let cipher: BatchCipher | null = null;
      if (h.mode === 'disabled') b.flags[s] |= PF_AUTH;
      if (signed) {
        if (verdict < 0) verdict = verifyPacket(this.ctx, d, pi.payload, pi.end, path, rt.now, tags, s);
        if (verdict !== VERIFY_OK) {
          if (verdict === VERIFY_BAD_TAG) c.add(this.cHmac);
          else if (verdict === VERIFY_UNKNOWN_KEY) c.add(this.cUnknownKey);
          else {
            c.add(this.cReplay);
            c.add(verdict === VERIFY_REPLAY ? this.cReplaySeen : this.cReplayOld);
          }
          continue;
        }
        const tail = trailerLength(h);
        const at = pi.end - tail;
        adjustChecksumForTail(d, pi, at, tail, false);
        setIpLength(d, pi, at);
        b.len[s] = pi.end - pi.l3;
        b.flags[s] |= PF_AUTH;
        cipher = this.ctx.crypto.matched!.meta;
        if (!control) this.ctx.pathRx[path]!++; // authenticated data: path liveness for BFD
      }
      if (control && pi.protocol === PROTO_UDP && !cp.peerBehindNat && this.ctx.linkEchoes.take(path, d, pi.payload, pi.end)) {
        c.add(this.cControl);
        c.add(this.cEchoes); // a link-test request: answered after the batch (link-echo.ts), control sees nothing
        rt.next[s] = N_CONSUMED;
        continue;
      }
      const fast = this.ctx.controlFast;
      if (control && fast !== null && pi.protocol === PROTO_UDP && !cp.peerBehindNat && fast.take(t.generation, path, d, pi.payload, pi.end)) {
        c.add(this.cControl);
        c.add(this.cSteady); // steady BFD or a link-test reply: in typed arrays control reads at its ticks
        rt.next[s] = N_CONSUMED;
        continue;
      }
      if (control) {
        // control-plane rate (a few packets per second per path): one copy per message is fine
        const payload = d.slice(pi.payload, pi.end);
        this.ctx.events.push(cp.peerBehindNat
          ? { kind: 'path.message', path, payload, atMs: rt.now, from: { address: d.slice(pi.srcOff, pi.srcOff + (pi.family === 6 ? 16 : 4)), port: pi.srcPort } }
          : { kind: 'path.message', path, payload, atMs: rt.now });
        c.add(this.cControl);
        rt.next[s] = N_CONSUMED;
        continue;
      }
      if (meta && cipher !== null && !openMetadata(this.ctx, b, s, pi, cipher)) {
        c.add(this.cMetaDecrypt); // metadata that does not decrypt with this path's key
        continue;
      }
      if (meta) {
        const v = b.meta[s]!;
        const err = scanMetadata(d, pi.payload, pi.end - pi.payload, v);
        if (err === MetaError.Encrypted) {
          c.add(this.cMetaEncrypted); // SSR-style encrypted metadata on a path we hold no metadata key for
          continue;
        }
        if (err !== MetaError.None) {
          c.add(this.cMeta);
          c.add(this.cMetaReason[err]!);
          continue;
        }
        b.flags[s] |= v.falsePositive ? PF_FALSE_POSITIVE : PF_HAS_META;
      }
      rt.next[s] = N_LOOKUP;
    }
  }

  /**
   * tables.pathFrom, remembered for the last source (across frames, until the tables change): the packets of a
   * frame mostly come from one peer, and each is looked up twice (checkTags, then run). The trie walk (32 or 128 steps) was 1.9 % of the
   * in-process profile of r1 -> r2 in 64-packet TCP frames; a hit is one to four word compares. Past the memo an IPv4
   * source is looked up in `sources` (a hub's frames mix peers: source-paths.ts), then in the trie.
   */
  private pathFrom(ifx: number, d: Uint8Array, off: number, family: 4 | 6): number {
    const m = this.memoSrc;
    const w0 = readU32(d, off);
    if (ifx === this.memoIf && family === this.memoFamily && w0 === m[0]
      && (family === 4 || (readU32(d, off + 4) === m[1] && readU32(d, off + 8) === m[2] && readU32(d, off + 12) === m[3]))) return this.memoPath;
    let path = family === 4 && this.sources.on ? this.sources.get(ifx, w0) : SOURCE_UNKNOWN;
    if (path === SOURCE_UNKNOWN) {
      path = this.ctx.tables.pathFrom(ifx, d, off, family);
      if (family === 4 && this.sources.on && path !== NO_PATH) this.sources.put(ifx, w0, path);
    }
    this.memoIf = ifx;
    this.memoFamily = family;
    m[0] = w0;
    if (family === 6) {
      m[1] = readU32(d, off + 4);
      m[2] = readU32(d, off + 8);
      m[3] = readU32(d, off + 12);
    }
    this.memoPath = path;
    return path;
  }

  /**
   * The tags of the frame's packets from known peer paths that carry a trailer, checked together (one
   * verifyBatch per key: batch-tags.ts) before the per-packet pass, which takes each verdict from there
   * (verifyPacket) in packet order, so the replay windows move as before. A guess that costs nothing when
   * wrong: a packet the pass does not verify (control, handshake, unsigned) just has its verdict unused.
   */
  private checkTags(b: Batch, f: Frame, now: number, tags: TagBatch): void {
    const ctx = this.ctx;
    const t = ctx.tables;
    const d = b.data;
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      tags.forget(s);
      const pi = b.info[s]!;
      if (pi.protocol !== PROTO_TCP && pi.protocol !== PROTO_UDP) continue;
      const path = this.pathFrom(b.ifIndex[s]!, d, pi.srcOff, pi.family);
      this.slotPath[s] = path;
      if (path === NO_PATH) continue;
      const h = t.paths[path]!.hmac;
      const at = pi.end - h.tagLength - REPLAY_BLOCK_LENGTH;
      if (h.mode === 'disabled' || at < pi.payload) continue;
      const key = ctx.crypto.keys.rx(path, replayKeyId(d, at), now);
      if (key !== null) tags.add(s, key.hmac, timeSlot(h.mode === 'time-based', ctx.wallMs), pi.payload, pi.end - pi.payload);
    }
    tags.verify(d);
  }

  /** Hands slot s's handshake message to control for `path` (with where it came from, for a peer behind NAT). */
  private pushHandshake(b: Batch, s: number, path: number, natPeer: boolean, now: number): void {
    const pi = b.info[s]!;
    const d = b.data;
    const payload = d.slice(pi.payload, pi.end);
    this.ctx.events.push(natPeer
      ? { kind: 'path.message', path, payload, atMs: now, from: { address: d.slice(pi.srcOff, pi.srcOff + (pi.family === 6 ? 16 : 4)), port: pi.srcPort } }
      : { kind: 'path.message', path, payload, atMs: now });
  }

  /**
   * A handshake message (UDP to CONTROL_PORT) from an address no path knows: before a `key-exchange:
   * handshake` path to a peer behind NAT has keys nothing of the peer's verifies, so its handshake is handed
   * to control for each such path of the interface (token bucket per path), with its source; the key
   * exchange checks it and only a message that proves to be the peer's is learned from (nat-traversal.ts).
   * True when the packet was such a message (consumed, or dropped 'handshake-rate').
   */
  private handshakeFromNewSource(b: Batch, s: number, ifx: number, rt: StageRuntime): boolean {
    const pi = b.info[s]!;
    if (pi.protocol !== PROTO_UDP || pi.dstPort !== CONTROL_PORT || !isHandshakeMessage(b.data, pi.payload, pi.end - pi.payload)) return false;
    let candidates = 0;
    for (const p of this.ctx.natPaths[ifx]!) {
      if (this.ctx.tables.paths[p]!.keyExchange !== 'handshake' || this.ctx.tables.paths[p]!.family !== pi.family) continue;
      candidates++;
      if (!this.takeHandshakeToken(p, rt.now)) {
        rt.counters.add(this.cHandshakeRate);
        continue;
      }
      rt.counters.add(this.cHandshakeIn);
      this.pushHandshake(b, s, p, true, rt.now);
    }
    rt.next[s] = N_CONSUMED;
    return candidates > 0;
  }

  /** A path of interface ifx to a peer behind NAT whose learned address is the packet's source, or NO_PATH. */
  private natPeerPath(ifx: number, d: Uint8Array, srcOff: number, family: 4 | 6 | 0): number {
    const ctx = this.ctx;
    for (const p of ctx.natPaths[ifx]!) {
      if (ctx.tables.paths[p]!.family === family && sameAddress(d, srcOff, ctx.pathRemoteWords, p * 4, family)) return p;
    }
    return NO_PATH;
  }

  /**
   * A packet from an address no path knows yet: the first NAT-peer path of this interface whose key
   * authenticates it (HMAC and replay window), or NO_PATH. Runs only for such packets (a NAT rebinding:
   * a few until control learns the new address); its result counts as the packet's verification.
   */
  private authenticatedNatPath(ifx: number, d: Uint8Array, payload: number, end: number, now: number): number {
    for (const p of this.ctx.natPaths[ifx]!) {
      if (this.ctx.tables.paths[p]!.hmac.mode === 'disabled') continue; // nothing to prove who sent it
      if (verifyPacket(this.ctx, d, payload, end, p, now) === VERIFY_OK) return p;
    }
    return NO_PATH;
  }
}

/** Compares the address at d[off] with 4 words at w[wo]. */
function sameAddress(d: Uint8Array, off: number, w: Uint32Array, wo: number, family: 4 | 6 | 0): boolean {
  const words = family === 6 ? 4 : 1;
  for (let i = 0; i < words; i++) {
    const o = off + 4 * i;
    const v = ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
    if (v !== w[wo + i]) return false;
  }
  return true;
}
