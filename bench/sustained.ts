/**
 * The sustained case (issue 19, item 1; svrouter HMAC only): new UDP and new TCP sessions on the SVR path
 * client -> r1 -> r2 -> server, held for 12 x the plan's session seconds (60 s; 24 s with --quick) at the
 * highest rate with < 1 % failures, on the bench config with a UDP idle timeout of 5 s so that creation and
 * expiry balance. TCP sessions end with the client's RST and linger CLOSE_LINGER_MS (2 s) in the tables.
 *   warm-up 2 s at 1,000/s until one passes (right after a restart the path may not be steady yet);
 *   search  a closed-loop trial (as fast as 512 UDP / 256 TCP sessions in flight allow; a second when it
 *           lost more than 1 %) gives the ceiling (seeded: the rate the last full run held instead, no
 *           ceiling trials, plan.seeds); paced trials from 95 % of it, 15 % lower after each that
 *           failed more than 1 % or could not keep its rate (at most 4), then 20 % higher while they pass
 *           (at most 8), then halfway to the failure above while > 5 % apart (rate-search.ts); the highest
 *           that passed is held;
 *   hold    after the table emptied, the rate found, while each router's sessions active, created and
 *           expired (control socket) and RSS (/proc) are sampled every second, through the hold and the
 *           drain after it; steady-state.ts says whether the table, the sweep and RSS reached a steady state
 *           and stayed flat. A hold that did not is repeated 15 % lower (3 % under the rate the client sent
 *           when at most 1 % failed and that is higher: rate-search.ts nextHoldRate), twice at most; then the
 *           case is not comparable (comparable.ts) and names why.
 *   --sustained-rates U,T: no search, one hold at U (UDP) and T (TCP) sessions/s: builds side by side at one rate
 *   (0: that protocol is not run).
 *   SVR_BENCH_SUSTAINED_PROFILE=DIR: r1 runs under node --cpu-prof (DIR/r1-sustained.cpuprofile, written when the
 *   case restarts it on the bench config; profiling costs CPU, its CPU per session is then not the plain one).
 * The load: bench/c/session-load.c (UDP to the run's C echo; TCP to its own C server on CASE_SERVER).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../src/node/control-client.js';
import { cpuSeconds, formatUserSystem, threadCpu, userSystemPer } from './cpu.js';
import { recordingSteps, sleep, spawnIn, stop, waitForLine } from './exec.js';
import { checkConnectivity } from './measure.js';
import type { ModeContext } from './modes/mode.js';
import type { RouterName, SvrouterMode } from './modes/svrouter.js';
import type { Plan } from './plan.js';
import { nextHoldRate, roundRate, searchRate } from './rate-search.js';
import { caseAddresses, CASE_SERVER, tcpSessions, udpSessions, type PacedResult } from './session-load.js';
import { C_CLIENT_WINDOW } from './sessions.js';
import { steadyState, HELD_SHARE, MAX_FAILED, type RouterSample, type Sample, type SteadyVerdict } from './steady-state.js';
import { svrConfigYaml, TCP_SESSION_PORT } from './svr-config.js';
import { NS } from './topology.js';
import { buildCTool } from './udp-load.js';

/** UDP idle timeout of the sustained runs, s. */
export const SUSTAINED_IDLE_S = 5;
/** Sessions in flight at most in the paced trials and holds (the rate decides how many are). */
const WINDOW = { udp: C_CLIENT_WINDOW, tcp: 1024 } as const;
/** ... and in the closed-loop ceiling trial: enough for the rate, not a flood that takes the path down (a
 * window of 2,048 made BFD declare the path down on the loaded machine, and every session then failed) */
const CEILING_WINDOW = { udp: 512, tcp: 256 } as const;
const ROUTERS: readonly RouterName[] = ['r1', 'r2'];
const PROFILE_DIR = process.env['SVR_BENCH_SUSTAINED_PROFILE'];
/** issue 19's targets, sessions/s on the SVR path */
export const SUSTAINED_TARGETS = { udp: 60_000, tcp: 15_000 } as const;

