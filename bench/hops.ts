/**
 * Latency of each router pass: 300 sequential pings while tcpdump (nanosecond timestamps) watches r1's
 * LAN veth, the r1-r2 veth and r2's server-side veth. For ping i, "r1 fwd" is the time from the request
 * arriving on r1-c to it leaving on r1-r2, and so on. Path-control packets (UDP 1280) are left out; if the
 * captures still do not line up one to one (e.g. tunnel keepalives), the result is undefined.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, spawnIn, stop, waitForLine } from './exec.js';
import { ping } from './measure.js';
import { median } from './stats.js';
import { DEV, NS } from './topology.js';

export interface HopLatency {
  pings: number;
  /** medians in µs */
  r1FwdUs: number;
  r2FwdUs: number;
  serverUs: number;
  r2RevUs: number;
  r1RevUs: number;
}

interface Seen {
  t: number;
  request: boolean;
}

/** Sources of request-direction packets: the client, r1's WAN address (tunnels) and r1's waypoint. */
const REQUEST_SOURCE = /^(198\.18\.1\.\d+|198\.18\.2\.1|198\.18\.12\.1)\.\d+$/;

function parse(file: string): Seen[] {
  const out: Seen[] = [];
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\d+\.\d+) IP (\S+) > (\S+?):/.exec(l);
    if (m === null || m[2]!.endsWith('.1280')) continue;
    out.push({ t: Number(m[1]), request: REQUEST_SOURCE.test(m[2]!) });
  }
  return out;
}

export async function measureHops(dir: string, name: string, count = 300): Promise<HopLatency | undefined> {
  const points = [[NS.r1, DEV.r1Lan], [NS.r1, DEV.r1Wan], [NS.r2, DEV.r2Lan]] as const;
  const caps = points.map(([ns, dev]) => spawnIn(ns, `tcpdump-${dev}`, 'tcpdump', ['-ni', dev, '--immediate-mode', '-tt', '--time-stamp-precision=nano', '-l', 'udp'], join(dir, `${name}-hops-${dev}.txt`)));
  try {
    for (const p of caps) await waitForLine(p, /listening on/, 10_000);
    await sleep(500); // "listening on" comes slightly before the capture really runs
    await ping(count, 0, [], 1000);
    await sleep(1000);
  } finally {
    for (const p of caps) await stop(p, 3000, 'SIGINT');
  }
  const [c, w, s] = caps.map((p) => parse(p.log));
  const req = (a: Seen[]) => a.filter((x) => x.request).map((x) => x.t);
  const rep = (a: Seen[]) => a.filter((x) => !x.request).map((x) => x.t);
  const lists = [req(c!), req(w!), req(s!), rep(s!), rep(w!), rep(c!)];
  const n = lists[0]!.length;
  if (n < count * 0.9 || lists.some((l) => l.length !== n)) return undefined;
  const [a, b, d, e, f, g] = lists as [number[], number[], number[], number[], number[], number[]];
  // each ping's six sightings must come in order, before the next ping (else the captures are misaligned)
  for (let i = 0; i < n; i++) {
    const seq = [a[i]!, b[i]!, d[i]!, e[i]!, f[i]!, g[i]!, a[i + 1] ?? Infinity];
    if (seq.some((t, k) => k > 0 && t < seq[k - 1]!)) return undefined;
  }
  const us = (x: number[], y: number[]) => median(x.map((v, i) => y[i]! - v)) * 1e6;
  return { pings: n, r1FwdUs: us(a, b), r2FwdUs: us(b, d), serverUs: us(d, e), r2RevUs: us(e, f), r1RevUs: us(f, g) };
}
