/**
 * A router pair's shared addresses (the `redundancy.shared-addresses` of its config, docs/high-availability.md
 * "Shared addresses"): the active node holds them on its host's devices on the shared segments (LAN, WAN)
 * and announces them (gratuitous ARP / unsolicited NA, io/announce.ts), so that the hosts and the next hop
 * send to its MAC from then on; every other role holds them down. Remote routers keep seeing the same
 * waypoints behind the same next hop: one peer, no change at a failover.
 */
import type { SharedAddress } from '../model/config.js';
import { announceAddress, hardwareAddress } from '../io/announce.js';
import { runIp } from '../io/tun/link.js';

/** Announcements per address when taken: one at once, then again (a neighbour may have missed the first). */
export const ANNOUNCE_AGAIN_MS: readonly number[] = [250, 1000];

const hostOf = (cidr: string): string => cidr.slice(0, cidr.indexOf('/'));
const NOT_THERE = /Cannot assign requested address|Address not found|No such device|Cannot find device/;

/** The `ip` commands that add each address to its device (IPv6 without duplicate address detection: the partner has released it). */
export function takeCommands(list: readonly SharedAddress[]): string[][] {
  return list.map((a) => ['addr', 'replace', a.address, 'dev', a.device, ...(a.address.includes(':') ? ['nodad'] : [])]);
}

const delCommand = (a: SharedAddress): string[] => ['addr', 'del', a.address, 'dev', a.device];

/** The `ip` commands that remove each address (run by a shell tied to the node when it dies: io/tied-child.ts). */
export function releaseCommands(list: readonly SharedAddress[]): string[][] {
  return list.map(delCommand);
}

/** The devices' MACs, read once (an `ip` command less on the way to forwarding); a device that fails is read again next time. */
const macs = new Map<string, Promise<Uint8Array>>();
function macOf(dev: string): Promise<Uint8Array> {
  let m = macs.get(dev);
  if (m === undefined) {
    m = hardwareAddress(dev);
    m.catch(() => macs.delete(dev));
    macs.set(dev, m);
  }
  return m;
}

/** Reads the devices' MACs ahead (at start), so that taking the addresses runs no `ip` command for them. */
export function learnDevices(list: readonly SharedAddress[], onError: (e: unknown) => void): void {
  for (const a of list) macOf(a.device).catch(onError);
}

const announce = async (a: SharedAddress): Promise<void> => announceAddress(a.device, hostOf(a.address), 1, 0, await macOf(a.device));

/** Sends the first announcement of every address now; the rest later while `holding()` (fire and forget). */
export async function announceSharedAddresses(list: readonly SharedAddress[], holding: () => boolean, onError: (e: unknown) => void): Promise<void> {
  for (const a of list) await announce(a);
  for (const ms of ANNOUNCE_AGAIN_MS) {
    setTimeout(() => {
      if (!holding()) return;
      for (const a of list) announce(a).catch(onError);
    }, ms).unref();
  }
}

/** Removes each address from its device; one that is not there (or a device that is gone) is no error. The
 *  addresses that were there. */
export async function releaseSharedAddresses(list: readonly SharedAddress[]): Promise<SharedAddress[]> {
  const removed: SharedAddress[] = [];
  for (const a of list) {
    try {
      await runIp(delCommand(a));
      removed.push(a);
    } catch (e) {
      if (!(e instanceof Error && NOT_THERE.test(e.message))) throw e;
    }
  }
  return removed;
}
