/** Shared helpers for the simulated-host tests (not a test file itself). */
import { createHash } from 'node:crypto';
import { prng } from '../../../src/util/prng.js';
import { MemoryLink } from '../../../src/io/memory/link.js';
import { SimHost } from '../../../src/sim/host.js';
import type { TcpOptions } from '../../../src/sim/tcp.js';

export interface HostPair {
  link: MemoryLink;
  a: SimHost;
  b: SimHost;
  close(): void;
}

/** Two hosts joined back to back by one MemoryLink. */
export function hostPair(addrA = '10.0.0.1', addrB = '10.0.0.2', tcp: Partial<TcpOptions> = {}): HostPair {
  const link = new MemoryLink('wire');
  const a = new SimHost({ address: addrA, port: link.a, tcp });
  const b = new SimHost({ address: addrB, port: link.b, tcp });
  return { link, a, b, close: () => { a.close(); b.close(); link.close(); } };
}

export { prng };

/** `n` pseudo-random bytes from `seed`. */
export function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Resolves once `cond()` holds; rejects after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
