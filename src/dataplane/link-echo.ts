/**
 * Link-test echo requests answered by the data path (ssr-reference §1.3 "Echo link test", paths/messages.ts):
 * the reply is the request with its first byte 0xc2, so a steady request needs nothing of control.
 *
 *   wan-verify: a verified, well-formed request (packet/path-message linkTestWellFormed) on a path whose peer
 *     has its configured address -> `take`: the reply's 16 bytes and the path into these arrays (no event, no
 *     allocation); a malformed one, one from a peer behind NAT (nat-traversal learns from every message) or one
 *     past a full queue goes to control as before (paths/supervisor.ts answers or counts it)
 *   after the batch (dataplane.ts) -> one path message each, in the batch's held control write
 * A hub with 2,000 paths gets 2,000 requests a second: none costs an event, a copy, six subscribers' calls or
 * a packet built from control any more (docs/performance.md "Periodic views, alarm machines and link-test echoes").
 */
import { MAX_BATCH } from './batch.js';
import { LINK_TEST_LENGTH, LINK_TEST_REPLY, LINK_TEST_REQUEST, linkTestWellFormed } from '../packet/path-message.js';

export class LinkEchoReplies {
  /** path of reply i */
  readonly path = new Int32Array(MAX_BATCH);
  /** reply i at i * LINK_TEST_LENGTH */
  readonly bytes = new Uint8Array(MAX_BATCH * LINK_TEST_LENGTH);
  count = 0;

  /** True when d[off, end) is a well-formed echo request and its reply was queued for `path`. */
  take(path: number, d: Uint8Array, off: number, end: number): boolean {
    if (d[off] !== LINK_TEST_REQUEST || this.count === MAX_BATCH || !linkTestWellFormed(d, off, end - off)) return false;
    const k = this.count++;
    const at = k * LINK_TEST_LENGTH;
    const b = this.bytes;
    for (let i = 1; i < LINK_TEST_LENGTH; i++) b[at + i] = d[off + i]!;
    b[at] = LINK_TEST_REPLY;
    this.path[k] = path;
    return true;
  }
}
