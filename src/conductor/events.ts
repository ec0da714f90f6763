/**
 * What changes in the fabric, as the leading conductor sees it, for live views (GraphQL subscriptions,
 * api/graphql.ts): a router's state (sync status, version, channel), each report a router sends (path
 * quality samples, session counts), alarms raised and cleared (the conductor's and those routers
 * report), and every audit event (committed versions among them). Listeners are called synchronously
 * and must not throw; a throwing listener is dropped.
 */
import type { Alarm } from './alarms.js';
import type { RouterReport } from './channel/protocol.js';
import type { RouterStatus } from './fleet.js';
import type { AuditEvent } from './store/authority-store.js';

export type FabricEvent =
  | { type: 'router'; router: RouterStatus }
  | { type: 'report'; router: string; report: RouterReport; at: string }
  | { type: 'alarm'; change: 'raised' | 'cleared'; alarm: Alarm; at: string }
  | { type: 'audit'; event: AuditEvent };

export type FabricListener = (e: FabricEvent) => void;

export class FabricEvents {
  readonly #listeners = new Set<FabricListener>();

  /** Calls `fn` for every event from now on; returns the unsubscribe function. */
  subscribe(fn: FabricListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  emit(e: FabricEvent): void {
    for (const fn of this.#listeners) {
      try {
        fn(e);
      } catch {
        this.#listeners.delete(fn);
      }
    }
  }
}
