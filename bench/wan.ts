/**
 * The WAN cases (svrouter, HMAC only; issue 13 "Benchmark"), on the benchmark's real veths:
 *   path MTU  TCP, one stream, at the full WAN MTU; then the r1-r2 veth at MTU 1400 on both ends, the nodes
 *             restarted so their path MTU discovery (probes, docs/wan.md "Path MTU") finds it and MSS clamping fits TCP to it; TCP again.
 *             The nodes' wan interfaces keep `mtu: 1500`: only probing can tell. Every ICMP packet on the veth is
 *             dropped in both phases (nftables ingress on both ends), so only the MTU differs.
 *   FEC       a UDP stream (iperf3, FEC_LEN B at FEC_PPS datagrams/s) with 5 % random loss on the r1-r2 veth
 *             (nftables `numgen random` on both ends' egress, this kernel has no netem; turned on 1 s into the stream so the session's first packets, which carry
 *             metadata and are in no FEC group, are not the ones lost), once without FEC and once with the
 *             service policy `fec` at its defaults (8/2): delivered loss, and what r1's node sent to the WAN
 *             (packets and bytes its wan TUN took) for the same stream: FEC's overhead.
 * The nodes and the veth are put back to the headline config afterwards.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ipn, recordingSteps, runIn, sleep } from './exec.js';
import { udpTrial } from './iperf.js';
import { checkConnectivity, measureTcp } from './measure.js';
import type { ModeContext } from './modes/mode.js';
import type { SvrouterMode } from './modes/svrouter.js';
import type { Plan } from './plan.js';
import type { TcpResult } from './results.js';
import { svrConfigYaml } from './svr-config.js';
import { DEV, flushRouteCaches, NS, WAN_MTU } from './topology.js';

export const NARROW_MTU = 1400;
export const LOSS_PCT = 5;
export const FEC_LEN = 1200;
export const FEC_PPS = 2000;
export const FEC_DEFAULT = { groupSize: 8, parity: 2 } as const;
const NFT_TABLE = 'svr_bench_wan';
const LOSS_TABLE = 'svr_bench_loss';
/** the node's wan TUN device (bench/modes/svrouter.ts) */
const WAN_TUN = 'svr-wan0';

export interface LossRun {
  fec: boolean;
  sentPackets: number;
  lossPct: number;
  /** packets and bytes r1's node sent toward the WAN during the stream (received by its wan TUN, before the loss) */
  wanTxPackets: number;
  wanTxBytes: number;
  /** counters of r1 (sender) and r2 (receiver) that moved: fec-parity-sent, fec-packets-recovered, ... */
  fecCounters: Record<string, number>;
}

export interface WanResult {
  /** TCP at the full WAN MTU and through the narrow path, back to back */
  tcpFull?: TcpResult;
  tcpNarrow?: TcpResult;
  narrowMtu: number;
  /** the path MTU r1 discovered (svr show peers) on the narrow path */
  discoveredMtu?: number;
  loss?: { pct: number; len: number; pps: number; seconds: number; noFec?: LossRun; fec?: LossRun };
  errors: string[];
}

/** r1's path MTU as `svr show peers --json` shows it, once discovered (not `searching`). */
async function discoveredMtu(svr: SvrouterMode, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const peers = await svr.show('r1', 'peers').catch(() => []) as { paths?: { mtu: number; mtuState: string }[] }[];
    const p = peers.flatMap((x) => x.paths ?? [])[0];
    if (p !== undefined && p.mtuState === 'discovered') return p.mtu;
    await sleep(500);
  }
  return undefined;
}

async function setWanMtu(mtu: number): Promise<void> {
  await ipn(NS.r1, ['link', 'set', DEV.r1Wan, 'mtu', String(mtu)]);
  await ipn(NS.r2, ['link', 'set', DEV.r2Wan, 'mtu', String(mtu)]);
}

