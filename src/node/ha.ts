/**
 * A node that is one of a router pair (`svr node start --ha-node NAME`, the router's `redundancy` block;
 * docs/high-availability.md "The router pair"): the pair node (ha/pair-node.ts) on the sync link, and what
 * its role means on this host. Active (or handing over): the router's devices are up with their routes
 * (host-setup's configureInterface: the waypoint and kernel routes point into them), so the shared
 * addresses are reachable through this node; standby, fenced or starting: the devices are down, the
 * kernel routes nothing into them and this node forwards nothing. The shared addresses (ha-addresses.ts) follow
 * the same rule: taken and announced after the devices are up, released before they go down. Role changes are applied in order, and
 * each is logged with the time it took; split brain raises the `ha-split-brain` alarm. Sessions (ha-sessions.ts):
 * the active sends its changed rows at each flush; a node taking over installs the partner's before its devices
 * come up and empties its replica (it is rebuilt by the partner's full collection when this node is standby again).
 * Link state: the devices of the shared addresses are watched (io/link-state.ts, the kernel's link announcements); a change goes
 * into the machine at once (`ha.links`: the election prefers more links up, an active node with fewer than its
 * standby hands over), is logged (`ha.link`) and raises/clears `ha-link-down`. Split brain that moves the
 * role: the node becoming active while the partner (alive on the probe link) still says it holds the shared
 * addresses waits for its heartbeat saying it released them (at most the dead time, counted), so the two
 * never hold them at once; a node that released them says so in a heartbeat at once.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { SvrError } from '../errors.js';
import type { Interface, Router as RouterConfig, SharedAddress } from '../model/config.js';
import { PairNode, type HaRolePublished, type PairNodeStatus } from '../ha/pair-node.js';
import { runIp } from '../io/tun/link.js';
import { LinkWatch, type LinkState } from '../io/link-state.js';
import { spawnTied } from '../io/tied-child.js';
import { configureInterfaces } from './host-setup.js';
import { announceSharedAddresses, learnDevices, releaseCommands, releaseSharedAddresses, takeCommands } from './ha-addresses.js';
import type { NodeAlarms } from './alarms.js';
import type { HaSessions, HaSessionStats } from './ha-sessions.js';

export interface NodeHa {
  readonly pair: PairNode;
  status(): PairNodeStatus & { roleChanges: number; lastRoleAppliedMs: number | undefined; appliedRole: string | undefined; sessions: HaSessionStats; links: { device: string; state: LinkState; up: boolean }[] };
  switchover(): { switching: boolean; role: string };
  /** Leaves the pair (the partner takes over) and releases the shared addresses. */
  stop(): Promise<void>;
}

type Log = (event: string, fields: Record<string, string | number | boolean>) => void;

/** Checks `--ha-node` against the router's `redundancy` block (no pair, or a name not in it: refused). */
export function haNodeOf(me: RouterConfig, haNode: string | undefined): string | undefined {
  const r = me.redundancy;
  if (haNode === undefined) {
    if (r !== undefined) throw new SvrError('SVR_ERR_CLI_OPTION', `router ${me.name} is a pair (redundancy: ${r.nodes.map((n) => n.name).join(', ')}): pass --ha-node with this node's name`);
    return undefined;
  }
  if (r === undefined) throw new SvrError('SVR_ERR_CLI_OPTION', `--ha-node ${haNode}: router ${me.name} has no \`redundancy\` block (it is one node); drop --ha-node or add the block`);
  if (!r.nodes.some((n) => n.name === haNode)) throw new SvrError('SVR_ERR_CLI_OPTION', `--ha-node ${haNode}: not a node of router ${me.name} (redundancy.nodes: ${r.nodes.map((n) => n.name).join(', ')})`);
  return haNode;
}

/** True when `next` keeps the router's `redundancy` as `running` has it: a node's pair (its role machine, sync link,
 *  heartbeat timers, shared addresses; `--ha-node`) is set up at start from the block, so a reload cannot change it. */
export function sameRedundancy(running: Pick<RouterConfig, 'redundancy'> | undefined, next: Pick<RouterConfig, 'redundancy'> | undefined): boolean {
  return isDeepStrictEqual(running?.redundancy, next?.redundancy);
}

/**
 * Whether an interface's device is this node's to bring up: shared ones (no `node`) and its own per-node ones;
 * the partner's own interfaces stay down here (their TUN devices exist so that the data path's interfaces are
 * the same on both nodes, but nothing is routed into them and their paths never come up on this node).
 */
export function onThisNode(iface: Pick<Interface, 'node'>, haNode: string | undefined): boolean {
  return iface.node === undefined || haNode === undefined || iface.node === haNode;
}

/**
 * BFD discriminators of a pair's node: from the router's and the path's names, the same on both nodes, so that
 * the node taking over continues the peer's BFD sessions (the peer never sees a Down, no hold-down).
 */
export function pairDiscriminator(router: string): (pathName: string) => number {
  return (pathName) => createHash('sha256').update(`${router}/${pathName}`).digest().readUInt32BE(0) || 1;
}

