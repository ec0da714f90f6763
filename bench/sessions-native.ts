/**
 * The C session load (bench/c/udp-sessions.c): compiled once per run into the run directory. The Node client
 * and echo took ~0.6 of our 2 cores at 21,000 sessions/s, so through svrouter they measured the load
 * generator as much as the routers; the C pair (recvmmsg/sendmmsg) takes about a fifth of that. Without a C
 * compiler the benchmark falls back to the Node client and says so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../../bench/c/udp-sessions.c', import.meta.url));

export interface SessionTool {
  /** the compiled binary, or undefined (then `reason` says why and the Node client is used) */
  path?: string;
  reason?: string;
}

export function buildSessionTool(dir: string): SessionTool {
  if (!existsSync(SOURCE)) return { reason: `${SOURCE} is missing` };
  const out = join(dir, 'udp-sessions');
  const r = spawnSync('cc', ['-O2', '-o', out, SOURCE], { encoding: 'utf8' });
  if (r.error !== undefined) return { reason: `no C compiler (cc: ${r.error.message}); apt-get install gcc` };
  if (r.status !== 0) return { reason: `cc failed: ${r.stderr.split('\n')[0]}` };
  return { path: out };
}