/** The two ends of the r1-r2 veth: namespace and device. */
const WAN_ENDS = (): [string, string][] => [[NS.r1, DEV.r1Wan], [NS.r2, DEV.r2Wan]];

/**
 * Drops every ICMP packet on a link (or removes the rule): a netdev ingress chain on each end, so an ICMP packet
 * either side sends onto the link is dropped where it arrives. Only the link's packets walk the chain, once each
 * (~0.3 µs per data segment in r1's WAN writer); the inet table hooked at input, forward and output before wave 20
 * put every packet of both routers, LAN ones too, through it, ~5 walks per data segment, +0.45 µs (docs/wan.md
 * "Benchmark").
 */
export async function dropLinkIcmp(on: boolean, dir: string, ends: readonly (readonly [string, string])[] = WAN_ENDS()): Promise<void> {
  for (const [ns, dev] of ends) {
    if (!on) {
      await runIn(ns, 'nft', ['delete', 'table', 'netdev', NFT_TABLE]).catch(() => undefined);
      continue;
    }
    const file = join(dir, `nft-${ns}.conf`);
    writeFileSync(file, `table netdev ${NFT_TABLE} {
  chain link_in { type filter hook ingress device "${dev}" priority -10; ip protocol icmp drop; }
}
`);
    await runIn(ns, 'nft', ['-f', file]);
  }
}

/**
 * LOSS_PCT % random loss on both ends of the r1-r2 veth: nftables `numgen random` on each router's egress to it
 * (tc netem is not in this kernel: "Specified qdisc kind is unknown"), or off.
 */
async function randomLoss(on: boolean, dir: string): Promise<void> {
  for (const [ns, dev] of WAN_ENDS()) {
    if (!on) {
      await runIn(ns, 'nft', ['delete', 'table', 'inet', LOSS_TABLE]).catch(() => undefined);
      continue;
    }
    const file = join(dir, `loss-${ns}.conf`);
    writeFileSync(file, `table inet ${LOSS_TABLE} {
  chain wan_loss { type filter hook postrouting priority 0; oifname "${dev}" numgen random mod 1000 < ${LOSS_PCT * 10} drop; }
}
`);
    await runIn(ns, 'nft', ['-f', file]);
  }
}

/** What r1's node wrote to its wan TUN (the kernel counts it as received there), all SVR overhead included. */
async function txCounters(): Promise<{ packets: number; bytes: number }> {
  const [l] = JSON.parse((await ipn(NS.r1, ['-s', '-j', 'link', 'show', WAN_TUN])).stdout) as { stats64?: { rx?: { packets: number; bytes: number } } }[];
  return { packets: l?.stats64?.rx?.packets ?? NaN, bytes: l?.stats64?.rx?.bytes ?? NaN };
}

const FEC_KEYS = /^(fec-|drop-fec)/;
async function fecCounters(svr: SvrouterMode): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of ['r1', 'r2'] as const) {
    for (const [k, v] of Object.entries(await svr.stats(r))) if (FEC_KEYS.test(k) && typeof v === 'number') out[`${r} ${k}`] = v;
  }
  return out;
}

async function lossRun(svr: SvrouterMode, fec: boolean, seconds: number, dir: string): Promise<LossRun> {
  const c0 = await fecCounters(svr);
  const t0 = await txCounters();
  const trial = udpTrial(FEC_LEN, FEC_LEN * 8 * FEC_PPS, seconds).then((r) => ({ r }), (e: unknown) => ({ e }));
  let lossError: unknown;
  try {
    await sleep(1000);
    await randomLoss(true, dir);
  } catch (e) {
    lossError = e;
  }
  const done = await trial;
  await randomLoss(false, dir);
  if (lossError !== undefined) throw lossError;
  if ('e' in done) throw done.e;
  const res = done.r;
  const t1 = await txCounters();
  const c1 = await fecCounters(svr);
  const moved = Object.fromEntries(Object.entries(c1).map(([k, v]) => [k, v - (c0[k] ?? 0)] as const).filter(([, d]) => d !== 0));
  return { fec, sentPackets: Math.round(res.sentPps * res.seconds), lossPct: res.lossPct, wanTxPackets: t1.packets - t0.packets, wanTxBytes: t1.bytes - t0.bytes, fecCounters: moved };
}

