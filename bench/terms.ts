/**
 * The terms each mode runs on, read from the kernel where it can be read (so the table states them rather
 * than the code assuming them): device MTU, queue length and qdisc (`ip -j link`; svrouter's node sets noqueue on
 * its TUN devices, the tunnels' devices keep the kernel's default), segmentation offloads
 * (`ethtool -k`), UDP socket buffers of the mode's own sockets (`ss -m`).
 */
import { ipn, runIn } from './exec.js';

/** What a mode's row in the "terms" table says. */
export interface ModeTerms {
  /** which program and build forwards between r1 and r2 */
  build: string;
  /** r1's devices the mode's packets cross (TUN or tunnel), MTU, transmit queue length and qdisc */
  devices: string;
  /** segmentation/receive offloads of those devices */
  offloads: string;
  /** socket buffers of the mode's UDP sockets in r1 */
  socketBuffers: string;
  /** busy polling, spinning */
  polling: string;
}

interface LinkJson {
  ifname?: string;
  mtu?: number;
  txqlen?: number;
  qdisc?: string;
}

/** "dev MTU m, txqueuelen q, qdisc d" for each device of `devs` in `ns`. */
export async function deviceTerms(ns: string, devs: readonly string[]): Promise<string> {
  const out: string[] = [];
  for (const dev of devs) {
    const [l] = JSON.parse((await ipn(ns, ['-j', 'link', 'show', 'dev', dev])).stdout) as LinkJson[];
    out.push(`${dev} MTU ${l?.mtu ?? '?'}, txqueuelen ${l?.txqlen ?? '?'}, qdisc ${l?.qdisc ?? '?'}`);
  }
  return out.join('; ');
}

/**
 * rx-udp-gro-forwarding: whether the device's GRO merges forwarded UDP datagrams (off on every veth, for every
 * mode: a sender's UDP GSO super-packets, wireguard-go's socket or svrouter's wan TUN, cross the veth whole
 * anyway, and reach the other router as one super-packet; docs/performance.md "Equal terms").
 */
const OFFLOADS = [
  ['tcp-segmentation-offload', 'TSO'],
  ['tx-udp-segmentation', 'USO'],
  ['generic-segmentation-offload', 'GSO'],
  ['generic-receive-offload', 'GRO'],
  ['rx-udp-gro-forwarding', 'UDP GRO forwarding'],
] as const;

/** "dev: TSO on, USO on, GSO on, GRO off, UDP GRO forwarding off" for each device (ethtool -k), or why it could not be read. */
export async function offloadTerms(ns: string, devs: readonly string[]): Promise<string> {
  const out: string[] = [];
  for (const dev of devs) {
    try {
      const { stdout } = await runIn(ns, 'ethtool', ['-k', dev]);
      const on = (k: string) => new RegExp(`^${k}: (on|off)`, 'm').exec(stdout)?.[1] ?? '?';
      out.push(`${dev}: ${OFFLOADS.map(([k, short]) => `${short} ${on(k)}`).join(', ')}`);
    } catch (e) {
      return `not read (${(e as Error).message.includes('ENOENT') ? 'ethtool missing: apt-get install ethtool' : (e as Error).message.split('\n')[0]})`;
    }
  }
  return out.join('; ');
}

/** Receive and send buffer sizes of the UDP socket bound to `port` in `ns` (ss -m skmem rb/tb). */
export async function socketTerms(ns: string, port: number): Promise<string> {
  try {
    const { stdout } = await runIn(ns, 'ss', ['-uamnH', 'sport', '=', `:${port}`]);
    const rb = /rb(\d+)/.exec(stdout)?.[1];
    const tb = /tb(\d+)/.exec(stdout)?.[1];
    if (rb === undefined || tb === undefined) return `UDP :${port}: not found by ss`;
    const mb = (x: string) => `${(Number(x) / 2 ** 20).toFixed(Number(x) >= 2 ** 20 ? 1 : 2)} MiB`;
    return `UDP :${port} receive ${mb(rb)}, send ${mb(tb)}`;
  } catch (e) {
    return `not read (${(e as Error).message.split('\n')[0]})`;
  }
}