/**
 * A node of a pair that starts removes the shared addresses from its host's devices before anything else (its
 * store, devices, router): a predecessor killed without stopping (SIGKILL, a crash) left them there, and the
 * kernel answers ARP and neighbour solicitations for them with this host's MAC while the partner holds them.
 * Logged when there were any (`ha.stale-addresses-removed`); an address that cannot be removed stops the start.
 */
export async function releaseStaleAddresses(me: RouterConfig, haNode: string, log: Log): Promise<void> {
  const shared = me.redundancy?.sharedAddresses ?? [];
  let removed: SharedAddress[];
  try {
    removed = await releaseSharedAddresses(shared);
  } catch (e) {
    throw new SvrError('SVR_ERR_HA_ADDRESS', `${haNode}: cannot remove the shared addresses (redundancy.shared-addresses) a previous run left on this host's devices: ${e instanceof Error ? e.message : String(e)}; remove them by hand (ip addr del ADDRESS dev DEVICE) and start again`);
  }
  if (removed.length > 0) log('ha.stale-addresses-removed', { node: haNode, addresses: removed.map((a) => `${a.address}@${a.device}`).join(',') });
}

/** A pair's second node signs as senders 128 + worker index (workers are at most 64). */
export const PAIR_SENDER_STRIDE = 128;

/**
 * What a pair's node changes in its router: the BFD discriminators shared with the partner, and its own
 * replay-block senders (the first node 0.., the second 128..): the peer keeps a replay window per node, so
 * packets the old active still forwards during a switchover are not refused as too old beside the new
 * active's (RFC 6479 windows per sender; docs/high-availability.md "Planned switchover").
 */
export function pairRouterOptions(me: RouterConfig, haNode: string): { bfd: { discriminator: (pathName: string) => number }; replaySenderBase: number } {
  const index = me.redundancy!.nodes.findIndex((n) => n.name === haNode);
  return { bfd: { discriminator: pairDiscriminator(me.name) }, replaySenderBase: index * PAIR_SENDER_STRIDE };
}

/** What a pair's role changes in its router's paths (control/router.ts). */
export interface PairPaths {
  /** taking over: continue the partner's BFD sessions (and send again after `quiet`) */
  resume(): void;
  /** standby or fenced with every path on devices that follow the role: send nothing into the downed devices */
  quiet(): void;
  /** standby: the peers keep this node's own paths Up but carry no session on them */
  setStandby(standby: boolean): void;
}

