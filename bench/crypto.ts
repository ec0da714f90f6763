/**
 * Per-packet cost of batch crypto: native/crypto.c (through BatchCipher/BatchHmac) against the
 * node:crypto fallback (createCipheriv / createHmac per packet, what the dataplane does today), for 64 B
 * and 1400 B packets in batches of 1 and 64.
 *
 *   node dist/bench/crypto.js [--runs 7] [--ms 200] [--markdown]
 *
 * Each cell is the median (and min–max) over --runs runs of at least --ms ms of CPU time each, after one
 * warm-up run; the figure is CPU µs per packet (the header gives the CPU share of wall time: well below
 * 100 % means other processes competed for the cores).
 * "send" = AES-256-CBC encrypt + HMAC-SHA256-128 sign (time-based slot); "HMAC only" rows: the tag alone, with
 * OpenSSL's SHA-256 one message at a time and with the 16 AVX-512 lanes (native/hmac-lanes.c, when the CPU has
 * them; a batch of 1 never uses them); "receive" = verify + decrypt, which
 * needs fresh packets every time: each receive iteration first restores the batch with one copy (its cost
 * is printed as its own row and is included in the receive rows). GCM rows: encrypt / decrypt only.
 */
import { cpus, loadavg } from 'node:os';
import { BatchCipher, BatchHmac, type CipherKind, type CryptoImpl } from '../src/crypto/native-crypto.js';
import { timeSlot } from '../src/crypto/hmac.js';

interface Options {
  runs: number;
  ms: number;
  markdown: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 7, ms: 200, markdown: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') o.runs = Math.max(1, Number(argv[++i]));
    else if (a === '--ms') o.ms = Math.max(10, Number(argv[++i]));
    else if (a === '--markdown') o.markdown = true;
    else throw new Error(`unknown option ${a} (--runs N, --ms N, --markdown)`);
  }
  return o;
}

/** A batch of `count` packets of `size` bytes, each with room for IV + padding + tag. */
class Slab {
  readonly data: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly initial: Uint32Array;
  constructor(readonly size: number, readonly count: number) {
    const stride = size + 96;
    this.data = new Uint8Array(stride * count);
    for (let i = 0; i < this.data.length; i++) this.data[i] = (i * 31) & 0xff;
    this.offsets = new Uint32Array(count).map((_, i) => i * stride);
    this.lengths = new Uint32Array(count).fill(size);
    this.initial = this.lengths.slice();
  }
}

type Step = () => number; // runs one batch, returns packets processed

/**
 * CPU µs per packet (user + system of the process, so GC work caused by the JS path counts too). CPU
 * time, not wall time: on a shared 2-vCPU machine wall time mostly measures the other processes.
 */
function measure(step: Step, ms: number): number {
  const c0 = process.cpuUsage();
  const limit = ms * 1000;
  let packets = 0;
  let used = 0;
  do {
    for (let k = 0; k < 16; k++) packets += step();
    const c = process.cpuUsage(c0);
    used = c.user + c.system;
  } while (used < limit);
  return used / packets;
}

interface Cell {
  median: number;
  min: number;
  max: number;
}

function runs(step: Step, o: Options): Cell {
  measure(step, Math.min(o.ms, 100)); // warm-up
  const xs: number[] = [];
  for (let r = 0; r < o.runs; r++) xs.push(measure(step, o.ms));
  xs.sort((a, b) => a - b);
  return { median: xs[xs.length >> 1]!, min: xs[0]!, max: xs[xs.length - 1]! };
}

const key32 = new Uint8Array(32).map((_, i) => i + 1);
const hmacKey = new Uint8Array(32).map((_, i) => 200 - i);

function sendStep(s: Slab, c: BatchCipher, h: BatchHmac | null, slot: number): Step {
  return () => {
    s.lengths.set(s.initial);
    c.encryptBatch(s.data, s.offsets, s.lengths, s.count);
    h?.signBatch(s.data, s.offsets, s.lengths, s.count, slot);
    return s.count;
  };
}

function signStep(s: Slab, h: BatchHmac, slot: number): Step {
  return () => {
    s.lengths.set(s.initial);
    h.signBatch(s.data, s.offsets, s.lengths, s.count, slot);
    return s.count;
  };
}

/** An HMAC handle with the SHA-256 lanes of native/hmac-lanes.c allowed or not (SVR_HMAC_LANES, read when it is made). */
function hmacHandle(impl: CryptoImpl, lanes: boolean): BatchHmac {
  const before = process.env['SVR_HMAC_LANES'];
  process.env['SVR_HMAC_LANES'] = lanes ? '1' : '0';
  try {
    return BatchHmac.create('sha256-128', hmacKey, { impl });
  } finally {
    if (before === undefined) delete process.env['SVR_HMAC_LANES'];
    else process.env['SVR_HMAC_LANES'] = before;
  }
}

