/** The shape of bench/results.json. */
import type { SearchResult } from './udp-search.js';
import type { Spread } from './stats.js';
import type { PingResult } from './uping.js';
import type { SessionsResult } from './sessions-client.js';
import type { MemoryResult } from './memory.js';
import type { ProfileSummary } from './profile.js';
import type { HopLatency } from './hops.js';

export interface TcpResult {
  gbps: Spread;
  retransmits: number[];
  /** CPU seconds of the mode's router processes per Gbit delivered (= cores per Gbps), per run */
  cpuSecondsPerGbit: Spread | null;
  /** CPU seconds per process and run */
  cpuByProcess: Record<string, number[]>;
}

export interface RttResult {
  p50Us: Spread;
  p99Us: Spread;
  runs: PingResult[];
  /** who pinged: bench/c/udp-load.c ('c', to its echo) or bench/uping.ts ('node', to the Node echo); absent in older results: node */
  pinger?: 'c' | 'node';
  /** per-pass latency from captures on r1-c, r1-r2 and r2-s (medians, µs) */
  hops?: HopLatency;
}

export interface SessionRate {
  client: SessionsResult;
  /** svrouter: `sessions-created` on r1 per second of the test (from svr show stats --json) */
  createdR1PerSecond?: number;
  createdR1?: number;
  createdR2?: number;
}

export interface EncryptionCheck {
  /** a marker sent in the payload was found in a capture on the r1-r2 veth */
  payloadSeenInClear: boolean;
  packetsCaptured: number;
}

export interface ModeResult {
  id: string;
  label: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  notes: string[];
  loadAvgAtStart: number[];
  udpLargeLen: number;
  rtt?: RttResult;
  /** svrouter: the same RTT measurement with both nodes restarted with `--busy-poll 0` (the baseline for busy polling) */
  rttBusyPollOff?: RttResult;
  tcp?: TcpResult;
  udpLarge?: SearchResult;
  udp64?: SearchResult;
  /** udpR1Alone (svrouter hmac only): UDP sessions with r1 alone, the service on a local next hop and r2
   *  forwarding in the kernel (SvrouterMode.aloneR1): one router's rate without a second on the same cores */
  sessions?: { udp?: SessionRate; tcp?: SessionRate; udpR1Alone?: SessionRate };
  encryption?: EncryptionCheck;
  /** svrouter: counters of `svr show stats --json` that moved between setup and the end of the measurements */
  routerCounters?: Record<string, Record<string, number>>;
  /** svrouter: `path.unusable` lines the nodes logged during the measurements (BFD/hold-down), per router */
  pathDownEvents?: Record<string, string[]>;
  profiles?: ProfileSummary[];
  errors: string[];
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
  loadAvg: { start: number[]; end: number[] };
  modes: ModeResult[];
  memory?: MemoryResult & { note: string };
  runDir: string;
}
