/**
 * The node's footprint on the host: one TUN device per interface of its router, brought up with the
 * interface MTU, its waypoint (wan) and `kernel-routes` routed into it. Everything here goes away when
 * the devices close (routes through a deleted device are deleted by the kernel), so a node killed with
 * SIGKILL leaves nothing behind either.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { Interface } from '../model/config.js';
import { parseAddress, parsePrefix } from '../packet/addr.js';
import { runIpBatch } from '../io/tun/link.js';
import type { RawSendGates } from '../io/tun/raw-send-gates.js';
import { TunPort } from '../io/tun/tun-port.js';

export interface OpenedInterface {
  iface: Interface;
  port: TunPort;
}

/** `ip route replace` of a kernel route; an IPv6 prefix says its family itself (`-6` is no command of `ip -batch`). */
function routeArgs(prefix: string, device: string, table?: number): string[] {
  const args = ['route', 'replace', prefix, 'dev', device];
  if (table !== undefined) args.push('table', String(table));
  return args;
}

function usesIpv6(iface: Interface): boolean {
  if (iface.waypoint !== undefined && parseAddress(iface.waypoint)?.family === 6) return true;
  return iface.kernelRoutes.some((r) => r.prefix !== 'default' && parsePrefix(r.prefix)?.family === 6);
}

/**
 * How a node opens an interface's TUN queues. LAN and WAN: offloads, with a deeper write ring, since the writer
 * thread drains bursts of up to 64 KB super-packets' worth of packets (with 2048 slots it dropped 0.02-0.6 %
 * under load; docs/tun-io.md). LAN: TCP/UDP super-packets from the hosts, TCP runs coalesced on the way back.
 * WAN: UDP GSO super-packets forwarded to the node are cut into SVR packets, and runs of equal-length SVR
 * packets of one waypoint 5-tuple go out as one UDP GSO super-packet (coalesceUdp): one write and one kernel
 * forwarding pass for up to 64 packets of a UDP session, or of a TCP session carried as UDP, instead of one each
 * (TCP on the wire stays one write per packet: its sequence numbers rule out GSO; docs/tun-io.md). Single IPv4
 * packets, WAN and LAN, go out through a raw IP socket, 64 per sendmmsg, instead of a TUN write the kernel forwards
 * (`rawSend`; SVR_WAN_RAW_SEND=0 / SVR_LAN_RAW_SEND=0: through the TUN; docs/tun-io.md "Raw sends on the WAN"): on
 * the LAN those are a new session's packets to the end hosts. Not while the egress shaper shapes the device (`gates`:
 * its queues sit on the TUN's ingress, which raw sends pass by). Function interfaces: plain packets.
 */
export function tunOptions(iface: Pick<Interface, 'kind' | 'device'>, gates?: RawSendGates): { offload: boolean; coalesceUdp?: boolean; rawSend?: boolean; rawSendGate?: Int32Array; writeQueuePackets?: number; writeQueueBytes?: number } {
  if (iface.kind === 'function') return { offload: false };
  const wan = iface.kind === 'wan';
  const rawSend = process.env[wan ? 'SVR_WAN_RAW_SEND' : 'SVR_LAN_RAW_SEND'] !== '0';
  return { offload: true, coalesceUdp: wan, rawSend, ...(rawSend && gates !== undefined ? { rawSendGate: gates.of(iface.device) } : {}), writeQueuePackets: 8192, writeQueueBytes: 16 << 20 };
}

/**
 * Brings a device up with the interface MTU, a long transmit queue, its waypoint and kernel routes.
 * The device must exist (a queue of it is open, here or in a data-path worker).
 */
export async function configureInterface(iface: Interface): Promise<void> {
  await configureInterfaces([iface]);
}

/**
 * Brings the devices up with their routes, and runs `more` (e.g. a pair's shared addresses) after them: one
 * `ip -batch` process for all of it (a pair's role change is on the way to forwarding).
 */
