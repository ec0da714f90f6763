/**
 * The C UDP endpoints (bench/c/udp-load.c: session client, echo, ping), compiled once per run into the run
 * directory. The Node session client and echo took ~0.6 of our 2 cores at 21,000 sessions/s, so through
 * svrouter they measured the load generator as much as the routers (the C pair takes about 0.4 at 28,000/s);
 * and a Node ping adds a Node wake-up at each end of every round trip (the anchors use a C ping). Without a C
 * compiler the benchmark falls back to the Node tools and says so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface UdpLoadTool {
  /** the compiled binary, or undefined (then `reason` says why and the Node tools are used) */
  path?: string;
  reason?: string;
}

export function buildUdpLoad(dir: string): UdpLoadTool {
  return buildCTool(dir, 'udp-load');
}

/** Compiles bench/c/<name>.c to <dir>/<name> (cc -O2). */
export function buildCTool(dir: string, name: string): UdpLoadTool {
  const source = fileURLToPath(new URL(`../../bench/c/${name}.c`, import.meta.url));
  if (!existsSync(source)) return { reason: `${source} is missing` };
  const out = join(dir, name);
  const r = spawnSync('cc', ['-O2', '-o', out, source], { encoding: 'utf8' });
  if (r.error !== undefined) return { reason: `no C compiler (cc: ${r.error.message}); apt-get install gcc` };
  if (r.status !== 0) return { reason: `cc failed: ${r.stderr.split('\n')[0]}` };
  return { path: out };
}
