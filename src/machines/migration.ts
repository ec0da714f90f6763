/**
 * Session migration of one service with session resiliency (ssr-reference §1.4 session-resiliency, §1.7
 * "Session migration"), a pure XState machine: which path the service's sessions use, when they move and
 * when they move back. It owns time and choice; the data path owns the rows. The data path reads the order
 * this machine publishes and moves a session lazily, on its next packet, to the first usable path of it
 * (failover: only when the session's path is down or out of the order; revertible failover and packet
 * duplication: whenever that first path differs). When the first path goes down it moves sessions to the
 * next one at once, before control hears of it: the order already says where they go.
 *
 *   detect   the active path goes down (path.down) or leaves the policy's ranking (paths.ranked: an SLA
 *            miss)                                                                     -> choose, move
 *   choose   the best path of the ranking that is not suppressed (a suppressed one only when nothing else)
 *   move     publish the order with the chosen path first                              -> confirm
 *   confirm  a moved session saw reverse metadata on the new path (move.confirmed), or confirmTimeoutMs
 *            passed; a moved session whose handshake failed there (move.failed) penalizes the path and
 *            chooses again
 *   revert   a better path than the active one (the preferred path back, a better ranking, the end of a
 *            suppression) is taken only once it has been up for holdDownMs, counted from when it came up
 *            (BFD Up: a path back from a flap already waited its hold-down to become usable, so it is
 *            taken as soon as it is usable). If it goes down meanwhile, the wait starts over when it is back.
 *            A path that was never withdrawn is taken at once: nothing to damp yet (as the path lifecycle).
 *   damping  (RFC 2439's figure of merit, for paths instead of routes) every withdrawal of a path (down,
 *            or out of the ranking, or a failed move to it) adds `penalty`; the figure halves every
 *            `halfLifeMs` and never exceeds `maxPenalty`. At `suppressAt` or more the path is suppressed:
 *            ranked last, chosen only when no other path is usable, until the figure decays below
 *            `reuseBelow`. Suppression is re-evaluated at every event (path control ranks every second).
 *
 * Regions: `route` (noPath | steady | holdingDown, through the transient `deciding`) and `confirm`
 * (idle | awaiting). Actions: `publish({ order })` the data path's order, best first; `record(...)` a
 * fact for logs and counters. Times come in the events (`atMs`, monotonic ms).
 */
import { assign, setup } from 'xstate';

export interface DampingRule {
  penalty: number;
  suppressAt: number;
  reuseBelow: number;
  halfLifeMs: number;
  maxPenalty: number;
}

/**
 * A path withdrawn twice within a half-life (15 s) is suppressed; it is reused once its figure is below
 * 750 again: 15-21 s after the second of two withdrawals, at most 45 s after the last of many (the cap).
 */
export const DEFAULT_DAMPING: DampingRule = { penalty: 1000, suppressAt: 1500, reuseBelow: 750, halfLifeMs: 15_000, maxPenalty: 6000 };

export interface MigrationInput {
  service: string;
  /** how long a better path must have been up before sessions move to it: the paths' hold-down time */
  holdDownMs: number;
  /** per path id, when a path's hold-down differs (its neighborhood's BFD settings) */
  pathHoldDownMs?: Readonly<Record<number, number>>;
  /** how long a move waits for its confirmation; default 5000 ms (the handshake's probes take 3 s) */
  confirmTimeoutMs?: number;
  damping?: DampingRule;
}

interface Penalty {
  value: number;
  atMs: number;
}

export interface MigrationContext {
  service: string;
  holdDownMs: number;
  pathHoldDownMs: Readonly<Record<number, number>>;
  confirmTimeoutMs: number;
  damping: DampingRule;
  /** the latest event time */
  nowMs: number;
  /** the policy's ranking: usable paths that meet it, best first */
  ranked: number[];
  /** since when each path is up, by path id; a path never reported is taken as up for long */
  upSinceMs: Record<number, number>;
  penalties: Record<number, Penalty>;
  suppressed: number[];
  /** paths withdrawn at least once (only they wait out a hold-down) */
  flapped: number[];
  /** where the service's sessions go (first in the published order); -1: no path */
  active: number;
  /** the active path before the last loss of every path; -1: none */
  lastActive: number;
  /** the better path waiting out its hold-down; -1: none */
  candidate: number;
  /** the path the last move went to, until confirmed; -1: none */
  confirming: number;
  /** the last published order (so an unchanged one is not published again); null before the first */
  published: string | null;
}

export type MigrationEvent =
  | { type: 'paths.ranked'; ranked: readonly number[]; atMs: number }
  | { type: 'path.up'; path: number; upSinceMs: number; atMs: number }
  | { type: 'path.down'; path: number; atMs: number }
  | { type: 'move.confirmed'; path: number; atMs: number }
  | { type: 'move.failed'; path: number; atMs: number }
  /** raised by the machine itself when it moved the sessions */
  | { type: 'migration.moved' };

