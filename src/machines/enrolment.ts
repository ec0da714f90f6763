/**
 * Enrolment (zero-touch provisioning, at the router): a new router with a one-time token learns its
 * conductor's CA (checked against the pin in the token), sends its public key with the token, and gets
 * a certificate; from then on it talks mutual TLS.
 *
 *   fetchingCa --ca.fetched (pin matches)--> enrolling --enrol.accepted--> enrolled (final)
 *                                                      \--enrol.refused--> refused (final: a bad token is not retried)
 *   a failed request or a pin that does not match --> waiting --after backoff--> fetchingCa at the next conductor
 *
 * Effects are named actions (agent/enrol.ts provides them): fetchCa, sendEnrolment, storeCredentials, report.
 */
import { assign, setup } from 'xstate';

export interface EnrolmentInput {
  assetId: string;
  conductors: readonly string[];
}

export interface EnrolmentContext extends EnrolmentInput {
  /** which conductor URL is tried now */
  index: number;
  tries: number;
  lastError?: string;
}

export type EnrolmentEvent =
  | { type: 'ca.fetched'; pinMatches: boolean }
  | { type: 'enrol.accepted' }
  | { type: 'enrol.refused'; message: string }
  | { type: 'request.failed'; message: string };

/** Back-off before the next try: 0.5 s doubling to 30 s. */
export const enrolmentBackoffMs = (tries: number): number => Math.min(30_000, 500 * 2 ** tries);

const url = ({ context }: { context: EnrolmentContext }) => ({ url: context.conductors[context.index % context.conductors.length]! });

export const enrolmentMachine = setup({
  types: {} as { input: EnrolmentInput; context: EnrolmentContext; events: EnrolmentEvent },
  actions: {
    fetchCa: (_, _params: { url: string }) => {},
    sendEnrolment: (_, _params: { url: string }) => {},
    storeCredentials: () => {},
    report: (_, _params: { outcome: 'enrolled' | 'refused' | 'retrying'; message: string }) => {},
    failed: assign({
      lastError: ({ event }) => (event.type === 'request.failed' ? event.message : event.type === 'ca.fetched' ? 'the conductor\'s CA does not match the pin in the token' : undefined),
    }),
    next: assign({ index: ({ context }) => context.index + 1, tries: ({ context }) => context.tries + 1 }),
  },
  delays: {
    backoff: ({ context }) => enrolmentBackoffMs(context.tries),
  },
}).createMachine({
  id: 'enrolment',
  context: ({ input }) => ({ ...input, index: 0, tries: 0 }),
  initial: 'fetchingCa',
  states: {
    fetchingCa: {
      entry: { type: 'fetchCa', params: url },
      on: {
        'ca.fetched': [{ guard: ({ event }) => event.pinMatches, target: 'enrolling' }, { target: 'waiting', actions: 'failed' }],
        'request.failed': { target: 'waiting', actions: 'failed' },
      },
    },
    enrolling: {
      entry: { type: 'sendEnrolment', params: url },
      on: {
        'enrol.accepted': 'enrolled',
        'enrol.refused': { target: 'refused', actions: assign({ lastError: ({ event }) => event.message }) },
        'request.failed': { target: 'waiting', actions: 'failed' },
      },
    },
    waiting: {
      entry: { type: 'report', params: ({ context }) => ({ outcome: 'retrying' as const, message: context.lastError ?? '' }) },
      after: { backoff: { target: 'fetchingCa', actions: 'next' } },
    },
    enrolled: { type: 'final', entry: ['storeCredentials', { type: 'report', params: { outcome: 'enrolled' as const, message: '' } }] },
    refused: { type: 'final', entry: { type: 'report', params: ({ context }) => ({ outcome: 'refused' as const, message: context.lastError ?? '' }) } },
  },
});
