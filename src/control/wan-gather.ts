/**
 * Longer read gathering on wan queues that carry path control only (docs/performance.md "Hub scale", hub11).
 *
 * A hub's wan queues carry its paths' BFD, link tests and their answers (~2.5 packets a second per path in
 * each direction), and the spokes' timers send them a few at a time: at the default gather window (300 µs,
 * native/tun-gather.h) each handful costs a reader-thread wake-up, a hand-off and a JS pass. Path control
 * tolerates milliseconds (a Detection Time of 3 s); forwarded data does not. So once a second, from the data
 * path's counters: while at most 5 % of the packets the wan interfaces received were not path control, their
 * reader threads may gather up to CONTROL_GATHER_US; above 10 % they return to their default (hysteresis).
 * Link-test answers may then read up to that much later: a path's measured latency can rise by up to 1 ms.
 * Only at a hub's rate (CONTROL_ONLY_MIN_PACKETS a second or more): an idle or small router's wan queues, also
 * control only, keep their default, so the first data packets after a quiet spell are not held.
 * SVR_TUN_CONTROL_GATHER_US sets the window (0: off).
 *
 * Flow: tick() -> the counters since the last tick -> controlOnly() -> on a change, port.readGather(us | undefined).
 */
import type { Dataplane } from '../dataplane/dataplane.js';
import type { PacketPort } from '../dataplane/port.js';

/** µs a control-only wan queue may gather (the native cap). */
export const CONTROL_GATHER_US = 1000;

/** The wan packets a second below which the queues never count as control only (a hub of ~200 paths and more). */
export const CONTROL_ONLY_MIN_PACKETS = 500;

/** Whether the wan queues count as control-only after a second in which they received `wan` packets, `control` of
 *  them path control (consumed by the data path), given whether they did before; never below `minPackets`. */
export function controlOnly(was: boolean, wan: number, control: number, minPackets = CONTROL_ONLY_MIN_PACKETS): boolean {
  if (wan < minPackets || wan <= 0) return false;
  const data = Math.max(0, wan - control);
  return was ? data <= 0.1 * wan : data <= 0.05 * wan;
}

/** The window from SVR_TUN_CONTROL_GATHER_US (µs, 0 = off), else CONTROL_GATHER_US. */
export function controlGatherUs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['SVR_TUN_CONTROL_GATHER_US'];
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, CONTROL_GATHER_US) : CONTROL_GATHER_US;
}

export class WanGather {
  #on = false;
  #wan = 0;
  #control = 0;
  /** the ports told to gather longer (told back at the next change) */
  #told: PacketPort[] = [];

  constructor(private readonly dp: Dataplane, private readonly ports: Readonly<Record<string, PacketPort>>, private readonly us: number = controlGatherUs(),
    private readonly minPackets = CONTROL_ONLY_MIN_PACKETS) {}

  /** Once a second: the counters since the last tick decide. */
  tick(): void {
    const { wan, control } = this.#totals();
    const on = this.us > 0 && controlOnly(this.#on, wan - this.#wan, control - this.#control, this.minPackets);
    this.#wan = wan;
    this.#control = control;
    if (on === this.#on) return;
    this.#on = on;
    this.#tell(on);
  }

  get on(): boolean {
    return this.#on;
  }

  #tell(on: boolean): void {
    for (const p of this.#told) p.readGather?.(undefined);
    this.#told = [];
    if (!on) return;
    for (const i of this.dp.tables.interfaces) {
      const p = i.kind === 'wan' ? this.ports[i.name] : undefined;
      if (p?.readGather === undefined) continue;
      p.readGather(this.us);
      this.#told.push(p);
    }
  }

  #totals(): { wan: number; control: number } {
    const c = this.dp.counters;
    let wan = 0;
    for (const i of this.dp.tables.interfaces) if (i.kind === 'wan') wan += c.values[c.id(`interface.${i.name}.rx-packets`)]!;
    return { wan, control: c.values[c.id('consumed-path-messages')]! };
  }
}
