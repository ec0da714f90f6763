/** The shape of bench/results.json. */
import type { SearchResult } from './udp-search.js';
import type { Spread } from './stats.js';
import type { PingResult } from './uping.js';
import type { SessionsResult } from './sessions-client.js';
import type { MachineWindow } from './machine-stat.js';
import type { MemoryResult } from './memory.js';
import type { ProfileSummary } from './profile.js';
import type { HopLatency } from './hops.js';
import type { ModeTerms } from './terms.js';
import type { Problem } from './comparable.js';
import type { VisibilityResult } from './visibility.js';
import type { HaResult } from './ha.js';
import type { WanResult } from './wan.js';
import type { SustainedResult } from './sustained.js';
import type { FullTableResult } from './full-table.js';
import type { HubResult } from './hub.js';
import type { ScalingResult } from './scaling.js';
import type { ConfigScaleResult } from './config-scale.js';
import type { StepTime } from './budget.js';

export interface TcpResult {
  gbps: Spread;
  retransmits: number[];
  /** CPU seconds of the mode's router processes per Gbit delivered (= cores per Gbps), per run */
  cpuSecondsPerGbit: Spread | null;
  /** CPU seconds per process and run */
  cpuByProcess: Record<string, number[]>;
  /** the segment size of the data connection at the client (ss -ti mss, during the first run) */
  mss?: number;
}

export interface RttResult {
  p50Us: Spread;
  p99Us: Spread;
  runs: PingResult[];
  /** who pinged: bench/c/udp-load.c ('c', to its echo) or bench/uping.ts ('node', to the Node echo); absent in older results: node */
  pinger?: 'c' | 'node';
  /** per-pass latency from captures on r1-c, r1-r2 and r2-s (medians, µs) */
  hops?: HopLatency;
  /** CPU µs of the mode's router processes (both, every thread: schedstat) per round trip, counted from the end of the warm-up (before wave 21: warm-up included) */
  routerCpuUsPerRtt?: Spread;
  /** the same per group of threads (bench/thread-sched.ts: main, svr-tun-read, svr-tun-write, the records thread, v8), both
   *  routers summed: CPU µs and sleeps (voluntary context switches, each ended by a wake-up) per round trip */
  routerThreads?: Record<string, { cpuUs: Spread; sleeps: Spread }>;
}

export interface SessionRate {
  client: SessionsResult;
  /** svrouter: `sessions-created` on r1 per second of the test (from svr show stats --json) */
  createdR1PerSecond?: number;
  createdR1?: number;
  createdR2?: number;
  /** UDP with the C client: the sessions in flight of this figure (heldSessionRate backs off from C_CLIENT_WINDOW) */
  window?: number;
  /** the tests before it that lost more than 1 % of their sessions (an overload at that window), in order */
  overloaded?: { window: number; attempted: number; failed: number; okPerSecond: number }[];
  /** the machine over the test (/proc/stat): cores busy by kind, context switches per session r1 created (machine-stat.ts) */
  machine?: MachineWindow;
  /** svrouter: r1's health-checks-sent over the test (probes of handshakes still waiting at their first retry) */
  healthChecksR1?: number;
  /** svrouter: each router's CPU µs per session it created, by thread, user and kernel (cpu.ts userSystemPer) */
  threadUsPerSession?: Record<string, Record<string, { user: number; system: number }>>;
}

/** One pass of marked traffic through the path, captured on the r1-r2 veth (capture.ts). */
export interface PayloadCheck {
  protocol: 'udp' | 'tcp';
  /** the marker was found in the capture */
  payloadSeenInClear: boolean;
  packetsCaptured: number;
  /** the largest IP packet on the r1-r2 veth */
  largestPacket: number;
  /** tcp: bytes the client wrote, and what the sink counted (-1: no answer) */
  streamBytes?: number;
  deliveredBytes?: number;
  /** tcp: MSS options of the SYN and SYN-ACK on the r1-r2 veth (-1: none) */
  synMss?: number;
  synAckMss?: number;
}

/** svrouter: what crossed the WAN, and what was expected (the marker in clear exactly when HMAC only). */
export interface WireCheck {
  expectClear: boolean;
  udp?: PayloadCheck;
  tcp?: PayloadCheck;
}