/** Relative overhead of `fec` over `plain` (0.25 = 25 % more), or undefined. */
export function overhead(plain: number | undefined, fec: number | undefined): number | undefined {
  return plain === undefined || fec === undefined || !(plain > 0) ? undefined : (fec - plain) / plain;
}

export async function measureWan(svr: SvrouterMode, ctx: ModeContext, plan: Plan): Promise<WanResult> {
  const progress = ctx.progress;
  const dir = join(ctx.dir, 'wan');
  mkdirSync(dir, { recursive: true });
  const res: WanResult = { narrowMtu: NARROW_MTU, errors: [] };
  const step = recordingSteps(res.errors, progress);

  // ICMP is dropped on the link in both phases, so that only the MTU differs: the drop is the path's, and its chain walk
  // (r2's ingress, run in r1's WAN writer's softirq, ~0.3 µs a segment) costs the routers' CPU here, where a middlebox would pay it
  progress(`  wan: tcp at the full WAN MTU ${WAN_MTU}, ICMP dropped on r1-r2`);
  try {
    await dropLinkIcmp(true, dir);
    await step('tcp full mtu', async () => { res.tcpFull = await measureTcp(svr, plan, progress); });
    progress(`  wan: r1-r2 veth at MTU ${NARROW_MTU}, ICMP dropped on it; nodes restarted to discover the path MTU`);
    await setWanMtu(NARROW_MTU);
    await svr.restartRouters();
    await flushRouteCaches();
    await step('tcp narrow path', async () => {
      res.discoveredMtu = await discoveredMtu(svr, 30_000);
      if (res.discoveredMtu === undefined) throw new Error('r1 found no path MTU within 30 s (svr show peers)');
      progress(`    r1's path MTU: ${res.discoveredMtu}`);
      await checkConnectivity();
      res.tcpNarrow = await measureTcp(svr, plan, progress);
    });
  } finally {
    await dropLinkIcmp(false, dir);
    await setWanMtu(WAN_MTU);
    await flushRouteCaches();
  }

  const seconds = Math.max(5, plan.tcpSeconds);
  res.loss = { pct: LOSS_PCT, len: FEC_LEN, pps: FEC_PPS, seconds };
  const fecConfig = join(dir, 'authority-fec.yaml');
  writeFileSync(fecConfig, svrConfigYaml({ encrypt: false, fec: FEC_DEFAULT }));
  try {
    await svr.restartRouters();
    await checkConnectivity();
    progress(`  wan: udp ${FEC_LEN} B at ${FEC_PPS}/s for ${seconds} s, ${LOSS_PCT} % loss on r1-r2 both ways, no FEC`);
    await step('udp loss no fec', async () => { res.loss!.noFec = await lossRun(svr, false, seconds, dir); });
    await svr.restartWith(fecConfig);
    await checkConnectivity();
    progress(`  wan: the same with fec ${FEC_DEFAULT.groupSize}/${FEC_DEFAULT.parity}`);
    await step('udp loss fec', async () => { res.loss!.fec = await lossRun(svr, true, seconds, dir); });
  } finally {
    await svr.restartWith();
  }
  const l = res.loss;
  for (const r of [l.noFec, l.fec]) {
    if (r !== undefined) progress(`    ${r.fec ? 'fec' : 'no fec'}: ${r.sentPackets} sent, loss ${r.lossPct.toFixed(2)} %; r1's node sent ${r.wanTxPackets} packets, ${r.wanTxBytes} bytes to the WAN; ${Object.entries(r.fecCounters).map(([k, v]) => `${k} ${v}`).join(', ') || 'no fec counters moved'}`);
  }
  return res;
}
