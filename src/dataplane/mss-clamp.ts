/**
 * MSS clamping on peer paths (ssr-reference: `enforced-mss` on network interfaces): the SYN and SYN-ACK of a
 * session that crosses a peer path carry at most the MSS whose segments still fit the path MTU (for now the
 * wan interface's `mtu`, lowered by path MTU discovery: ctx.pathMtu) once svrouter has added its own bytes to them. svr-out clamps what it sends on a path
 * and svr-in what it receives from one, so each router bounds the segments it will itself send over its wan:
 * the SYN's MSS bounds what the server sends, the SYN-ACK's what the client sends.
 *
 * Worst-case bytes svrouter adds to a data segment of the session (RFC 6691: the MSS counts the MTU minus the
 * fixed IP and TCP headers; hosts subtract their own options):
 * - the trailer (replay block 10 + HMAC tag 16, 20 or 32; sign.ts) when the path's policy signs every packet
 *   (`regular`, `time-based`), or with `metadata-only` on a packet it signs (SYN/FIN/RST, one a second), which
 *   also carries the 12-byte bare header;
 * - framed payload (services with payload security; payload.ts): CBC IV 16 + padding up to 16 + key id 1 = 33,
 *   GCM nonce 12 + tag 16 + key id 1 = 29;
 * - unframed payload: a payload that happens to start with the metadata cookie gets the 12-byte
 *   false-positive header (svr-metadata.ts), so every segment keeps room for it;
 * - UDP transform (TCP carried as UDP, docs/wan.md): the 8-byte UDP header in front of the TCP header.
 * Metadata is not counted: it rides on the SYN and SYN-ACK (no payload) and, after a migration or an adaptive
 * re-signal, on a few data packets, which may then exceed the MTU (svr-out answers those with ICMP too big).
 */
import { GCM_GROWTH, CBC_MAX_GROWTH } from '../crypto/batch-common.js';
import { MSS_CLAMP_AUTOMATIC, MSS_CLAMP_DISABLED } from '../model/tables.js';
import { PROTO_TCP, TCP_SYN, type PacketInfo } from '../packet/ip.js';
import { clampTcpMss, DEFAULT_MSS_IPV4, DEFAULT_MSS_IPV6, MSS_ABSENT, MSS_LOWERED } from '../packet/tcp-mss.js';
import { FALSE_POSITIVE_HEADER } from '../packet/svr-metadata.js';
import type { DataplaneContext } from './context.js';
import { SF_PAYLOAD, SF_TRANSFORMED } from './session-table.js';
import { trailerLength } from './sign.js';
import type { StageInit, StageRuntime } from './stage.js';

const TCP_HEADER = 20;
const UDP_HEADER = 8;
/** The smallest MSS a clamp writes (SSR's `enforced-mss` range starts here). */
const MIN_MSS = 64;

/** The MSS limit for session `r` on path `p` with IP version `family`; 0 = no clamp on that path. */
export function mssLimit(ctx: DataplaneContext, p: number, r: number, family: 4 | 6): number {
  const tables = ctx.tables;
  const path = tables.paths[p]!;
  const iface = tables.interfaces[path.localInterface]!;
  const set = iface.enforcedMss;
  if (set === MSS_CLAMP_DISABLED) return 0;
  if (set !== MSS_CLAMP_AUTOMATIC) return set;
  const mode = path.hmac.mode;
  const trailer = trailerLength(path.hmac);
  let overhead: number;
  if ((ctx.sessions.flags[r]! & SF_PAYLOAD) !== 0) {
    overhead = (tables.services[ctx.sessions.service[r]!]?.payload?.cipher === 'aes-gcm-256' ? GCM_GROWTH : CBC_MAX_GROWTH) + 1;
    if (mode === 'regular' || mode === 'time-based') overhead += trailer;
    else if (mode === 'metadata-only') overhead += FALSE_POSITIVE_HEADER.length + trailer;
  } else {
    overhead = FALSE_POSITIVE_HEADER.length + trailer;
  }
  if ((ctx.sessions.flags[r]! & SF_TRANSFORMED) !== 0) overhead += UDP_HEADER; // TCP carried as UDP (UDP transform)
  return Math.max(MIN_MSS, Math.min(iface.mtu, ctx.pathMtu[p]!) - (family === 6 ? 40 : 20) - TCP_HEADER - overhead);
}

/** Clamps SYNs for a stage (svr-out, svr-in) and counts what it did. */
export class MssClamp {
  private cLowered = 0;
  private cDefaultTooBig = 0;

  constructor(private readonly ctx: DataplaneContext) {}

  init(i: StageInit): void {
    this.cLowered = i.counter('tcp-mss-clamped');
    // a SYN without the option, on a path where even the host's default MSS (536 / 1220) does not fit
    this.cDefaultTooBig = i.counter('tcp-mss-default-too-big');
  }

  /** A TCP SYN or SYN-ACK of session `r` crossing path `p`: lower its MSS option to the limit. */
  apply(d: Uint8Array, pi: PacketInfo, p: number, r: number, rt: StageRuntime): void {
    if (pi.protocol !== PROTO_TCP || (pi.tcpFlags & TCP_SYN) === 0) return;
    const limit = mssLimit(this.ctx, p, r, pi.family);
    if (limit === 0) return;
    const result = clampTcpMss(d, pi, limit);
    if (result === MSS_LOWERED) rt.counters.add(this.cLowered);
    else if (result === MSS_ABSENT && limit < (pi.family === 6 ? DEFAULT_MSS_IPV6 : DEFAULT_MSS_IPV4)) rt.counters.add(this.cDefaultTooBig);
  }
}
