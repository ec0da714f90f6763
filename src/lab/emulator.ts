/**
 * The userspace link emulator of one lab WAN path (`svr lab emulate`, run by `svr lab up` inside
 * `<prefix>-link<k>`). The kernel here has no netem, so delay, jitter and loss happen in this process:
 *
 *   r1 ──veth── lk-r1 ─(ip rule iif lk-r1 → table 201: default dev emu-to-r2)─▶ [emu-to-r2] ──▶ this process
 *                                                                                       holds / drops
 *   r2 ◀──veth── lk-r2 ◀─(main table: r2's waypoint via lk-r2)── kernel ◀── written back into emu-to-r2
 *
 * and the same mirrored with emu-to-r1 for packets from r2. One TUN device per direction, so the
 * direction is the device a packet came from; a packet written back into the device it came from
 * enters the kernel as if it arrived there and is forwarded out of the other veth. Each direction has
 * its own DelayLine (FIFO, preallocated slab); one timer, armed for the earliest due packet, releases
 * everything due in batches (one writeBatch per direction per wakeup), never before its due time
 * (an 80 ms delay gives at least 80 ms: a CI run saw 159.4 ms RTT with 80 ms each way when packets due
 * within 0.5 ms were let out early). The control socket takes
 * impairment changes (emulator-protocol.ts).
 */
import { setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { runIp } from '../io/tun/link.js';
import { TunDevice } from '../io/tun/tun-device.js';
import { DelayLine, NO_IMPAIRMENT } from './delay-line.js';
import { parseRequest, type EmulatorRequest, type EmulatorStatus, type FlapStatus, type ImpairmentChange } from './emulator-protocol.js';
import { serveJsonLines, type JsonLineServer } from '../util/json-lines.js';
import { DIRECTIONS, EMU_DEV, EMU_TABLE, WAN_MTU, type Direction } from './topology.js';

/** Scheduling priority of the emulator process (root may raise it; the routers stay at 0). */
const EMULATOR_NICE = -5;
/** Metric of the emulator's route in its table (below the fallback blackhole, see netns.ts). */
const ROUTE_METRIC = 10;

export interface EmulatorOptions {
  path: number;
  socket: string;
  seed: number;
  log: (line: string) => void;
}

/** Seed of one direction's PRNGs: the same lab seed gives the same draws on every run. */
export function directionSeed(seed: number, path: number, d: Direction): number {
  return (Math.imul(seed ^ (path * 0x9e3779b1), 0x85ebca6b) ^ (d === 'r1-r2' ? 0x1234567 : 0x7654321)) >>> 0;
}

interface Flap extends FlapStatus {
  timer: NodeJS.Timeout;
  down: boolean;
}

export class Emulator {
  readonly lines: Record<Direction, DelayLine>;
  private readonly devices = new Map<Direction, TunDevice>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private flap: Flap | undefined;
  private server: JsonLineServer | undefined;
  private readonly startedAt = new Date().toISOString();
  private closed = false;

  constructor(private readonly opts: EmulatorOptions) {
    this.lines = {
      'r1-r2': new DelayLine(directionSeed(opts.seed, opts.path, 'r1-r2')),
      'r2-r1': new DelayLine(directionSeed(opts.seed, opts.path, 'r2-r1')),
    };
  }

  /** Opens and routes both TUN devices, starts reading, then listens on the control socket. */
  async start(): Promise<void> {
    for (const d of DIRECTIONS) {
      const dev = TunDevice.open({ name: EMU_DEV[d] });
      this.devices.set(d, dev);
      await runIp(['link', 'set', 'dev', dev.name, 'mtu', String(WAN_MTU), 'txqueuelen', '4096', 'up']);
      await runIp(['route', 'replace', 'default', 'dev', dev.name, 'table', String(EMU_TABLE[d]), 'metric', String(ROUTE_METRIC)]);
      dev.start(
        (data, offsets, lengths, count) => this.onBatch(d, data, offsets, lengths, count),
        (err) => {
          this.opts.log(`${err.message}; stopping`);
          void this.close().then(() => process.exit(1));
        },
      );
    }
    this.server = await serveJsonLines(this.opts.socket, (r) => this.handle(parseRequest(r)), 'SVR_ERR_LAB_EMULATOR');
  }

  private onBatch(d: Direction, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    const now = performance.now();
    const line = this.lines[d];
    for (let i = 0; i < count; i++) line.push(data, offsets[i]!, lengths[i]!, now);
    this.pump(now);
  }

  /** Writes back what is due, then arms the one timer for the earliest packet still held. */
  private pump(now: number): void {
    for (const d of DIRECTIONS) {
      const dev = this.devices.get(d);
      if (dev === undefined) continue;
      this.lines[d].releaseDue(now, (data, offsets, lengths, n) => {
        try {
          return dev.writeBatch(data, offsets, lengths, n);
        } catch {
          return 0; // counted as dropWrite by the line
        }
      });
    }
    let next = Infinity;
    for (const d of DIRECTIONS) next = Math.min(next, this.lines[d].headDue() ?? Infinity);
    if (next === Infinity || this.closed) return;
    if (this.timer !== undefined && this.timerAt <= next) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump(performance.now());
    }, Math.max(1, Math.ceil(next - now))); // never early: a packet leaves at its due time or up to ~1 ms after
  }

  private apply(directions: readonly Direction[], set: ImpairmentChange): void {
    for (const d of directions) {
      const line = this.lines[d];
      const was = line.impairment.down;
      line.impairment = { ...line.impairment, ...set };
      if (line.impairment.down && !was) line.flush(); // in flight on a cut link: lost
    }
  }

  private stopFlap(): void {
    if (this.flap !== undefined) clearInterval(this.flap.timer);
    this.flap = undefined;
  }

  private describe(directions: readonly Direction[]): string {
    return directions.length === 2 ? 'both directions' : directions[0]!;
  }

  handle(req: EmulatorRequest): EmulatorStatus {
    const log = this.opts.log;
    switch (req.method) {
      case 'status':
        break;
      case 'clear':
        this.stopFlap();
        for (const d of DIRECTIONS) this.lines[d].impairment = { ...NO_IMPAIRMENT };
        log('clear: no impairment');
        break;
      case 'set':
        if (req.set.down !== undefined) this.stopFlap();
        this.apply(req.directions, req.set);
        log(`set ${this.describe(req.directions)}: ${JSON.stringify(req.set)}`);
        break;
      case 'flap': {
        this.stopFlap();
        const directions = [...req.directions];
        const flap: Flap = {
          periodMs: req.periodMs, directions, toggles: 1, since: new Date().toISOString(), down: true,
          timer: setInterval(() => {
            flap.down = !flap.down;
            flap.toggles++;
            this.apply(directions, { down: flap.down });
            log(`flap: ${this.describe(directions)} ${flap.down ? 'down' : 'up'}`);
          }, req.periodMs),
        };
        this.flap = flap;
        this.apply(directions, { down: true });
        log(`flap ${this.describe(directions)} every ${req.periodMs} ms: down`);
        break;
      }
    }
    return this.status();
  }

  status(): EmulatorStatus {
    const dir = (d: Direction) => ({ device: EMU_DEV[d], impairment: { ...this.lines[d].impairment }, stats: { ...this.lines[d].stats } });
    const s: EmulatorStatus = {
      path: this.opts.path, pid: process.pid, startedAt: this.startedAt, seed: this.opts.seed,
      directions: { 'r1-r2': dir('r1-r2'), 'r2-r1': dir('r2-r1') },
    };
    if (this.flap !== undefined) {
      const { periodMs, directions, toggles, since } = this.flap;
      s.flap = { periodMs, directions, toggles, since };
    }
    return s;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopFlap();
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const dev of this.devices.values()) dev.close();
    await this.server?.close();
  }
}

/** `svr lab emulate`: runs until SIGINT/SIGTERM. */
export async function runEmulator(opts: EmulatorOptions): Promise<Emulator> {
  const emu = new Emulator(opts);
  const stop = (sig: string): void => {
    opts.log(`${sig}: stopping`);
    void emu.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  try {
    // a link should keep its timing when the host is busy (tests, other labs): a little ahead of the routers
    setPriority(EMULATOR_NICE);
  } catch {
    // not allowed: run at normal priority
  }
  try {
    await emu.start();
  } catch (e) {
    await emu.close();
    throw e;
  }
  opts.log(`running: path ${opts.path}, ${DIRECTIONS.map((d) => `${d} via ${EMU_DEV[d]}`).join(', ')}, control socket ${opts.socket}, seed ${opts.seed}`);
  return emu;
}
