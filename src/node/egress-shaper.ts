/**
 * Egress shaping of a node's interfaces with the kernel's shaper (docs/shaping.md). What the router sends
 * out of an interface is what it writes into the interface's TUN device, which the kernel receives as the
 * device's ingress; an `ingress` qdisc redirects all of it (u32 match-all + mirred) to an IFB device the
 * node owns (`q-<device>`), whose root is an HTB tree:
 *
 *   1:1  rate = shaping-rate (a WAN interface shaped only for plugin rates: 10 Gbit/s)
 *   ├─ 1:10 high, 1:20 medium, 1:30 low, 1:40 best-effort: rate = share x shaping-rate, ceil = shaping-rate,
 *   │    HTB prio 0..3 (a queue under its share is served first, highest first; spare rate goes highest first)
 *   └─ 1:1xx one per DSCP a plugin asked to shape (builtin.qos service `rate`): rate = ceil = that rate
 * Each leaf is a bfifo of bounded bytes (tail drop, counted). A packet's queue is chosen by its DSCP: a
 * shaped DSCP goes to its own class, otherwise IP precedence (DSCP >> 3) 5-7 high, 3-4 medium, 1-2 low,
 * 0 best-effort (RFC 4594's classes by their class selector). The kernel has no fq_codel or netem here
 * (docs/shared environment notes): bfifo is the AQM-less bounded queue it has.
 * Nothing here touches the data path: the router writes to its TUN as before, the kernel queues and
 * releases at the rate. Cleanup: the IFB devices are deleted at stop (the ingress qdisc goes with the TUN);
 * a node killed with SIGKILL leaves an IFB device that the next start of the same interface replaces.
 */
import { execFile, spawn } from 'node:child_process';
import { SvrError } from '../errors.js';
import { runIp } from '../io/tun/link.js';
import type { RawSendGates } from '../io/tun/raw-send-gates.js';
import type { Interface } from '../model/config.js';
import { DEFAULT_SHAPING_SHARES, SHAPING_QUEUES } from '../model/defaults.js';
import type { EgressRate } from '../control/router.js';

/** root rate of a WAN interface shaped only for plugin rates (bits/s) */
const UNSHAPED_ROOT = 10e9;
/** each queue holds at most this long at its ceiling rate (bytes = rate x time), between these bounds */
const QUEUE_MS = 50;
const MAX_QUEUE_BYTES = 8 << 20;
const STATS_INTERVAL_MS = 1000;

export interface ShapedQueueStats {
  queue: string;
  /** bits/s: guaranteed and ceiling */
  rate: number;
  ceil: number;
  'sent-bytes': number;
  'sent-packets': number;
  /** packets dropped at the tail of a full queue */
  dropped: number;
  'queue-bytes': number;
  'queue-packets': number;
  'queue-limit-bytes': number;
}

export interface ShapedInterfaceStats {
  interface: string;
  device: string;
  ifb: string;
  rate: number;
  queues: ShapedQueueStats[];
}

interface Leaf {
  queue: string;
  classid: string;
  rate: number;
  ceil: number;
  limit: number;
}

interface Shaped {
  iface: Interface;
  ifb: string;
  rate: number;
  leaves: Leaf[];
}

/** The IFB device of a TUN device: `q-<device>`, cut to Linux's 15 characters. */
export function ifbName(device: string): string {
  return `q-${device}`.slice(0, 15);
}

const queueBytes = (bitsPerSecond: number, mtu: number): number => Math.min(MAX_QUEUE_BYTES, Math.max(4 * mtu, Math.round((bitsPerSecond / 8) * (QUEUE_MS / 1000))));
/** HTB burst: 1 ms at the rate, at least two full-size packets */
const burstBytes = (bitsPerSecond: number, mtu: number): number => Math.max(2 * mtu, Math.round(bitsPerSecond / 8000));
const bits = (n: number): string => `${Math.round(n)}bit`;

/** IP precedence (DSCP >> 3) -> queue index (0 = high); precedence 0 is HTB's default class (best-effort). */
const PRECEDENCE_QUEUE = [3, 2, 2, 1, 1, 0, 0, 0] as const;

