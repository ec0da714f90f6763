/**
 * When a run is not comparable: the cases where a ratio between modes (or a goal) would mislead. A run with any
 * of them still writes its figures, but the ratios and goals that involve the case say "not comparable"
 * instead of a number, and `npm run bench` exits non-zero naming every case (issue 19, "Must show").
 *   - a requested mode that was skipped or failed, or a measurement step that failed;
 *   - modes that ran on different WAN MTUs;
 *   - svrouter: the marker was in clear on the WAN when the service encrypts, or not in clear with HMAC only
 *     (the wire check itself then proves nothing); the marked TCP stream did not arrive whole; the SYN or
 *     SYN-ACK crossed the WAN without an MSS option or with one that leaves no room for svrouter's own bytes;
 *   - a UDP search whose last confirmation still lost >= 1 % (no steady state below 1 % loss was found);
 *   - a session-rate test in which more than 1 % of the sessions failed (an overload, not a rate), the
 *     visibility case's too; a closed-loop UDP test first backs off from 2,048 to 512, then 128 sessions in flight
 *     (sessions.ts heldSessionRate), and only the test it backed off to counts;
 *   - the sustained case: a protocol whose rate was not held or whose tables, sweep or RSS did not reach a
 *     steady state and stay flat (sustained-check.ts);
 *   - the full-table case: a fill not reached, sessions that left the table while measured, a failed step;
 *   - svrouter: BFD declared the r1-r2 path down during the measurements, or a node dropped packets that did not
 *     fit the WAN MTU (`drop-exceeds-path-mtu`);
 *   - per-core scaling (scaling.ts): a failed step, r1 running another worker count than asked, more than 1 % of
 *     its new sessions failed, a figure missing on either side of the ratio;
 *   - config at scale (config-scale.ts): the benchmark failed, the packet feed was not steady before the reload,
 *     or the reload removed sessions it should have kept;
 *   - the visibility and HA cases: a disturbed round (round-check.ts: a side's sessions failed, the two sides ran
 *     different windows, a paced test failed or fell behind its rate);
 *   - the hub case: not every path came up (its step fails), a path went down while the hub's CPU was measured,
 *     or not every silenced path was declared down (hub.ts).
 */
import type { BenchResults, ModeResult } from './results.js';
import { configScaleProblems } from './scale-report.js';
import { scalingProblems } from './scaling.js';
import { WAN_MTU } from './topology.js';
import { sustainedProblems } from './sustained-check.js';

/** What a problem spoils: one measurement of a mode ('tcp', 'udpLarge', 'udp64', 'rtt', 'sessions-udp', ...) or all of it ('*'). */
export interface Problem {
  mode: string;
  measurement: string;
  reason: string;
}

/** The IP and TCP headers a segment carries besides its payload (IPv4, no options). */
const HEADERS = 40;

