/**
 * TUN offload benchmark: one Node forwarding pass (TUN in -> TUN out, kernel routes around it), iperf3 TCP,
 * with and without `offload` on the TunPorts, each with the writer thread (default; also with writeQueueWaitUs
 * 1000: "-wait") and with `writer: 'sync'`
 * (the syscalls inside writeBatch); plain kernel forwarding as the reference. Needs root, iperf3 and a built
 * tree (npm run build). Like performance-anchors.md table C, with two TUNs instead of a hairpin.
 *
 *   node dist/bench/tun-offload.js [--seconds 5] [--runs 3] [--modes kernel,plain-sync,plain,plain-wait,offload-sync,offload,offload-wait]
 *
 * Runs are interleaved (round 1: every mode once, round 2: ...), each with a fresh forwarder process, so a
 * noisy neighbour hurts all modes alike; the table gives medians.
 *
 *   svro-<pid>-c                    svro-<pid>-r                                              svro-<pid>-s
 *   iperf3 -c 198.18.254.2 ─veth─ rc   ip rule iif rc -> table 100: default dev svro-in       iperf3 -s 198.18.255.2
 *                                      [node: svro-in ──▶ svro-out]  (kernel: -> rs) ─veth─
 *
 * Client -> server data makes exactly one pass through Node; ACKs go back through the kernel only. The
 * namespaces are created and deleted by exact name (also on Ctrl-C); addresses are in 198.18.0.0/15.
 * Prints one line per run and a median table; the numbers in docs/tun-io.md come from this script.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from './cpu.js';
import { runIp } from '../src/io/tun/link.js';
import { TunPort } from '../src/io/tun/tun-port.js';

const SELF = fileURLToPath(import.meta.url);
const SERVER = '198.18.255.2';
const PORT = 5201;
const MTU = 1500;

/** plain/offload: writer thread, drop when its ring is full; -wait: it may wait 1 ms for room; -sync: no thread */
type Mode = 'kernel' | 'plain' | 'plain-sync' | 'plain-wait' | 'offload' | 'offload-sync' | 'offload-wait';
const MODES: Mode[] = ['kernel', 'plain-sync', 'plain', 'plain-wait', 'offload-sync', 'offload', 'offload-wait'];

interface Run {
  mode: Mode;
  run: number;
  gbps: number;
  retransmits: number;
  /** CPU seconds of the Node forwarder per second of test (1.0 = one core), 0 for kernel */
  cpu: number;
  /** CPU of the forwarder's main (JS) thread per second of test */
  mainCpu: number;
  /** forwarder CPU per packet the JS handler saw (segments with offload), µs */
  usPerPacket: number;
  rxBatches: number;
  rxPackets: number;
  rxSuperPackets: number;
  txSuperPackets: number;
  txDrops: number;
}

// ---- the forwarder (runs inside the router namespace) ----

async function forwarder(mode: Mode): Promise<void> {
  const offload = mode.startsWith('offload');
  const writer = mode.endsWith('-sync') ? 'sync' : 'thread';
  const writeQueueWaitUs = mode.endsWith('-wait') ? 1000 : 0;
  const inPort = TunPort.open({ name: 'svro-in', offload, writer, writeQueueWaitUs });
  const outPort = TunPort.open({ name: 'svro-out', offload, writer, writeQueueWaitUs });
  for (const dev of [inPort.name, outPort.name]) {
    try {
      writeFileSync(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, '1');
    } catch {
      // no IPv6
    }
    writeFileSync(`/proc/sys/net/ipv4/conf/${dev}/rp_filter`, '0');
    await runIp(['link', 'set', 'dev', dev, 'mtu', String(MTU), 'txqueuelen', '4096', 'up']);
  }
  await runIp(['route', 'replace', 'default', 'dev', inPort.name, 'table', '100']);
  inPort.start((data, offsets, lengths, count) => outPort.transmit(data, offsets, lengths, count));
  process.stdin.on('data', () => {
    const d = inPort.device.stats;
    const o = outPort.stats;
    process.stdout.write(
      `STATS ${JSON.stringify({ rxBatches: d.rxBatches, rxPackets: d.rxPackets, rxSuperPackets: d.rxSuperPackets, txSuperPackets: o.txSuperPackets, txDrops: o.txDrops })}\n`,
    );
  });
  process.stdin.on('end', () => {
    inPort.close();
    outPort.close();
  });
  process.stdout.write('READY\n');
}

