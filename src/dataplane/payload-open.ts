/**
 * The encrypted payloads of a frame's established-session packets, decrypted together before svr-in's
 * per-packet pass: one decryptBatch per run of the same cipher instead of one native call per packet
 * (framing: payload.ts, docs/crypto.md). A packet is taken when svr-in would decrypt it with nothing in
 * front of that to decide: no metadata or false-positive header to strip, a session that frames payloads
 * (SF_PAYLOAD), not transformed or TCP carried as UDP with a whole inner TCP header (the checks of
 * removeUdpHeader), a non-zero key id whose cipher svr-in would use (PathCrypto.receiveKey), and an L4
 * checksum that verifies (svr-in checks it before bytes change; here it is checked once, before the
 * decryption changes them). Anything else is left to svr-in, which decrypts, or drops and counts, one
 * packet at a time as before. Only what svr-in's pass never changes is read (b.flags' metadata bits, the
 * session's SF_PAYLOAD, SF_TRANSFORMED, protocol and service), so each verdict is the one svr-in would reach.
 * The checksums of the frame's candidates are checked in one native call (steady-receive.ts) when the frame is
 * long enough for it, else one at a time.
 * Per slot: OPEN_NONE (not taken), OPEN_OK (the plaintext starts where the ciphertext did, plainLength bytes),
 * OPEN_BAD (does not decrypt; the region is zeroed as openPayload leaves it: svr-in drops it 'drop-bad-payload').
 * Off with SVR_BATCH_OPEN=0 (ctx.crypto.batchOpen): every payload one call at a time, to compare.
 */
import { PROTO_TCP, type PacketInfo } from '../packet/ip.js';
import { verifyL4Checksum } from '../packet/rewrite.js';
import type { BatchCipher } from '../crypto/native-crypto.js';
import { DECRYPT_OK } from '../crypto/batch-common.js';
import { MAX_BATCH, PF_FALSE_POSITIVE, PF_HAS_META, type Batch, type Frame } from './batch.js';
import type { DataplaneContext } from './context.js';
import { SF_PAYLOAD, SF_TRANSFORMED } from './session-table.js';
import type { SteadySend } from './steady-send.js';

export const OPEN_NONE = 0, OPEN_OK = 1, OPEN_BAD = 2;

export class PayloadOpen {
  /** per slot of the last frame: OPEN_NONE, OPEN_OK or OPEN_BAD */
  readonly verdict = new Uint8Array(MAX_BATCH);
  private readonly plainLength = new Uint32Array(MAX_BATCH);
  private queued = 0;
  private readonly queueSlot = new Uint16Array(MAX_BATCH);
  private readonly queueCipher: (BatchCipher | undefined)[] = new Array<BatchCipher | undefined>(MAX_BATCH).fill(undefined);
  private readonly queueOff = new Uint32Array(MAX_BATCH);
  private readonly queueLen = new Uint32Array(MAX_BATCH);
  private readonly runOff = new Uint32Array(MAX_BATCH);
  private readonly runLen = new Uint32Array(MAX_BATCH);
  private readonly runStatus = new Uint8Array(MAX_BATCH);
  /** per queued payload: its index in the frame's checksum call, or -1 (checked already) */
  private readonly queueCheck = new Int16Array(MAX_BATCH);

  /** `checks`: the frame's checksum call (svr-in's SteadyReceive; its frame() already called for this frame) */
  constructor(private readonly ctx: DataplaneContext, private readonly checks: SteadySend) {}

  /** Decrypts the payloads of frame f that qualify (all verdicts OPEN_NONE when batchOpen is off). */
  open(b: Batch, f: Frame): void {
    const on = this.ctx.crypto.batchOpen;
    this.queued = 0;
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      this.verdict[s] = OPEN_NONE;
      if (on) this.queue(b, s);
    }
    if (this.checks.checks > 0) this.dropBadChecksums(b);
    if (this.queued > 0) this.decryptQueued(b);
  }

  /** After svr-in removed what precedes the payload: ends slot s's packet at its plaintext. False: OPEN_BAD. */
  take(b: Batch, s: number, pi: PacketInfo): boolean {
    if (this.verdict[s] !== OPEN_OK) return false;
    pi.end = pi.payload + this.plainLength[s]!;
    b.len[s] = pi.end - pi.l3;
    return true;
  }

  private queue(b: Batch, s: number): void {
    if ((b.flags[s]! & (PF_HAS_META | PF_FALSE_POSITIVE)) !== 0) return;
    const ctx = this.ctx;
    const t = ctx.sessions;
    const r = b.session[s]!;
    const flags = t.flags[r]!;
    if ((flags & SF_PAYLOAD) === 0) return;
    const d = b.data;
    const pi = b.info[s]!;
    let start = pi.payload;
    if ((flags & SF_TRANSFORMED) !== 0) {
      // TCP carried as UDP: the payload follows the inner TCP header (whole, as removeUdpHeader requires)
      if (t.protocol[r] !== PROTO_TCP) return;
      const inner = pi.l4 + 8;
      if (pi.end - inner < 20) return;
      const doff = (d[inner + 12]! >> 4) * 4;
      if (doff < 20 || inner + doff > pi.end) return;
      start = inner + doff;
    }
    if (pi.end <= start) return; // no payload: nothing framed
    const kid = d[pi.end - 1]!;
    if (kid === 0) return; // plain marker: svr-in strips it
    const cipher = ctx.crypto.receiveKey(t.service[r]!, kid);
    if (cipher === undefined) return;
    const check = this.checks.takes(pi) ? this.checks.check(pi) : -1;
    if (check < 0 && !verifyL4Checksum(d, pi)) return;
    const q = this.queued++;
    this.queueCheck[q] = check;
    this.queueSlot[q] = s;
    this.queueCipher[q] = cipher;
    this.queueOff[q] = start;
    this.queueLen[q] = pi.end - 1 - start;
  }

  /** Checks the queued checksums in one call; a payload whose checksum fails leaves the queue (svr-in drops it). */
  private dropBadChecksums(b: Batch): void {
    this.checks.verifyChecks(b.data);
    const ok = this.checks.checked;
    let kept = 0;
    for (let q = 0; q < this.queued; q++) {
      const c = this.queueCheck[q]!;
      if (c >= 0 && ok[c] !== 1) continue;
      this.queueSlot[kept] = this.queueSlot[q]!;
      this.queueCipher[kept] = this.queueCipher[q];
      this.queueOff[kept] = this.queueOff[q]!;
      this.queueLen[kept] = this.queueLen[q]!;
      kept++;
    }
    for (let q = kept; q < this.queued; q++) this.queueCipher[q] = undefined;
    this.queued = kept;
  }

  /** One decryptBatch per run of queued payloads with the same cipher. */
  private decryptQueued(b: Batch): void {
    const n = this.queued;
    for (let i = 0; i < n;) {
      const cipher = this.queueCipher[i]!;
      let j = i + 1;
      while (j < n && this.queueCipher[j] === cipher) j++;
      for (let q = i; q < j; q++) {
        this.runOff[q - i] = this.queueOff[q]!;
        this.runLen[q - i] = this.queueLen[q]!;
      }
      cipher.decryptBatch(b.data, this.runOff, this.runLen, j - i, this.runStatus);
      for (let q = i; q < j; q++) {
        const s = this.queueSlot[q]!;
        const ok = this.runStatus[q - i] === DECRYPT_OK;
        this.verdict[s] = ok ? OPEN_OK : OPEN_BAD;
        this.plainLength[s] = ok ? this.runLen[q - i]! : 0;
        this.queueCipher[q] = undefined;
      }
      i = j;
    }
  }
}
