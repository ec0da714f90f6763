/**
 * One mode of the benchmark, measured in order: the wire check (svrouter: UDP and TCP payload and the SYNs'
 * MSS on the r1-r2 veth), RTT and per-pass latency, RTT with the CPUs kept awake, TCP with router CPU, the two
 * UDP searches with drop counters, new UDP sessions (every mode) and TCP sessions (svrouter and kernel), router
 * counters and path events (svrouter), UDP sessions through r1 alone (svrouter hmac only), per-core scaling of r1
 * alone with 1 and 2 data-path workers (svrouter hmac only, scaling.ts; these two after every mode and round in
 * run.ts: measureAloneLast), the visibility case
 * (svrouter hmac only: TCP and new sessions with session records off and on, visibility.ts), the HA case
 * (svrouter hmac only: the same with r1 one node and a pair, failover time; ha.ts), the WAN case
 * (svrouter hmac only: TCP through a 1400 B path, UDP with 5 % loss and FEC, wan.ts), the sustained case
 * (svrouter hmac only: new sessions held for 60 s, sustained.ts), the full-table case (svrouter hmac only: TCP and
 * RTT with up to 1M sessions in the tables, full-table.ts), the hub case (svrouter hmac only: one hub node and
 * 1,000 simulated spokes in namespaces of its own, hub.ts), RTT with busy
 * polling (svrouter), profiles (svrouter). A failing step is recorded (errors, named by its measurement key,
 * see comparable.ts) and the rest goes on.
 */
import { loadavg } from 'node:os';
import { withCpusAwake } from './awake.js';
import { EXPECT, totals, type StepTime } from './budget.js';
import { checkTcpPayload, checkUdpPayload } from './capture.js';
import { dropDelta, dropSnapshot, formatDrops } from './drops.js';
import { measureHops } from './hops.js';
import { connectFailures, failedOnce } from './iperf.js';
import { checkConnectivity, measureRtt, measureTcp, mergeRtt, mergeTcp } from './measure.js';
import { ModeSkipped, type Mode, type ModeContext } from './modes/mode.js';
import { BUSY_POLL_NODE_ARGS, SvrouterMode } from './modes/svrouter.js';
import type { Plan } from './plan.js';
import { formatProfile } from './profile.js';
import { profileSvrouter } from './profiling.js';
import type { ModeResult } from './results.js';
import { measureScaling, SCALING_STREAMS } from './scaling.js';
import { heldSessionRate, sessionRate, warmUpSessions } from './sessions.js';
import { flushRouteCaches, wanMtu } from './topology.js';
import { searchUdp, type SearchResult } from './udp-search.js';
import { measureVisibility, VISIBILITY_IDLE_S } from './visibility.js';
import { measureSustained, SUSTAINED_IDLE_S } from './sustained.js';
import { fillTargets, measureFullTable, tableRounds } from './full-table.js';
import { FAILOVER_RUNS, measureHa } from './ha.js';
import { LOSS_PCT, measureWan, NARROW_MTU } from './wan.js';
import { FAIL_SPOKES, HUB_SPOKES, measureHub } from './hub.js';

/** The steps `--case` can name: every key `measureMode` runs a step under (typed, so the two cannot drift). */
export const CASES = ['tcp', 'rtt', 'rttAwake', 'rttBusyPoll', 'udpLarge', 'udp64', 'r1alone', 'wire', 'hops', 'counters', 'profile', 'sessions-udp', 'sessions-tcp', 'visibility', 'ha', 'hub', 'scaling', 'sustained', 'tables', 'wan'] as const;
export type CaseKey = (typeof CASES)[number];

export interface ModeRunOptions {
  profile: boolean;
  /** run only the steps with these keys (`--case`); default all */
  cases?: readonly string[];
  /** list the steps with their expected seconds in `res.steps` and run nothing (`--plan`) */
  dry?: boolean;
  /** the modes of this run (MEASURED_ELSEWHERE: a step another mode of the run measures is not repeated) */
  modes?: readonly string[];
  /** > 1: RTT and TCP in rounds that interleave the modes (run.ts): here one run each, the first round;
   *  measureRound the others */
  rounds?: number;
  /** the r1-alone steps (aloneSteps) are left to measureAloneLast, after every mode and round (run.ts, a full run) */
  aloneLast?: boolean;
}