// ---- the driver ----

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

function topology(ns: { c: string; r: string; s: string }): void {
  for (const n of [ns.c, ns.r, ns.s]) {
    ip('netns', 'add', n);
    ip('-n', n, 'link', 'set', 'lo', 'up');
  }
  ip('-n', ns.c, 'link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'rc', 'netns', ns.r);
  ip('-n', ns.s, 'link', 'add', 's0', 'type', 'veth', 'peer', 'name', 'rs', 'netns', ns.r);
  ip('-n', ns.c, 'addr', 'add', '198.18.254.2/30', 'dev', 'c0');
  ip('-n', ns.c, 'link', 'set', 'c0', 'up');
  ip('-n', ns.c, 'route', 'add', 'default', 'via', '198.18.254.1');
  ip('-n', ns.s, 'addr', 'add', `${SERVER}/30`, 'dev', 's0');
  ip('-n', ns.s, 'link', 'set', 's0', 'up');
  ip('-n', ns.s, 'route', 'add', 'default', 'via', '198.18.255.1');
  ip('-n', ns.r, 'addr', 'add', '198.18.254.1/30', 'dev', 'rc');
  ip('-n', ns.r, 'addr', 'add', '198.18.255.1/30', 'dev', 'rs');
  ip('-n', ns.r, 'link', 'set', 'rc', 'up');
  ip('-n', ns.r, 'link', 'set', 'rs', 'up');
  const sysctl = ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.rc.rp_filter=0', 'net.ipv4.conf.rs.rp_filter=0'];
  const r = spawnSync('ip', ['netns', 'exec', ns.r, 'sysctl', '-q', '-w', ...sysctl], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sysctl: ${r.stderr}`);
  ip('-n', ns.r, 'rule', 'add', 'iif', 'rc', 'lookup', '100', 'pref', '100');
}

/** The next line starting with `prefix` that p prints after this call. */
function waitLine(p: ChildProcess, prefix: string, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no ${prefix} within ${ms} ms`)), ms);
    const onData = (d: Buffer): void => {
      out += d.toString('utf8');
      const line = out.split('\n').find((l) => l.startsWith(prefix));
      if (line !== undefined) {
        clearTimeout(timer);
        p.stdout!.off('data', onData);
        resolve(line);
      }
    };
    p.stdout!.on('data', onData);
  });
}

interface IperfResult {
  end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } };
  error?: string;
}

function iperf(ns: string, seconds: number): { gbps: number; retransmits: number } {
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'iperf3', '-c', SERVER, '-p', String(PORT), '-t', String(seconds), '-J', '--connect-timeout', '3000'], {
      encoding: 'utf8',
      timeout: (seconds + 20) * 1000,
    });
    let j: IperfResult;
    try {
      j = JSON.parse(r.stdout) as IperfResult;
    } catch {
      throw new Error(`iperf3: no JSON (${r.stderr})`);
    }
    if (j.error && /busy|connect/i.test(j.error)) {
      spawnSync('sleep', ['1']);
      continue;
    }
    if (j.error) throw new Error(`iperf3: ${j.error}`);
    return { gbps: (j.end?.sum_received?.bits_per_second ?? 0) / 1e9, retransmits: j.end?.sum_sent?.retransmits ?? 0 };
  }
  throw new Error('iperf3: server busy three times');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One run of one mode, with a fresh forwarder process (none for kernel). */
