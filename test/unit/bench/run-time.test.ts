/**
 * How long a full `npm run bench` takes and what it repeats (issue 19): the plan print (`--plan`, every step with
 * its expected seconds, no root), the steps one mode leaves to another (mode-run.ts MEASURED_ELSEWHERE), the UDP
 * search seeded from the last full run's rates (udp-search.ts), the seeds read from a saved run (plan.ts), and
 * the session test that backs off from an overload instead of reporting it as a rate (sessions.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatTimes, totals } from '../../../bench/budget.js';
import { CASES, measureAloneLast, measureMode } from '../../../bench/mode-run.js';
import { KernelMode } from '../../../bench/modes/kernel.js';
import { SvrouterMode } from '../../../bench/modes/svrouter.js';
import { FULL, seedsFrom } from '../../../bench/plan.js';
import type { SessionRate } from '../../../bench/results.js';
import { BACK_OFF_WINDOWS, C_CLIENT_WINDOW, heldSessionRate, LOADED_CLIENT_WINDOW } from '../../../bench/sessions.js';
import { FULL_SEARCH, seededBracket } from '../../../bench/udp-search.js';
import type { UdpTrial } from '../../../bench/iperf.js';

const RUN_JS = fileURLToPath(new URL('../../../bench/run.js', import.meta.url));
const ctx = { dir: tmpdir(), progress: () => undefined };
const keys = async (mode: KernelMode | SvrouterMode, modes: string[], cases?: string[]): Promise<string[]> =>
  ((await measureMode(mode, ctx, FULL, { profile: true, dry: true, modes, ...(cases ? { cases } : {}) })).steps ?? []).map((s) => s.key);

test('--plan lists each mode\'s steps with expected seconds and a total, measuring nothing (no root)', () => {
  const r = spawnSync(process.execPath, [RUN_JS, '--plan', '--only', 'kernel,svrouter-enc', '--no-seeds'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  for (const line of ['kernel forwarding', 'svrouter encrypted', 'the whole run', 'udpLarge', 'rttBusyPoll']) assert.ok(r.stdout.includes(line), line);
  assert.match(r.stdout, /the whole run\s+expected\s+\d+:\d\d/);
});

test('--case: an unknown case is refused with the list (it measured nothing and exited 0 before); every step a mode lists is a case', async () => {
  const r = spawnSync(process.execPath, [RUN_JS, '--plan', '--only', 'svrouter', '--case', 'tcp,bogus', '--no-seeds'], { encoding: 'utf8' });
  assert.is(r.status, 1, r.stdout);
  assert.match(r.stdout + r.stderr, /--case: unknown case bogus \(cases: tcp, rtt, /);
  const listed = new Set([...(await keys(new KernelMode(), ['kernel'])), ...(await keys(new SvrouterMode(false), ['svrouter'])), ...(await keys(new SvrouterMode(true), ['svrouter-enc']))]);
  for (const k of listed) if (k !== 'setup' && k !== 'teardown') assert.ok((CASES as readonly string[]).includes(k), k);
  for (const c of CASES) assert.is(spawnSync(process.execPath, [RUN_JS, '--plan', '--only', 'svrouter', '--case', c, '--no-seeds'], { encoding: 'utf8' }).status, 0, c);
});

test('a dry mode run lists the steps it would run; the hmac mode takes r1 alone from the scaling case', async () => {
  assert.equal(await keys(new KernelMode(), ['kernel']), ['setup', 'rtt', 'hops', 'rttAwake', 'tcp', 'udpLarge', 'udp64', 'sessions-udp', 'sessions-tcp', 'teardown']);
  const hmac = await keys(new SvrouterMode(false), ['svrouter']);
  assert.ok(hmac.includes('scaling') && !hmac.includes('r1alone'), 'r1 alone measured once, by the scaling case');
  assert.ok((await keys(new SvrouterMode(false), ['svrouter'], ['r1alone'])).includes('r1alone'), 'unless --case asks for it alone');
});

test('a full run leaves r1 alone (its ip rules stay in r1) to the end: the pass lists neither of its steps, measureAloneLast both', async () => {
  const o = { profile: true, dry: true, modes: ['svrouter', 'svrouter-enc'] };
  const pass = await measureMode(new SvrouterMode(false), ctx, FULL, { ...o, aloneLast: true });
  const keysOf = (): string[] => (pass.steps ?? []).map((s) => s.key);
  assert.ok(!keysOf().includes('scaling') && !keysOf().includes('r1alone'), keysOf().join(' '));
  await measureAloneLast(new SvrouterMode(false), ctx, FULL, o, pass);
  assert.equal(keysOf().slice(-1), ['scaling']);
  await measureAloneLast(new SvrouterMode(false), ctx, FULL, { ...o, cases: ['r1alone'] }, pass);
  assert.equal(keysOf().slice(-1), ['r1alone']);
});

test('TCP as UDP and handshake keys leave what svrouter-enc measures in the same run to it, not when it is absent', async () => {
  const udp = await keys(new SvrouterMode(true, undefined, 'static', true), ['svrouter-enc', 'svrouter-enc-udp']);
  for (const k of ['udpLarge', 'udp64', 'sessions-udp', 'rtt', 'rttBusyPoll']) assert.not.ok(udp.includes(k), k);
  for (const k of ['tcp', 'sessions-tcp', 'profile']) assert.ok(udp.includes(k), k);
  const hs = await keys(new SvrouterMode(true, undefined, 'handshake'), ['svrouter-enc', 'svrouter-enc-hs']);
  for (const k of ['tcp', 'udpLarge', 'udp64', 'sessions-udp']) assert.ok(hs.includes(k), `the goal's figure ${k}`);
  for (const k of ['rtt', 'sessions-tcp', 'rttBusyPoll', 'profile']) assert.not.ok(hs.includes(k), k);
  assert.ok((await keys(new SvrouterMode(true, undefined, 'handshake'), ['svrouter-enc-hs'])).includes('rtt'), 'alone it measures everything');
});

test('times: totals and the lines per mode', () => {
  const steps = [{ key: 'a', what: 'x', expectedS: 30, tookS: 45 }, { key: 'b', what: 'y', expectedS: 90 }];
  assert.equal(totals(steps), { expectedS: 120, tookS: 45 });
  const lines = formatTimes([{ label: 'm', steps }], false);
  assert.match(lines[0]!, /^m\s+expected\s+2:00\s+took\s+0:45$/);
  assert.match(lines.at(-1)!, /^the whole run\s+expected\s+2:00/);
});

/** A path that holds up to `limit` pps: the trials and the bracket's lower end. */
async function bracket(seed: number, limit: number): Promise<{ rate: number; trials: number[] }> {
  const trials: number[] = [];
  const trial = async (pps: number): Promise<UdpTrial> => {
    trials.push(Math.round(pps));
    return { sentPps: pps, recvPps: Math.min(pps, limit), lossPct: pps <= limit ? 0 : 100 * (1 - limit / pps), seconds: 3 } as UdpTrial;
  };
  return { rate: await seededBracket(seed, FULL_SEARCH, trial), trials };
}