export async function startHa(me: RouterConfig, haNode: string, log: Log, alarms: () => NodeAlarms | undefined, sessions: HaSessions, paths: PairPaths): Promise<NodeHa> {
  /** what the host does now (undefined before the first role: the devices are up from the start, `init` takes them down) */
  let forwarding: boolean | undefined;
  let applying = Promise.resolve();
  let roleChanges = 0;
  let lastRoleAppliedMs: number | undefined;
  /** the last role whose devices, addresses and sessions are in place (`role` changes at the decision, this after) */
  let appliedRole: string | undefined;
  /** the shared addresses may be on this host (true from the start: a crashed predecessor may have left them) */
  let holding = true;
  const shared = me.redundancy!.sharedAddresses;
  const links = new LinkWatch(shared.map((a) => a.device), (c) => {
    log('ha.link', { node: haNode, device: c.device, up: c.up, state: c.state, linksUp: c.linksUp, of: links.list().length });
    alarms()?.haLinkDown(`${haNode}/${c.device}`, !c.up, `${c.state}; ${c.linksUp} of ${links.list().length} shared links up on ${haNode}`);
    pair.linksChanged();
  });
  // the shared interfaces follow the role; this node's own (per-node wan) stay up in every role, so that its
  // paths are up (BFD) before it takes over; the partner's own stay down (onThisNode)
  const followRole = me.interfaces.filter((i) => i.node === undefined);
  /** this node has its own paths: its BFD tells the peers whether it is standby (Diag pairStandby) */
  const perNode = me.interfaces.some((i) => i.node === haNode);
  const announceFailed = (e: unknown): void => log('ha.announce-failed', { node: haNode, error: e instanceof Error ? e.message : String(e) });
  learnDevices(shared, announceFailed);
  // this process killed (SIGKILL, a crash): a tied shell removes the shared addresses from this host's devices at
  // once, so that its kernel stops answering ARP / neighbour solicitations for them beside the partner's
  const addressGuard = shared.length > 0 ? spawnTied([], { atExitIp: releaseCommands(shared) }) : undefined;
  // a heartbeat first: installing many rows may hold this thread for longer than the partner's dead time (a
  // switchover's old active waits for this node; under load that wait must not read as a lost partner)
  const install = (): Promise<unknown> => {
    pair.beatNow();
    return sessions.install(pair.replica)
      .catch((e: unknown) => log('ha.sessions-install-failed', { node: haNode, error: e instanceof Error ? e.message : String(e) }));
  };
  /** the newest role published: one still waiting when a newer came is skipped (a role the machine left while the
   *  host was busy with the one before, e.g. active for a moment in a flap, changes nothing on the host) */
  let newest: HaRolePublished | undefined;
  const apply = (p: HaRolePublished): void => {
    const t0 = performance.now();
    newest = p;
    applying = applying.then(async () => {
      if (p !== newest) {
        log('ha.role-skipped', { node: haNode, role: p.role, reason: p.reason, newer: newest?.role ?? '' });
        return;
      }
      if (p.forwarding !== forwarding) {
        if (p.forwarding) {
          if (p.role === 'active' && pair.partnerHolds()) {
            // split brain moved the role: the loser releases first (its heartbeat says so), or the dead time runs out
            const released = await pair.waitPartnerReleased(pair.deadTimeMs);
            log('ha.partner-released', { node: haNode, released, waitedMs: pair.status().releaseWaits.lastMs ?? 0 });
          }
          await install();
          // no longer standby first, so that no BFD packet of a resumed session says standby (own paths: the
          // peers may send new sessions here from now on, tens of ms before the shared devices are up)
          if (perNode) paths.setStandby(false);
          paths.resume(); // before the devices are up: no BFD Down reaches the peer
        } else if (perNode) paths.setStandby(true);
        forwarding = p.forwarding;
        alarms()?.haStandby(!p.forwarding);
        if (p.forwarding) {
          // devices up with their routes, then the shared addresses: one `ip -batch` process
          holding = true;
          await configureInterfaces(followRole, takeCommands(shared));
          if (shared.length > 0) await announceSharedAddresses(shared, () => forwarding === true, announceFailed);
        } else {
          // no BFD or link test into the downed devices (the kernel would drop them: rx dropped); a node with its
          // own paths keeps them up and marked standby instead
          if (!perNode) paths.quiet();
          await releaseSharedAddresses(shared); // first: nobody answers for them while the devices go down
          holding = false;
          pair.beatNow(); // a split brain's winner waits for this word
          for (const iface of followRole) await runIp(['link', 'set', 'dev', iface.device, 'down']);
          // the partner carries the sessions now: none of this node's own is left to win over its rows at the next takeover
          sessions.standby();
        }
        if (p.forwarding) {
          // taking over: what the partner (handing over, still forwarding) synced meanwhile goes in too
          if (p.role === 'taking-over') await install();
          pair.replica.clear();
        }
      }
      if (p.role === 'taking-over') pair.ready(); // made: the partner may break its side now
      roleChanges++;
      appliedRole = p.role;
      lastRoleAppliedMs = Math.round(performance.now() - t0);
      log('ha.role', { node: haNode, role: p.role, reason: p.reason, forwarding: p.forwarding, appliedMs: lastRoleAppliedMs });
    }).catch((e: unknown) => log('ha.role-failed', { node: haNode, role: p.role, error: e instanceof Error ? e.message : String(e) }));
  };
  const pair = new PairNode({
    redundancy: me.redundancy!, node: haNode, linksUp: () => links.linksUp, released: () => !holding,
    onRole: apply,
    collect: (queue, full) => sessions.collect(queue, full),
    // the partner left the active role while this node is active (a dual-active meeting it lost, a start
    // race): the hosts may have followed its announcements; tell them again where the addresses are
    onPartnerRole: (role) => {
      if (forwarding === true && role !== 'active' && role !== 'handing-over' && role !== 'taking-over' && shared.length > 0) {
        announceSharedAddresses(shared, () => forwarding === true, announceFailed).catch(announceFailed);
      }
    },
    // a heartbeat a dead time late: the partner may have taken over (a node starved of CPU; docs/high-availability.md)
    onStall: (lateMs) => log('ha.stalled', { node: haNode, lateMs: Math.round(lateMs), deadMs: pair.deadTimeMs, role: pair.role }),
    onSplitBrain: (s) => {
      log(s.active ? 'ha.split-brain' : 'ha.split-brain-over', { node: haNode, message: s.message });
      alarms()?.haSplitBrain(haNode, s.active, s.message);
    },
  });
  sessions.bind(pair);
  for (const l of links.list()) if (!l.up) alarms()?.haLinkDown(`${haNode}/${l.device}`, true, `${l.state} at start`);
  await pair.start();
  links.start();
  return {
    pair,
    status: () => ({ ...pair.status(), roleChanges, lastRoleAppliedMs, appliedRole, sessions: sessions.stats(), links: links.list() }),
    switchover: () => {
      const switching = pair.switchover();
      if (!switching) throw new SvrError('SVR_ERR_CONTROL_REQUEST', `${haNode} is ${pair.role}, not active: ask the active node of the pair for a switchover`);
      return { switching, role: pair.role };
    },
    stop: async () => {
      links.stop();
      pair.stop();
      forwarding = false;
      await applying;
      await releaseSharedAddresses(shared).catch((e: unknown) => log('ha.release-failed', { node: haNode, error: e instanceof Error ? e.message : String(e) }));
      addressGuard?.end();
    },
  };
}