/**
 * Steps a mode leaves to another mode of the same run that measures the same thing (once suffices), unless
 * --case names them: svrouter-enc-udp carries TCP sessions as UDP and UDP unchanged, so its UDP figures are
 * svrouter-enc's; svrouter-enc-hs has svrouter-enc's data path with keys from the key exchange, so it measures
 * the figures of its goal (TCP, UDP 1400/64 B, new UDP sessions) and leaves RTT, new TCP sessions, busy
 * polling and profiles to svrouter-enc. 'profile-udp': the profile during new UDP sessions.
 */
export const MEASURED_ELSEWHERE: Readonly<Record<string, { by: string; keys: readonly string[]; why: string }>> = {
  'svrouter-enc-udp': { by: 'svrouter-enc', keys: ['rtt', 'hops', 'rttAwake', 'udpLarge', 'udp64', 'sessions-udp', 'rttBusyPoll', 'profile-udp'], why: 'udp-transform carries TCP sessions as UDP and leaves UDP as it is' },
  'svrouter-enc-hs': { by: 'svrouter-enc', keys: ['rtt', 'hops', 'rttAwake', 'sessions-tcp', 'rttBusyPoll', 'profile', 'profile-udp'], why: 'the same data path, only the path keys come from the key exchange' },
};

/**
 * Sets a mode up until it forwards: a set-up that throws or whose connectivity check fails is torn down and set up
 * once more, and the retry is noted (the current wireguard-go's first set-up in the full run of 2026-12-07 12:29 did
 * its handshakes and forwarded nothing; it ran at once afterwards). A second failure throws; a ModeSkipped is final.
 */
export async function setUpForwarding(setup: () => Promise<void>, check: () => Promise<void>, teardown: () => Promise<void>, retried: (why: string) => void): Promise<void> {
  try {
    await setup();
    await check();
    return;
  } catch (e) {
    if (e instanceof ModeSkipped) throw e;
    retried((e as Error).message);
    await teardown().catch(() => undefined);
  }
  await setup();
  await check();
}

/** Runs one step and times it (res.steps); a failure is recorded as "<key>: <what>: <message>" (key: the
 *  measurement it spoils). Dry: only listed. */
export async function runStep(res: ModeResult, key: string, what: string, expectS: number, f: () => Promise<void>, progress: (l: string) => void, dry: boolean): Promise<void> {
  const time: StepTime = { key, what, expectedS: Math.round(expectS) };
  (res.steps ??= []).push(time);
  if (dry) return;
  progress(`  ${what}`);
  const t0 = Date.now();
  try {
    await f();
  } catch (e) {
    const msg = `${key}: ${what}: ${(e as Error).message.split('\n')[0]}`;
    res.errors.push(msg);
    progress(`  ! ${msg}`);
  } finally {
    time.tookS = Math.round((Date.now() - t0) / 1000);
    progress(`    (${key}: ${time.tookS} s; expected ${time.expectedS} s)`);
  }
}

