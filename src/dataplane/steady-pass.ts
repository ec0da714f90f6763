/**
 * Arms the ports' steady pass (PacketPort.steadyPass; a TUN port runs it in native/tun-pass.c: docs/tun-io.md "A
 * steady pass without JS"): what Dataplane.receive does for a batch's marked steady flows (nfForward on a LAN queue,
 * niReceive on a WAN queue, the egress writes, the counters), run by the port itself on the batches it reads in poll
 * mode, or its reader thread hands over in thread mode, so that JS sees only the rest and is not called when nothing is left. SVR_TUN_PASS=0 turns it off,
 * SVR_TUN_PASS_IN=0 only on the WAN queues (svr-in; both read per data path).
 * A receiving interface is armed at its first JS batch, and again after anything the pass holds changed (the ports,
 * the tables' interface counters, the counters' array when it grew): the epoch moves and the next batch arms again.
 * Only with the data path's own clocks (monotonicMs, Date.now: the pass reads the same ones natively).
 */
import { TIME_SLOT_MS } from '../crypto/hmac.js';
import { monotonicMs } from './clock.js';
import type { PacketPort } from './port.js';

/** idx words before each interface's tx packets / bytes (native/tun-pass.c P_IDX) */
const HEAD = 8;

/** What Dataplane.receive does with a batch's marked steady flows (native-forward.ts), for a port to run natively. */
export interface SteadyPass {
  /** native/fwd.c's table (NativeForward.handle) or native/fwd-in.c's (NativeReceive.handle) */
  readonly table: unknown;
  readonly ifIndex: number;
  /** the egress ports by interface index */
  readonly ports: readonly (PacketPort | null)[];
  /** Counters.values, and the indices the pass adds to: rx-batches, rx-packets, native-forwarded (native-received),
   *  tx-packets, drop-no-port, this interface's rx packets / bytes, drop-bad-payload, then each interface's tx packets /
   *  bytes */
  readonly counters: Float64Array;
  readonly idx: Uint32Array;
  /** monotonicMs() - process.hrtime in ms (the data path's clock, dataplane/clock.ts); the time slot width of
   *  time-based tags (TIME_SLOT_MS, of Date.now) */
  readonly clockOffsetMs: number;
  readonly slotMs: number;
}

/** A port that can run a steady pass (TunPort): `steadyPass(p)` runs `p` on the batches it reads where it can and
 *  delivers only what is left; null turns it off. False: this port (or an egress) cannot, nothing changed. */
export interface SteadyPassPort extends PacketPort {
  steadyPass(p: SteadyPass | null): boolean;
}

const canPass = (port: PacketPort | null | undefined): port is SteadyPassPort =>
  port !== null && port !== undefined && typeof (port as Partial<SteadyPassPort>).steadyPass === 'function';

/** The counter ids the pass adds to (Dataplane's). */
export interface PassCounters {
  rxBatches: number; rx: number; native: number; tx: number; noPort: number; badPayload: number;
  /** per interface index: rx-packets, rx-bytes, tx-packets, tx-bytes ids, `stride` apart */
  ifIds: Int32Array; stride: number;
}

/** The idx words of a pass on interface `ifIndex` (native/tun-pass.c P_*), `interfaces` egress interfaces. */
export function passIndices(ifIndex: number, interfaces: number, c: PassCounters): Uint32Array {
  const idx = new Uint32Array(HEAD + 2 * interfaces).fill(0xffffffff); // beyond the counters: not counted
  idx.set([c.rxBatches, c.rx, c.native, c.tx, c.noPort]);
  const at = (x: number, k: number): number => c.ifIds[x * c.stride + k] ?? 0xffffffff;
  idx[5] = at(ifIndex, 0);
  idx[6] = at(ifIndex, 1);
  idx[7] = c.badPayload;
  for (let x = 0; x < interfaces; x++) {
    idx[HEAD + 2 * x] = at(x, 2);
    idx[HEAD + 2 * x + 1] = at(x, 3);
  }
  return idx;
}

export class SteadyPassArming {
  readonly on: boolean;
  /** the WAN queues too (svr-in) */
  readonly onIn: boolean;
  private epoch = 1;
  private armed = new Int32Array(0);
  /** interfaces whose port took a pass at their last arming (armed again at once by Dataplane.rearmPasses) */
  private taken = new Uint8Array(0);

  constructor(on: boolean) {
    this.on = on && process.env['SVR_TUN_PASS'] !== '0';
    this.onIn = this.on && process.env['SVR_TUN_PASS_IN'] !== '0';
  }

  /** Something the armed passes hold changed: each interface arms again at its next JS batch. */
  invalidate(): void {
    this.epoch++;
  }

  /** The interfaces to arm again at once after invalidate(): those whose port holds a pass now. */
  taking(ifIndex: number): boolean {
    return this.taken[ifIndex] === 1;
  }

  /** Whether interface `ifIndex` must be armed now (one compare per JS batch). */
  due(ifIndex: number): boolean {
    return this.on && this.armed[ifIndex] !== this.epoch;
  }

  /** Arms (table non-null) or disarms the pass of `ports[ifIndex]`; remembered until invalidate(). A port that cannot
   *  take it yet (not started) arms at a later batch: invalidate() first. */
  arm(ifIndex: number, ports: readonly (PacketPort | null)[], table: unknown, values: Float64Array, c: PassCounters): void {
    if (this.armed.length <= ifIndex) {
      const a = new Int32Array(Math.max(ifIndex + 1, ports.length));
      a.set(this.armed);
      this.armed = a;
      const t = new Uint8Array(a.length);
      t.set(this.taken);
      this.taken = t;
    }
    this.armed[ifIndex] = this.epoch;
    this.taken[ifIndex] = 0;
    const port = ports[ifIndex];
    if (!canPass(port)) return;
    if (table === null) {
      port.steadyPass(null);
      return;
    }
    const idx = passIndices(ifIndex, ports.length, c);
    const clockOffsetMs = monotonicMs() - Number(process.hrtime.bigint()) / 1e6; // both read uv_hrtime: a constant
    const p: SteadyPass = { table, ifIndex, ports, counters: values, idx, clockOffsetMs, slotMs: TIME_SLOT_MS };
    if (port.steadyPass(p)) this.taken[ifIndex] = 1;
    else port.steadyPass(null);
  }
}
