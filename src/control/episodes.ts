/**
 * Handshake episodes of ingress sessions (session.created, a move the ingress made, a re-signal): each
 * ends confirmed (reverse metadata seen), gone (session removed) or failed (probes unanswered: teardown).
 *
 * Nearly every handshake completes within the first retry interval (200 ms), so that interval is watched
 * without an actor: a pending entry per session and one sweep timer. Only a handshake still waiting at its
 * first retry gets a sessionEpisode actor, spawned with the time it already waited (the machine sends the
 * first probe at once and owns the rest). Measured: spawning an actor per new session cost ~40 % of r1's
 * main thread at 8k sessions/s (docs/performance.md); a pending entry costs a Map insert and delete.
 */
import { createActor, type Actor } from 'xstate';
import { sessionEpisode } from '../machines/session-episode.js';
import type { DpEvent } from '../dataplane/events.js';

/** The move a handshake confirms: a session of `service` the ingress moved to `path`. */
export interface EpisodeMove {
  service: string;
  path: number;
}

export interface EpisodeCommands {
  probe(row: number, gen: number): void;
  teardown(row: number, gen: number): void;
  /** how a handshake ended; `move` when it was that of a session the ingress moved to another path */
  outcome(sessionId: string, outcome: 'confirmed' | 'failed' | 'gone', tries: number, move?: EpisodeMove): void;
}

export interface EpisodeOptions {
  maxTries?: number;
  baseDelayMs?: number;
}

interface Pending {
  gen: number;
  sessionId: string;
  since: number;
  move?: EpisodeMove;
}

export class EpisodeSupervisor {
  /** by session row (rows are unique per router; a new generation supersedes the old entry) */
  private readonly live = new Map<number, { gen: number; actor: Actor<typeof sessionEpisode>; move?: EpisodeMove }>();
  private readonly pending = new Map<number, Pending>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly machine;
  private readonly firstRetryMs: number;

  constructor(private readonly commands: EpisodeCommands, private readonly opts: EpisodeOptions = {}, private readonly clock: () => number = () => performance.now()) {
    this.firstRetryMs = opts.baseDelayMs ?? 200;
    this.machine = sessionEpisode.provide({
      actions: {
        resendMetadata: (_, p) => commands.probe(p.row, p.gen),
        teardown: (_, p) => commands.teardown(p.row, p.gen),
        record: (_, p) => commands.outcome(p.sessionId, p.outcome, p.tries, this.live.get(p.row)?.move),
      },
    });
  }

  /** Number of handshakes in flight. */
  get inFlight(): number {
    return this.live.size + this.pending.size;
  }

  handle(events: readonly DpEvent[]): void {
    for (const e of events) {
      if (e.kind !== 'session.created' && e.kind !== 'session.migrated' && e.kind !== 'session.resignalled' && e.kind !== 'session.reverseSeen' && e.kind !== 'session.removed') continue;
      if (e.kind === 'session.created' || e.kind === 'session.migrated' || e.kind === 'session.resignalled') {
        if (e.kind === 'session.created' && e.role !== 'ingress') continue;
        // only a move the ingress made waits for reverse metadata; a move the egress made (or followed)
        // has nothing to confirm, and probing it would tear the session down
        if (e.kind === 'session.migrated' && !e.handshake) continue;
        this.stopActor(e.row); // a new handshake (new path, new session in the row) supersedes the previous one
        // one object per handshake (a spread of an optional field made a second)
        this.pending.set(e.row, e.kind === 'session.migrated'
          ? { gen: e.gen, sessionId: e.sessionId, since: this.clock(), move: { service: e.service, path: e.toPath } }
          : { gen: e.gen, sessionId: e.sessionId, since: this.clock() });
        this.sweepTimer ??= setInterval(() => this.sweep(), Math.max(5, this.firstRetryMs / 4)).unref();
      } else {
        const outcome = e.kind === 'session.reverseSeen' ? 'confirmed' : 'gone';
        const p = this.pending.get(e.row);
        if (p !== undefined && p.gen === e.gen) {
          this.pending.delete(e.row);
          this.commands.outcome(p.sessionId, outcome, 0, p.move);
          continue;
        }
        const l = this.live.get(e.row);
        if (l === undefined || l.gen !== e.gen) continue;
        l.actor.send({ type: outcome === 'confirmed' ? 'session.reverseSeen' : 'session.removed' });
      }
    }
  }

  /** Spawns an episode actor for each handshake still waiting at its first retry. */
  private sweep(): void {
    const now = this.clock();
    for (const [row, p] of this.pending) {
      const waitedMs = now - p.since;
      if (waitedMs < this.firstRetryMs) continue;
      this.pending.delete(row);
      const actor = createActor(this.machine, { input: { row, gen: p.gen, sessionId: p.sessionId, ...this.opts, waitedMs } });
      actor.subscribe({ complete: () => {
        if (this.live.get(row)?.actor === actor) this.live.delete(row);
      } });
      this.live.set(row, { gen: p.gen, actor, ...(p.move ? { move: p.move } : {}) });
      actor.start();
    }
    if (this.pending.size === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  private stopActor(row: number): void {
    const l = this.live.get(row);
    if (l === undefined) return;
    this.live.delete(row);
    l.actor.stop();
  }

  stop(): void {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    for (const l of this.live.values()) l.actor.stop();
    this.live.clear();
    this.pending.clear();
  }
}
