/**
 * Questions to routers over their channels (channel/protocol.ts `query` -> `answer`): the conductor's
 * REST routes for sessions (api/routes-fabric.ts) ask the routers that have the data rather than keeping
 * a copy of every session. One pending map per conductor; an answer is matched by id and asset; no
 * answer within the timeout, or a channel that closes, is an error naming the router.
 */
import { SvrError } from '../errors.js';
import type { ConductorMessage, RouterMessage, RouterQuery } from './channel/protocol.js';

export const QUERY_TIMEOUT_MS = 5000;

interface Pending {
  assetId: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class RouterQueries {
  readonly #channels = new Map<string, (m: ConductorMessage) => void>();
  readonly #pending = new Map<number, Pending>();
  #next = 1;

  /** A verified channel of `assetId` said hello (a newer one replaces an older one). */
  open(assetId: string, send: (m: ConductorMessage) => void): void {
    this.#channels.set(assetId, send);
  }

  /** The channel closed: its questions fail now. */
  close(assetId: string, send: (m: ConductorMessage) => void): void {
    if (this.#channels.get(assetId) !== send) return;
    this.#channels.delete(assetId);
    for (const [id, p] of this.#pending) {
      if (p.assetId !== assetId) continue;
      this.#settle(id)?.reject(new SvrError('SVR_ERR_CONDUCTOR_CONNECT', `asset ${assetId}: the channel closed before it answered`));
    }
  }

  /** An answer from `assetId` (others' ids are ignored). */
  answer(assetId: string, m: Extract<RouterMessage, { type: 'answer' }>): void {
    if (this.#pending.get(m.id)?.assetId !== assetId) return;
    const p = this.#settle(m.id)!;
    if (m.error !== undefined) p.reject(new SvrError('SVR_ERR_CONDUCTOR_REQUEST', `${assetId}: ${m.error.message}`, { code: m.error.code }));
    else p.resolve(m.result ?? null);
  }

  /** Asks the router of `assetId`; rejects when it is not connected, says no, or is silent. */
  ask(assetId: string, query: RouterQuery, timeoutMs = QUERY_TIMEOUT_MS): Promise<unknown> {
    const send = this.#channels.get(assetId);
    if (send === undefined) return Promise.reject(new SvrError('SVR_ERR_CONDUCTOR_CONNECT', `asset ${assetId} is not connected to this conductor`));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(id)?.reject(new SvrError('SVR_ERR_CONDUCTOR_CONNECT', `asset ${assetId} did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
      this.#pending.set(id, { assetId, resolve, reject, timer });
      send({ type: 'query', id, query });
    });
  }

  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (p === undefined) return undefined;
    clearTimeout(p.timer);
    this.#pending.delete(id);
    return p;
  }
}
