/**
 * SVR packets taken off the host's Ethernet devices at their ingress hook: into the WAN TUN reader's packet ring
 * (`SVR_WAN_RX_RING`; docs/tun-io.md "The WAN receive from a packet ring") or put straight on the WAN TUN's
 * transmit queue (`SVR_WAN_PACKET_RX=1`; docs/tun-io.md "The WAN receive without the kernel's forwarding").
 *
 * Ring: the reader's AF_PACKET ring (a tap, before the ingress hook) takes the IPv4 packets for the waypoint, for
 * this host, TTL > 1, up to RingAttach.maxLen bytes (native/wan-rx-ring.c's filter); the ingress chain drops the same
 * packets (`... counter drop`), so the kernel does not route them too. Opened before the table is written; the
 * table is deleted at stop before the TUN closes.
 *
 * Flow: a packet for a waypoint arrives on an Ethernet device -> nftables netdev ingress chain of that device
 * (`ip daddr <waypoint> ip ttl > 1`, counted) -> `fwd ip to <waypoint> device <wan TUN>`: TTL - 1 as the forwarding does
 * (nft_fwd_neigh, RFC 1812 §5.3.1) and the TUN's queue, which the node's reader reads as before. Skipped: ip_rcv,
 * the input route with its rules and source check, the FORWARD hook and the output route. One nftables table per
 * WAN TUN device (`svr_rx_<device>`), replaced whole at start (a node killed with SIGKILL left its old one, whose
 * `fwd` names a TUN that is gone: the waypoint then has no route either) and deleted at stop.
 */
import { execFile } from 'node:child_process';
import type { Interface } from '../model/config.js';
import { parseAddress } from '../packet/addr.js';
import { runIp } from '../io/tun/link.js';

/** Whether the node takes its WAN receive off the Ethernet devices' ingress (default off; docs/environment.md). */
export function wanPacketRxEnabled(): boolean {
  return process.env['SVR_WAN_PACKET_RX'] === '1';
}

/** Whether a WAN TUN reader takes its SVR packets from a packet ring (default on; SVR_WAN_RX_RING=0 off: docs/environment.md). */
export function wanRxRingEnabled(): boolean {
  return process.env['SVR_WAN_RX_RING'] !== '0';
}

/** The packet rings of a node's WAN queues. */
export interface RingAttach {
  /** Opens the ring of a WAN interface's queue on the devices (ifindexes); returns why not, or undefined. */
  open(iface: Interface, ifindexes: readonly number[]): string | undefined;
  /** The longest packet a ring takes (the addon's TUN_RX_RING_MAX_LEN): the drop rule's bound too. */
  maxLen: number;
}

interface LinkRow {
  ifindex?: number;
  ifname: string;
  link_type?: string;
  linkinfo?: { info_kind?: string };
}

/** The devices SVR packets can arrive on: Ethernet-like links, not the shaper's IFBs (the node's TUNs have no link layer). */
export function ingressDevices(links: readonly LinkRow[]): string[] {
  return ingressLinks(links).map((l) => l.ifname);
}

function ingressLinks(links: readonly LinkRow[]): LinkRow[] {
  return links.filter((l) => l.link_type === 'ether' && l.linkinfo?.info_kind !== 'ifb');
}

/** The nftables table name of a WAN TUN device (nft identifiers: letters, digits, `_`). */
export function tableName(device: string): string {
  return `svr_rx_${device.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/**
 * The `nft -f` script that replaces the table of one WAN interface: an ingress chain on each device with the rule
 * for its waypoint: `fwd` into the TUN, or with `ringMaxLen` a drop of what the ring takes. The first two lines make
 * the delete succeed whether or not an old table is there; the whole script is one transaction.
 */
export function rxScript(iface: Pick<Interface, 'device' | 'waypoint'>, devices: readonly string[], ringMaxLen?: number): string {
  const t = tableName(iface.device);
  const lines = [`table netdev ${t} {}`, `delete table netdev ${t}`];
  const wp = iface.waypoint === undefined ? undefined : parseAddress(iface.waypoint);
  if (wp === undefined || devices.length === 0) return `${lines.join('\n')}\n`;
  const [fam, ttl] = wp.family === 6 ? ['ip6', 'ip6 hoplimit'] : ['ip', 'ip ttl'];
  lines.push(`table netdev ${t} {`);
  devices.forEach((d, i) => {
    lines.push(`  chain in${i} {`, `    type filter hook ingress device "${d}" priority 0; policy accept;`);
    const then = ringMaxLen !== undefined ? `meta pkttype host meta length <= ${ringMaxLen} counter drop` : `counter fwd ${fam} to ${iface.waypoint} device "${iface.device}"`;
    lines.push(`    ${fam} daddr ${iface.waypoint} ${ttl} > 1 ${then}`, '  }');
  });
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** `nft <args>` (in namespace `netns`: tests) with `input` on stdin; its stdout. */
function nft(args: readonly string[], netns?: string, input?: string): Promise<string> {
  const [cmd, all] = netns === undefined ? ['nft', [...args]] : ['ip', ['netns', 'exec', netns, 'nft', ...args]];
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, all, { timeout: 10_000, encoding: 'utf8' }, (err, out, stderr) => {
      if (err) reject(new Error(`nft ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(out);
    });
    child.stdin?.on('error', () => {}); // EPIPE when nft did not read it: its exit status says what happened
    child.stdin?.end(input);
  });
}

