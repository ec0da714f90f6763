/**
 * Runs one sessionEpisode actor per ingress session whose handshake is in flight: spawned on
 * `session.created`, told `session.reverseSeen` / `session.removed`, gone when it reaches a final state.
 * Its requests (probe, teardown) become data-path commands between batches.
 */
import { createActor, type Actor } from 'xstate';
import { sessionEpisode } from '../machines/session-episode.js';
import type { DpEvent } from '../dataplane/events.js';

export interface EpisodeCommands {
  probe(row: number, gen: number): void;
  teardown(row: number, gen: number): void;
  outcome(sessionId: string, outcome: 'confirmed' | 'failed' | 'gone', tries: number): void;
}

export interface EpisodeOptions {
  maxTries?: number;
  baseDelayMs?: number;
}

export class EpisodeSupervisor {
  private readonly live = new Map<string, Actor<typeof sessionEpisode>>();
  private readonly machine;

  constructor(commands: EpisodeCommands, private readonly opts: EpisodeOptions = {}) {
    this.machine = sessionEpisode.provide({
      actions: {
        resendMetadata: (_, p) => commands.probe(p.row, p.gen),
        teardown: (_, p) => commands.teardown(p.row, p.gen),
        record: (_, p) => commands.outcome(p.sessionId, p.outcome, p.tries),
      },
    });
  }

  /** Number of handshakes in flight. */
  get inFlight(): number {
    return this.live.size;
  }

  handle(events: readonly DpEvent[]): void {
    for (const e of events) {
      if (e.kind === 'path.message' || e.kind === 'plugin.error') continue;
      const key = `${e.row}:${e.gen}`;
      if (e.kind === 'session.created' || e.kind === 'session.migrated' || e.kind === 'session.resignalled') {
        if (e.kind === 'session.created' && e.role !== 'ingress') continue;
        // only a move the ingress made waits for reverse metadata; a move the egress made (or followed)
        // has nothing to confirm, and probing it would tear the session down
        if (e.kind === 'session.migrated' && !e.handshake) continue;
        this.live.get(key)?.stop(); // a new handshake on a new path supersedes the previous one
        const actor = createActor(this.machine, {
          input: { row: e.row, gen: e.gen, sessionId: e.sessionId, ...this.opts },
        });
        actor.subscribe({ complete: () => {
          if (this.live.get(key) === actor) this.live.delete(key);
        } });
        this.live.set(key, actor);
        actor.start();
      } else {
        const actor = this.live.get(key);
        if (actor === undefined) continue;
        actor.send({ type: e.kind === 'session.reverseSeen' ? 'session.reverseSeen' : 'session.removed' });
      }
    }
  }

  stop(): void {
    for (const a of this.live.values()) a.stop();
    this.live.clear();
  }
}
