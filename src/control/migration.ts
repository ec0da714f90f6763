/**
 * One session-migration actor (machines/migration.ts) per service with session resiliency: it turns the
 * service's ranking (path control), path liveness and the confirmations of moved sessions (handshake
 * episodes) into the order the data path follows. Services without resiliency have none: their ranking
 * goes to the data path as it is (their sessions never move).
 *
 * `sync` follows the tables: an actor per resilient service, kept across config changes while the paths
 * (names in id order, hold-down times) stay the same, started afresh otherwise (ids would mean other paths).
 */
import { createActor, type Actor } from 'xstate';
import { migrationMachine, type MigrationRecord } from '../machines/migration.js';
import type { ForwardingTables } from '../model/tables.js';

export interface MigrationDeps {
  /** the order the service's sessions follow, best first (path ids) */
  publish(service: string, order: readonly number[]): void;
  record(r: MigrationRecord): void;
  /** ms, monotonic (the clock of the path supervisor's `upSinceMs`) */
  now(): number;
}

const DEFAULT_HOLD_DOWN_MS = 5000;

export class MigrationActors {
  private readonly actors = new Map<string, Actor<typeof migrationMachine>>();
  private paths = '';

  constructor(private readonly deps: MigrationDeps) {}

  /** Starts, keeps or stops actors to match the resilient services of `tables`. */
  sync(tables: ForwardingTables): void {
    const paths = tables.paths.map((p) => `${p.name} ${p.bfd.holdDownMs}`).join('\n');
    if (paths !== this.paths) this.stop();
    this.paths = paths;
    const wanted = new Set(tables.services.filter((s) => s.policy.sessionResiliency !== 'none').map((s) => s.name));
    for (const [name, actor] of this.actors) {
      if (wanted.has(name)) continue;
      actor.stop();
      this.actors.delete(name);
    }
    const pathHoldDownMs = Object.fromEntries(tables.paths.map((p) => [p.id, p.bfd.holdDownMs]));
    for (const service of wanted) {
      if (this.actors.has(service)) continue;
      const actor = createActor(migrationMachine.provide({
        actions: {
          publish: (_, p) => this.deps.publish(p.service, p.order),
          record: (_, r) => this.deps.record(r),
        },
      }), { input: { service, holdDownMs: DEFAULT_HOLD_DOWN_MS, pathHoldDownMs } });
      this.actors.set(service, actor); // paths up now count as up for long (no hold-down toward them)
      actor.start();
    }
  }

  /** True when the service has a migration episode, which then publishes its order itself. */
  ranked(service: string, ranked: readonly number[]): boolean {
    const actor = this.actors.get(service);
    actor?.send({ type: 'paths.ranked', ranked, atMs: this.deps.now() });
    return actor !== undefined;
  }

  /** A path became usable (up since `upSinceMs`: BFD Up, or now) or unusable. */
  pathChanged(path: number, usable: boolean, upSinceMs: number | undefined): void {
    const atMs = this.deps.now();
    for (const actor of this.actors.values()) {
      actor.send(usable ? { type: 'path.up', path, upSinceMs: upSinceMs ?? atMs, atMs } : { type: 'path.down', path, atMs });
    }
  }

  /** A session of `service` the ingress moved to `path` saw reverse metadata there (or its handshake failed). */
  moveOutcome(service: string, path: number, confirmed: boolean): void {
    this.actors.get(service)?.send({ type: confirmed ? 'move.confirmed' : 'move.failed', path, atMs: this.deps.now() });
  }

  stop(): void {
    for (const actor of this.actors.values()) actor.stop();
    this.actors.clear();
  }
}