export async function measureMode(mode: Mode, ctx: ModeContext, plan: Plan, o: ModeRunOptions): Promise<ModeResult> {
  const progress = ctx.progress;
  const dry = o.dry === true;
  const same = MEASURED_ELSEWHERE[mode.id];
  const elsewhere = same !== undefined && o.cases === undefined && (o.modes ?? []).includes(same.by) ? same.keys : [];
  const step = (res: ModeResult, key: CaseKey, what: string, expectS: number, f: () => Promise<void>): Promise<void> =>
    ((o.cases === undefined || o.cases.includes(key)) && !elsewhere.includes(key) ? runStep(res, key, what, expectS, f, progress, dry) : Promise.resolve());
  const res: ModeResult = { id: mode.id, label: mode.label, status: 'ok', notes: mode.notes, loadAvgAtStart: loadavg().map((x) => +x.toFixed(2)), udpLargeLen: mode.udpLarge, errors: [] };
  const setupTime: StepTime = { key: 'setup', what: `${mode.label}: set up, connectivity checked`, expectedS: EXPECT.setup(mode.id) };
  res.steps = [setupTime];
  if (!dry) progress(`== ${mode.label}: setting up`);
  const t0 = Date.now();
  try {
    if (!dry) {
      await flushRouteCaches();
      await setUpForwarding(() => mode.setup(ctx), () => checkConnectivity(mode), () => mode.teardown(ctx), (why) => {
        res.notes.push(`set up twice: the first set-up did not forward (${why})`);
        progress(`  set up again: ${why}`);
      });
      res.wanMtu = await wanMtu();
      setupTime.tookS = Math.round((Date.now() - t0) / 1000);
    }
    if (mode.terms !== undefined) res.terms = mode.terms;
    if (elsewhere.length > 0 && !dry) res.notes.push(`${elsewhere.filter((k) => k !== 'profile-udp').join(', ')}: measured once, by ${same!.by} in this run (${same!.why})`);
  } catch (e) {
    res.status = e instanceof ModeSkipped ? 'skipped' : 'failed';
    res.reason = (e as Error).message;
    progress(`  ${res.status}: ${res.reason}`);
    await mode.teardown(ctx).catch(() => undefined);
    return res;
  }
  try {
    const svr = mode instanceof SvrouterMode ? mode : undefined;
    const wanCase = async (): Promise<void> => {
      if (!svr || svr.encrypt) return;
      await step(res, 'wan', `wan: tcp through a ${NARROW_MTU} B path (ICMP dropped) next to the full MTU; udp with ${LOSS_PCT} % loss, without and with FEC`, EXPECT.wan(plan), async () => {
        res.wan = await measureWan(svr, ctx, plan);
        await checkConnectivity();
      });
    };
    if (svr) {
      res.wire = { expectClear: !svr.encrypt };
      const expect = svr.encrypt ? 'must not be' : 'must be';
      await step(res, 'wire', `payload on the wire, UDP (capture on r1-r2; the marker ${expect} in clear)`, EXPECT.wire(), async () => {
        const c = res.wire!.udp = await checkUdpPayload(ctx.dir, mode.id);
        progress(`    ${c.packetsCaptured} packets captured; marker ${c.payloadSeenInClear ? 'seen in clear' : 'not seen in clear'}`);
      });
      await step(res, 'tcp', `payload on the wire, TCP: a 64 kB marked stream (the marker ${expect} in clear; the SYNs' MSS must fit)`, EXPECT.wire(), async () => {
        const c = res.wire!.tcp = await checkTcpPayload(ctx.dir, mode.id);
        progress(`    ${c.packetsCaptured} packets captured; marker ${c.payloadSeenInClear ? 'seen in clear' : 'not seen in clear'}; ${c.deliveredBytes} of ${c.streamBytes} bytes delivered; MSS on the WAN: SYN ${c.synMss}, SYN-ACK ${c.synAckMss}; largest packet ${c.largestPacket} B`);
      });
      const enc = [res.wire.udp, res.wire.tcp].filter((c) => c !== undefined).map((c) => `${c!.protocol} ${c!.payloadSeenInClear ? 'in clear' : 'not in clear'}`).join(', ');
      res.notes.push(`payload on the WAN (marker captured on r1-r2): ${enc}${svr.encrypt ? ' (encrypted service)' : ' (HMAC only)'}`);
    }
    const counters0 = svr && !dry ? await Promise.all([svr.stats('r1'), svr.stats('r2')]).catch(() => undefined) : undefined;
    const rttWhat = `${plan.pingRuns} × ${plan.pingCount} sequential 64 B round trips after ${plan.pingWarmup} warm-up`;
    const first = (o.rounds ?? 1) > 1 ? { ...plan, tcpRuns: 1, pingRuns: 1 } : plan;
    const ofRounds = first === plan ? '' : passIsFirstRound(o.cases) ? ` (round 1 of ${o.rounds}, interleaved with the other modes)` : ` (replaced by ${o.rounds} rounds interleaved with the other modes after every mode's pass)`;
    await step(res, 'rtt', `rtt: ${first.pingRuns} × ${plan.pingCount} sequential 64 B round trips after ${plan.pingWarmup} warm-up${ofRounds}`, EXPECT.rtt(first), async () => { res.rtt = await measureRtt(first, progress, ctx.udpLoad, mode.routerProcs()); });
    if (dry || res.rtt !== undefined) {
      await step(res, 'hops', 'latency per router pass (captures on r1-c, r1-r2, r2-s during 300 pings)', EXPECT.hops(), async () => {
        const h = await measureHops(ctx.dir, mode.id);
        res.rtt!.hops = h;
        progress(h === undefined ? '    captures did not line up one to one; skipped'
          : `    medians: r1 fwd ${h.r1FwdUs.toFixed(1)} µs, r2 fwd ${h.r2FwdUs.toFixed(1)} µs, server ${h.serverUs.toFixed(1)} µs, r2 rev ${h.r2RevUs.toFixed(1)} µs, r1 rev ${h.r1RevUs.toFixed(1)} µs`);
      });
    }
    await step(res, 'rttAwake', `rtt with every vCPU kept awake (a SCHED_IDLE spinner per vCPU): ${rttWhat}`, EXPECT.rtt(plan), async () => {
      res.rttAwake = await withCpusAwake(ctx.dir, () => measureRtt(plan, progress, ctx.udpLoad, mode.routerProcs()));
    });
    await step(res, 'tcp', `tcp: ${first.tcpRuns} × ${plan.tcpSeconds} s, 1 stream${ofRounds}`, EXPECT.tcp(first), async () => { res.tcp = await measureTcp(mode, first, progress); });
    const search = async (len: number, seed: number | undefined): Promise<SearchResult> => {
      const before = await dropSnapshot();
      const r = await searchUdp(len, plan.search, progress, seed);
      r.drops = dropDelta(before, await dropSnapshot());
      progress(`    drops during the search: ${formatDrops(r.drops)}`);
      return r;
    };
    await step(res, 'udpLarge', `udp ${mode.udpLarge} B: search for < 1 % loss`, EXPECT.search(plan, plan.seeds?.[mode.id]?.udpLarge !== undefined), async () => { res.udpLarge = await search(mode.udpLarge, plan.seeds?.[mode.id]?.udpLarge); });
    await step(res, 'udp64', 'udp 64 B: search for < 1 % loss', EXPECT.search(plan, plan.seeds?.[mode.id]?.udp64 !== undefined), async () => { res.udp64 = await search(64, plan.seeds?.[mode.id]?.udp64); });
    // every mode: new UDP 5-tuples (the tunnels forward them without session state: what the same packets cost
    // a userspace forwarder here); TCP for svrouter and the kernel only
    res.sessions = {};
    await step(res, 'sessions-udp', `new udp sessions for ${plan.sessionSeconds} s`, EXPECT.sessions(plan), async () => {
      await warmUpSessions('udp', svr, progress, ctx.udpLoad);
      res.sessions!.udp = await heldSessionRate((w) => sessionRate('udp', plan.sessionSeconds, svr, progress, ctx.udpLoad, undefined, w), ctx.udpLoad, progress);
    });
    if (svr || mode.id === 'kernel') {
      await step(res, 'sessions-tcp', `new tcp sessions for ${plan.sessionSeconds} s`, EXPECT.sessions(plan), async () => {
        await warmUpSessions('tcp', svr, progress);
        res.sessions!.tcp = await sessionRate('tcp', plan.sessionSeconds, svr, progress);
      });
    }
    if (svr) {
      await step(res, 'counters', 'router counters and path events over the measurements', 1, async () => {
        const after = await Promise.all([svr.stats('r1'), svr.stats('r2')]);
        if (counters0 !== undefined) res.routerCounters = { r1: counterDelta(counters0[0], after[0]), r2: counterDelta(counters0[1], after[1]) };
        res.pathDownEvents = { r1: svr.logLines('r1', /path\.unusable/), r2: svr.logLines('r2', /path\.unusable/) };
        const drops = Object.entries(res.routerCounters ?? {}).flatMap(([r, c]) => Object.entries(c).filter(([k]) => k.startsWith('drop')).map(([k, v]) => `${r} ${k} ${v}`));
        progress(`    drops counted by the nodes: ${drops.length > 0 ? drops.join(', ') : 'none'}; path.unusable events: r1 ${res.pathDownEvents.r1!.length}, r2 ${res.pathDownEvents.r2!.length}`);
      });
    }
    if (svr && !svr.encrypt && o.aloneLast !== true) await aloneSteps(svr, res, step, ctx, plan, o);
    if (svr && !svr.encrypt) {
      await step(res, 'visibility', `visibility: tcp and new udp sessions with session records off, then on (IPFIX export and history, UDP idle timeout ${VISIBILITY_IDLE_S} s)`, EXPECT.visibility(plan), async () => {
        res.visibility = await measureVisibility(svr, ctx, plan);
        await checkConnectivity();
      });
    }
    if (svr && !svr.encrypt) {
      await step(res, 'ha', `ha: tcp and new udp sessions in alternating rounds, r1 one node then a pair (active r1a, standby r1b); ${FAILOVER_RUNS} failovers in process`, EXPECT.ha(plan), async () => {
        res.ha = await measureHa(svr, ctx, plan);
        await checkConnectivity();
      });
    }
    await wanCase();
    if (svr && !svr.encrypt) {
      await step(res, 'sustained', `sustained: new udp, then tcp sessions at the highest rate with < 1 % failures, held ${12 * plan.sessionSeconds} s (UDP idle timeout ${SUSTAINED_IDLE_S} s), tables and RSS sampled every second`, EXPECT.sustained(plan, plan.seeds?.[mode.id]?.sustainedUdp !== undefined), async () => {
        res.sustained = await measureSustained(svr, ctx, plan);
        await checkConnectivity();
      });
      await step(res, 'tables', `full tables: ${tableRounds(plan)} round(s) of tcp and rtt with ${[0, ...fillTargets(plan)].map((n) => n.toLocaleString('en-US')).join(', ')} sessions in the tables, then 0 again; first packet with 10 and 100,000 routes`, EXPECT.tables(plan), async () => {
        res.fullTable = await measureFullTable(svr, ctx, plan);
        await checkConnectivity();
      });
      await step(res, 'hub', `hub: one hub node, ${HUB_SPOKES} simulated spokes (2 paths each) at default timers: CPU, memory per peer, detection time, ${FAIL_SPOKES} paths failing at once`, EXPECT.hub(), async () => {
        res.hub = await measureHub(ctx.dir, progress);
      });
    }
    if (svr && (dry || res.rtt !== undefined)) {
      await step(res, 'rttBusyPoll', `rtt with r1 and r2 restarted with ${BUSY_POLL_NODE_ARGS.join(' ')} (the busy-polling option)`, EXPECT.busyPoll(plan), async () => {
        await svr.restartRouters(BUSY_POLL_NODE_ARGS);
        await checkConnectivity();
        res.rttBusyPoll = await measureRtt(plan, progress, ctx.udpLoad, mode.routerProcs());
        await svr.restartRouters();
        await checkConnectivity();
      });
    }
    if (svr && o.profile && (o.cases === undefined || o.cases.includes('profile'))) {
      res.profiles = [];
      await step(res, 'profile', `profile r1/r2 (node --cpu-prof) during a ${plan.tcpSeconds} s tcp run`, EXPECT.profile(plan.tcpSeconds), async () => {
        res.profiles!.push(...await profileSvrouter(svr, ctx.dir, 'tcp', plan.tcpSeconds, progress));
      });
      if (!elsewhere.includes('profile-udp')) {
        await step(res, 'profile', `profile r1/r2 during ${plan.sessionSeconds} s of new udp sessions`, EXPECT.profile(plan.sessionSeconds), async () => {
          res.profiles!.push(...await profileSvrouter(svr, ctx.dir, 'udp-sessions', plan.sessionSeconds, progress, ctx.udpLoad));
        });
      }
      if (!dry) for (const p of res.profiles) process.stdout.write(formatProfile({ ...p, top: p.top.slice(0, 8), byFile: p.byFile.slice(0, 5) }) + '\n');
    }
  } finally {
    const failures = connectFailures.splice(0);
    if (failures.length > 0) {
      res.notes.push(`${failures.length} iperf3 run(s) could not connect to the server within 3 s and were retried (first: ${failures[0]})`);
      progress(`  ${failures.length} iperf3 connect failure(s), retried`);
    }
    const once = failedOnce.splice(0);
    if (once.length > 0) {
      res.notes.push(`${once.length} iperf3 run(s) failed and ran once more (first: ${once[0]})`);
      progress(`  ${once.length} iperf3 run(s) failed and ran once more`);
    }
    const down: StepTime = { key: 'teardown', what: `${mode.label}: torn down`, expectedS: EXPECT.teardown() };
    res.steps.push(down);
    if (!dry) {
      progress(`== ${mode.label}: tearing down`);
      const t1 = Date.now();
      await mode.teardown(ctx).catch((e: Error) => progress(`  teardown: ${e.message}`));
      down.tookS = Math.round((Date.now() - t1) / 1000);
      const t = totals(res.steps);
      progress(`== ${mode.label}: took ${t.tookS} s (expected ${t.expectedS} s on a quiet machine)`);
    }
  }
  return res;
}


