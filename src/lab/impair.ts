/**
 * `svr lab impair`: changes what the link emulators of a running lab do to packets, and prints what is
 * now in effect. Options are checked here (clear errors, nothing sent when one is wrong); the emulator
 * checks again (emulator-protocol.ts).
 */
import { resolve } from 'node:path';
import { SvrError } from '../errors.js';
import { emulatorRequest, LIMITS, type EmulatorRequest, type EmulatorStatus, type ImpairmentChange } from './emulator-protocol.js';
import type { Impairment, LineStats } from './delay-line.js';
import { emulatorSocketPath } from './launch.js';
import { checkPrefix } from './options.js';
import { readLabIndex, readState, type LabState } from './state.js';
import { DIRECTIONS, pathPlan, type Direction } from './topology.js';
import { formatMs, parseDuration, parsePercent } from './units.js';

export interface ImpairInput {
  /** "1", "1,2" or "all"; required for a change */
  path?: string;
  delay?: string;
  jitter?: string;
  loss?: string;
  down?: boolean;
  up?: boolean;
  clear?: boolean;
  flap?: string;
  /** r1-r2, r2-r1 (default both) */
  direction?: string;
}

/** The running lab with this prefix: `dir`'s state, else the one `<run-dir>/lab.json` names. */
export function findLab(dirOpt: string, prefix: string): LabState | undefined {
  checkPrefix(prefix);
  const state = readState(resolve(dirOpt));
  if (state?.prefix === prefix) return state;
  const idx = readLabIndex();
  const other = idx !== undefined && idx.prefix === prefix ? readState(idx.dir) : undefined;
  return other?.prefix === prefix ? other : undefined;
}

/** Paths of a lab (state.json of a lab from before multi-path: 1). */
export function labPaths(state: LabState): number {
  return state.shape?.paths ?? 1;
}

function parsePaths(text: string | undefined, n: number, change: boolean): number[] {
  const all = Array.from({ length: n }, (_, i) => i + 1);
  if (text === undefined) {
    if (change) throw new SvrError('SVR_ERR_LAB_OPTION', `which path? add --path 1${n > 1 ? `, --path 1,2 or --path all (this lab has paths 1-${n})` : ' (this lab has one path)'}`);
    return all;
  }
  if (text.trim() === 'all') return all;
  const out: number[] = [];
  for (const part of text.split(',')) {
    const k = Number(part.trim());
    if (!/^\s*\d+\s*$/.test(part) || k < 1 || k > n) {
      throw new SvrError('SVR_ERR_LAB_OPTION', `--path ${JSON.stringify(text)}: this lab has path${n === 1 ? ' 1' : `s 1-${n}`}; use a number, a list (1,2) or all`);
    }
    if (!out.includes(k)) out.push(k);
  }
  return out;
}

export interface ImpairPlan {
  paths: number[];
  requests: EmulatorRequest[];
}

/** Checks the options against a lab with `n` paths and turns them into emulator requests. */
export function planImpair(i: ImpairInput, n: number): ImpairPlan {
  const set: ImpairmentChange = {};
  if (i.delay !== undefined) set.delayMs = parseDuration(i.delay, '--delay', 0, LIMITS.delayMs);
  if (i.jitter !== undefined) set.jitterMs = parseDuration(i.jitter, '--jitter', 0, LIMITS.jitterMs);
  if (i.loss !== undefined) set.lossPct = parsePercent(i.loss, '--loss');
  const flapMs = i.flap === undefined ? undefined : parseDuration(i.flap, '--flap', LIMITS.flapMinMs, LIMITS.flapMaxMs);
  const down = i.down === true;
  const up = i.up === true;
  const clear = i.clear === true;
  if (down && up) throw new SvrError('SVR_ERR_LAB_OPTION', '--down and --up contradict each other; pick one');
  if (flapMs !== undefined && (down || up)) throw new SvrError('SVR_ERR_LAB_OPTION', '--flap toggles the link down and up by itself; leave out --down/--up');
  if (clear && (Object.keys(set).length > 0 || down || up || flapMs !== undefined)) {
    throw new SvrError('SVR_ERR_LAB_OPTION', '--clear removes every impairment of the path (and stops a flap); give it alone');
  }
  if (clear && i.direction !== undefined) throw new SvrError('SVR_ERR_LAB_OPTION', '--clear applies to both directions; leave out --direction');
  if (i.direction !== undefined && !(DIRECTIONS as readonly string[]).includes(i.direction)) {
    throw new SvrError('SVR_ERR_LAB_OPTION', `--direction ${JSON.stringify(i.direction)}: expected r1-r2 (packets from r1 to r2) or r2-r1`);
  }
  const directions: Direction[] = i.direction === undefined ? [...DIRECTIONS] : [i.direction as Direction];
  if (down) set.down = true;
  if (up) set.down = false;
  const requests: EmulatorRequest[] = [];
  if (clear) requests.push({ method: 'clear' });
  if (Object.keys(set).length > 0) requests.push({ method: 'set', directions, set });
  if (flapMs !== undefined) requests.push({ method: 'flap', directions, periodMs: flapMs });
  const change = requests.length > 0;
  if (!change && i.direction !== undefined) throw new SvrError('SVR_ERR_LAB_OPTION', '--direction needs something to change (--delay, --jitter, --loss, --down, --up, --flap)');
  return { paths: parsePaths(i.path, n, change), requests };
}

