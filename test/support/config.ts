/** The example authority config (examples/configs/two-routers.yaml), loaded for tests. */
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/model/validate.js';
import type { SvrConfig } from '../../src/model/config.js';

export const EXAMPLE_CONFIG = fileURLToPath(new URL('../../../examples/configs/two-routers.yaml', import.meta.url));

export function exampleConfig(): Promise<SvrConfig> {
  return loadConfig(EXAMPLE_CONFIG);
}

/** Resolves after `ms` (real time). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `cond` every `everyMs` (default 5 ms) until true or `ms` passed; false then. For a test that asserts the answer itself (a bound,
 * or something that must not happen); a test that waits in order to go on calls `waitFor`, which fails loudly. The
 * default is a wait for something to happen at all (it ends when it did): at load 25-30 packets through in-memory
 * labs with worker threads, and key exchanges, took over the 2 s it was (unit/router vrf, fragmentation). A bound on
 * how soon the router decides passes its own `ms`.
 */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000, everyMs = 5): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(everyMs);
  }
  return cond();
}

/**
 * Waits until `cond` holds and resolves the milliseconds that took; throws `timed out after <ms> ms waiting for
 * <what>` otherwise (`what` as a function: said as things stand then). A bare `await until(...)` went on when the
 * condition never came (a later assert failed with a misleading message, or nothing did): every wait a test goes
 * on from is this one.
 */
export async function waitFor(what: string | (() => string), cond: () => boolean | Promise<boolean>, ms = 10_000, everyMs = 5): Promise<number> {
  const t0 = performance.now();
  if (await until(cond, ms, everyMs)) return performance.now() - t0;
  throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
}

/** `waitFor` of a value: resolves with `get`'s first answer that is neither undefined nor false. */
export async function waitForValue<T>(what: string | (() => string), get: () => Promise<T | undefined | false>, ms = 10_000, everyMs = 5): Promise<T> {
  let v: T | undefined | false;
  await waitFor(what, async () => (v = await get()) !== undefined && v !== false, ms, everyMs);
  return v as T;
}