export interface RateTrial {
  rate: number;
  seconds: number;
  attempted: number;
  ok: number;
  failed: number;
  behind: number;
  passed: boolean;
}

export interface SustainedHold {
  rate: number;
  client: Omit<PacedResult, 'perSecond'>;
  /** the client's counts per second */
  perSecond: PacedResult['perSecond'];
  /** one per second, t relative to the client's start (negative before it, beyond its end while the table drains) */
  samples: Sample[];
  verdict: SteadyVerdict;
  /** CPU of each router process over the hold, µs per session it created */
  cpuUsPerSession: Record<string, number>;
  /** ... by thread name, user and kernel (cpu.ts userSystemPer) */
  threadUsPerSession?: Record<string, Record<string, { user: number; system: number }>>;
  /** BFD path-down events (detection time expired) the routers logged during the hold and its drain */
  pathDowns: number;
}

export interface SustainedRun {
  protocol: 'udp' | 'tcp';
  trials: RateTrial[];
  holds: SustainedHold[];
}

export interface SustainedResult {
  idleTimeoutS: number;
  holdSeconds: number;
  udp?: SustainedRun;
  tcp?: SustainedRun;
  errors: string[];
}

async function routerSample(svr: SvrouterMode, r: RouterName): Promise<RouterSample> {
  const s = await request(svr.socket(r), { method: 'show', what: 'stats' }, 2000) as Record<string, unknown>;
  const n = (k: string): number => (typeof s[k] === 'number' ? s[k] : NaN);
  let rss = NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${svr.proc(r)!.pid}/status`, 'utf8'));
    if (m !== null) rss = Number(m[1]) * 1024;
  } catch {
    // gone: NaN
  }
  return { active: n('sessions-active'), created: n('sessions-created'), expired: n('sessions-expired'), rssBytes: rss };
}

/** Samples both routers every second from now until `done()`, t relative to `t0` (ms). */
function sampler(svr: SvrouterMode, t0: () => number): { samples: Sample[]; stop: () => Promise<void> } {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    let next = Date.now();
    while (running) {
      const at = Date.now();
      try {
        const routers = Object.fromEntries(await Promise.all(ROUTERS.map(async (r) => [r, await routerSample(svr, r)] as const)));
        samples.push({ t: +((at - t0()) / 1000).toFixed(2), routers });
      } catch {
        // a node too busy to answer within 2 s: this second has no sample
      }
      next += 1000;
      await sleep(Math.max(0, next - Date.now()));
    }
  })();
  return { samples, stop: async () => { running = false; await loop; } };
}

function trialOf(rate: number, r: PacedResult): RateTrial {
  const passed = r.failed <= MAX_FAILED * r.attempted && (rate === 0 || r.attempted >= HELD_SHARE * rate * r.seconds);
  return { rate, seconds: r.seconds, attempted: r.attempted, ok: r.ok, failed: r.failed, behind: r.behind, passed };
}


export async function measureSustained(svr: SvrouterMode, ctx: ModeContext, plan: Plan): Promise<SustainedResult> {
  const progress = ctx.progress;
  const holdSeconds = 12 * plan.sessionSeconds;
  const res: SustainedResult = { idleTimeoutS: SUSTAINED_IDLE_S, holdSeconds, errors: [] };
  const tool = buildCTool(ctx.dir, 'session-load');
  if (tool.path === undefined) throw new Error(`bench/c/session-load.c: ${tool.reason}`);
  const bin = tool.path;
  const config = join(ctx.dir, 'authority-sustained.yaml');
  writeFileSync(config, svrConfigYaml({ encrypt: false, udpIdleTimeoutS: SUSTAINED_IDLE_S }));
  const step = recordingSteps(res.errors, progress);
  await caseAddresses(true);
  const server = spawnIn(NS.server, 'session-load-server', bin, ['tcp-server', CASE_SERVER, String(TCP_SESSION_PORT)], join(ctx.dir, 'session-load-server.log'));
  try {
    await waitForLine(server, /ready/, 10_000);
    await svr.restartWith(config, PROFILE_DIR === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', 'r1-sustained.cpuprofile']);
    await checkConnectivity(); // the path is up
    const load = (protocol: 'udp' | 'tcp', seconds: number, rate: number): Promise<PacedResult> => {
      const window = rate === 0 ? CEILING_WINDOW[protocol] : WINDOW[protocol];
      return protocol === 'udp' ? udpSessions(bin, { seconds, rate, window }) : tcpSessions(bin, TCP_SESSION_PORT, seconds, rate, window);
    };
    for (const protocol of ['udp', 'tcp'] as const) {
      if (plan.sustainedRates?.[protocol] === 0) continue; // --sustained-rates 0,T: TCP only
      await step(`${protocol}`, async () => {
        const run: SustainedRun = { protocol, trials: [], holds: [] };
        res[protocol] = run;
        const trial = async (rate: number): Promise<RateTrial> => {
          const t = trialOf(rate, await load(protocol, plan.sessionSeconds, rate));
          run.trials.push(t);
          progress(`    ${protocol} ${rate === 0 ? 'ceiling (as fast as the window allows)' : `${rate}/s`}: ${t.ok} answered, ${t.failed} failed of ${t.attempted} in ${t.seconds.toFixed(1)} s${t.behind > 0 ? `, ${t.behind} behind` : ''}: ${rate === 0 ? `${Math.round(t.ok / t.seconds)}/s` : t.passed ? 'pass' : 'fail'}`);
          return t;
        };
        const fixed = plan.sustainedRates?.[protocol];
        // warm-up (the routers' neighbours for the cases' addresses, the JIT) until 2 s at 1,000/s pass: right
        // after a restart the first flood can find the path not yet steady (BFD went down once, 12 s in)
        for (let k = 0; k < 6; k++) {
          const w = await load(protocol, 2, 1000);
          if (w.failed <= MAX_FAILED * w.attempted) break;
          progress(`    ${protocol} warm-up: ${w.failed} of ${w.attempted} failed; again in 3 s`);
          await sleep(3000);
        }
        if (fixed !== undefined) {
          run.holds.push(await hold(svr, protocol, fixed, holdSeconds, load, progress)); // --sustained-rates: this rate once
          return;
        }
        // seeded: from the rate the last full run held (no ceiling trials); else the ceiling: a closed loop, once
        // more when it lost more than 1 % (a burst that overflowed a queue), and down from 95 % of it until a
        // trial passes, then up while they pass (a paced load can pass above a closed loop's rate: there every
        // lost answer holds a window slot for its 1 s timeout)
        const seed = plan.seeds?.[svr.id]?.[protocol === 'udp' ? 'sustainedUdp' : 'sustainedTcp'];
        let rate: number;
        if (seed !== undefined) {
          progress(`    ${protocol}: seeded at ${seed}/s (the rate the last full run held)`);
          rate = seed;
        } else {
          const first = await trial(0);
          const ceiling = first.passed ? first : await trial(0);
          rate = roundRate(0.95 * Math.max(first.ok / first.seconds, ceiling.ok / ceiling.seconds));
        }
        const found = await searchRate(rate, async (r) => (await trial(r)).passed);
        rate = found.best ?? found.lowest;
        for (let attempt = 0; attempt < 3; attempt++) {
          const h = await hold(svr, protocol, rate, holdSeconds, load, progress);
          run.holds.push(h);
          if (h.verdict.reasons.length === 0) break;
          rate = nextHoldRate(rate, h.client.attempted / h.client.seconds, h.pathDowns > 0 ? 1 : h.client.failed / Math.max(1, h.client.attempted));
        }
      });
    }
  } finally {
    await stop(server, 3000);
    await caseAddresses(false);
  }
  // back on the headline config; a node that does not start in time is this case's error, its figures stay
  await step('restart on the bench config', () => svr.restartWith());
  return res;
}

async function hold(svr: SvrouterMode, protocol: 'udp' | 'tcp', rate: number, seconds: number,
  load: (p: 'udp' | 'tcp', s: number, r: number) => Promise<PacedResult>, progress: (l: string) => void): Promise<SustainedHold> {
  progress(`    ${protocol}: waiting ${SUSTAINED_IDLE_S + 3} s for the table to empty, then ${rate}/s for ${seconds} s, sampling r1 and r2 every second`);
  await sleep((SUSTAINED_IDLE_S + 3) * 1000);
  let start = Date.now() + 2000;
  const sampling = sampler(svr, () => start);
  await sleep(2000);
  const procs = svr.routerProcs();
  const cpu0 = procs.map((p) => cpuSeconds(p.pid));
  const threads0 = procs.map((p) => threadCpu(p.pid));
  const downs = (): number => ROUTERS.reduce((k, r) => k + svr.logLines(r, /path\.unusable.*detection-time-expired/).length, 0);
  const downs0 = downs();
  const created0 = await Promise.all(ROUTERS.map((r) => routerSample(svr, r).then((s) => s.created)));
  start = Date.now();
  const { perSecond, ...client } = await load(protocol, seconds, rate);
  const cpu1 = procs.map((p) => cpuSeconds(p.pid));
  const threads1 = procs.map((p) => threadCpu(p.pid));
  const created1 = await Promise.all(ROUTERS.map((r) => routerSample(svr, r).then((s) => s.created)));
  await sleep((SUSTAINED_IDLE_S + 3) * 1000); // the drain: the table should empty as the sessions idle out
  await sampling.stop();
  const verdict = steadyState(sampling.samples, { seconds: client.seconds, rate, attempted: client.attempted, failed: client.failed }, 2 * SUSTAINED_IDLE_S);
  const pathDowns = downs() - downs0;
  if (pathDowns > 0) verdict.reasons.push(`BFD declared the r1-r2 path down ${pathDowns} time(s) during the hold (detection time expired)`);
  const cpuUsPerSession = Object.fromEntries(procs.map((p, k) => [p.name, ((cpu1[k]! - cpu0[k]!) * 1e6) / Math.max(1, created1[k]! - created0[k]!)]));
  const threadUsPerSession = Object.fromEntries(procs.map((p, k) => [p.name, userSystemPer(p.pid, threads0[k]!, threads1[k]!, Math.max(1, created1[k]! - created0[k]!))]));
  const h: SustainedHold = { rate, client, perSecond, samples: sampling.samples, verdict, cpuUsPerSession, threadUsPerSession, pathDowns };
  progress(`    ${protocol} hold at ${rate}/s: ${client.ok} answered, ${client.failed} failed of ${client.attempted} in ${client.seconds.toFixed(1)} s (${Math.round(client.ok / client.seconds)}/s)`);
  for (const [r, s] of Object.entries(verdict.routers)) {
    progress(`      ${r}: ${Math.round(s.activeFirst)} -> ${Math.round(s.activeSecond)} sessions active, ${Math.round(s.createdPerSecond)} created/s, ${Math.round(s.expiredPerSecond)} expired/s, RSS ${(s.rssFirstBytes / 2 ** 20).toFixed(0)} -> ${(s.rssSecondBytes / 2 ** 20).toFixed(0)} MiB, CPU ${cpuUsPerSession[`svr-${r}`]?.toFixed(1)} µs per session`);
  }
  for (const [name, t] of Object.entries(threadUsPerSession)) progress(`      ${name} µs per session by thread, user + kernel: ${formatUserSystem(t)}`);
  progress(verdict.reasons.length === 0 ? `      steady state from ${verdict.window[0]} s to ${verdict.window[1]} s: reached and flat`
    : `      ! not steady: ${verdict.reasons.join('; ')}`);
  return h;
}
