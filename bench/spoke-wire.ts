/**
 * The far end of one hub path, as a real spoke router plays it on the path control channel (UDP 1280,
 * docs/paths.md), without an XState actor per path: the hub benchmark (hub.ts) runs 2,000 of these in one
 * process (spokes.ts). Every byte comes from the project's own codecs (packet/bfd, paths/messages,
 * paths/path-mtu, step/codec, crypto/hmac, packet/svr-trailer), so the simulator cannot drift from them.
 *
 *   receive(datagram) -> HMAC trailer checked and stripped (docs/security.md "Wire format")
 *     -> BFD (RFC 5880 §6.8.6 rx rules, a Poll answered at once with Final) | link-test request answered |
 *        link-test reply counted | MTU probe answered | STEP: request answered with our document, complete
 *        documents acknowledged
 *   due(now) -> periodic BFD (every max(1 s, the hub's Required Min RX), 0-25 % earlier, §6.8.7), link tests
 *     (`length` requests `spacing` apart every `interval` while Up), the Detection Time watched (§6.8.4)
 *   every payload leaves signed: | payload | key id, sender 0, counter (10) | HMAC tag |
 *
 * What it leaves out (a spoke's own choices that do not change what the hub does): it never changes its
 * advertised intervals (so it never starts a Poll Sequence), measures nothing from its link tests, and
 * publishes a document that lists its paths without metrics (spokes.ts decides when; documents the hub
 * floods to it are acknowledged, as a spoke whose only peer is the hub floods them nowhere).
 */
import { BfdDiag, decodeBfdControl, encodeBfdControl, type BfdControlPacket, type BfdState } from '../src/packet/bfd.js';
import { signInto, timeSlot, verifyTrailer } from '../src/crypto/hmac.js';
import { REPLAY_BLOCK_LENGTH, writeReplayBlock } from '../src/packet/svr-trailer.js';
import { decodeLinkTest, encodeLinkTest, linkTestReply, pathMessageKind } from '../src/paths/messages.js';
import { mtuAnswer } from '../src/paths/path-mtu.js';
import { encodeAck, encodeDocument, parseMessage } from '../src/step/codec.js';
import { Reassembler } from '../src/step/reassembly.js';
import type { RouterDocument } from '../src/step/document.js';
import type { HmacCipher } from '../src/model/config.js';

/** How one path signs: the path's HMAC settings (CompiledHmac) and the key id of its key version. */
export interface PathSigning {
  readonly mode: 'disabled' | 'regular' | 'time-based' | 'metadata-only';
  readonly cipher: HmacCipher;
  readonly key: Uint8Array;
  readonly keyId: number;
  readonly tagLength: number;
}

/** BFD timers of the spoke's end (its neighborhood entry's; the defaults unless set). */
export interface SpokeTimers {
  desiredTxMs: number;
  requiredMinRxMs: number;
  multiplier: number;
  linkTestIntervalMs: number;
  linkTestLength: number;
  linkTestSpacingMs: number;
}

export interface SpokeCounters {
  bfdTx: number;
  bfdRx: number;
  bfdDropped: number;
  badTrailer: number;
  linkTestRepliesSent: number;
  linkTestRequestsSent: number;
  linkTestRepliesReceived: number;
  mtuAnswers: number;
  stepAcksSent: number;
  stepDocumentsSent: number;
  stepDocumentsReceived: number;
}

export const newCounters = (): SpokeCounters => ({
  bfdTx: 0, bfdRx: 0, bfdDropped: 0, badTrailer: 0, linkTestRepliesSent: 0, linkTestRequestsSent: 0,
  linkTestRepliesReceived: 0, mtuAnswers: 0, stepAcksSent: 0, stepDocumentsSent: 0, stepDocumentsReceived: 0,
});

/** Whether the path signs control messages: every mode but `disabled` (dataplane.ts sendPathMessage). */
function signs(s: PathSigning): boolean {
  return s.mode !== 'disabled';
}

/** The signed datagram of `payload`: replay block (counter hi/lo) and HMAC tag appended. */
export function signControl(s: PathSigning, payload: Uint8Array, hi: number, lo: number, wallMs: number): Uint8Array {
  if (!signs(s)) return payload;
  const out = new Uint8Array(payload.length + REPLAY_BLOCK_LENGTH + s.tagLength);
  out.set(payload, 0);
  writeReplayBlock(out, payload.length, s.keyId, 0, hi, lo);
  signInto(s.cipher, s.key, out, 0, payload.length + REPLAY_BLOCK_LENGTH, timeSlot(s.mode === 'time-based', wallMs));
  return out;
}

