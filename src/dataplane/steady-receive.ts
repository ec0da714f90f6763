/**
 * The native finish of svr-in's established packets (docs/performance.md "A native finish for the receive
 * side"): svr-in decides every packet as before (handshake, metadata, decryption, dedup, transit); for a
 * TCP or UDP packet that lost bytes on the way in (metadata, UDP transform, a decrypted payload) and that no
 * later step of svr-in reads again (not a SYN: MSS clamp; not a duplicated or transit session), the rewrite
 * to the server-side 5-tuple (nat.ts serverSideView), the IP length and the L4 checksum recomputed in full
 * wait for one native call for the frame (native/steady-send.c, the send side's call with every packet
 * "grown") instead of writeServerSide + setIpLength + fillL4Checksum in JS per packet. Same bytes: the full
 * recompute does not depend on the field's old value (test/unit/router/steady-receive.test.ts).
 * payload-open.ts checks the ciphertexts' L4 checksums of the frame in one call here too.
 * Off with SVR_NATIVE_RECEIVE=0, or without the addon.
 */
import { PROTO_TCP, PROTO_UDP, TCP_SYN, type PacketInfo } from '../packet/ip.js';
import { MAX_BATCH } from './batch.js';
import type { SideKey } from './session-table.js';
import { SteadySend } from './steady-send.js';

export class SteadyReceive {
  /** the call and its queues; its `checks`/`check`/`verifyChecks`/`checked` serve payload-open.ts */
  readonly steady = new SteadySend('SVR_NATIVE_RECEIVE');
  /** per queued packet: its new source and destination address words (4 each) */
  private readonly src = new Uint32Array(MAX_BATCH * 4);
  private readonly dst = new Uint32Array(MAX_BATCH * 4);

  /** A frame of n packets starts (frames of fewer than the send side's minimum stay in JS). */
  frame(n: number): void {
    this.steady.frame(n);
  }

  /** Whether the packet's finish can wait for the frame's call: TCP (not a SYN) or UDP, not a fragment. */
  takes(pi: PacketInfo): boolean {
    return this.steady.takes(pi) && pi.fragment === 0 && (pi.protocol === PROTO_UDP || (pi.protocol === PROTO_TCP && (pi.tcpFlags & TCP_SYN) === 0));
  }

  /** Queues the packet of pi (ending at pi.end) to become k's 5-tuple; pi takes k's ports now. */
  add(pi: PacketInfo, k: SideKey): void {
    const i = this.steady.count;
    const words = k.family === 6 ? 4 : 1;
    for (let w = 0; w < words; w++) {
      this.src[i * 4 + w] = k.src[k.srcOff + w]!;
      this.dst[i * 4 + w] = k.dst[k.dstOff + w]!;
    }
    this.steady.add(pi, i, k.srcPort, k.dstPort, pi.end, true);
  }

  /** Rewrites and finishes every queued packet; empties the queue. */
  finish(data: Uint8Array): void {
    this.steady.finish(data, this.src, this.dst);
  }
}