/** Applies the plan to each path's emulator; resolves with each one's status afterwards. */
export async function labImpair(dirOpt: string, prefix: string, input: ImpairInput): Promise<EmulatorStatus[]> {
  const state = findLab(dirOpt, prefix);
  if (state === undefined) {
    throw new SvrError('SVR_ERR_LAB_STATE', `no lab with prefix ${prefix} is up (no state.json in ${resolve(dirOpt)}); start one with \`svr lab up\``);
  }
  const plan = planImpair(input, labPaths(state));
  const out: EmulatorStatus[] = [];
  for (const k of plan.paths) {
    const socket = emulatorSocketPath(state.dir, k);
    let status: EmulatorStatus | undefined;
    for (const req of plan.requests) status = await emulatorRequest(socket, k, req);
    out.push(status ?? await emulatorRequest(socket, k, { method: 'status' }));
  }
  return out;
}

export function describeImpairment(imp: Impairment): string {
  const parts = [imp.down ? 'DOWN' : 'up'];
  if (imp.delayMs > 0) parts.push(`delay ${formatMs(imp.delayMs)}`);
  if (imp.jitterMs > 0) parts.push(`jitter ${formatMs(imp.jitterMs)}`);
  if (imp.lossPct > 0) parts.push(`loss ${imp.lossPct}%`);
  if (parts.length === 1 && !imp.down) parts.push('no impairment');
  return parts.join(', ');
}

function describeStats(s: LineStats): string {
  const drops = [s.dropLoss > 0 ? `${s.dropLoss} lost` : '', s.dropDown > 0 ? `${s.dropDown} dropped while down` : '',
    s.dropQueueFull > 0 ? `${s.dropQueueFull} queue full` : '', s.dropWrite > 0 ? `${s.dropWrite} write errors` : ''].filter((x) => x !== '');
  return `${s.txPackets} forwarded${drops.length > 0 ? `, ${drops.join(', ')}` : ''}${s.queued > 0 ? `, ${s.queued} in flight` : ''}`;
}

/** Human lines for one path (used by impair and status). */
export function renderEmulator(prefix: string, s: EmulatorStatus): string {
  const p = pathPlan(prefix, s.path);
  const flap = s.flap === undefined ? '' : `   FLAPPING every ${formatMs(s.flap.periodMs)} (${s.flap.directions.length === 2 ? 'both directions' : s.flap.directions[0]}, ${s.flap.toggles} toggles since ${s.flap.since})`;
  const lines = [`path ${s.path}: r1 ${p.r1Dev} <-> ${p.namespace} <-> ${p.r2Dev} r2 (emulator pid ${s.pid})${flap}`];
  for (const d of DIRECTIONS) {
    const x = s.directions[d];
    lines.push(`  ${d}  ${describeImpairment(x.impairment).padEnd(44)}  ${describeStats(x.stats)}`);
  }
  return lines.join('\n');
}