/** The payload of a signed datagram, or undefined when the trailer does not verify (replay is not checked). */
export function openControl(s: PathSigning, datagram: Uint8Array, wallMs: number): Uint8Array | undefined {
  if (!signs(s)) return datagram;
  const payloadEnd = datagram.length - s.tagLength - REPLAY_BLOCK_LENGTH;
  if (payloadEnd < 0 || datagram[payloadEnd] !== s.keyId) return undefined;
  if (!verifyTrailer(s.cipher, s.key, datagram, 0, datagram.length, timeSlot(s.mode === 'time-based', wallMs))) return undefined;
  return datagram.subarray(0, payloadEnd);
}

/** One spoke path: its BFD session (spoke side), link tests, answers; `send` gets signed datagrams. */
export class SpokePath {
  state: BfdState = 'down';
  diag = 0;
  remoteDiscr = 0;
  remoteState: BfdState = 'down';
  remoteMinRxUs = 1;
  remoteDesiredTxUs = 0;
  remoteDetectMult = 0;
  lastRxMs = -Infinity;
  /** when the last BFD packet left (what the hub's Detection Time counts from) */
  lastBfdTxMs = -Infinity;
  /** silenced: sends nothing and ignores everything (a path failure) */
  silent = false;
  private nextBfdMs: number;
  private nextLinkTestMs = Infinity;
  private linkTestLeft = 0;
  private linkTestSeq = 0;
  private counterLo = 0;
  private readonly counterHi: number;
  private readonly reassembler = new Reassembler(() => undefined);
  private lastAnsweredMs = -Infinity;

  constructor(
    /** the spoke's name of the path, e.g. `wan0->hub/wan0` */
    readonly name: string,
    readonly myDiscr: number,
    private readonly signing: PathSigning,
    private readonly timers: SpokeTimers,
    private readonly send: (datagram: Uint8Array) => void,
    private readonly counters: SpokeCounters,
    private readonly random: () => number,
    /** our STEP document for a request; null: none (yet, or this spoke does not publish) */
    private readonly document: () => RouterDocument | null,
    nowMs: number,
  ) {
    // the sender's counters start at the time in ms << 22, like the router's (a restart continues above them)
    this.counterHi = Math.floor(Date.now() / 1024) >>> 0;
    this.nextBfdMs = nowMs + random() * timers.desiredTxMs;
  }

  /** A datagram from the hub's waypoint:1280. */
  receive(datagram: Uint8Array, nowMs: number, wallMs: number): void {
    if (this.silent) return;
    const payload = openControl(this.signing, datagram, wallMs);
    if (payload === undefined) {
      this.counters.badTrailer++;
      return;
    }
    switch (pathMessageKind(payload)) {
      case 'bfd': return this.receiveBfd(payload, nowMs, wallMs);
      case 'link-test-request':
        if (decodeLinkTest(payload) !== undefined) {
          this.transmit(linkTestReply(payload), wallMs);
          this.counters.linkTestRepliesSent++;
        }
        return;
      case 'link-test-reply':
        if (decodeLinkTest(payload) !== undefined) this.counters.linkTestRepliesReceived++;
        return;
      case 'mtu-probe': {
        const answer = mtuAnswer(payload);
        if (answer !== undefined) {
          this.transmit(answer, wallMs);
          this.counters.mtuAnswers++;
        }
        return;
      }
      case 'step': return this.receiveStep(payload, nowMs, wallMs);
      default:
    }
  }

  /** Sends what is due at `nowMs` (BFD, link-test requests) and watches the Detection Time. */
  due(nowMs: number, wallMs: number): void {
    if (this.silent) return;
    if ((this.state === 'up' || this.state === 'init') && nowMs - this.lastRxMs > this.detectionTimeMs()) {
      this.goDown(BfdDiag.controlDetectionTimeExpired);
    }
    if (nowMs >= this.nextBfdMs) {
      this.sendBfd(false, nowMs, wallMs);
      // §6.8.7: max(DesiredMinTx, RemoteMinRx), each packet 0-25 % earlier
      const interval = Math.max(this.timers.desiredTxMs, this.remoteMinRxUs / 1000);
      this.nextBfdMs = nowMs + interval * (1 - 0.25 * this.random());
    }
    if (this.state === 'up' && nowMs >= this.nextLinkTestMs) {
      this.transmit(encodeLinkTest({ sequence: this.linkTestSeq++ >>> 0, sentAtMs: nowMs }), wallMs);
      this.counters.linkTestRequestsSent++;
      this.linkTestLeft--;
      if (this.linkTestLeft > 0) this.nextLinkTestMs = nowMs + this.timers.linkTestSpacingMs;
      else this.scheduleLinkTest(nowMs, this.timers.linkTestIntervalMs - this.timers.linkTestSpacingMs * (this.timers.linkTestLength - 1));
    }
  }

