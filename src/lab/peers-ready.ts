/**
 * `svr lab up` returns once the routers can carry sessions: each router (a pair: either of its nodes) sees
 * every peer reachable, over at least one usable path. A lab whose peer stays unreachable (a path built
 * down, a fabric still converging) is not an error: after `waitMs` the wait ends with a note naming them.
 */
import { request } from '../node/control-client.js';
import type { Progress } from './netns.js';
import { sleep } from './run.js';

interface PeerReach { name: string; reachable: boolean }

/** A pair's nodes (r1a, r1b) answer for their router (r1). */
const routerOf = (node: string): string => node.replace(/^(r\d+)[a-z]$/, '$1');

/** Peers the node cannot reach yet ([] when every one is reachable; the node's error when it does not answer). */
async function unreachable(socket: string): Promise<string[]> {
  try {
    const peers = (await request(socket, { method: 'show', what: 'peers' }, 2000)) as PeerReach[];
    return peers.filter((p) => !p.reachable).map((p) => p.name);
  } catch (e) {
    return [`(no answer: ${e instanceof Error ? e.message : String(e)})`];
  }
}

export async function waitPeersReachable(nodes: readonly { name: string; socket: string }[], waitMs: number, progress: Progress): Promise<void> {
  const t0 = Date.now();
  const routers = [...new Set(nodes.map((n) => routerOf(n.name)))];
  let missing = new Map<string, string[]>();
  for (;;) {
    missing = new Map();
    for (const r of routers) {
      const members = nodes.filter((n) => routerOf(n.name) === r);
      const views = await Promise.all(members.map((n) => unreachable(n.socket)));
      if (!views.some((v) => v.length === 0)) missing.set(r, views.find((v) => v.length > 0)!);
    }
    if (missing.size === 0) {
      progress(`every router reaches its peers (waited ${Date.now() - t0} ms)`);
      return;
    }
    if (Date.now() - t0 >= waitMs) break;
    await sleep(100);
  }
  progress(`not every peer is reachable after ${waitMs} ms: ${[...missing].map(([r, p]) => `${r} -> ${p.join(', ')}`).join('; ')} (svr show peers --node <router>)`);
}
