/**
 * Link state of a few host devices: /sys/class/net/<dev>/carrier read, in the process's network namespace
 * (`ip netns exec` mounts that namespace's sysfs), whenever the kernel announces a link change (RTM_NEWLINK /
 * RTM_DELLINK on the rtnetlink link group, through an `ip -o monitor link` child: Node has no netlink socket; tied to
 * this process by io/tied-child.ts, so that it ends with it, SIGKILL included),
 * and every `everyMs` as well (on a loaded host the monitor is one more process to be scheduled: whichever comes
 * first; seen 267 ms after the cable once at load 35, where the poll alone took 74 ms). A change is reported at
 * once with the device and its new state. Cost: one small sysfs read per
 * device per announcement or poll (about 10 us), one `ip` process per watch. The carrier, not `operstate`: the kernel updates operstate from its link
 * watch, which may run up to a second after a NIC's carrier changed; the carrier is read as it is now.
 *
 * States: `up` (carrier), `no-carrier` (the cable, the veth's other end or the switch port is down),
 * `admin-down` (`ip link set DEV down` here: the kernel refuses to read its carrier, EINVAL), `missing`
 * (no such device in this namespace). Only `up` is up.
 */
import { readFileSync } from 'node:fs';
import { spawnTied, type Tied } from './tied-child.js';

export type LinkState = 'up' | 'no-carrier' | 'admin-down' | 'missing';

export interface LinkChange {
  device: string;
  up: boolean;
  state: LinkState;
  /** devices up after this change */
  linksUp: number;
}

/** The device's link state now. */
export function linkState(device: string): LinkState {
  try {
    return readFileSync(`/sys/class/net/${device}/carrier`, 'utf8').trim() === '1' ? 'up' : 'no-carrier';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EINVAL' ? 'admin-down' : 'missing';
  }
}

export const isUp = (s: LinkState): boolean => s === 'up';

/** Default poll: a link that goes down is seen within 50 ms, if no announcement came first. */
export const LINK_POLL_MS = 50;

export class LinkWatch {
  private readonly states = new Map<string, LinkState>();
  private timer: NodeJS.Timeout | undefined;
  private monitor: Tied | undefined;
  private pollQueued = false;
  private stopped = false;

  /** Reads every device once now (`states()` is right from the start); `start()` begins polling. */
  constructor(readonly devices: readonly string[], private readonly onChange: (c: LinkChange) => void, private readonly everyMs = LINK_POLL_MS) {
    for (const d of new Set(devices)) this.states.set(d, linkState(d));
  }

  get linksUp(): number {
    let n = 0;
    for (const s of this.states.values()) if (isUp(s)) n++;
    return n;
  }

  /** Each watched device and its last state. */
  list(): { device: string; state: LinkState; up: boolean }[] {
    return [...this.states].map(([device, state]) => ({ device, state, up: isUp(state) }));
  }

  /** Polls on every link announcement of the kernel (the monitor) and every `everyMs`. */
  start(): void {
    if (this.timer !== undefined || this.states.size === 0) return;
    this.stopped = false;
    const m = spawnTied(['ip', '-o', 'monitor', 'link'], { stdout: 'pipe' }); // as the timers: keeps no process alive
    this.monitor = m;
    m.stdout?.on('data', () => this.pollSoon());
    const lost = (): void => {
      if (this.monitor === m) this.monitor = undefined; // no announcements: the poll alone
    };
    m.shell.on('error', lost);
    m.shell.on('exit', lost);
    this.timer = setInterval(() => this.poll(), this.everyMs);
    this.timer.unref();
  }

  /** Whether the kernel's link announcements drive the polls (the `ip monitor` child runs). */
  get announced(): boolean {
    return this.monitor !== undefined && this.monitor.shell.exitCode === null && this.monitor.shell.pid !== undefined;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    const m = this.monitor;
    this.monitor = undefined;
    m?.end();
  }

  /** Announcements come in bursts (a device's flags, then its addresses' links): one poll after them. */
  private pollSoon(): void {
    if (this.pollQueued) return;
    this.pollQueued = true;
    setImmediate(() => {
      this.pollQueued = false;
      if (!this.stopped) this.poll();
    });
  }

  /** One poll (the timer's; tests call it directly): reports each device whose up/down changed. */
  poll(): void {
    for (const [device, was] of this.states) {
      const state = linkState(device);
      if (state === was) continue;
      this.states.set(device, state);
      if (isUp(state) !== isUp(was)) this.onChange({ device, up: isUp(state), state, linksUp: this.linksUp });
    }
  }
}
