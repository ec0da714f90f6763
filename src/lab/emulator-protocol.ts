/**
 * The link emulator's control socket (`<dir>/link<k>.sock`, JSON lines, see src/util/json-lines.ts):
 *   {"id":1,"method":"status"}
 *   {"id":1,"method":"set","directions":["r1-r2","r2-r1"],"set":{"delayMs":80,"jitterMs":10,"lossPct":2}}
 *   {"id":1,"method":"set","directions":["r1-r2","r2-r1"],"set":{"down":true}}      (stops a flap)
 *   {"id":1,"method":"flap","directions":["r1-r2","r2-r1"],"periodMs":2000}         (down now, up after 2 s, ...)
 *   {"id":1,"method":"clear"}                                                      (no impairment, no flap)
 * Every method answers with the EmulatorStatus after the change.
 */
import { SvrError } from '../errors.js';
import type { Impairment, LineStats } from './delay-line.js';
import { requestJsonLine } from '../util/json-lines.js';
import { DIRECTIONS, type Direction } from './topology.js';

export interface FlapStatus {
  periodMs: number;
  directions: Direction[];
  /** toggles so far (the first one, to down, happens at once) */
  toggles: number;
  since: string;
}

export interface EmulatorStatus {
  path: number;
  pid: number;
  startedAt: string;
  seed: number;
  directions: Record<Direction, { device: string; impairment: Impairment; stats: LineStats }>;
  flap?: FlapStatus;
}

export type ImpairmentChange = Partial<Impairment>;

export type EmulatorRequest =
  | { method: 'status' }
  | { method: 'set'; directions: Direction[]; set: ImpairmentChange }
  | { method: 'flap'; directions: Direction[]; periodMs: number }
  | { method: 'clear' };

/** Limits, shared by the command-line checks and the emulator. */
export const LIMITS = { delayMs: 60_000, jitterMs: 10_000, flapMinMs: 100, flapMaxMs: 3_600_000 } as const;

function isDirections(v: unknown): v is Direction[] {
  return Array.isArray(v) && v.length > 0 && v.every((d) => (DIRECTIONS as readonly unknown[]).includes(d));
}

function num(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new SvrError('SVR_ERR_LAB_OPTION', `${what} must be a number ${min}-${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Checks a request that came in on the socket (anything may send one). */
export function parseRequest(r: Record<string, unknown>): EmulatorRequest {
  const method = r['method'];
  if (method === 'status' || method === 'clear') return { method };
  if (method === 'set' || method === 'flap') {
    const directions = r['directions'];
    if (!isDirections(directions)) throw new SvrError('SVR_ERR_LAB_OPTION', `directions must be a non-empty list of ${DIRECTIONS.join(', ')}`);
    if (method === 'flap') return { method, directions, periodMs: num(r['periodMs'], LIMITS.flapMinMs, LIMITS.flapMaxMs, 'periodMs') };
    const s = r['set'];
    if (typeof s !== 'object' || s === null) throw new SvrError('SVR_ERR_LAB_OPTION', 'set must be an object');
    const raw = s as Record<string, unknown>;
    const set: ImpairmentChange = {};
    if (raw['delayMs'] !== undefined) set.delayMs = num(raw['delayMs'], 0, LIMITS.delayMs, 'delayMs');
    if (raw['jitterMs'] !== undefined) set.jitterMs = num(raw['jitterMs'], 0, LIMITS.jitterMs, 'jitterMs');
    if (raw['lossPct'] !== undefined) set.lossPct = num(raw['lossPct'], 0, 100, 'lossPct');
    if (raw['down'] !== undefined) {
      if (typeof raw['down'] !== 'boolean') throw new SvrError('SVR_ERR_LAB_OPTION', 'down must be true or false');
      set.down = raw['down'];
    }
    return { method, directions, set };
  }
  throw new SvrError('SVR_ERR_LAB_OPTION', `unknown method ${JSON.stringify(method)}: status, set, flap or clear`);
}

/** One request to the emulator of path k. */
export async function emulatorRequest(socket: string, path: number, req: EmulatorRequest, timeoutMs = 3000): Promise<EmulatorStatus> {
  return (await requestJsonLine(socket, { ...req }, {
    what: `the link emulator of path ${path}`, connectCode: 'SVR_ERR_LAB_EMULATOR', answerCode: 'SVR_ERR_LAB_EMULATOR', timeoutMs,
    hints: { missing: 'the socket does not exist (is the lab up? did the emulator crash? see its log in the lab dir)', refused: 'nobody is listening (the emulator stopped or crashed)' },
  })) as EmulatorStatus;
}