type StepFn = (res: ModeResult, key: CaseKey, what: string, expectS: number, f: () => Promise<void>) => Promise<void>;

/**
 * The steps with r1 alone (svrouter hmac only): new UDP sessions through r1 with a local next hop, and per-core
 * scaling. They steer r1's LAN with `ip rule`, and a namespace walks its rules and validates sources in full on
 * every route lookup from its first rule until the namespace goes (the kernel never clears that), so a full run
 * measures them after every other mode and round (measureAloneLast), not in the pass.
 */
async function aloneSteps(svr: SvrouterMode, res: ModeResult, step: StepFn, ctx: ModeContext, plan: Plan, o: ModeRunOptions): Promise<void> {
  const progress = ctx.progress;
  res.sessions ??= {};
  // r1 alone's new UDP sessions are the scaling case's with 1 worker (the node's default): measured once, there
  const scalingRuns = o.cases === undefined || o.cases.includes('scaling');
  if (!scalingRuns) {
    await step(res, 'r1alone', `new udp sessions for ${plan.sessionSeconds} s through r1 alone (local next hop; r2 forwards in the kernel)`, EXPECT.r1alone(plan), async () => {
      await svr.aloneR1(true);
      try {
        await checkConnectivity();
        res.sessions!.udpR1Alone = await heldSessionRate((w) => sessionRate('udp', plan.sessionSeconds, svr, progress, ctx.udpLoad, ['r1'], w), ctx.udpLoad, progress);
      } finally {
        await svr.aloneR1(false);
      }
      await checkConnectivity();
    });
  }
  await step(res, 'scaling', `per-core scaling: r1 alone with --workers 1 and 2 (tcp and udp with ${SCALING_STREAMS} flows, new udp and tcp sessions)`, EXPECT.scaling(plan), async () => {
    res.scaling = await measureScaling(svr, ctx, plan);
    const one = res.scaling.runs.filter((x) => x.workers === 1 && x.sessionsUdp !== undefined).map((x) => x.sessionsUdp!)
      .sort((a, b) => (a.createdR1PerSecond ?? 0) - (b.createdR1PerSecond ?? 0));
    if (one.length > 0) {
      const { cores: _cores, ...rate } = one[Math.floor((one.length - 1) / 2)]!;
      res.sessions!.udpR1Alone = rate;
      res.notes.push(`new UDP sessions through r1 alone: the scaling case's with 1 worker (the node's default), the lower median of its ${one.length} round(s)`);
    }
    await checkConnectivity();
  });
}

