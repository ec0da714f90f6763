/**
 * Busy polling of a thread's TUN queues (native/tun.c busy_poll; docs/tun-io.md, "Busy polling").
 *
 * After a poll-mode batch the thread keeps polling its poll-mode queues, yielding the CPU between polls,
 * until none has had a packet for the window. The next packet of a conversation is then read without a
 * wake-up: on a VM, waking an idle vCPU cost 30-60 µs per hop here, most of a round trip. The price is CPU
 * time between packets that arrive less than a window apart; an idle router does not spin. SSR's
 * forwarding cores poll all the time (DPDK); this polls only while packets keep coming.
 */
import { SvrError } from '../../errors.js';
import { loadNative, type BusyPollStats } from './native.js';

export type { BusyPollStats } from './native.js';

/** `svr node start --busy-poll`'s default, µs: covers a router's wait between the two halves of a round trip. */
export const BUSY_POLL_DEFAULT_US = 200;
/** A busy poll returns to the event loop after 1 ms anyway (timers, messages): a longer window changes nothing. */
export const BUSY_POLL_MAX_US = 1000;

/** Checks a window in µs (0 = off); `where` names the option and value for the error. */
export function checkBusyPollUs(us: number, where: string): number {
  if (!Number.isInteger(us) || us < 0 || us > BUSY_POLL_MAX_US) {
    throw new SvrError('SVR_ERR_IO_BUSY_POLL', `${where}: not a busy-poll window; give whole microseconds from 0 (off) to ${BUSY_POLL_MAX_US} (default ${BUSY_POLL_DEFAULT_US})`);
  }
  return us;
}

/** Sets the busy-poll window of the calling thread's TUN queues (every queue it reads in poll mode). */
export function setBusyPoll(us: number): void {
  loadNative().tunBusyPoll(checkBusyPollUs(us, `busy-poll window ${String(us)} µs`));
}

/** The calling thread's busy-poll window and running totals. */
export function busyPollStats(): BusyPollStats {
  return loadNative().tunBusyPollStats();
}