async function measureOnce(mode: Mode, ns: { c: string; r: string; s: string }, seconds: number, run: number): Promise<Run> {
  let fwd: ChildProcess | undefined;
  if (mode === 'kernel') {
    ip('-n', ns.r, 'route', 'replace', 'default', 'via', SERVER, 'dev', 'rs', 'table', '100');
  } else {
    fwd = spawn('ip', ['netns', 'exec', ns.r, process.execPath, SELF, 'fwd', mode], { stdio: ['pipe', 'pipe', 'inherit'] });
    await waitLine(fwd, 'READY', 10_000);
  }
  try {
    const cpu0 = fwd ? cpuSeconds(fwd.pid!) : 0;
    const main0 = fwd ? cpuSeconds(fwd.pid!, true) : 0;
    const t0 = Date.now();
    const r = iperf(ns.c, seconds);
    const wall = (Date.now() - t0) / 1000;
    const cpuUsed = fwd ? cpuSeconds(fwd.pid!) - cpu0 : 0;
    const mainUsed = fwd ? cpuSeconds(fwd.pid!, true) - main0 : 0;
    let st = { rxBatches: 0, rxPackets: 0, rxSuperPackets: 0, txSuperPackets: 0, txDrops: 0 };
    if (fwd) {
      const wait = waitLine(fwd, 'STATS', 5000);
      fwd.stdin!.write('\n');
      st = JSON.parse((await wait).slice(6)) as typeof st;
    }
    const usPerPacket = st.rxPackets > 0 ? (cpuUsed * 1e6) / st.rxPackets : 0;
    const row: Run = { mode, run, gbps: r.gbps, retransmits: r.retransmits, cpu: cpuUsed / wall, mainCpu: mainUsed / wall, usPerPacket, ...st };
    console.log(
      `${mode.padEnd(12)} run ${run}: ${r.gbps.toFixed(3)} Gbit/s, ${r.retransmits} retransmits, forwarder CPU ${((cpuUsed / wall) * 100).toFixed(0)} % (main thread ${((mainUsed / wall) * 100).toFixed(0)} %) = ${usPerPacket.toFixed(2)} µs/packet, totals ${JSON.stringify(st)}`,
    );
    return row;
  } finally {
    if (fwd) {
      fwd.stdin!.end();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          fwd!.kill('SIGKILL');
          resolve();
        }, 3000);
        fwd!.on('close', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

async function main(argv: string[]): Promise<void> {
  const opt = (name: string, dflt: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
  };
  const seconds = Number(opt('seconds', '5'));
  const runs = Number(opt('runs', '3'));
  const modes = opt('modes', MODES.join(',')).split(',') as Mode[];
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m} (modes: ${MODES.join(',')})`);
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces, TUN devices)');
  if (spawnSync('iperf3', ['--version']).status !== 0) throw new Error('iperf3 is missing: apt-get install -y iperf3');

  const tag = `svro-${process.pid}`;
  const ns = { c: `${tag}-c`, r: `${tag}-r`, s: `${tag}-s` };
  let server: ChildProcess | undefined;
  const cleanup = (): void => {
    server?.kill('SIGKILL');
    for (const n of [ns.c, ns.r, ns.s]) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const load0 = loadavg()[0]!;
  const all: Run[] = [];
  try {
    topology(ns);
    server = spawn('ip', ['netns', 'exec', ns.s, 'iperf3', '-s', '-B', SERVER, '-p', String(PORT), '--forceflush'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await waitLine(server, 'Server listening', 10_000);
    for (let run = 1; run <= runs; run++) for (const mode of modes) all.push(await measureOnce(mode, ns, seconds, run));
  } finally {
    cleanup();
  }
  console.log(`\n${new Date().toISOString()}  ${runs} x ${seconds} s per mode, iperf3 TCP 1 stream, MTU ${MTU}, load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`);
  console.log('| mode | Gbit/s median (min-max) | retransmits (median) | forwarder CPU, median | main (JS) thread CPU, median | µs CPU per packet JS saw, median | packets per batch | super-packets read / written | tx drops (median) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const mode of modes) {
    const rs = all.filter((r) => r.mode === mode);
    const g = rs.map((r) => r.gbps);
    const last = rs[rs.length - 1]!;
    const perBatch = last.rxBatches ? (median(rs.map((r) => r.rxPackets / Math.max(1, r.rxBatches)))).toFixed(1) : '-';
    const ratio = last.rxSuperPackets ? `${last.rxSuperPackets} / ${last.txSuperPackets}` : '-';
    console.log(
      `| ${mode} | ${median(g).toFixed(2)} (${Math.min(...g).toFixed(2)}-${Math.max(...g).toFixed(2)}) | ${median(rs.map((r) => r.retransmits))} | ${mode === 'kernel' ? '-' : `${(median(rs.map((r) => r.cpu)) * 100).toFixed(0)} %`} | ${mode === 'kernel' ? '-' : `${(median(rs.map((r) => r.mainCpu)) * 100).toFixed(0)} %`} | ${mode === 'kernel' ? '-' : median(rs.map((r) => r.usPerPacket)).toFixed(2)} | ${perBatch} | ${ratio} | ${mode === 'kernel' ? '-' : median(rs.map((r) => r.txDrops))} |`,
    );
  }
}

if (process.argv[2] === 'fwd') {
  forwarder(process.argv[3] as Mode).catch((e: unknown) => {
    process.stderr.write(`forwarder: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
} else {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  });
}
