/**
 * Where packets were dropped during a measurement: UDP receive-buffer overflows (/proc/net/snmp, per
 * namespace) and per-device drop counters (`ip -s -j link`: a TUN device's tx_dropped is its queue toward
 * the userspace program overflowing), as deltas between two snapshots. Only non-zero entries are kept.
 */
import { ipn, runIn } from './exec.js';
import { allNamespaces } from './topology.js';

export type DropCounters = Record<string, number>;

interface LinkJson {
  ifname?: string;
  stats64?: { rx?: { dropped?: number }; tx?: { dropped?: number } };
}

export async function dropSnapshot(): Promise<DropCounters> {
  const out: DropCounters = {};
  for (const ns of allNamespaces()) {
    const snmp = (await runIn(ns, 'cat', ['/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
    if (snmp.length === 2) {
      const names = snmp[0]!.split(/\s+/);
      const vals = snmp[1]!.split(/\s+/);
      for (const k of ['RcvbufErrors', 'SndbufErrors']) out[`${ns} udp ${k}`] = Number(vals[names.indexOf(k)] ?? 0);
    }
    const links = JSON.parse((await ipn(ns, ['-s', '-j', 'link', 'show'])).stdout || '[]') as LinkJson[];
    for (const l of links) {
      if (l.ifname === undefined || l.ifname === 'lo') continue;
      out[`${ns} ${l.ifname} rx_dropped`] = l.stats64?.rx?.dropped ?? 0;
      out[`${ns} ${l.ifname} tx_dropped`] = l.stats64?.tx?.dropped ?? 0;
    }
  }
  return out;
}

/** after - before, non-zero entries only (a device that appeared in between counts from 0). */
export function dropDelta(before: DropCounters, after: DropCounters): DropCounters {
  const d: DropCounters = {};
  for (const [k, v] of Object.entries(after)) {
    const x = v - (before[k] ?? 0);
    if (x !== 0) d[k] = x;
  }
  return d;
}

export function formatDrops(d: DropCounters): string {
  const e = Object.entries(d).sort((a, b) => b[1] - a[1]);
  return e.length === 0 ? 'no drops counted' : e.map(([k, v]) => `${k} ${v}`).join(', ');
}