/**
 * A full run's r1-alone steps (aloneSteps), after every mode's pass and round: `res` is the svrouter mode's result
 * of its pass; the mode is set up afresh, measured and torn down.
 */
export async function measureAloneLast(mode: SvrouterMode, ctx: ModeContext, plan: Plan, o: ModeRunOptions, res: ModeResult): Promise<void> {
  const dry = o.dry === true;
  const step: StepFn = (r, key, what, expectS, f) => ((o.cases === undefined || o.cases.includes(key)) ? runStep(r, key, what, expectS, f, ctx.progress, dry) : Promise.resolve());
  if (dry) return aloneSteps(mode, res, step, ctx, plan, o);
  ctx.progress(`== ${mode.label}: r1 alone, after every other measurement (its ip rules stay in r1's namespace)`);
  try {
    await flushRouteCaches();
    await mode.setup(ctx);
    await checkConnectivity();
    await aloneSteps(mode, res, step, ctx, plan, o);
  } catch (e) {
    const msg = `r1alone: set up: ${(e as Error).message.split('\n')[0]}`;
    res.errors.push(msg);
    ctx.progress(`  ! ${msg}`);
  } finally {
    await mode.teardown().catch((e: Error) => ctx.progress(`  teardown: ${e.message}`));
  }
}

