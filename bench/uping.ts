/**
 * A UDP ping: sequential round trips of `--size` bytes to a UDP echo, timed with process.hrtime.bigint().
 * Run inside the client namespace; prints one JSON object (PingResult). With --hold it writes `warm` on stderr
 * after the warm-up and waits for a line on stdin before the counted round trips (bench/measure.ts starts the
 * routers' CPU window there).
 *   node dist/bench/uping.js --host 198.18.3.2 --port 7 --count 5000 --warmup 1000 [--size 64] [--marker hex] [--hold]
 */
import { createSocket } from 'node:dgram';
import { percentileSorted } from './stats.js';

export interface PingResult {
  sent: number;
  received: number;
  lost: number;
  minUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
}

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : def;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

async function main(): Promise<void> {
  const host = arg('host');
  const port = Number(arg('port'));
  const count = Number(arg('count', '5000'));
  const warmup = Number(arg('warmup', '1000'));
  const size = Number(arg('size', '64'));
  const timeoutMs = Number(arg('timeout-ms', '500'));
  const marker = process.argv.includes('--marker') ? Buffer.from(arg('marker'), 'hex') : undefined;
  const hold = process.argv.includes('--hold');
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, () => r()));
  sock.connect(port, host);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const buf = Buffer.alloc(size, 0x61);
  if (marker) marker.copy(buf, 8);
  const rtts = new Float64Array(count);
  let received = 0;
  let waiting: { seq: number; t0: bigint; done: (ok: boolean) => void } | null = null;
  sock.on('message', (msg) => {
    if (waiting === null || msg.length < 4 || msg.readUInt32BE(0) !== waiting.seq) return;
    const w = waiting;
    waiting = null;
    const dt = Number(process.hrtime.bigint() - w.t0) / 1000;
    if (w.seq >= warmup) rtts[received++] = dt;
    w.done(true);
  });
  for (let seq = 0; seq < warmup + count; seq++) {
    if (hold && seq === warmup) await held();
    buf.writeUInt32BE(seq, 0);
    await new Promise<boolean>((done) => {
      const timer = setTimeout(() => {
        waiting = null;
        done(false);
      }, timeoutMs);
      waiting = { seq, t0: process.hrtime.bigint(), done: (ok) => { clearTimeout(timer); done(ok); } };
      sock.send(buf);
    });
  }
  sock.close();
  const got = rtts.subarray(0, received).sort();
  let sum = 0;
  for (const x of got) sum += x;
  const res: PingResult = {
    sent: count, received, lost: count - received,
    minUs: got[0] ?? NaN, p50Us: percentileSorted(got, 50), p90Us: percentileSorted(got, 90), p99Us: percentileSorted(got, 99),
    maxUs: got[got.length - 1] ?? NaN, meanUs: received > 0 ? sum / received : NaN,
  };
  process.stdout.write(JSON.stringify(res) + '\n');
}

/** `warm` on stderr, then the first line on stdin. */
async function held(): Promise<void> {
  process.stderr.write('warm\n');
  await new Promise<void>((go) => process.stdin.once('data', () => go()));
  process.stdin.pause();
}

main().catch((e: unknown) => {
  process.stderr.write(`uping: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
