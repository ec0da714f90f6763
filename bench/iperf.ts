/** iperf3 between the client and server namespaces: one TCP run, one UDP trial (JSON output parsed). */
import { join } from 'node:path';
import { runAnyway, sleep, spawnIn, waitForLine, type Proc } from './exec.js';
import { NS, SERVER } from './topology.js';
import { IPERF_PORT } from './svr-config.js';

export function startIperfServer(dir: string): Promise<Proc> {
  const p = spawnIn(NS.server, 'iperf3-server', 'iperf3', ['-s', '-B', SERVER, '-p', String(IPERF_PORT), '--forceflush'], join(dir, 'iperf3-server.log'));
  return waitForLine(p, /Server listening/, 10_000).then(() => p);
}

interface UdpSum {
  packets?: number;
  lost_packets?: number;
  seconds?: number;
  bits_per_second?: number;
}

interface IperfJson {
  error?: string;
  end?: {
    sum_sent?: UdpSum & { retransmits?: number };
    sum_received?: UdpSum;
    sum?: UdpSum;
  };
}

/** iperf3 runs whose control connection could not be set up (retried); the caller reports them per mode. */
export const connectFailures: string[] = [];
/** iperf3 runs that failed otherwise (e.g. "unable to receive control message: Connection reset by peer") and ran
 *  once more; the caller reports them per mode. A second failure throws: the step fails, the case is flagged. */
export const failedOnce: string[] = [];

/** Where the iperf3 client runs and what it reaches: the bench's client namespace and server (a test: loopback). */
export interface IperfPeer {
  argv: readonly string[];
  host: string;
  port: number;
}
/** the client namespace read when iperf3 runs: `--prefix` renames it after this module loads */
export const BENCH_PEER: IperfPeer = { get argv() { return ['ip', 'netns', 'exec', NS.client, 'iperf3']; }, host: SERVER, port: IPERF_PORT };

/** Runs iperf3 in the client namespace; retries when the server is still busy with the previous test. */
async function iperf(args: string[], seconds: number, peer: IperfPeer = BENCH_PEER): Promise<IperfJson> {
  const full = ['-c', peer.host, '-p', String(peer.port), '--connect-timeout', '3000', '-J', ...args];
  let ranAgain = false;
  for (let attempt = 0; ; attempt++) {
    // iperf3 -J exits 1 on errors, with its JSON (and "error") on stdout
    const r = await runAnyway(peer.argv[0]!, [...peer.argv.slice(1), ...full], (seconds + 25) * 1000);
    let j: IperfJson;
    try {
      j = JSON.parse(r.stdout) as IperfJson;
    } catch {
      j = { error: (r.stdout + r.stderr).trim().slice(0, 300) || 'no output' };
    }
    if (j.error !== undefined && /busy/i.test(j.error) && attempt < 5) {
      await sleep(1000);
      continue;
    }
    if (j.error !== undefined && /unable to connect/i.test(j.error) && attempt < 2) {
      connectFailures.push(`${new Date().toISOString()} iperf3 ${args.join(' ')}: ${j.error}`);
      await sleep(1000);
      continue;
    }
    if (j.error !== undefined && !ranAgain) {
      ranAgain = true;
      failedOnce.push(`${new Date().toISOString()} iperf3 ${args.join(' ')}: ${j.error}`);
      await sleep(1000);
      continue;
    }
    if (j.error !== undefined) throw new Error(`iperf3 ${args.join(' ')}: ${j.error} (ran once more, failed again)`);
    return j;
  }
}

export interface TcpRun {
  gbps: number;
  retransmits: number;
}

/** `streams` > 1: that many parallel connections (iperf3 -P), the figure is their sum. */
export async function tcpRun(seconds: number, streams = 1, peer: IperfPeer = BENCH_PEER): Promise<TcpRun> {
  const j = await iperf(['-t', String(seconds), ...(streams > 1 ? ['-P', String(streams)] : [])], seconds, peer);
  return { gbps: (j.end?.sum_received?.bits_per_second ?? 0) / 1e9, retransmits: j.end?.sum_sent?.retransmits ?? 0 };
}

export interface UdpTrial {
  /** offered rate (payload bits/s; 0 = unlimited) */
  offeredBps: number;
  len: number;
  seconds: number;
  sentPps: number;
  /** packets that arrived per second */
  recvPps: number;
  lossPct: number;
}

/** `streams` > 1: that many parallel flows (iperf3 -P; `bps` is per flow), the figures are their sum. */
export async function udpTrial(len: number, bps: number, seconds: number, streams = 1): Promise<UdpTrial> {
  const secs = Math.max(1, Math.round(seconds)); // iperf3 -t takes whole seconds
  const j = await iperf(['-u', '-b', String(Math.round(bps)), '-l', String(len), '-w', '4M', '-t', String(secs), ...(streams > 1 ? ['-P', String(streams)] : [])], secs);
  const sent = j.end?.sum_sent ?? j.end?.sum ?? {};
  const recv = j.end?.sum_received ?? j.end?.sum ?? {};
  const sentPackets = sent.packets ?? 0;
  // delivered = what the receiver counted minus the gaps it saw; comparing with what was sent also counts tail loss
  const delivered = Math.max(0, (recv.packets ?? 0) - Math.max(0, recv.lost_packets ?? 0));
  const t = sent.seconds ?? secs;
  return {
    offeredBps: bps, len, seconds: t,
    sentPps: sentPackets / t, recvPps: delivered / t,
    lossPct: sentPackets > 0 ? (100 * Math.max(0, sentPackets - delivered)) / sentPackets : 100,
  };
}