/** The tc batch lines of one interface's tree (after its IFB device exists). */
export function shaperCommands(iface: Interface, ifb: string, rates: readonly EgressRate[]): { lines: string[]; leaves: Leaf[]; rate: number } {
  const rate = iface.shapingRate ?? UNSHAPED_ROOT;
  const shares = iface.shapingShares ?? DEFAULT_SHAPING_SHARES;
  const mtu = iface.mtu;
  const burst = burstBytes(rate, mtu);
  const lines = [
    `qdisc add dev ${iface.device} handle ffff: ingress`,
    `filter add dev ${iface.device} parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev ${ifb}`,
    `qdisc add dev ${ifb} root handle 1: htb default 40`,
    `class add dev ${ifb} parent 1: classid 1:1 htb rate ${bits(rate)} ceil ${bits(rate)} burst ${burst} cburst ${burst} quantum ${mtu}`,
  ];
  const leaves: Leaf[] = [];
  SHAPING_QUEUES.forEach((queue, q) => {
    // a queue with share 0 still gets a trickle (HTB needs a rate), and borrows up to the ceiling like the rest
    const own = Math.max(8000, (rate * shares[q]!) / 100);
    leaves.push({ queue, classid: `1:${(q + 1) * 10}`, rate: own, ceil: rate, limit: queueBytes(rate, mtu) });
  });
  for (const r of rates) {
    const ceil = Math.min(r.rate, rate);
    leaves.push({ queue: `dscp-${r.dscp}`, classid: `1:${(0x100 + r.dscp).toString(16)}`, rate: ceil, ceil, limit: Math.max(4 * mtu, r.queueBytes) });
  }
  leaves.forEach((l, i) => {
    const prio = i < 4 ? i : PRECEDENCE_QUEUE[rates[i - 4]!.dscp >> 3]!;
    lines.push(`class add dev ${ifb} parent 1:1 classid ${l.classid} htb rate ${bits(l.rate)} ceil ${bits(l.ceil)} burst ${burstBytes(l.rate, mtu)} cburst ${burst} prio ${prio} quantum ${mtu}`);
    lines.push(`qdisc add dev ${ifb} parent ${l.classid} bfifo limit ${l.limit}`);
  });
  // RFC 2474 DSCP: IPv4 TOS byte bits 7-2, IPv6 traffic class bits 7-2 (u32 `ip6 priority` is that byte)
  let pref = 10;
  for (const r of rates) {
    const classid = `1:${(0x100 + r.dscp).toString(16)}`;
    lines.push(`filter add dev ${ifb} parent 1: protocol ip prio ${pref} u32 match ip tos ${r.dscp << 2} 0xfc flowid ${classid}`);
    lines.push(`filter add dev ${ifb} parent 1: protocol ipv6 prio ${pref + 1} u32 match ip6 priority ${r.dscp << 2} 0xfc flowid ${classid}`);
  }
  pref = 20;
  for (let p = 1; p < 8; p++) {
    const classid = `1:${(PRECEDENCE_QUEUE[p]! + 1) * 10}`;
    lines.push(`filter add dev ${ifb} parent 1: protocol ip prio ${pref} u32 match ip tos ${p << 5} 0xe0 flowid ${classid}`);
    lines.push(`filter add dev ${ifb} parent 1: protocol ipv6 prio ${pref + 1} u32 match ip6 priority ${p << 5} 0xe0 flowid ${classid}`);
  }
  return { lines, leaves, rate };
}

/** Runs `tc -batch -` with these lines; rejects with SVR_ERR_SHAPER_TC naming the device. */
function tcBatch(lines: readonly string[], device: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const tc = spawn('tc', ['-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    tc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    tc.on('error', (e) => reject(new SvrError('SVR_ERR_SHAPER_TC', `shaping ${device}: cannot run tc (${e.message}); install iproute2`)));
    tc.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new SvrError('SVR_ERR_SHAPER_TC', `shaping ${device}: tc failed: ${stderr.trim() || `exit ${code}`}; the kernel needs ifb, sch_htb, sch_fifo, cls_u32 and act_mirred`));
    });
    tc.stdin.end(`${lines.join('\n')}\n`);
  });
}

