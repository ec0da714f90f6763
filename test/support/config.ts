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

/** Polls `cond` every 5 ms until true or `ms` passed. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(5);
  }
  return cond();
}
