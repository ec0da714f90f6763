/**
 * The benchmark's comparability checks (bench/comparable.ts) on made-up results: what makes a run not
 * comparable, that the ratios and goals touched by it say so instead of giving a number, and that
 * `node dist/bench/run.js --render` of such a run exits non-zero naming the case (no root needed).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spoiled } from '../../../bench/comparable.js';
import { goals, NOT_COMPARABLE, ratiosTable } from '../../../bench/report.js';
import type { BenchResults, ModeResult, PayloadCheck } from '../../../bench/results.js';
import { spread } from '../../../bench/stats.js';
import type { SearchResult } from '../../../bench/udp-search.js';
import { benchResults } from '../../support/bench-results.js';

const RUN_JS = fileURLToPath(new URL('../../../bench/run.js', import.meta.url));

const udp = (len: number, kpps: number, passed = true): SearchResult => ({
  len, kpps, kppsMin: kpps, kppsMax: kpps, gbps: 0, lossPct: [passed ? 0.2 : 3], offeredPps: kpps * 1000, senderLimited: false, passed, stalls: 0, trials: [], confirmations: [],
});

const wireCheck = (protocol: 'udp' | 'tcp', clear: boolean, mss = 1432): PayloadCheck => ({
  protocol, payloadSeenInClear: clear, packetsCaptured: 60, largestPacket: 1488,
  ...(protocol === 'tcp' ? { streamBytes: 65536, deliveredBytes: 65536, synMss: mss, synAckMss: mss } : {}),
});

function mode(id: string, gbps: number, over: Partial<ModeResult> = {}): ModeResult {
  return {
    id, label: id, status: 'ok', notes: [], loadAvgAtStart: [], udpLargeLen: 1400, wanMtu: 1500, errors: [],
    tcp: { gbps: spread([gbps]), retransmits: [0], cpuSecondsPerGbit: spread([1]), cpuByProcess: {} },
    udpLarge: udp(1400, 50), udp64: udp(64, 60),
    rtt: { p50Us: spread([100]), p99Us: spread([200]), runs: [] },
    ...(id.startsWith('svrouter') ? { wire: { expectClear: id === 'svrouter', udp: wireCheck('udp', id === 'svrouter'), tcp: wireCheck('tcp', id === 'svrouter') } } : {}),
    ...over,
  };
}

const results = (modes: ModeResult[]): BenchResults => benchResults(modes);

const fair = () => [mode('svrouter', 1.2), mode('svrouter-enc', 0.9), mode('wireguard-go', 1.8), mode('openvpn', 0.4)];

test('a clean run has no problems, and every ratio is a number', () => {
  const r = results(fair());
  assert.equal(r.notComparable, []);
  const rows = ratiosTable(r);
  const tcpEnc = rows.find((row) => row[0] === 'svrouter-enc: TCP 1 stream')!;
  assert.equal(tcpEnc.slice(1), ['0.50×', '2.25×']);
  assert.is(goals(r).find((g) => g.goal.startsWith('TCP with encryption ≥ 2.5× OpenVPN'))!.status, 'FAIL', '2.25×');
  assert.is(goals(r).find((g) => g.goal.startsWith('TCP with encryption ≥ 1.0× the current wireguard-go'))!.status, 'FAIL', '0.50×');
});

test('an encrypted service whose payload crossed in clear: the whole mode is not comparable, ratios and goals say so', () => {
  const modes = fair();
  modes[1]!.wire!.tcp!.payloadSeenInClear = true;
  const r = results(modes);
  assert.is(r.notComparable.length, 1);
  assert.match(r.notComparable[0]!.reason, /tcp payload crossed the WAN in clear/);
  assert.ok(spoiled(r.notComparable, 'svrouter-enc', 'udp64'));
  for (const row of ratiosTable(r).filter((x) => x[0]!.startsWith('svrouter-enc'))) assert.equal(row.slice(1), [NOT_COMPARABLE, NOT_COMPARABLE], row[0]);
  assert.is(goals(r).find((g) => g.goal.startsWith('TCP with encryption ≥ 2.5× OpenVPN'))!.status, NOT_COMPARABLE);
  assert.ok(ratiosTable(r).filter((x) => x[0]!.startsWith('svrouter hmac') || x[0]!.startsWith('svrouter:')).every((row) => !row.includes(NOT_COMPARABLE)), 'the HMAC-only rows keep their ratios');
});

test('HMAC only without the marker in clear: the wire check proved nothing, not comparable', () => {
  const modes = fair();
  modes[0]!.wire!.udp!.payloadSeenInClear = false;
  assert.match(results(modes).notComparable[0]!.reason, /udp marker was not found in clear/);
});

test('an unclamped SYN, a stream that did not arrive, a UDP search without a steady state, another WAN MTU, a skipped mode, failed sessions', () => {
  const modes = fair();
  modes[0]!.sessions = { udp: { client: { protocol: 'udp', seconds: 2, attempted: 8460, ok: 6275, failed: 1920, exhausted: false, okPerSecond: 3136 }, createdR1PerSecond: 4228 } };
  modes[0]!.wire!.tcp!.synMss = 1460;
  modes[1]!.wire!.tcp!.deliveredBytes = -1;
  modes[2]!.udpLarge = udp(1372, 30, false);
  modes[3]!.wanMtu = 1700;
  modes.push({ ...mode('kernel', 10), status: 'skipped', reason: 'no root' });
  const r = results(modes);
  const text = r.notComparable.map((p) => `${p.mode}/${p.measurement}: ${p.reason}`);
  assert.ok(text.some((t) => /^svrouter\/tcp: the SYN crossed the WAN with MSS 1460/.test(t)), text.join('\n'));
  assert.ok(text.some((t) => /^svrouter-enc\/tcp: the marked TCP stream did not arrive whole/.test(t)), text.join('\n'));
  assert.ok(text.some((t) => /^wireguard-go\/udpLarge: the UDP 1372 B search found no rate/.test(t)), text.join('\n'));
  assert.ok(text.some((t) => /^openvpn\/\*: WAN MTU 1700/.test(t)), text.join('\n'));
  assert.ok(text.some((t) => /^kernel\/\*: skipped: no root/.test(t)), text.join('\n'));
  assert.ok(text.some((t) => /^svrouter\/sessions-udp: 1920 of 8460 new UDP sessions failed/.test(t)), text.join('\n'));
  assert.is(goals(r).find((g) => g.goal.startsWith('≥ 50,000 new sessions/s'))!.status, NOT_COMPARABLE);
  const udpRow = ratiosTable(r).find((row) => row[0] === 'svrouter: UDP 1400 B kpps')!;
  assert.equal(udpRow.slice(1), [NOT_COMPARABLE, NOT_COMPARABLE], 'against wireguard-go (its search failed) and OpenVPN (other MTU)');
  const udp64Row = ratiosTable(r).find((row) => row[0] === 'svrouter: UDP 64 B kpps')!;
  assert.equal(udp64Row.slice(1), ['1.00×', NOT_COMPARABLE]);
});

test('a node that dropped packets too big for the WAN MTU spoils its mode', () => {
  const modes = fair();
  modes[0]!.routerCounters = { r1: { 'drop-exceeds-path-mtu': 3 }, r2: {} };
  const r = results(modes);
  assert.equal(r.notComparable.map((p) => [p.mode, p.measurement]), [['svrouter', '*']]);
  assert.match(r.notComparable[0]!.reason, /r1 3/);
});

test('encrypted with handshake keys within 10 % of static keys: a verdict from the two modes of the same run, not comparable when either is', () => {
  const goal = (modes: ModeResult[]) => goals(results(modes)).find((g) => g.goal.startsWith('encrypted with handshake keys within 10 %'))!;
  assert.is(goal(fair()).status, 'n/a', 'without svrouter-enc-hs');
  const close = mode('svrouter-enc-hs', 0.85, { udpLarge: udp(1400, 46), udp64: udp(64, 57) });
  const g = goal([...fair(), close]);
  assert.is(g.status, 'pass', g.measured);
  assert.match(g.measured, /TCP 0\.94×, UDP 1400 B 0\.92×, UDP 64 B 0\.95×/);
  assert.is(goal([...fair(), mode('svrouter-enc-hs', 0.7)]).status, 'FAIL', 'TCP 0.78×');
  const lossy = mode('svrouter-enc-hs', 0.85, { udp64: udp(64, 57, false) });
  const n = goal([...fair(), lossy]);
  assert.is(n.status, NOT_COMPARABLE);
  assert.match(n.note, /UDP 64 B not comparable/);
  const loaded = goal([...fair().map((m) => ({ ...m, loadAvgAtStart: [9] })), { ...close, loadAvgAtStart: [9] }]);
  assert.is(loaded.status, NOT_COMPARABLE, 'a machine loaded by other work (load 9 on 2 cores)');
  assert.match(loaded.note, /loaded/);
});

test('run.js --render of a run that is not comparable exits 3 and names the case', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svrt-bench-render-'));
  try {
    const modes = fair();
    modes[1]!.wire!.udp!.payloadSeenInClear = true;
    const file = join(dir, 'results.json');
    writeFileSync(file, JSON.stringify(results(modes)));
    const r = spawnSync(process.execPath, [RUN_JS, '--render', file, '--no-docs'], { encoding: 'utf8', timeout: 30_000 });
    assert.is(r.status, 3, r.stderr);
    assert.match(r.stdout, /NOT COMPARABLE/);
    assert.match(r.stdout, /svrouter-enc: the udp payload crossed the WAN in clear/);
    writeFileSync(file, JSON.stringify(results(fair())));
    const clean = spawnSync(process.execPath, [RUN_JS, '--render', file, '--no-docs'], { encoding: 'utf8', timeout: 30_000 });
    assert.is(clean.status, 0, clean.stderr);
    assert.not.match(clean.stdout, /NOT COMPARABLE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