export type MigrationRecord =
  | { kind: 'moved'; service: string; from: number; to: number; reason: 'failover' | 'revert' | 'restored' }
  | { kind: 'confirmed' | 'unconfirmed' | 'failed' | 'suppressed' | 'reused' | 'no-path'; service: string; path: number };

type Ctx = MigrationContext;

/** A path's figure of merit at `now` (0 when it never flapped). */
export function penaltyAt(c: Ctx, path: number, now: number): number {
  const p = c.penalties[path];
  return p === undefined ? 0 : p.value * 2 ** (-(now - p.atMs) / c.damping.halfLifeMs);
}

/** The choice: the best ranked path that is not suppressed, else the best suppressed one, else -1. */
function choose(c: Ctx): number {
  return c.ranked.find((p) => !c.suppressed.includes(p)) ?? c.ranked[0] ?? -1;
}

/** The order for the data path: the active path, then the others by rank, suppressed ones last. */
function orderOf(c: Ctx): number[] {
  const rest = c.ranked.filter((p) => p !== c.active);
  const head = c.active >= 0 && c.ranked.includes(c.active) ? [c.active] : [];
  return [...head, ...rest.filter((p) => !c.suppressed.includes(p)), ...rest.filter((p) => c.suppressed.includes(p))];
}

/** When `path` will have been up for the hold-down (-Infinity: up for long, or never withdrawn). */
const heldAt = (c: Ctx, path: number): number =>
  c.flapped.includes(path) ? (c.upSinceMs[path] ?? Number.NEGATIVE_INFINITY) + (c.pathHoldDownMs[path] ?? c.holdDownMs) : Number.NEGATIVE_INFINITY;

/** The choice is better than the (still ranked) active path: the active one is suppressed and the choice is not, or it ranks before it. */
function betterThanActive(c: Ctx): boolean {
  const choice = choose(c);
  if (choice < 0 || choice === c.active || !c.ranked.includes(c.active)) return false;
  const activeSuppressed = c.suppressed.includes(c.active);
  if (activeSuppressed !== c.suppressed.includes(choice)) return activeSuppressed;
  return c.ranked.indexOf(choice) < c.ranked.indexOf(c.active);
}

const migration = setup({
  types: {} as { input: MigrationInput; context: MigrationContext; events: MigrationEvent },
  delays: {
    holdDown: ({ context }) => Math.max(0, heldAt(context, context.candidate) - context.nowMs),
    confirmTimeout: ({ context }) => context.confirmTimeoutMs,
  },
  guards: {
    noPath: ({ context }) => choose(context) < 0,
    activeLost: ({ context }) => !context.ranked.includes(context.active),
    betterHeld: ({ context }) => betterThanActive(context) && context.nowMs >= heldAt(context, choose(context)),
    betterWaiting: ({ context }) => betterThanActive(context),
    onActive: ({ context, event }) => 'path' in event && event.path === context.active,
    awaited: ({ context, event }) => 'path' in event && event.path === context.confirming,
  },
  actions: {
    /** the data path's order for the service: path ids, the one sessions use first */
    publish: (_, _params: { service: string; order: number[] }) => {},
    /** a fact for logs and counters */
    record: (_, _params: MigrationRecord) => {},
    /** the hold-down timer fired: the candidate has been up for the hold-down now */
    holdDownOver: assign({ nowMs: ({ context }) => Math.max(context.nowMs, heldAt(context, context.candidate)) }),
  },
});

/** Time, withdrawals (penalties) and suppression from an event; records suppressions and reuses. */
const note = migration.enqueueActions(({ context, event, enqueue }) => {
  if (!('atMs' in event)) return;
  const now = Math.max(context.nowMs, event.atMs);
  const c: Ctx = { ...context, nowMs: now, penalties: { ...context.penalties }, upSinceMs: { ...context.upSinceMs } };
  const withdraw = (path: number): void => {
    const value = Math.min(c.damping.maxPenalty, penaltyAt(c, path, now) + c.damping.penalty);
    c.penalties[path] = { value, atMs: now };
    if (!c.flapped.includes(path)) c.flapped = [...c.flapped, path].sort((a, b) => a - b);
  };
  if (event.type === 'paths.ranked') {
    for (const p of c.ranked) if (!event.ranked.includes(p)) withdraw(p);
    c.ranked = [...event.ranked];
  } else if (event.type === 'path.up') {
    c.upSinceMs[event.path] = event.upSinceMs;
  } else if (event.type === 'path.down') {
    delete c.upSinceMs[event.path];
    if (c.ranked.includes(event.path)) withdraw(event.path);
    c.ranked = c.ranked.filter((p) => p !== event.path);
  } else if (event.type === 'move.failed' && event.path === context.active) {
    withdraw(event.path);
    enqueue({ type: 'record', params: { kind: 'failed', service: c.service, path: event.path } });
  }
  const suppressed: number[] = [];
  for (const key of Object.keys(c.penalties)) {
    const path = Number(key);
    const figure = penaltyAt(c, path, now);
    const was = context.suppressed.includes(path);
    if (figure >= c.damping.suppressAt || (was && figure >= c.damping.reuseBelow)) suppressed.push(path);
    else if (figure < 1) delete c.penalties[path]; // forgotten
    if (!was && suppressed.includes(path)) enqueue({ type: 'record', params: { kind: 'suppressed', service: c.service, path } });
    if (was && !suppressed.includes(path)) enqueue({ type: 'record', params: { kind: 'reused', service: c.service, path } });
  }
  c.suppressed = suppressed.sort((a, b) => a - b);
  enqueue.assign({ nowMs: c.nowMs, ranked: c.ranked, upSinceMs: c.upSinceMs, penalties: c.penalties, suppressed: c.suppressed, flapped: c.flapped });
});