/** Expected seconds of one round of measureRound: set up, one run of each of `keys` (rtt, tcp), torn down. */
export function roundExpectS(modeId: string, plan: Plan, keys: readonly string[]): number {
  const once: Plan = { ...plan, tcpRuns: 1, pingRuns: 1 };
  return EXPECT.setup(modeId) + EXPECT.teardown() + (keys.includes('rtt') ? EXPECT.rtt(once) : 0) + (keys.includes('tcp') ? EXPECT.tcp(once) : 0);
}

/**
 * With `--case tcp,rtt` a mode's pass is round 1 of RTT and TCP (it measures nothing else); a full run's pass, or
 * one with other cases, spreads over them (svrouter hmac only: 20 minutes), so there every round comes after all
 * the passes.
 */
export const passIsFirstRound = (cases: readonly string[] | undefined): boolean => cases !== undefined && cases.every((c) => c === 'tcp' || c === 'rtt');

/**
 * Round `round` of RTT and TCP for a mode measured before (run.ts interleaves the modes round by round, so a
 * host that drifts lands on every mode): set up afresh, one RTT run if the mode measured RTT, one TCP run if
 * TCP, torn down; the runs are appended to `res` (run k: round k), or with `replace` take the place of the
 * pass's run (the per-pass latency stays). A failure spoils both figures.
 */