function tcJson(args: readonly string[]): Promise<unknown> {
  return new Promise((resolve) => {
    execFile('tc', ['-s', '-j', ...args], { timeout: 5000, encoding: 'utf8' }, (err, stdout) => {
      if (err) resolve([]);
      else {
        try { resolve(JSON.parse(stdout)); } catch { resolve([]); }
      }
    });
  });
}

interface TcQdisc { kind?: string; parent?: string; bytes?: number; packets?: number; drops?: number; backlog?: number; qlen?: number }

export class EgressShaper {
  private shaped: Shaped[] = [];
  private snapshot: ShapedInterfaceStats[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** `gates`: the WAN devices' raw-send gates (host-setup.ts): a shaped device's raw sends would pass its queues by */
  constructor(private readonly log: (event: string, fields: Record<string, string | number | boolean>) => void, private readonly gates?: RawSendGates) {}

  /**
   * (Re)builds the trees: interfaces with `shaping-rate`, and every WAN interface when plugins asked for
   * DSCP rates. Replaces whatever the node (or a killed one before it) set up on them.
   */
  async apply(interfaces: readonly Interface[], rates: readonly EgressRate[]): Promise<void> {
    await this.remove();
    for (const iface of interfaces) {
      if (iface.shapingRate === undefined && (iface.kind !== 'wan' || rates.length === 0)) continue;
      const ifb = ifbName(iface.device);
      this.gates?.close(iface.device); // what the router sends out of it from now on goes through the TUN's ingress
      await runIp(['link', 'del', ifb]).catch(() => undefined);
      await runIp(['link', 'add', ifb, 'type', 'ifb']);
      await runIp(['link', 'set', 'dev', ifb, 'up']);
      const kept = iface.kind === 'wan' ? rates : [];
      const { lines, leaves, rate } = shaperCommands(iface, ifb, kept);
      try {
        await tcBatch([`qdisc del dev ${iface.device} handle ffff: ingress`], iface.device).catch(() => undefined);
        await tcBatch(lines, iface.device);
      } catch (e) {
        await runIp(['link', 'del', ifb]).catch(() => undefined);
        this.gates?.open(iface.device);
        throw e;
      }
      this.shaped.push({ iface, ifb, rate, leaves });
      this.log('interface.shaped', { interface: iface.name, device: iface.device, ifb, rate, queues: leaves.map((l) => l.queue).join(',') });
    }
    if (this.shaped.length > 0 && this.timer === undefined) {
      this.timer = setInterval(() => void this.refresh(), STATS_INTERVAL_MS);
      this.timer.unref();
    }
    await this.refresh();
  }

  /** The last stats read from the kernel (refreshed every second), per shaped interface and queue. */
  stats(): ShapedInterfaceStats[] {
    return this.snapshot;
  }

  /** Reads the queues' counters now. */
  async refresh(): Promise<ShapedInterfaceStats[]> {
    const out: ShapedInterfaceStats[] = [];
    for (const s of this.shaped) {
      const qdiscs = (await tcJson(['qdisc', 'show', 'dev', s.ifb])) as TcQdisc[];
      const byParent = new Map(qdiscs.filter((q) => q.kind === 'bfifo').map((q) => [q.parent, q]));
      out.push({
        interface: s.iface.name, device: s.iface.device, ifb: s.ifb, rate: s.rate,
        queues: s.leaves.map((l) => {
          const q = byParent.get(l.classid);
          return {
            queue: l.queue, rate: Math.round(l.rate), ceil: Math.round(l.ceil),
            'sent-bytes': q?.bytes ?? 0, 'sent-packets': q?.packets ?? 0, dropped: q?.drops ?? 0,
            'queue-bytes': q?.backlog ?? 0, 'queue-packets': q?.qlen ?? 0, 'queue-limit-bytes': l.limit,
          };
        }),
      });
    }
    this.snapshot = out;
    return out;
  }

  /** Deletes the IFB devices (and with them the trees); the TUN's ingress qdisc goes when the TUN does. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.remove();
    this.snapshot = [];
  }

  private async remove(): Promise<void> {
    for (const s of this.shaped) {
      await tcBatch([`qdisc del dev ${s.iface.device} handle ffff: ingress`], s.iface.device).catch(() => undefined);
      await runIp(['link', 'del', s.ifb]).catch(() => undefined);
      this.gates?.open(s.iface.device);
    }
    this.shaped = [];
  }
}
