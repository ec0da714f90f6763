/**
 * One alarm's raise and clear, with hysteresis, as a pure XState machine (architecture §5.8; SSR's alarm
 * set, ssr-reference §1.11). It watches either a level (raise at >= raiseAt, clear at <= clearAt, e.g. the
 * session table at 90 % / 80 %) or a condition (raise while active, e.g. a peer path down). Optional hold
 * times: the raise condition must last `raiseAfterMs` (e.g. CPU > 85 % for 30 s), the clear condition
 * `clearAfterMs`.
 *
 * clear   --observe, raise condition--> raised (raise)  | pending if raiseAfterMs > 0
 * pending --observe, raise condition gone--> clear;  --after raiseAfterMs--> raised (raise)
 * raised  --observe, clear condition--> clear (clear)   | clearing if clearAfterMs > 0
 * clearing --observe, clear condition gone--> raised (no new raise);  --after clearAfterMs--> clear (clear)
 * Between clearAt and raiseAt a level changes nothing: that gap is the hysteresis.
 */
import { assign, setup } from 'xstate';

export interface AlarmInput {
  /** level alarms: raise at value >= raiseAt ... */
  raiseAt?: number;
  /** ... clear at value <= clearAt (< raiseAt) */
  clearAt?: number;
  /** ms the raise condition must hold; default 0 */
  raiseAfterMs?: number;
  /** ms the clear condition must hold; default 0 */
  clearAfterMs?: number;
}

export interface AlarmContext {
  raiseAt: number;
  clearAt: number;
  raiseAfterMs: number;
  clearAfterMs: number;
  /** the last observation */
  value: number;
  detail: string;
}

/** A level (`value`) or a condition (`active`); `detail` goes into the raise/clear message. */
export type AlarmEvent = { type: 'alarm.observe'; value?: number; active?: boolean; detail?: string };

export interface AlarmActionParams {
  value: number;
  detail: string;
}

const raising = (c: AlarmContext, e: AlarmEvent): boolean => (e.active !== undefined ? e.active : (e.value ?? -Infinity) >= c.raiseAt);
const clearing = (c: AlarmContext, e: AlarmEvent): boolean => (e.active !== undefined ? !e.active : (e.value ?? Infinity) <= c.clearAt);

export const alarmMachine = setup({
  types: {} as { input: AlarmInput; context: AlarmContext; events: AlarmEvent },
  delays: {
    raiseAfter: ({ context }) => context.raiseAfterMs,
    clearAfter: ({ context }) => context.clearAfterMs,
  },
  guards: {
    raiseNow: ({ context, event }) => raising(context, event) && context.raiseAfterMs === 0,
    raiseLater: ({ context, event }) => raising(context, event),
    notRaising: ({ context, event }) => !raising(context, event),
    clearNow: ({ context, event }) => clearing(context, event) && context.clearAfterMs === 0,
    clearLater: ({ context, event }) => clearing(context, event),
    notClearing: ({ context, event }) => !clearing(context, event),
  },
  actions: {
    /** the alarm is raised (the registry records it) */
    raise: (_, _params: AlarmActionParams) => {},
    /** the alarm is cleared */
    clear: (_, _params: AlarmActionParams) => {},
    remember: assign({
      value: ({ context, event }) => event.value ?? (event.active === undefined ? context.value : event.active ? 1 : 0),
      detail: ({ context, event }) => event.detail ?? context.detail,
    }),
  },
}).createMachine({
  id: 'alarm',
  context: ({ input }) => {
    const raiseAt = input.raiseAt ?? 1;
    return { raiseAt, clearAt: input.clearAt ?? raiseAt, raiseAfterMs: input.raiseAfterMs ?? 0, clearAfterMs: input.clearAfterMs ?? 0, value: 0, detail: '' };
  },
  initial: 'clear',
  states: {
    clear: {
      on: {
        'alarm.observe': [
          { guard: 'raiseNow', target: 'raised', actions: ['remember', { type: 'raise', params: ({ context, event }) => params(context, event) }] },
          { guard: 'raiseLater', target: 'pending', actions: 'remember' },
          { actions: 'remember' },
        ],
      },
    },
    pending: {
      after: { raiseAfter: { target: 'raised', actions: { type: 'raise', params: ({ context }) => ({ value: context.value, detail: context.detail }) } } },
      on: {
        'alarm.observe': [
          { guard: 'notRaising', target: 'clear', actions: 'remember' },
          { actions: 'remember' },
        ],
      },
    },
    raised: {
      on: {
        'alarm.observe': [
          { guard: 'clearNow', target: 'clear', actions: ['remember', { type: 'clear', params: ({ context, event }) => params(context, event) }] },
          { guard: 'clearLater', target: 'clearing', actions: 'remember' },
          { actions: 'remember' },
        ],
      },
    },
    clearing: {
      after: { clearAfter: { target: 'clear', actions: { type: 'clear', params: ({ context }) => ({ value: context.value, detail: context.detail }) } } },
      on: {
        'alarm.observe': [
          { guard: 'notClearing', target: 'raised', actions: 'remember' },
          { actions: 'remember' },
        ],
      },
    },
  },
});

/** Why an input makes no sense (check before creating an actor), or undefined. */
export function alarmInputProblem(input: AlarmInput): string | undefined {
  const raiseAt = input.raiseAt ?? 1;
  const clearAt = input.clearAt ?? raiseAt;
  if (clearAt > raiseAt) return `clearAt (${clearAt}) must not be above raiseAt (${raiseAt})`;
  for (const k of ['raiseAfterMs', 'clearAfterMs'] as const) {
    const v = input[k];
    if (v !== undefined && !(v >= 0)) return `${k} must be >= 0, got ${v}`;
  }
  return undefined;
}

/** The action's parameters from the event that triggers it (assign has not applied yet when params are read). */
function params(c: AlarmContext, e: AlarmEvent): AlarmActionParams {
  return { value: e.value ?? (e.active === undefined ? c.value : e.active ? 1 : 0), detail: e.detail ?? c.detail };
}
