/**
 * Handshake episodes of ingress sessions (session.created, a move the ingress made, a re-signal): each
 * ends confirmed (reverse metadata seen), gone (session removed) or failed (probes unanswered: teardown).
 *
 * Nearly every handshake completes within the first retry interval (200 ms), so that interval is watched
 * without an actor: a pending entry per session (control/pending-handshakes.ts: typed columns, nothing
 * allocated per handshake) and one sweep timer. Measured: spawning an actor per new session cost ~40 % of r1's
 * main thread at 8k sessions/s (docs/performance.md). A handshake still waiting at its first retry gets its first
 * probe from the sweep and waits for the second retry (twice the first interval) in a second set of columns: a
 * router that falls behind (a loaded machine: the peer's answer waits in a queue) confirms most of those in
 * that interval, where each actor cost ~100 µs of r1's main thread (docs/performance.md "Wave 26, sus22").
 * Only a handshake still waiting at its second retry gets a sessionEpisode actor, spawned with its one probe and
 * the time it waited since (the machine sends the second probe at once and owns the rest).
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
  /** handshakes that got their first probe from the sweep, waiting for the second retry */
  private readonly probed = new PendingHandshakes();
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly machine;
  private readonly firstRetryMs: number;
  /** when the sweep running now started (spawnActor's waited time) */
  private sweptAt = 0;
  /** what a resolved pending handshake reports (made once: no closure per event); its id's text only when read */
  private readonly releasedId: SessionIdText = () => this.pending.releasedId();
  private readonly probedId: SessionIdText = () => this.probed.releasedId();
  private readonly confirmed: TakeDue = (_row, _gen, move) => this.commands.outcome(this.releasedId, 'confirmed', 0, move);
  private readonly gone: TakeDue = (_row, _gen, move) => this.commands.outcome(this.releasedId, 'gone', 0, move);
  private readonly confirmedProbed: TakeDue = (_row, _gen, move) => this.commands.outcome(this.probedId, 'confirmed', 1, move);
  private readonly goneProbed: TakeDue = (_row, _gen, move) => this.commands.outcome(this.probedId, 'gone', 1, move);
  private readonly sweepTick = (): void => this.sweep();
  /** at the first retry: the first probe, then the wait for the second (no probe allowed: the machine fails it) */
  private readonly firstRetry: TakeDue;
  private readonly spawn: TakeDue = (row, gen, move) => this.spawnActor(row, gen, this.pending.releasedId(), this.pending.releasedSince(), move, 0);
  private readonly spawnProbed: TakeDue = (row, gen, move) => this.spawnActor(row, gen, this.probed.releasedId(), this.probed.releasedSince(), move, 1);

  constructor(private readonly commands: EpisodeCommands, private readonly opts: EpisodeOptions = {}, private readonly clock: () => number = () => performance.now()) {
    this.firstRetryMs = opts.baseDelayMs ?? 200;
    this.firstRetry = (opts.maxTries ?? 4) > 0 ? (row, gen, move) => {
      commands.probe(row, gen);
      this.probed.addReleased(this.pending, row, gen, move, this.sweptAt);
    } : this.spawn;
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
    return this.live.size + this.pending.size + this.probed.size;
  }

  /** Number of handshakes with an episode actor (unanswered at their second retry). */
  get actors(): number {
    return this.live.size;
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
    if (this.probed.resolveGen(row, gen, confirmed ? this.confirmedProbed : this.goneProbed)) return;
    const l = this.live.get(row);
    if (l === undefined || l.gen !== gen) return;
    l.actor.send({ type: confirmed ? 'session.reverseSeen' : 'session.removed' });
  }

  /** Probes each handshake still waiting at its first retry; spawns an episode actor for each still waiting at its
   *  second (the machine's: twice the first interval after the first probe). */
  private sweep(): void {
    this.sweptAt = this.clock();
    this.probed.takeDue(this.sweptAt - 2 * this.firstRetryMs, this.spawnProbed);
    this.pending.takeDue(this.sweptAt - this.firstRetryMs, this.firstRetry);
    if (this.pending.size === 0 && this.probed.size === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  private spawnActor(row: number, gen: number, sessionId: string, since: number, move: EpisodeMove | undefined, tries: number): void {
    const actor = createActor(this.machine, { input: { row, gen, sessionId, ...this.opts, waitedMs: this.sweptAt - since, tries } });
    actor.subscribe({ complete: () => {
      if (this.live.get(row)?.actor === actor) this.live.delete(row);
    } });
    this.live.set(row, { gen, actor, ...(move ? { move } : {}) });
    actor.start();
  }

  /** Ends row's handshake past its first probe (a new one in the row supersedes it). */
  private stopActor(row: number): void {
    this.probed.resolve(row);
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
    this.probed.clear();
  }
}