/** `nft -f -` with the script on stdin. */
async function runNft(script: string, netns?: string): Promise<void> {
  await nft(['-f', '-'], netns, script);
}

/**
 * Deletes the tables a node killed before its stop (SIGKILL, a crash) left that this start would not replace: those
 * of the WAN interfaces' devices, and any other `svr_rx_` table whose rule names one of their waypoints (a port
 * replaced since, its device renamed): a stale drop rule would keep the waypoint's packets from the kernel's
 * forwarding, and a stale `fwd` names a TUN that is gone. Returns the tables deleted; never throws.
 */
export async function clearStaleTables(wans: readonly Pick<Interface, 'device' | 'waypoint'>[], netns?: string): Promise<string[]> {
  const deleted: string[] = [];
  try {
    const ours = new Set(wans.map((w) => tableName(w.device)));
    const names = [...(await nft(['list', 'tables', 'netdev'], netns)).matchAll(/^table netdev (svr_rx_\w+)$/gm)].map((m) => m[1]!);
    for (const t of names) {
      if (!ours.has(t)) {
        const rules = await nft(['list', 'table', 'netdev', t], netns);
        if (!wans.some((w) => w.waypoint !== undefined && rules.includes(` daddr ${w.waypoint} `))) continue;
      }
      await runNft(`delete table netdev ${t}\n`, netns);
      deleted.push(t);
    }
  } catch {
    // no nft, or no netdev family: no table to delete
  }
  return deleted;
}

/** The tables a node installed; `stop()` deletes them (twice is fine). */
export class WanPacketRx {
  private constructor(private readonly devices: string[], private readonly netns?: string) {}

  /**
   * Installs the ingress rules of the node's WAN interfaces (those with a waypoint, on this node). Never throws:
   * without nftables' netdev family (or `nft`), the node logs why and the kernel forwards as before. `netns`: in
   * that namespace instead of the process's own (tests). `ring`: the interfaces' readers take the packets from a
   * packet ring where it opens (the rule then drops them), or why the node has none; elsewhere the `fwd` rule when
   * `fwd`, else nothing (logged).
   */
  static async start(ifaces: readonly Interface[], log: (event: string, fields: Record<string, string | number>) => void, netns?: string,
    ring?: RingAttach | string, fwd = true): Promise<WanPacketRx> {
    const wans = ifaces.filter((i) => i.kind === 'wan' && i.waypoint !== undefined);
    const done: string[] = [];
    if (wans.length === 0) return new WanPacketRx(done, netns);
    await clearStaleTables(wans, netns);
    try {
      const links = ingressLinks(JSON.parse(await runIp(['-j', '-d', 'link', 'show'], netns === undefined ? {} : { netns })) as LinkRow[]);
      const devices = links.map((l) => l.ifname);
      if (devices.length === 0) throw new Error('no Ethernet device to take SVR packets from');
      for (const w of wans) {
        if (typeof ring === 'object') await runNft(rxScript(w, []), netns); // nft and its netdev family work before a ring takes packets
        const why = ring === undefined ? 'off' : typeof ring === 'string' ? ring : ring.open(w, links.map((l) => l.ifindex ?? 0));
        if (why !== undefined && !fwd) {
          log('wan-rx.off', { interface: w.name, reason: `packet ring: ${why}` });
          continue;
        }
        await runNft(rxScript(w, devices, why === undefined && typeof ring === 'object' ? ring.maxLen : undefined), netns);
        done.push(w.device);
        log('wan-rx.on', { interface: w.name, device: w.device, ingress: devices.join(','), via: why === undefined ? 'ring' : 'fwd' });
      }
    } catch (e) {
      log('wan-rx.off', { reason: e instanceof Error ? e.message : String(e) });
    }
    return new WanPacketRx(done, netns);
  }

  async stop(): Promise<void> {
    const devices = this.devices.splice(0);
    for (const device of devices) {
      try {
        await runNft(rxScript({ device, waypoint: undefined }, []), this.netns);
      } catch {
        // nft gone since start: the table goes with the namespace, and its rules name a TUN that is gone
      }
    }
  }
}
