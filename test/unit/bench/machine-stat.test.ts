/**
 * The machine over a session test (bench/machine-stat.ts): /proc/stat's CPU time by kind in cores, context
 * switches per session; and the visibility case's series of r1's new sessions per second (bench/visibility.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { machineStat, machineWindow, parseStat } from '../../../bench/machine-stat.js';
import { perSecond } from '../../../bench/visibility.js';

const STAT = (user: number, system: number, idle: number, softirq: number, steal: number, ctxt: number): string =>
  `cpu  ${user} 0 ${system} ${idle} 0 0 ${softirq} ${steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 5 6\nctxt ${ctxt}\nbtime 1\n`;

test('/proc/stat\'s cpu line by kind (ticks to seconds) and its context switches', () => {
  const s = parseStat(STAT(200, 100, 50, 20, 10, 12345), 100, 7);
  assert.equal(s, { at: 7, user: 2, system: 1, softirq: 0.2, idle: 0.5, steal: 0.1, ctxt: 12345 });
});

test('a window in cores and context switches per session', () => {
  const a = parseStat(STAT(0, 0, 0, 0, 0, 1000), 100, 10);
  const b = parseStat(STAT(1200, 400, 200, 200, 0, 21000), 100, 20); // 10 s: 12 s user, 4 system, 2 softirq
  const w = machineWindow(a, b, 10_000);
  assert.ok(Math.abs(w.busyCores - 1.8) < 1e-9, `busy ${w.busyCores}`);
  assert.ok(Math.abs(w.userCores - 1.2) < 1e-9 && Math.abs(w.systemCores - 0.4) < 1e-9 && Math.abs(w.softirqCores - 0.2) < 1e-9);
  assert.is(w.ctxtPerSession, 2);
});

test('this machine\'s /proc/stat reads: time moves forward, some cores were busy', () => {
  const a = machineStat();
  let x = 0;
  for (let i = 0; i < 2e6; i++) x += i;
  const b = machineStat();
  assert.ok(x > 0 && b.user + b.system >= a.user + a.system && b.ctxt >= a.ctxt && Number.isFinite(a.ctxt));
});

test('r1\'s new sessions per second over spans of at least 1 s between samples (a late sample makes a longer span)', () => {
  const samples = [0, 200, 400, 600, 800, 1000, 1200, 2600, 2800, 3600].map((at) => ({ at: 1000 + at, created: at * 10 }));
  assert.equal(perSecond(samples, 1000, 4600), [10_000, 10_000, 10_000]);
  assert.equal(perSecond(samples, 1000, 1900), [], 'no span of a second');
});

test.run();