function receiveStep(s: Slab, c: BatchCipher, h: BatchHmac | null, slot: number): Step {
  s.lengths.set(s.initial);
  c.encryptBatch(s.data, s.offsets, s.lengths, s.count);
  h?.signBatch(s.data, s.offsets, s.lengths, s.count, slot);
  const pristine = s.data.slice();
  const pristineLengths = s.lengths.slice();
  const status = new Uint8Array(s.count);
  return () => {
    s.data.set(pristine);
    s.lengths.set(pristineLengths);
    if (h && h.verifyBatch(s.data, s.offsets, s.lengths, s.count, slot, status) !== s.count) throw new Error('bench: verify failed');
    if (c.decryptBatch(s.data, s.offsets, s.lengths, s.count, status) !== s.count) throw new Error('bench: decrypt failed');
    return s.count;
  };
}

function restoreStep(s: Slab): Step {
  const pristine = s.data.slice();
  const pristineLengths = s.lengths.slice();
  return () => {
    s.data.set(pristine);
    s.lengths.set(pristineLengths);
    return s.count;
  };
}

interface Row {
  what: string;
  size: number;
  batch: number;
  native: Cell;
  js: Cell;
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const wall0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const slot = timeSlot(true, Date.now());
  const rows: Row[] = [];
  const suites: Array<{ what: string; kind: CipherKind; hmac: boolean; dir: 'send' | 'receive' }> = [
    { what: 'send: AES-256-CBC + HMAC-SHA256-128', kind: 'aes-256-cbc', hmac: true, dir: 'send' },
    { what: 'receive: verify + AES-256-CBC decrypt', kind: 'aes-256-cbc', hmac: true, dir: 'receive' },
    { what: 'send: AES-256-GCM encrypt', kind: 'aes-256-gcm', hmac: false, dir: 'send' },
    { what: 'receive: AES-256-GCM decrypt', kind: 'aes-256-gcm', hmac: false, dir: 'receive' },
  ];
  for (const suite of suites) {
    for (const size of [64, 1400]) {
      for (const batch of [1, 64]) {
        const cells: Partial<Record<CryptoImpl, Cell>> = {};
        for (const impl of ['native', 'js'] as const) {
          const c = BatchCipher.create(suite.kind, key32, { impl });
          const h = suite.hmac ? BatchHmac.create('sha256-128', hmacKey, { impl }) : null;
          const s = new Slab(size, batch);
          cells[impl] = runs(suite.dir === 'send' ? sendStep(s, c, h, slot) : receiveStep(s, c, h, slot), o);
          c.destroy();
          h?.destroy();
        }
        rows.push({ what: suite.what, size, batch, native: cells.native!, js: cells.js! });
        process.stderr.write('.');
      }
    }
  }
  // HMAC alone: OpenSSL's SHA-256 (SHA-NI) one message at a time against 16 messages per AVX-512 lane set
  for (const lanes of [false, true]) {
    for (const size of [64, 1400]) {
      for (const batch of [1, 64]) {
        const cells: Partial<Record<CryptoImpl, Cell>> = {};
        for (const impl of ['native', 'js'] as const) {
          const h = hmacHandle(impl, lanes);
          cells[impl] = runs(signStep(new Slab(size, batch), h, slot), o);
          h.destroy();
        }
        rows.push({ what: `sign: HMAC-SHA256-128 only, ${lanes ? '16 lanes when they pay' : 'one at a time (SVR_HMAC_LANES=0)'}`, size, batch, native: cells.native!, js: cells.js! });
        process.stderr.write('.');
      }
    }
  }
  const restore: Cell[] = [64, 1400].map((size) => runs(restoreStep(new Slab(size, 64)), o));
  process.stderr.write('\n');
  const cpu = process.cpuUsage(cpu0);
  const share = (cpu.user + cpu.system) / (Number(process.hrtime.bigint() - wall0) / 1000);
  print(rows, restore, o, share);
}

function fmt(c: Cell): string {
  const d = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(1));
  return `${d(c.median)} (${d(c.min)}–${d(c.max)})`;
}

function print(rows: Row[], restore: Cell[], o: Options, cpuShare: number): void {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const header = [
    `date ${new Date().toISOString()}, ${cpus().length} × ${cpu}, Node ${process.version}, OpenSSL ${process.versions.openssl}`,
    `CPU share of wall time ${(cpuShare * 100).toFixed(0)} %, load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `CPU µs per packet: median (min–max) of ${o.runs} runs × ≥${o.ms} ms CPU per cell`,
  ];
  const table: string[][] = [['operation', 'size', 'batch', 'native', 'node:crypto', 'speed-up']];
  for (const r of rows) {
    table.push([r.what, `${r.size} B`, String(r.batch), fmt(r.native), fmt(r.js), `${(r.js.median / r.native.median).toFixed(1)}×`]);
  }
  table.push(['(batch restore copy, in the receive rows)', '64 B', '64', fmt(restore[0]!), '', '']);
  table.push(['(batch restore copy, in the receive rows)', '1400 B', '64', fmt(restore[1]!), '', '']);
  for (const line of header) console.log(o.markdown ? `${line}  ` : line);
  console.log('');
  if (o.markdown) {
    console.log(`| ${table[0]!.join(' | ')} |`);
    console.log(`|${table[0]!.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const row of table.slice(1)) console.log(`| ${row.join(' | ')} |`);
    return;
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
}

main();