function modeProblems(m: ModeResult): Problem[] {
  const out: Problem[] = [];
  const add = (measurement: string, reason: string) => out.push({ mode: m.id, measurement, reason });
  if (m.status !== 'ok') {
    add('*', `${m.status}: ${m.reason ?? 'no reason recorded'}`);
    return out;
  }
  for (const e of m.errors) add(e.split(':')[0]!.split(' ')[0]!, `step failed: ${e}`);
  if (m.wanMtu !== undefined && m.wanMtu !== WAN_MTU) add('*', `WAN MTU ${m.wanMtu}, not ${WAN_MTU} like the other modes`);
  for (const [name, u] of [['udpLarge', m.udpLarge], ['udp64', m.udp64]] as const) {
    if (u?.passed === false) add(name, `the UDP ${u.len} B search found no rate with < 1 % loss (its last confirmation lost ${u.lossPct.map((x) => x.toFixed(1)).join('/')} %)`);
  }
  for (const [kind, key] of [['udp', 'sessions-udp'], ['tcp', 'sessions-tcp'], ['udpR1Alone', 'r1alone']] as const) {
    const c = m.sessions?.[kind]?.client;
    if (c !== undefined && c.failed > 0.01 * c.attempted) add(key, `${c.failed} of ${c.attempted} new ${kind === 'tcp' ? 'TCP' : 'UDP'} sessions${kind === 'udpR1Alone' ? ' through r1 alone' : ''} failed (more than 1 %)`);
  }
  const w = m.wire;
  if (w !== undefined) {
    for (const c of [w.udp, w.tcp]) {
      if (c === undefined) continue;
      if (c.payloadSeenInClear !== w.expectClear) {
        add('*', w.expectClear
          ? `the ${c.protocol} marker was not found in clear on the WAN with HMAC only: the wire check captured nothing useful (${c.packetsCaptured} packets)`
          : `the ${c.protocol} payload crossed the WAN in clear although the service encrypts: these are HMAC-only figures`);
      }
    }
    const t = w.tcp;
    if (t !== undefined) {
      if (t.deliveredBytes !== t.streamBytes) add('tcp', `the marked TCP stream did not arrive whole (${t.deliveredBytes} of ${t.streamBytes} bytes): TCP does not fit the WAN`);
      for (const [what, mss] of [['SYN', t.synMss], ['SYN-ACK', t.synAckMss]] as const) {
        if (mss === undefined || mss < 0) add('tcp', `the ${what} crossed the WAN without an MSS option (or was not captured)`);
        else if (mss + HEADERS >= (m.wanMtu ?? WAN_MTU)) add('tcp', `the ${what} crossed the WAN with MSS ${mss}: no room for svrouter's own bytes at MTU ${m.wanMtu ?? WAN_MTU} (MSS clamping did not work)`);
      }
    }
  }
  for (const e of m.visibility?.errors ?? []) add('visibility', `step failed: ${e}`);
  for (const e of m.wan?.errors ?? []) add('wan', `step failed: ${e}`);
  for (const p of sustainedProblems(m.sustained)) add(p.key, p.reason);
  for (const e of m.fullTable?.errors ?? []) add('tables', `step failed: ${e}`);
  for (const e of m.ha?.errors ?? []) add('ha', `step failed: ${e}`);
  for (const [label, run] of [['one node', m.ha?.single], ['pair', m.ha?.pair]] as const) {
    const c = run?.sessions?.client;
    if (c !== undefined && c.failed > 0.01 * c.attempted) add('ha', `${c.failed} of ${c.attempted} new UDP sessions failed with r1 ${label} (more than 1 %)`);
  }
  for (const e of m.hub?.problems ?? []) add('hub', e);
  if (m.scaling !== undefined) for (const e of scalingProblems(m.scaling)) add('scaling', e);
  for (const [key, rounds] of [['visibility', m.visibility?.rounds], ['ha', m.ha?.rounds]] as const) {
    (rounds ?? []).forEach((r, k) => { if ((r.problems ?? []).length > 0) add(key, `round ${k + 1} disturbed: ${r.problems!.join('; ')}`); });
  }
  for (const [label, run] of [['off', m.visibility?.off], ['on', m.visibility?.on]] as const) {
    const c = run?.sessions?.client;
    if (c !== undefined && c.failed > 0.01 * c.attempted) add('visibility', `${c.failed} of ${c.attempted} new UDP sessions failed with session records ${label} (more than 1 %)`);
  }
  const tooBig = Object.entries(m.routerCounters ?? {}).map(([r, c]) => [r, c['drop-exceeds-path-mtu'] ?? 0] as const).filter(([, n]) => n > 0);
  if (tooBig.length > 0) add('*', `svrouter dropped packets that did not fit the WAN MTU (drop-exceeds-path-mtu: ${tooBig.map(([r, n]) => `${r} ${n}`).join(', ')})`);
  const downs = Object.values(m.pathDownEvents ?? {}).flat().filter((l) => /detection-time-expired/.test(l)).length;
  if (downs > 0) add('*', `BFD declared the r1-r2 path down ${downs} time(s) during the measurements`);
  return out;
}

/** Every problem of the run (the memory or config-scale benchmark failing counts as a problem of 'memory' or 'config-scale'). */
export function findProblems(r: Pick<BenchResults, 'modes'> & Partial<Pick<BenchResults, 'configScale'>>, memoryError?: string, configScaleError?: string): Problem[] {
  const out = r.modes.flatMap(modeProblems);
  if (memoryError !== undefined) out.push({ mode: 'memory', measurement: '*', reason: memoryError });
  if (configScaleError !== undefined) out.push({ mode: 'config-scale', measurement: '*', reason: configScaleError });
  if (r.configScale !== undefined) for (const e of configScaleProblems(r.configScale)) out.push({ mode: 'config-scale', measurement: 'reload', reason: e });
  return out;
}

/** Whether measurement `what` of mode `id` is spoiled in this run. */
export function spoiled(problems: readonly Problem[], id: string, what: string): boolean {
  return problems.some((p) => p.mode === id && (p.measurement === '*' || p.measurement === what));
}

export function formatProblem(p: Problem): string {
  return `${p.mode}${p.measurement === '*' ? '' : ` ${p.measurement}`}: ${p.reason}`;
}
