/**
 * HMAC tags of a batch in one native call per key (docs/performance.md "HMAC a batch at a time"):
 * svr-out queues each packet it signs (the replay block is written, the tag comes at the end of the stage)
 * and wan-verify checks the tags of a frame before its per-packet pass, instead of one signBatch/verifyBatch
 * call per packet. Same bytes and verdicts as per packet (test/unit/router/batch-tags.test.ts); with about 9 or
 * more tags of a key in a call, native/hmac-lanes.c hashes them 16 at a time. Measured per tag, one call per
 * packet -> one per 64 (load 15-20): 64 bytes 0.27 -> 0.07 µs, 1424 bytes 0.89 -> 0.35 µs.
 * Off with SVR_BATCH_HMAC=0 (or ctx.crypto.batchTags = false): every tag one call at a time, as before.
 * A queue of several keys (a hub's control packets: each path its own key, one or two packets per path in a frame
 * or a BFD tick) goes in one call for all keys (native/hmac-many.c, lanes across keys) instead of one per key;
 * SVR_HMAC_MANY=0: one call per key as before.
 */
import { VERIFY_OK as TAG_OK } from '../crypto/batch-common.js';
import { hmacMany, type BatchHmac } from '../crypto/native-crypto.js';
import { MAX_BATCH } from './batch.js';

export class TagBatch {
  /** regions queued: slot, the key's HMAC, its time slot (-1: none), region */
  count = 0;
  readonly slot = new Uint16Array(MAX_BATCH);
  readonly hmac: (BatchHmac | undefined)[] = new Array<BatchHmac | undefined>(MAX_BATCH).fill(undefined);
  readonly timeSlot = new Float64Array(MAX_BATCH);
  readonly off = new Uint32Array(MAX_BATCH);
  readonly len = new Uint32Array(MAX_BATCH);
  /** per batch slot: the HMAC its tag was checked with (verify), else undefined */
  private readonly checkedWith: (BatchHmac | undefined)[] = new Array<BatchHmac | undefined>(MAX_BATCH).fill(undefined);
  private readonly checkedOk = new Uint8Array(MAX_BATCH);
  private readonly runOff = new Uint32Array(MAX_BATCH);
  private readonly runLen = new Uint32Array(MAX_BATCH);
  private readonly runStatus = new Uint8Array(MAX_BATCH);
  /** the queue's native key ids and tag lengths, for one call of many keys (manyKeys) */
  private readonly ids = new Uint32Array(MAX_BATCH);
  private readonly tagLen = new Uint8Array(MAX_BATCH);
  /** the addon's many-key calls (SVR_HMAC_MANY read here, as the data path's other switches at its start) */
  private readonly many = hmacMany();

  /** Queues region d[off, off + len) of slot s under hmac (time slot ts). */
  add(s: number, hmac: BatchHmac, ts: number, off: number, len: number): void {
    const q = this.count++;
    this.slot[q] = s;
    this.hmac[q] = hmac;
    this.timeSlot[q] = ts;
    this.off[q] = off;
    this.len[q] = len;
  }

  /** Appends the tag of every queued region (one signBatch per run of the same key and time slot); empties the queue. */
  sign(d: Uint8Array): void {
    const n = this.count;
    if (this.manyKeys(n)) {
      this.many!.sign(this.ids, d, this.off, this.len, n, this.tagLen, this.timeSlot);
      this.hmac.fill(undefined, 0, n);
      this.count = 0;
      return;
    }
    for (let i = 0; i < n;) {
      const j = this.run(i, n);
      this.hmac[i]!.signBatch(d, this.runOff, this.runLen, j - i, this.timeSlot[i]!);
      for (let q = i; q < j; q++) this.hmac[q] = undefined;
      i = j;
    }
    this.count = 0;
  }

  /** Checks the tag of every queued region (one verifyBatch per run); remembers each slot's verdict for checked(); empties the queue. */
  verify(d: Uint8Array): void {
    const n = this.count;
    if (this.manyKeys(n)) {
      this.many!.verify(this.ids, d, this.off, this.len, n, this.tagLen, this.timeSlot, this.runStatus);
      for (let q = 0; q < n; q++) {
        const s = this.slot[q]!;
        this.checkedWith[s] = this.hmac[q];
        this.checkedOk[s] = this.runStatus[q] === TAG_OK ? 1 : 0;
        this.hmac[q] = undefined;
      }
      this.count = 0;
      return;
    }
    for (let i = 0; i < n;) {
      const j = this.run(i, n);
      this.hmac[i]!.verifyBatch(d, this.runOff, this.runLen, j - i, this.timeSlot[i]!, this.runStatus);
      for (let q = i; q < j; q++) {
        const s = this.slot[q]!;
        this.checkedWith[s] = this.hmac[q];
        this.checkedOk[s] = this.runStatus[q - i] === TAG_OK ? 1 : 0;
        this.hmac[q] = undefined;
      }
      i = j;
    }
    this.count = 0;
  }

  /** Slot s's verdict from verify() under hmac: 1 matched, 0 did not, -1 not checked (check it now). Forgets it. */
  checked(s: number, hmac: BatchHmac): number {
    const w = this.checkedWith[s];
    this.checkedWith[s] = undefined;
    return w === hmac ? this.checkedOk[s]! : -1;
  }

  /** Forgets the verdict of slot s (a packet verify() checked that the per-packet pass did not ask about). */
  forget(s: number): void {
    this.checkedWith[s] = undefined;
  }

  /**
   * Whether the n queued regions go in one call of many keys: the addon has it, there is more than one run (key
   * or time slot), and every key is native; then `ids` and `tagLen` hold the queue's (key ids, not handles: the
   * addon's N-API calls per handle were ~5 % of a 1,000-spoke hub's main thread, docs/performance.md hub13).
   */
  private manyKeys(n: number): boolean {
    if (this.many === null || n < 2) return false;
    const h0 = this.hmac[0], ts0 = this.timeSlot[0];
    let q = 1;
    while (q < n && this.hmac[q] === h0 && this.timeSlot[q] === ts0) q++;
    if (q === n) return false; // one run: one call per key is one call
    for (q = 0; q < n; q++) {
      const hm = this.hmac[q]!;
      const id = hm.nativeId;
      if (id < 0) return false;
      this.ids[q] = id;
      this.tagLen[q] = hm.tagLength;
    }
    return true;
  }

  /** Copies the regions of the run starting at i (same key and time slot) into the run arrays; returns its end. */
  private run(i: number, n: number): number {
    const h = this.hmac[i];
    const ts = this.timeSlot[i];
    let j = i;
    while (j < n && this.hmac[j] === h && this.timeSlot[j] === ts) {
      this.runOff[j - i] = this.off[j]!;
      this.runLen[j - i] = this.len[j]!;
      j++;
    }
    return j;
  }
}
