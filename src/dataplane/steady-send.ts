/**
 * The native finish of svr-out's signed packets (native/steady-send.c; docs/performance.md "A native finish
 * for the send side"): svr-out decides everything per packet as before (metadata, sealing, the replay block,
 * the tag queued in batch-tags.ts); for a packet whose tag comes at the end of the stage it leaves the
 * waypoint addresses and ports, the L4 checksum for the trailer and the IP length to one native call for
 * the frame, after the tags, instead of setAddresses/setPorts/endSigned in JS per packet. Same bytes
 * (test/unit/router/steady-send.test.ts). The payloads svr-out queues for sealing have their plaintext L4
 * checksums checked here too, one call per frame (verifyChecks) instead of one checksumSum call per packet.
 * Off with SVR_NATIVE_STEADY=0, or without the addon.
 * svr-in finishes its established packets with the same call (steady-receive.ts; its own switch).
 */
import { tryLoadAddon } from '../native/addon.js';
import { PROTO_TCP, PROTO_UDP, type PacketInfo } from '../packet/ip.js';
import { MAX_BATCH } from './batch.js';

type SteadySendFinish = (data: Uint8Array, desc: Uint32Array, count: number, localWords: Uint32Array, remoteWords: Uint32Array) => void;
type SteadyVerifyL4 = (data: Uint8Array, desc: Uint32Array, count: number, status: Uint8Array) => number;

/** u32 words per packet in the call's descriptor (native/steady-send.c) */
const WORDS = 7;
/** Frames of fewer packets stay in JS. Per TCP 1400 B packet, not grown (best of 3000, load ~20): JS 110-130 ns;
 *  native 120 ns in a call of 2, 80 of 4, 56 of 8, 35 of 64 (the call itself ~0.15 µs). */
const MIN_FRAME = 3;

function load(): { finish: SteadySendFinish; verify: SteadyVerifyL4 } | null {
  const mod = tryLoadAddon();
  if (mod instanceof Error || mod['STEADY_WORDS'] !== WORDS) return null;
  const finish = mod['steadySendFinish'], verify = mod['steadyVerifyL4'];
  return typeof finish === 'function' && typeof verify === 'function' ? { finish: finish as SteadySendFinish, verify: verify as SteadyVerifyL4 } : null;
}

const native = load();

export class SteadySend {
  /** whether packets are handed here: the addon is built and the switch (SVR_NATIVE_STEADY for svr-out) is not 0
   *  (read per data path) */
  readonly on: boolean;
  count = 0;
  /** whether this frame's packets come here: `on`, and the frame has MIN_FRAME packets or more */
  private active = false;
  private readonly desc = new Uint32Array(MAX_BATCH * WORDS);
  /** plaintext L4 checksums queued for one check (svr-out's payloads to seal), and their verdicts (1 ok) */
  checks = 0;
  private readonly checkDesc = new Uint32Array(MAX_BATCH * WORDS);
  readonly checked = new Uint8Array(MAX_BATCH);

  constructor(envSwitch = 'SVR_NATIVE_STEADY') {
    this.on = native !== null && process.env[envSwitch] !== '0';
  }

  /** A frame of n packets starts. */
  frame(n: number): void {
    this.active = this.on && n >= MIN_FRAME;
  }

  /** Whether the packet can be finished here (in a frame that is: the addon rewrites TCP and UDP). */
  takes(pi: PacketInfo): boolean {
    return this.active && (pi.protocol === PROTO_TCP || pi.protocol === PROTO_UDP);
  }

  /**
   * Queues the packet of `pi` on path p: its ports become localPort -> peerPort, its trailer ends at `end`
   * once its tag is written; `grew` when bytes were inserted (its L4 checksum is then recomputed).
   * pi takes its final ports and end now (as setPorts/setIpLength would).
   */
  add(pi: PacketInfo, p: number, localPort: number, peerPort: number, end: number, grew: boolean): void {
    const e = this.count++ * WORDS;
    const d = this.desc;
    d[e] = pi.l3;
    d[e + 1] = pi.l4;
    d[e + 2] = pi.end;
    d[e + 3] = end;
    d[e + 4] = (pi.family === 6 ? 6 : 4) | (pi.protocol << 8) | (grew ? 1 << 16 : 0) | (pi.fragment << 24);
    d[e + 5] = p;
    d[e + 6] = ((localPort << 16) | peerPort) >>> 0;
    pi.srcPort = localPort;
    pi.dstPort = peerPort;
    pi.end = end;
  }

  /** Rewrites and finishes every queued packet (their tags are written); empties the queue. */
  finish(data: Uint8Array, localWords: Uint32Array, remoteWords: Uint32Array): void {
    const n = this.count;
    if (n === 0) return;
    this.count = 0;
    native!.finish(data, this.desc, n, localWords, remoteWords);
  }

  /** Queues the L4 checksum of pi's packet for verifyChecks (call only when takes(pi)); returns its index in `checked`. */
  check(pi: PacketInfo): number {
    const i = this.checks++;
    const e = i * WORDS;
    const d = this.checkDesc;
    d[e] = pi.l3;
    d[e + 1] = pi.l4;
    d[e + 2] = pi.end;
    d[e + 4] = (pi.family === 6 ? 6 : 4) | (pi.protocol << 8) | (pi.fragment << 24);
    return i;
  }

  /** Verifies the queued checksums (rewrite.ts verifyL4Checksum's verdicts, into `checked`); empties the queue. */
  verifyChecks(data: Uint8Array): void {
    const n = this.checks;
    if (n === 0) return;
    this.checks = 0;
    native!.verify(data, this.checkDesc, n, this.checked);
  }
}
