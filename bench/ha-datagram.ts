/**
 * What the sync link costs per session row by the size of its datagrams (docs/performance.md "HA"):
 * `node dist/bench/ha-datagram.js [rows] [rounds] [sizes] [mtu]` (root; default 40000 rows, 7 rounds, 1400,8900,32000,
 * MTU 1500). Two sync links (ha/sync-link.ts) in this process, active and standby, over a loopback of that MTU in a
 * namespace of their own (`hd-<pid>`: a datagram larger than a frame goes fragmented, as on a 1500-byte sync
 * link; 8900 B fits a jumbo frame of 9000); the active queues session rows (147 B with their record head, as
 * ha-sessions.ts frames them) in collections of 400 (20,000 sessions/s collected every 20 ms: ha-sessions.ts
 * COLLECT_GAP_MS) and sends, the standby verifies and acknowledges. The
 * process's CPU time (user + system, both sides and the kernel's UDP and IP work in their syscalls) per row;
 * sizes alternate within each round; the fastest round of each size is printed with the load average.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SyncLink } from '../src/ha/sync-link.js';
import { OP_UPSERT, SYNC_DATAGRAM, SYNC_MAX_DATAGRAM, frameRecord } from '../src/ha/sync-wire.js';
import { SYNC_KIND_SESSION } from '../src/node/ha-sessions.js';

const ROWS = Number(process.argv[2] ?? 40_000);
const ROUNDS = Number(process.argv[3] ?? 7);
const SIZES = (process.argv[4] ?? `${SYNC_MAX_DATAGRAM},8900,${SYNC_DATAGRAM}`).split(',').map(Number);
const MTU = Number(process.argv[5] ?? 1500);
const ROW = 128;
const PER_COLLECTION = 400;
const NS_ENV = 'SVR_HA_DATAGRAM_NS';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One collection's records: PER_COLLECTION session rows framed as ha-sessions.ts frames them. */
function collection(): Uint8Array {
  const one = 5 + 16 + 1 + ROW;
  const out = new Uint8Array(PER_COLLECTION * one);
  const fill = randomBytes(out.length);
  let o = 0;
  for (let i = 0; i < PER_COLLECTION; i++) {
    o = frameRecord(out, o, SYNC_KIND_SESSION, OP_UPSERT, 16, 1 + ROW);
    out.set(fill.subarray(o, o + 17 + ROW), o);
    o += 17 + ROW;
  }
  return out;
}

/** Sends ROWS rows from a fresh pair of links with datagrams of `size`; the process's CPU µs per row. */
async function round(size: number, port: number, key: Uint8Array, records: Uint8Array): Promise<{ us: number; datagrams: number }> {
  let rows = 0;
  const common = { key, maxDatagram: size, onHeartbeat: () => {}, partnerPort: port };
  const standby = new SyncLink({ ...common, node: 'r1b', partner: 'r1a', localAddress: '127.0.0.2', partnerAddress: '127.0.0.1', port: port + 1, onRecords: (_b, count) => { rows += count; } });
  const active = new SyncLink({ ...common, node: 'r1a', partner: 'r1b', localAddress: '127.0.0.1', partnerAddress: '127.0.0.2', port, partnerPort: port + 1, onRecords: () => {} });
  await standby.start();
  await active.start();
  const cpu0 = process.cpuUsage();
  for (let sent = 0; sent < ROWS; sent += PER_COLLECTION) {
    while (active.lag().unacked >= active.window) await sleep(1); // collection follows the link (pair-node.ts)
    active.queueFramed(records, PER_COLLECTION);
    active.flush();
    await sleep(0);
  }
  const deadline = performance.now() + 10_000;
  while (rows < ROWS || active.lag().unacked > 0) {
    if (performance.now() > deadline) throw new Error(`datagrams of ${size} B: ${rows} of ${ROWS} rows arrived within 10 s`);
    await sleep(1);
  }
  const cpu = process.cpuUsage(cpu0);
  const datagrams = active.counters.batchesSent;
  active.close();
  standby.close();
  return { us: (cpu.user + cpu.system) / rows, datagrams };
}

async function main(): Promise<void> {
  const key = randomBytes(32);
  const records = collection();
  const best = new Map<number, { us: number; datagrams: number }>();
  let port = 41_000;
  for (let r = 0; r < ROUNDS; r++) {
    for (const size of r % 2 === 0 ? SIZES : [...SIZES].reverse()) {
      const res = await round(size, port, key, records);
      port += 2;
      if (res.us < (best.get(size)?.us ?? Infinity)) best.set(size, res);
    }
  }
  const load = loadavg().map((x) => x.toFixed(1)).join(' ');
  process.stdout.write(`sync link, ${ROWS} session rows a round over a loopback of MTU ${MTU}, fastest of ${ROUNDS} alternating rounds, load ${load}:\n`);
  const base = best.get(SIZES[0]!)!.us;
  for (const size of SIZES) {
    const b = best.get(size)!;
    process.stdout.write(`  datagrams of ${String(size).padStart(5)} B: ${b.us.toFixed(2)} µs per row (both nodes), ${(ROWS / b.datagrams).toFixed(1)} rows a datagram, ${(b.us / base).toFixed(2)}x\n`);
  }
}

if (process.env[NS_ENV] === undefined) {
  // a namespace of our own: its loopback at MTU 1500 (or the one asked), as a sync link of Ethernet frames
  const ns = `hd-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'mtu', String(MTU), 'up']);
    execFileSync('ip', ['-n', ns, 'addr', 'add', '127.0.0.2/8', 'dev', 'lo']);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, [NS_ENV]: ns } });
    process.exitCode = r.status ?? 1;
  } finally {
    execFileSync('ip', ['netns', 'delete', ns]);
  }
} else {
  await main();
}
