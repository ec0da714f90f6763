/**
 * The data-path half of the plugin contract (plugins/api.ts re-exports it): what a plugin stage is, what
 * it may do per packet, and the session-open/close hooks. It lives here so that the data path, which runs
 * plugin stages, needs nothing from plugins/.
 */
import type { PacketInfo } from '../packet/ip.js';

/**
 * A batch of packets as a plugin stage sees it (one buffer, up to 256 packets). Per slot `s`: the bytes
 * `data[off[s], off[s] + len[s])`, parsed headers `info[s]`, the session row `session[s]`, flags `flags[s]`
 * (PF_REVERSE: server -> client).
 */
export interface PacketBatch {
  readonly data: Uint8Array;
  readonly off: Uint32Array;
  readonly len: Uint32Array;
  readonly info: readonly PacketInfo[];
  readonly session: Int32Array;
  readonly flags: Uint16Array;
  /** slots in use */
  readonly count: number;
}

/** The slots a stage handles in one run: `slot[0..n)`. */
export interface PacketFrame {
  readonly n: number;
  readonly slot: Uint16Array;
}

/** Stage outcomes: continue along the chain, or drop (count the reason yourself). */
export const PASS = 0;
export const DROP = 1;

export interface PluginStageRuntime {
  /** per-slot outcome: PASS or DROP, set for every slot of the frame */
  readonly next: Uint8Array;
  /** milliseconds, cached at batch start */
  readonly now: number;
  /** adds n to one of this stage's declared counters (index into `counters`) */
  count(counter: number, n?: number): void;
}

export interface PluginStage {
  /** unique within the plugin; the stage's full name is `<plugin>/<name>` (chains name it so) */
  readonly name: string;
  /** full stage names this stage must run before / after when both are in a chain */
  readonly runsBefore?: readonly string[];
  readonly runsAfter?: readonly string[];
  /** counter names, shown as `plugin.<plugin>.<counter>` */
  readonly counters?: readonly string[];
  /**
   * Hot: synchronous, no allocation, no await. Every slot of the frame is a packet of a session whose
   * chain includes this stage, in original form (client <-> server addresses): b.info[slot] holds its
   * parsed headers, b.session[slot] its session row, b.flags[slot] & PF_REVERSE its direction.
   * Must set rt.next[slot] to PASS or DROP for each slot.
   */
  run(b: PacketBatch, f: PacketFrame, rt: PluginStageRuntime): void;
}

/**
 * A session about to be installed (valid only during the hook call; the object is reused). The hook may
 * refuse it or, for egress and local sessions, choose the addresses the server side sees (the core
 * translates every packet both ways).
 */
export interface OpeningSession {
  readonly row: number;
  /** the data path's clock (ms) for this batch: use it for rates, not Date.now() */
  readonly now: number;
  readonly role: 'ingress' | 'egress' | 'local';
  readonly tenant: number;
  readonly service: number;
  readonly protocol: number;
  readonly family: 4 | 6;
  readonly inInterface: number;
  readonly outInterface: number;
  /** original client -> server addresses (first 4 bytes for IPv4) and ports */
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly srcPort: number;
  readonly dstPort: number;
  /**
   * Refuses the session (counted as drop-refused-by-plugin and plugin.<name>.refused; reported as
   * session.denied refused-by-plugin). `reply` (first packets at this router only, API 1.2): 'drop' (default,
   * silent), 'reset' (a TCP reset to the client; other protocols get 'unreachable'), 'unreachable' (ICMP
   * destination unreachable, administratively prohibited). Every new first packet is a new session to
   * decide: a client's retransmitted SYN is refused (and answered) again.
   */
  refuse(reply?: RefuseReply): void;
  /** source NAT toward the server (egress/local only); false when not possible here */
  natSource(addr: Uint8Array, port: number): boolean;
  /** destination NAT (egress/local only), e.g. the server a load balancer picked */
  natDestination(addr: Uint8Array, port: number): boolean;
}

/** How a refused session's first packet is answered. */
export type RefuseReply = 'drop' | 'reset' | 'unreachable';

export type SessionOpenHook = (s: OpeningSession) => void;
/** called with the session row when a session is removed (idle, closed, torn down) */
export type SessionCloseHook = (row: number) => void;

/**
 * A session installed without opening here (API 1.4): a row from the HA partner, installed when this node
 * takes over. Its open hooks ran on the partner; a plugin that holds shared state for its sessions (NAT
 * ports) takes the row's share here, and releases it in the close hook as for its own. Valid only during
 * the hook call (the object is reused).
 */
export interface InstalledSession {
  readonly row: number;
  readonly role: 'ingress' | 'egress' | 'local';
  readonly protocol: number;
  readonly family: 4 | 6;
  /** the row's source NAT address (first 4 bytes for IPv4); meaningful when natSourcePort >= 0 */
  readonly natSource: Uint8Array;
  /** the row's source NAT port (ICMP echo: the identifier), -1 when the row has no source NAT */
  readonly natSourcePort: number;
}

export type SessionInstalledHook = (s: InstalledSession) => void;
