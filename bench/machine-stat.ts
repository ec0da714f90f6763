/**
 * The machine over a session test (/proc/stat): its CPU time by kind, in cores, and the kernel's context switches
 * per session. A closed-loop session test on 2 vCPUs keeps them busy, so its rate is 2 cores over what a session
 * costs the whole machine; ctxt per session shows how finely the client, the echo and the routers took turns
 * (fewer sessions per wake-up: more switches and more CPU per session).
 */
import { readFileSync } from 'node:fs';
import { ticksPerSecond } from './cpu.js';

/** CPU seconds since boot by kind (all cores), context switches, and the clock (s) when read. */
export interface MachineStat {
  at: number;
  user: number;
  system: number;
  softirq: number;
  idle: number;
  steal: number;
  ctxt: number;
}

export interface MachineWindow {
  seconds: number;
  /** average cores busy (everything but idle and iowait), and of them in user, system and softirq time; stolen by the host */
  busyCores: number;
  userCores: number;
  systemCores: number;
  softirqCores: number;
  stealCores: number;
  /** the kernel's context switches per session created */
  ctxtPerSession: number;
}

/** Parses /proc/stat's text (its `cpu` and `ctxt` lines); `ticks` per second. */
export function parseStat(text: string, ticks: number, at: number): MachineStat {
  const cpu = /^cpu\s+(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number) ?? [];
  const t = (i: number): number => (cpu[i] ?? 0) / ticks;
  return { at, user: t(0) + t(1), system: t(2), softirq: t(5) + t(6), idle: t(3) + t(4), steal: t(7), ctxt: Number(/^ctxt\s+(\d+)/m.exec(text)?.[1] ?? NaN) };
}

export function machineStat(): MachineStat {
  return parseStat(readFileSync('/proc/stat', 'utf8'), ticksPerSecond(), performance.now() / 1000);
}

/** The window between two reads, `sessions` created in it. */
export function machineWindow(a: MachineStat, b: MachineStat, sessions: number): MachineWindow {
  const s = b.at - a.at;
  const cores = (k: 'user' | 'system' | 'softirq' | 'steal'): number => (b[k] - a[k]) / s;
  const busy = cores('user') + cores('system') + cores('softirq') + cores('steal');
  return {
    seconds: s, busyCores: busy, userCores: cores('user'), systemCores: cores('system'), softirqCores: cores('softirq'), stealCores: cores('steal'),
    ctxtPerSession: (b.ctxt - a.ctxt) / sessions,
  };
}

/** One line: `1.93 cores busy (user 1.10, system 0.60, softirq 0.23, steal 0.00), 1.8 context switches per session`. */
export function formatWindow(w: MachineWindow): string {
  return `${w.busyCores.toFixed(2)} cores busy (user ${w.userCores.toFixed(2)}, system ${w.systemCores.toFixed(2)}, softirq ${w.softirqCores.toFixed(2)}, steal ${w.stealCores.toFixed(2)}), `
    + `${w.ctxtPerSession.toFixed(2)} context switches per session`;
}