export async function measureRound(mode: Mode, ctx: ModeContext, plan: Plan, res: ModeResult, round: number, replace: boolean): Promise<void> {
  const once: Plan = { ...plan, tcpRuns: 1, pingRuns: 1 };
  const keys = [...(res.rtt !== undefined ? ['rtt'] : []), ...(res.tcp !== undefined ? ['tcp'] : [])];
  if (keys.length === 0) return;
  const time: StepTime = { key: 'rounds', what: `round ${round}: set up, ${keys.join(' and ')}, torn down`, expectedS: Math.round(roundExpectS(mode.id, plan, keys)) };
  (res.steps ??= []).push(time);
  ctx.progress(`== ${mode.label}: round ${round} of ${keys.join(' and ')}`);
  const t0 = Date.now();
  try {
    await setUpRound(mode, ctx, res, round);
    if (res.rtt !== undefined) {
      const r = await measureRtt(once, ctx.progress, ctx.udpLoad, mode.routerProcs());
      res.rtt = replace ? { ...r, ...(res.rtt.hops !== undefined ? { hops: res.rtt.hops } : {}) } : mergeRtt(res.rtt, r);
    }
    if (res.tcp !== undefined) {
      const t = await measureTcp(mode, once, ctx.progress);
      res.tcp = replace ? t : mergeTcp(res.tcp, t);
    }
  } catch (e) {
    for (const k of keys) res.errors.push(`${k}: round ${round}: ${(e as Error).message.split('\n')[0]}`);
    ctx.progress(`  ! round ${round}: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    await mode.teardown(ctx).catch((e: Error) => ctx.progress(`  teardown: ${e.message}`));
    time.tookS = Math.round((Date.now() - t0) / 1000);
  }
}

/**
 * A round's set-up, connectivity checked: a set-up that forwards nothing is torn down, noted (with the mode's
 * diagnosis) and done once more; only a second failure spoils the round (wireguard-go (current) lost its echo
 * in round 3 of the full run of 23:48: all three checks, 15 s; not seen again in 48 set-ups at load 20-28).
 */
async function setUpRound(mode: Mode, ctx: ModeContext, res: ModeResult, round: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await flushRouteCaches();
    try {
      await mode.setup(ctx);
      await checkConnectivity(mode);
      return;
    } catch (e) {
      if (attempt === 2) throw e;
      const msg = (e as Error).message.split('\n')[0]!;
      res.notes.push(`round ${round}: the first set-up failed (${msg}); set up again`);
      ctx.progress(`  round ${round}: ${msg}; setting up again`);
      await mode.teardown(ctx).catch((err: Error) => ctx.progress(`  teardown: ${err.message}`));
    }
  }
}

/** Numeric top-level fields of two `svr show stats --json` answers that changed (after - before). */
function counterDelta(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const b = before[k];
    if (typeof v === 'number' && typeof b === 'number' && v !== b) d[k] = v - b;
  }
  return d;
}