export interface ModeResult {
  id: string;
  label: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  notes: string[];
  loadAvgAtStart: number[];
  udpLargeLen: number;
  /** each step's expected and taken seconds, setup to teardown (budget.ts) */
  steps?: StepTime[];
  /** MTU of the r1-r2 veth while the mode ran (the same for every mode, or the run is not comparable) */
  wanMtu?: number;
  /** devices, offloads, buffers, polling, as read after setup */
  terms?: ModeTerms;
  /** the headline RTT: svrouter with --busy-poll 0 */
  rtt?: RttResult;
  /** every mode: the same RTT while a SCHED_IDLE spinner keeps every vCPU awake (awake.ts) */
  rttAwake?: RttResult;
  /** svrouter: the RTT with the node's busy polling (the option; compare with rttAwake of the others) */
  rttBusyPoll?: RttResult;
  tcp?: TcpResult;
  /** RTT and TCP measured in this many rounds interleaved with the other modes (run.ts): run k of rtt and tcp
   *  is round k; the ratios are the median of the rounds' ratios (report.ts) */
  rounds?: number;
  udpLarge?: SearchResult;
  udp64?: SearchResult;
  /** udp: new UDP sessions through the mode (svrouter: the SVR path r1 -> r2, the headline); udpR1Alone
   *  (svrouter hmac only): r1 alone, the service on a local next hop and r2 forwarding in the kernel
   *  (SvrouterMode.aloneR1): one router's rate without a second on the same cores */
  sessions?: { udp?: SessionRate; tcp?: SessionRate; udpR1Alone?: SessionRate };
  wire?: WireCheck;
  /** svrouter: counters of `svr show stats --json` that moved between setup and the end of the measurements */
  routerCounters?: Record<string, Record<string, number>>;
  /** svrouter: `path.unusable` lines the nodes logged during the measurements (BFD/hold-down), per router */
  pathDownEvents?: Record<string, string[]>;
  profiles?: ProfileSummary[];
  /** svrouter hmac only: TCP and new UDP sessions with session records (IPFIX export, history) off and on */
  visibility?: VisibilityResult;
  /** the HA case (ha.ts): one node against a pair, failover */
  ha?: HaResult;
  /** svrouter hmac only: TCP through a 1400 B path next to the full MTU, UDP with 5 % loss without and with FEC */
  wan?: WanResult;
  /** svrouter hmac only: new UDP and TCP sessions held for 60 s with a 5 s idle timeout (sustained.ts) */
  sustained?: SustainedResult;
  /** svrouter hmac only: TCP and RTT with 0, 100k and 1M sessions in the tables; first packet with 10 and 100k routes (full-table.ts) */
  fullTable?: FullTableResult;
  /** svrouter hmac only: one hub node with 1,000 simulated spokes (2,000 paths; bench/hub.ts) */
  hub?: HubResult;
  /** svrouter hmac only: r1 alone with 1 and 2 data-path workers (scaling.ts) */
  scaling?: ScalingResult;
  /** svrouter-enc-hs: what a key exchange costs on one core (bench/handshake.ts, in process) */
  handshakes?: HandshakeResult;
  errors: string[];
}

/** bench/handshake.ts: CPU of the key exchange on one core (the svrouter-enc-hs mode) */
export interface HandshakeResult {
  /** one whole handshake, both routers' work (initiation, response, confirmation: 2 ephemeral keys, 8 X25519) */
  wholeUs: number;
  wholePerSecond: number;
  /** the responder's part: an initiation in, a response out */
  responderUs: number;
  responderPerSecond: number;
  /** CPU per message of a flood at one router: garbage (mac1), a stranger's initiations (the bucket), under load (cookies) */
  floodUs: { garbage: number; stranger: number; underLoad: number };
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  kernel: string;
  node: string;
  memGiB: number;
  tools: Record<string, string>;
}

export interface BenchResults {
  date: string;
  command: string;
  /** the svrouter source measured: HEAD and whether the working tree had uncommitted changes */
  git: { commit: string; dirtyFiles: number };
  quick: boolean;
  machine: MachineInfo;
  durationSeconds: number;
  /** the run's own steps outside the modes (topology, in-process benchmarks): expected and taken seconds */
  steps?: StepTime[];
  loadAvg: { start: number[]; end: number[] };
  /** namespace prefix of the run */
  prefix: string;
  modes: ModeResult[];
  memory?: MemoryResult;
  /** a big config compiled and applied, and a reload under load (config-scale.ts, in process) */
  configScale?: ConfigScaleResult;
  /** why (parts of) this run are not comparable; non-empty = the run exited non-zero (comparable.ts) */
  notComparable: Problem[];
  runDir: string;
}
