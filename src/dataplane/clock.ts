/**
 * The data path's clocks (docs/high-availability.md, "clock stepped").
 * - `monotonicMs`: session idle times, sweeps, key lifetimes. Milliseconds on the epoch's scale that never
 *   step: the wall clock when the process started plus the monotonic time since. A wall clock stepped by
 *   NTP or by hand neither expires every session at once nor keeps them forever.
 * - the wall clock (Date.now, read once per batch): time-based HMAC slots only, since they must agree with
 *   the peer's (routers keep their clocks in sync, as SSR's do).
 */
/** `performance.timeOrigin` of this thread, read once: the getter calls into C++ and allocates a number each time
 *  (a heap profile of a router during pings: ~0.8 KB per 1,000 batches). */
const TIME_ORIGIN = performance.timeOrigin;
export const monotonicMs = (): number => TIME_ORIGIN + performance.now();
