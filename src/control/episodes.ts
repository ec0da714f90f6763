/**
 * Handshake episodes of ingress sessions (session.created, a move the ingress made, a re-signal): each
 * ends confirmed (reverse metadata seen), gone (session removed) or failed (probes unanswered: teardown).
 *
 * Nearly every handshake completes within the first retry interval (200 ms), so that interval is watched
 * without an actor: a pending entry per session (control/pending-handshakes.ts: typed columns, nothing
 * allocated per handshake) and one sweep timer. Only a handshake still waiting at its first retry gets a
 * sessionEpisode actor, spawned with the time it already waited (the machine sends the first probe at once
 * and owns the rest). Measured: spawning an actor per new session cost ~40 % of r1's main thread at 8k
 * sessions/s (docs/performance.md).
 */
import { createActor, type Actor } from 'xstate';
import { sessionEpisode } from '../machines/session-episode.js';
import type { DpEvent } from '../dataplane/events.js';
import { REC_CREATED, REC_REVERSE, type SessionRecords } from '../dataplane/session-records.js';
import { PendingHandshakes, type EpisodeMove, type TakeDue } from './pending-handshakes.js';

export type { EpisodeMove };

/** A session id's text, made when called (during the call it is given to only): most outcomes are not read. */
export type SessionIdText = () => string;

export interface EpisodeCommands {
  probe(row: number, gen: number): void;
  teardown(row: number, gen: number): void;
  /** how a handshake ended; `move` when it was that of a session the ingress moved to another path */
  outcome(sessionId: SessionIdText, outcome: 'confirmed' | 'failed' | 'gone', tries: number, move?: EpisodeMove): void;
}

export interface EpisodeOptions {
  maxTries?: number;
  baseDelayMs?: number;
}

export class EpisodeSupervisor {
  /** by session row (rows are unique per router; a new generation supersedes the old entry) */
  private readonly live = new Map<number, { gen: number; actor: Actor<typeof sessionEpisode>; move?: EpisodeMove }>();
  private readonly pending = new PendingHandshakes();
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly machine;
  private readonly firstRetryMs: number;
  /** when the sweep running now started (spawnActor's waited time) */
  private sweptAt = 0;
  /** what a resolved pending handshake reports (made once: no closure per event); its id's text only when read */
  private readonly releasedId: SessionIdText = () => this.pending.releasedId();
  private readonly confirmed: TakeDue = (_row, _gen, move) => this.commands.outcome(this.releasedId, 'confirmed', 0, move);
  private readonly gone: TakeDue = (_row, _gen, move) => this.commands.outcome(this.releasedId, 'gone', 0, move);
  private readonly sweepTick = (): void => this.sweep();
  private readonly spawn: TakeDue = (row, gen, move) => this.spawnActor(row, gen, this.pending.releasedId(), this.pending.releasedSince(), move);

  constructor(private readonly commands: EpisodeCommands, private readonly opts: EpisodeOptions = {}, private readonly clock: () => number = () => performance.now()) {
    this.firstRetryMs = opts.baseDelayMs ?? 200;
    this.machine = sessionEpisode.provide({
      actions: {
        resendMetadata: (_, p) => commands.probe(p.row, p.gen),
        teardown: (_, p) => commands.teardown(p.row, p.gen),
        record: (_, p) => commands.outcome(() => p.sessionId, p.outcome, p.tries, this.live.get(p.row)?.move),
      },
    });
  }

  /** Number of handshakes in flight. */
  get inFlight(): number {
    return this.live.size + this.pending.size;
  }

  handle(events: readonly DpEvent[]): void {
    for (const e of events) this.event(e);
  }

  /** A batch's object events and session records (dataplane/session-records.ts), in order; the clock read once
   *  for the batch's new handshakes, their session ids kept as words. */
  handleFacts(events: readonly DpEvent[], recs: SessionRecords): void {
    let k = 0;
    let clocked = false;
    for (let i = 0; i < recs.count; i++) {
      for (const before = recs.before(i); k < before && k < events.length; k++) this.event(events[k]!);
      const kind = recs.kind(i);
      if (kind === REC_CREATED) {
        if (recs.role(i) !== 'ingress') continue;
        const row = recs.row(i);
        if (!clocked) this.pending.startAt = this.clock();
        clocked = true;
        this.stopActor(row); // a new session in the row supersedes the previous one's handshake
        this.pending.addWords(row, recs.gen(i), recs.words, recs.uuidAt(i));
        this.watch();
      } else this.end(recs.row(i), recs.gen(i), kind === REC_REVERSE);
    }
    for (; k < events.length; k++) this.event(events[k]!);
  }

  private event(e: DpEvent): void {
    if (e.kind === 'session.created' || e.kind === 'session.migrated' || e.kind === 'session.resignalled') {
      if (e.kind === 'session.created' && e.role !== 'ingress') return;
      // only a move the ingress made waits for reverse metadata; a move the egress made (or followed)
      // has nothing to confirm, and probing it would tear the session down
      if (e.kind === 'session.migrated' && !e.handshake) return;
      this.begin(e.row, e.gen, e.sessionId, e.kind === 'session.migrated' ? { service: e.service, path: e.toPath } : undefined);
    } else if (e.kind === 'session.reverseSeen' || e.kind === 'session.removed') this.end(e.row, e.gen, e.kind === 'session.reverseSeen');
  }

  private begin(row: number, gen: number, sessionId: string, move: EpisodeMove | undefined): void {
    this.stopActor(row); // a new handshake (new path, new session in the row) supersedes the previous one
    this.pending.add(row, gen, sessionId, this.clock(), move);
    this.watch();
  }

  /** The sweep's timer runs while handshakes wait (its callback made once: a closure here would have V8 allocate a
   *  context on every call, ~40 B a new session). */
  private watch(): void {
    this.sweepTimer ??= setInterval(this.sweepTick, Math.max(5, this.firstRetryMs / 4)).unref();
  }

  /** Reverse metadata seen (`confirmed`) or the session removed. */
  private end(row: number, gen: number, confirmed: boolean): void {
    if (this.pending.resolveGen(row, gen, confirmed ? this.confirmed : this.gone)) return;
    const l = this.live.get(row);
    if (l === undefined || l.gen !== gen) return;
    l.actor.send({ type: confirmed ? 'session.reverseSeen' : 'session.removed' });
  }

  /** Spawns an episode actor for each handshake still waiting at its first retry. */
  private sweep(): void {
    this.sweptAt = this.clock();
    this.pending.takeDue(this.sweptAt - this.firstRetryMs, this.spawn);
    if (this.pending.size === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  private spawnActor(row: number, gen: number, sessionId: string, since: number, move: EpisodeMove | undefined): void {
    const actor = createActor(this.machine, { input: { row, gen, sessionId, ...this.opts, waitedMs: this.sweptAt - since } });
    actor.subscribe({ complete: () => {
      if (this.live.get(row)?.actor === actor) this.live.delete(row);
    } });
    this.live.set(row, { gen, actor, ...(move ? { move } : {}) });
    actor.start();
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