export async function configureInterfaces(ifaces: readonly Interface[], more: readonly (readonly string[])[] = []): Promise<void> {
  for (const iface of ifaces) {
    if (usesIpv6(iface)) continue;
    // no IPv6 here: keep the kernel from sending router solicitations into the device
    try {
      writeFileSync(`/proc/sys/net/ipv6/conf/${iface.device}/disable_ipv6`, '1');
    } catch {
      // IPv6 disabled host-wide: nothing to do
    }
  }
  await runIpBatch([...ifaces.flatMap(interfaceCommands), ...more]);
}

/** The `ip` commands of one device: up with its MTU and a long queue, its waypoint and kernel routes into it. */
function interfaceCommands(iface: Interface): string[][] {
  // a long queue absorbs bursts while the node is busy with a batch (500, the default, overflowed in the lab)
  const out = [['link', 'set', 'dev', iface.device, 'mtu', String(iface.mtu), 'txqueuelen', '4096', 'up']];
  if (iface.waypoint !== undefined) {
    const fam = parseAddress(iface.waypoint)!.family;
    out.push(routeArgs(`${iface.waypoint}/${fam === 6 ? 128 : 32}`, iface.device));
  }
  for (const r of iface.kernelRoutes) out.push(routeArgs(r.prefix, iface.device, r.table));
  return out;
}

/**
 * The devices' root qdisc set to noqueue (`tc -batch`, one process; `netns`: in that namespace). The kernel gives a TUN
 * pfifo_fast, but a TUN never pushes back (tun_net_xmit puts a packet on its own ring of txqueuelen packets or drops
 * it), so the qdisc queues nothing and costs an enqueue, a dequeue and its lock for every packet the kernel hands the
 * node: in TCP as TCP, every SVR packet r2 receives (`sch_direct_xmit`, 7.5 % of r1's WAN writer thread, which runs
 * r2's forward; docs/performance.md wave 21 tcp10). The bursts stay absorbed by the TUN's ring (txqueuelen 4096).
 * SVR_TUN_NOQUEUE=0 keeps the devices' qdisc.
 * Resolves with what went wrong (no tc, no permission), or undefined: the node runs either way.
 */
export function tunNoQueue(devices: readonly string[], netns?: string): Promise<string | undefined> {
  if (devices.length === 0 || process.env['SVR_TUN_NOQUEUE'] === '0') return Promise.resolve(undefined);
  const args = [...(netns !== undefined ? ['-n', netns] : []), '-force', '-batch', '-'];
  return new Promise((resolve) => {
    const child = execFile('tc', args, { timeout: 10_000, encoding: 'utf8' }, (err, _stdout, stderr) => {
      resolve(err ? (stderr.trim() || err.message).split('\n')[0] : undefined);
    });
    child.stdin?.on('error', () => undefined); // no tc: the error comes through the callback
    child.stdin?.end(devices.map((d) => `qdisc replace dev ${d} root noqueue\n`).join(''));
  });
}

/**
 * Opens (one queue each) and configures the devices (those `configure` accepts: a pair's node leaves its
 * partner's own interfaces down); on any failure closes what it opened and rethrows.
 */
export async function openInterfaces(
  interfaces: readonly Interface[], log: (event: string, fields: Record<string, string | number>) => void, configure: (iface: Interface) => boolean = () => true,
  gates?: RawSendGates,
): Promise<OpenedInterface[]> {
  const opened: OpenedInterface[] = [];
  try {
    for (const iface of interfaces) {
      const port = TunPort.open({ name: iface.device, ...tunOptions(iface, gates) });
      opened.push({ iface, port });
      if (!configure(iface)) {
        log('interface.partner', { interface: iface.name, device: iface.device, node: iface.node ?? '' });
        continue;
      }
      await configureInterface(iface);
      log('interface.up', { interface: iface.name, device: iface.device, mtu: iface.mtu });
    }
    const why = await tunNoQueue(opened.map((o) => o.iface.device));
    if (why !== undefined) log('interface.qdisc-kept', { reason: why });
    return opened;
  } catch (e) {
    for (const o of opened) o.port.close();
    throw e;
  }
}
