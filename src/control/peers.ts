/**
 * One peer actor (machines/peer.ts) per peer router: reachable while any of its paths is up.
 * `sync` follows the tables: at start and after a config change, actors of removed peers stop, and added
 * peers and peers whose paths changed get a new actor that starts from the paths' current state (so a
 * peer added under BFD is unreachable until one of its paths comes up).
 * Every peer starts unreachable; `changed` hears each change (a peer a config change removes while
 * reachable becomes unreachable; one whose paths changed keeps its state until its new actor says otherwise).
 */
import { createActor, type Actor } from 'xstate';
import { peerMachine } from '../machines/peer.js';
import type { ForwardingTables } from '../model/tables.js';

interface PeerRuntime {
  /** its path names, for telling a changed peer */
  paths: string;
  actor: Actor<typeof peerMachine>;
}

export class PeerActors {
  private readonly peers = new Map<string, PeerRuntime>();
  private readonly reachable = new Map<string, boolean>();
  /** provided once for all peers (one per peer held ~16 kB of heap) */
  private readonly machine = peerMachine.provide({ actions: { announce: (_, p) => this.announce(p.name, p.reachable) } });

  constructor(private readonly changed: (peer: string, reachable: boolean) => void = () => {}) {}

  /** Starts, keeps, restarts or stops actors to match the peers of `tables`. */
  sync(tables: ForwardingTables, isPathUp: (path: number) => boolean): void {
    const wanted = new Set(tables.peers.map((p) => p.name));
    for (const [name, rt] of this.peers) {
      if (wanted.has(name)) continue;
      this.stopPeer(name, rt);
      this.announce(name, false);
      this.reachable.delete(name);
    }
    for (const peer of tables.peers) {
      const paths = peer.paths.map((id) => ({ name: tables.paths[id]!.name, up: isPathUp(id) }));
      const key = paths.map((p) => p.name).join('\n');
      const old = this.peers.get(peer.name);
      if (old !== undefined && old.paths === key) continue;
      if (old !== undefined) this.stopPeer(peer.name, old);
      const actor = createActor(this.machine, { input: { name: peer.name, paths } });
      this.peers.set(peer.name, { paths: key, actor });
      actor.start();
    }
  }

  /** A path of `peer` became usable or unusable. */
  pathChanged(peer: string, path: string, up: boolean): void {
    this.peers.get(peer)?.actor.send({ type: up ? 'path.up' : 'path.down', path });
  }

  isReachable(peer: string): boolean {
    return this.reachable.get(peer) ?? false;
  }

  /** Stops every actor (the router stops; nothing is announced). */
  stop(): void {
    for (const [name, rt] of this.peers) this.stopPeer(name, rt);
    this.reachable.clear();
  }

  private announce(name: string, reachable: boolean): void {
    if ((this.reachable.get(name) ?? false) === reachable) return;
    this.reachable.set(name, reachable);
    this.changed(name, reachable);
  }

  private stopPeer(name: string, rt: PeerRuntime): void {
    rt.actor.stop();
    this.peers.delete(name);
  }
}