  /** Detection Time (§6.8.4): the hub's Detect Mult x max(our Required Min RX, the hub's Desired Min TX). */
  detectionTimeMs(): number {
    return this.remoteDetectMult * Math.max(this.timers.requiredMinRxMs, this.remoteDesiredTxUs / 1000);
  }

  private scheduleLinkTest(nowMs: number, inMs: number): void {
    this.linkTestLeft = this.timers.linkTestLength;
    this.nextLinkTestMs = nowMs + Math.max(0, inMs);
  }

  private receiveBfd(payload: Uint8Array, nowMs: number, wallMs: number): void {
    const d = decodeBfdControl(payload);
    if (!d.ok) {
      this.counters.bfdDropped++;
      return;
    }
    const p = d.packet;
    // §6.8.6: Your Discriminator must be ours, or 0 while the sender is Down/AdminDown
    if (p.yourDiscriminator !== 0 ? p.yourDiscriminator !== this.myDiscr : p.state !== 'down' && p.state !== 'adminDown') {
      this.counters.bfdDropped++;
      return;
    }
    this.counters.bfdRx++;
    this.lastRxMs = nowMs;
    this.remoteDiscr = p.myDiscriminator;
    this.remoteState = p.state;
    this.remoteDesiredTxUs = p.desiredMinTxUs;
    this.remoteMinRxUs = p.requiredMinRxUs;
    this.remoteDetectMult = p.detectMult;
    // §6.8.6 state table (docs/paths.md "States")
    if (p.state === 'adminDown') {
      if (this.state !== 'down') this.goDown(BfdDiag.neighborSignaledSessionDown);
    } else if (this.state === 'down') {
      if (p.state === 'down') this.state = 'init';
      else if (p.state === 'init') this.goUp(nowMs);
    } else if (this.state === 'init') {
      if (p.state === 'init' || p.state === 'up') this.goUp(nowMs);
    } else if (this.state === 'up' && p.state === 'down') {
      this.goDown(BfdDiag.neighborSignaledSessionDown);
    }
    if (p.poll) this.sendBfd(true, nowMs, wallMs); // §6.8.7: a Poll is answered at once with Final
  }

  private goUp(nowMs: number): void {
    this.state = 'up';
    this.diag = BfdDiag.none;
    this.scheduleLinkTest(nowMs, this.random() * this.timers.linkTestIntervalMs);
  }

  private goDown(diag: number): void {
    this.state = 'down';
    this.diag = diag;
    this.nextLinkTestMs = Infinity;
    if (diag === BfdDiag.controlDetectionTimeExpired) this.remoteDiscr = 0; // §6.8.1: the peer is forgotten
  }

  private sendBfd(final: boolean, nowMs: number, wallMs: number): void {
    const packet: BfdControlPacket = {
      diag: this.diag, state: this.state, poll: false, final, controlPlaneIndependent: false, demand: false,
      detectMult: this.timers.multiplier, myDiscriminator: this.myDiscr, yourDiscriminator: this.remoteDiscr,
      desiredMinTxUs: this.timers.desiredTxMs * 1000, requiredMinRxUs: this.timers.requiredMinRxMs * 1000, requiredMinEchoRxUs: 0,
    };
    this.transmit(encodeBfdControl(packet), wallMs);
    this.counters.bfdTx++;
    this.lastBfdTxMs = nowMs;
  }

  private receiveStep(payload: Uint8Array, nowMs: number, wallMs: number): void {
    const m = parseMessage(payload);
    if (m.kind === 'request') {
      const doc = this.document();
      if (doc === null) return;
      // answered at most once a second (the agent's requestHoldMs)
      if (nowMs - this.lastAnsweredMs < 1000) return;
      this.lastAnsweredMs = nowMs;
      this.sendDocument(doc, wallMs);
    }
    else if (m.kind === 'chunk') {
      const r = this.reassembler.add(0, m, nowMs);
      if (r.kind !== 'complete') return;
      this.counters.stepDocumentsReceived++;
      this.transmit(encodeAck(r.origin, r.version), wallMs);
      this.counters.stepAcksSent++;
    }
  }

  /** Our STEP document, in chunks (on the hub's request, and when the spoke publishes). */
  sendDocument(doc: RouterDocument, wallMs: number): void {
    if (this.silent || this.state !== 'up') return;
    for (const chunk of encodeDocument(doc) ?? []) this.transmit(chunk, wallMs);
    this.counters.stepDocumentsSent++;
  }

  private transmit(payload: Uint8Array, wallMs: number): void {
    this.counterLo = (this.counterLo + 1) >>> 0;
    this.send(signControl(this.signing, payload, this.counterHi, this.counterLo, wallMs));
  }
}