/** Moves the sessions to the choice: publish, record, await the confirmation. */
const move = migration.enqueueActions(({ context, enqueue }) => {
  const to = choose(context);
  const reason = context.active < 0 ? 'restored' : context.ranked.includes(context.active) ? 'revert' : 'failover';
  const next: Ctx = { ...context, active: to, candidate: -1, confirming: to };
  const order = orderOf(next);
  enqueue.assign({ active: to, lastActive: -1, candidate: -1, confirming: to, published: order.join(',') });
  enqueue({ type: 'publish', params: { service: context.service, order } });
  const from = context.active >= 0 ? context.active : context.lastActive;
  if (from >= 0) { // the first path a service gets moves no session: there are none yet
    enqueue({ type: 'record', params: { kind: 'moved', service: context.service, from, to, reason } });
    enqueue.raise({ type: 'migration.moved' });
  }
});

/** Publishes the order if it changed; `waiting`: the choice waits out its hold-down (it becomes the candidate). */
const settle = (waiting: boolean) => migration.enqueueActions(({ context, enqueue }) => {
  const candidate = waiting ? choose(context) : -1;
  const lost = choose(context) < 0;
  const next: Ctx = { ...context, candidate, active: lost ? -1 : context.active };
  const order = orderOf(next);
  const key = order.join(',');
  enqueue.assign({ candidate, active: next.active, published: key, ...(lost && context.active >= 0 ? { lastActive: context.active } : {}) });
  if (lost && context.active >= 0) enqueue({ type: 'record', params: { kind: 'no-path', service: context.service, path: context.active } });
  if (key !== context.published) enqueue({ type: 'publish', params: { service: context.service, order } });
});

export const migrationMachine = migration.createMachine({
  id: 'migration',
  type: 'parallel',
  context: ({ input }) => ({
    service: input.service,
    holdDownMs: input.holdDownMs,
    pathHoldDownMs: input.pathHoldDownMs ?? {},
    confirmTimeoutMs: input.confirmTimeoutMs ?? 5000,
    damping: input.damping ?? DEFAULT_DAMPING,
    nowMs: 0,
    ranked: [],
    upSinceMs: {},
    penalties: {},
    suppressed: [],
    flapped: [],
    active: -1,
    lastActive: -1,
    candidate: -1,
    confirming: -1,
    published: null,
  }),
  states: {
    route: {
      initial: 'noPath',
      on: {
        'paths.ranked': { target: '.deciding', actions: note },
        'path.up': { target: '.deciding', actions: note },
        'path.down': { target: '.deciding', actions: note },
        'move.failed': { guard: 'onActive', target: '.deciding', actions: note },
      },
      states: {
        deciding: {
          always: [
            { guard: 'noPath', target: 'noPath', actions: settle(false) },
            { guard: 'activeLost', target: 'steady', actions: move },
            { guard: 'betterHeld', target: 'steady', actions: move },
            { guard: 'betterWaiting', target: 'holdingDown', actions: settle(true) },
            { target: 'steady', actions: settle(false) },
          ],
        },
        /** no usable path: sessions stay where they are (they cannot move anywhere) */
        noPath: {},
        /** sessions use the best path they may */
        steady: {},
        /** a better path is up; sessions move to it once it has been up for the hold-down */
        holdingDown: {
          after: { holdDown: { target: 'deciding', actions: 'holdDownOver' } },
        },
      },
    },
    confirm: {
      initial: 'idle',
      states: {
        idle: { on: { 'migration.moved': 'awaiting' } },
        awaiting: {
          on: {
            'migration.moved': { target: 'awaiting', reenter: true },
            'move.confirmed': {
              guard: 'awaited', target: 'idle',
              actions: [{ type: 'record', params: ({ context }) => ({ kind: 'confirmed' as const, service: context.service, path: context.confirming }) }, assign({ confirming: -1 })],
            },
            'move.failed': { guard: 'awaited', target: 'idle', actions: assign({ confirming: -1 }) },
          },
          after: {
            confirmTimeout: {
              target: 'idle',
              actions: [{ type: 'record', params: ({ context }) => ({ kind: 'unconfirmed' as const, service: context.service, path: context.confirming }) }, assign({ confirming: -1 })],
            },
          },
        },
      },
    },
  },
});
