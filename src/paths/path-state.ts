/**
 * Whether a path may carry sessions (pure): BFD up is necessary, not sufficient. A path that was up
 * and went down (a flap) must stay up for the hold-down time before it is usable again, so a flapping
 * path stays unusable (ssr-reference §1.3 "Hold-down"). The first time BFD comes up after start the
 * path is usable at once: there is nothing to damp yet.
 *
 * nextPathStatus(status, input, holdDownMs) -> { status, change?, wakeAtMs? }
 *   input  { type: 'bfd', up, atMs }  BFD session state changed (only up/down matter)
 *          { type: 'tick', atMs }     time passed: the caller wakes us at `wakeAtMs`
 *   change is set once per usable <-> unusable change, never twice for the same one.
 */

export interface PathStatus {
  readonly bfdUp: boolean;
  readonly usable: boolean;
  /** up -> down transitions so far */
  readonly flaps: number;
  /** since when BFD is up (ms), undefined while down */
  readonly upSinceMs: number | undefined;
  /** hold-down ends at this time (ms) while it runs, else undefined */
  readonly holdDownUntilMs: number | undefined;
}

export type PathStateInput = { type: 'bfd'; up: boolean; atMs: number } | { type: 'tick'; atMs: number };

export type UsableReason = 'bfd-up' | 'bfd-down' | 'hold-down-over';

export interface PathStateStep {
  readonly status: PathStatus;
  /** set when `usable` changed */
  readonly change?: { readonly usable: boolean; readonly reason: UsableReason };
  /** call again with a tick at this time (hold-down end) */
  readonly wakeAtMs?: number;
}

export const INITIAL_PATH_STATUS: PathStatus = Object.freeze({ bfdUp: false, usable: false, flaps: 0, upSinceMs: undefined, holdDownUntilMs: undefined });

export function nextPathStatus(s: PathStatus, input: PathStateInput, holdDownMs: number): PathStateStep {
  const at = input.atMs;
  if (input.type === 'tick') {
    if (!s.bfdUp || s.usable || s.holdDownUntilMs === undefined) return { status: s };
    if (at < s.holdDownUntilMs) return { status: s, wakeAtMs: s.holdDownUntilMs };
    return { status: { ...s, usable: true, holdDownUntilMs: undefined }, change: { usable: true, reason: 'hold-down-over' } };
  }
  if (input.up === s.bfdUp) return { status: s };
  if (!input.up) {
    const status: PathStatus = { ...s, bfdUp: false, usable: false, flaps: s.flaps + 1, upSinceMs: undefined, holdDownUntilMs: undefined };
    return s.usable ? { status, change: { usable: false, reason: 'bfd-down' } } : { status };
  }
  if (s.flaps === 0) {
    return { status: { ...s, bfdUp: true, usable: true, upSinceMs: at }, change: { usable: true, reason: 'bfd-up' } };
  }
  const holdDownUntilMs = at + holdDownMs;
  return { status: { ...s, bfdUp: true, upSinceMs: at, holdDownUntilMs }, wakeAtMs: holdDownUntilMs };
}

/** Time left in hold-down at `nowMs` (0 when none runs). */
export function holdDownRemainingMs(s: PathStatus, nowMs: number): number {
  return s.holdDownUntilMs === undefined ? 0 : Math.max(0, s.holdDownUntilMs - nowMs);
}

/** Time since BFD came up (0 while down). */
export function uptimeMs(s: PathStatus, nowMs: number): number {
  return s.upSinceMs === undefined ? 0 : Math.max(0, nowMs - s.upSinceMs);
}
