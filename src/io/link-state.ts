/**
 * Link state of a few host devices, polled: /sys/class/net/<dev>/carrier read every `everyMs`, in the
 * process's network namespace (`ip netns exec` mounts that namespace's sysfs). A change is reported at once
 * with the device and its new state. Cost: one small sysfs read per device per poll (about 10 us), no
 * process, no netlink socket. The carrier, not `operstate`: the kernel updates operstate from its link
 * watch, which may run up to a second after a NIC's carrier changed; the carrier is read as it is now.
 *
 * States: `up` (carrier), `no-carrier` (the cable, the veth's other end or the switch port is down),
 * `admin-down` (`ip link set DEV down` here: the kernel refuses to read its carrier, EINVAL), `missing`
 * (no such device in this namespace). Only `up` is up.
 */
import { readFileSync } from 'node:fs';

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

/** Default poll: a link that goes down is seen within 50 ms. */
export const LINK_POLL_MS = 50;

export class LinkWatch {
  private readonly states = new Map<string, LinkState>();
  private timer: NodeJS.Timeout | undefined;

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

  start(): void {
    if (this.timer !== undefined || this.states.size === 0) return;
    this.timer = setInterval(() => this.poll(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
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