test('a seeded search brackets the rate in 2 trials when it moved less than 5 %, and still finds one that moved far', async () => {
  const same = await bracket(90_000, 92_000);
  assert.equal(same.trials, [90_000, 94_500]);
  assert.is(same.rate, 90_000);
  const lower = await bracket(90_000, 87_000);
  assert.ok(lower.trials.length <= 3, String(lower.trials));
  assert.ok(lower.rate <= 87_000 && lower.rate > 87_000 * 0.95, String(lower.rate));
  const loaded = await bracket(81_400, 800); // a loaded machine that sends 1 % of the seed
  assert.is(loaded.trials.length, 2, String(loaded.trials));
  assert.ok(loaded.rate <= 800 && loaded.rate > 760, String(loaded.rate));
  const higher = await bracket(50_000, 90_000); // the last run was loaded: up 5, 10, 20, 40 %, then bisection
  assert.ok(higher.rate <= 90_000 && higher.rate > 50_000 * 1.5, `${higher.rate} after ${higher.trials}`);
  assert.ok(higher.trials.length <= FULL_SEARCH.maxSteps);
});

const rate = (attempted: number, failed: number): SessionRate => ({
  client: { protocol: 'udp', seconds: 5, attempted, ok: attempted - failed, failed, exhausted: false, okPerSecond: (attempted - failed) / 5 },
});

test('a session test that overloads (> 1 % failed) is repeated with fewer in flight; the one that held is the figure', async () => {
  const windows: number[] = [];
  const r = await heldSessionRate(async (w) => { windows.push(w); return w === C_CLIENT_WINDOW ? rate(52_899, 625) : rate(50_000, 3); }, '/x/udp-load', () => undefined);
  assert.equal(BACK_OFF_WINDOWS, [C_CLIENT_WINDOW, LOADED_CLIENT_WINDOW, 128]);
  assert.equal(windows, [C_CLIENT_WINDOW, LOADED_CLIENT_WINDOW]);
  assert.is(r.window, LOADED_CLIENT_WINDOW);
  assert.equal(r.overloaded, [{ window: C_CLIENT_WINDOW, attempted: 52_899, failed: 625, okPerSecond: (52_899 - 625) / 5 }]);
  const held = await heldSessionRate(async () => rate(50_000, 100), '/x/udp-load', () => undefined);
  assert.is(held.overloaded, undefined, '0.2 % failed: held at once');
  const both = await heldSessionRate(async () => rate(50_000, 5000), '/x/udp-load', () => undefined);
  assert.is(both.client.failed, 5000, 'every window overloaded: the last one stands, and comparable.ts names it');
  assert.equal(both.overloaded?.map((o) => o.window), [C_CLIENT_WINDOW, LOADED_CLIENT_WINDOW]);
  assert.is(both.window, 128);
});

test('seeds: the confirmed rates of a saved run, not a sender-limited or failed search; no file, no seeds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'br-seeds-'));
  try {
    const search = (offeredPps: number, over = {}) => ({ offeredPps, passed: true, senderLimited: false, ...over });
    const hold = (rate: number, reasons: string[]) => ({ rate, verdict: { reasons } });
    writeFileSync(join(dir, 'r.json'), JSON.stringify({ modes: [
      { id: 'kernel', udpLarge: search(0, { senderLimited: true }), udp64: search(0, { senderLimited: true }) },
      { id: 'svrouter', udpLarge: search(92_593), udp64: search(91_240, { passed: false }), sustained: { udp: { holds: [hold(42_000, ['x']), hold(36_000, [])] } } },
    ] }));
    assert.equal(seedsFrom(join(dir, 'r.json')), { svrouter: { udpLarge: 92_593, sustainedUdp: 36_000 } });
    assert.equal(seedsFrom(join(dir, 'none.json')), {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
