/**
 * Where svrouter's time goes: restarts r1 and r2 with `node --cpu-prof`, runs one TCP test (and, if
 * asked, a burst of new UDP sessions), stops them cleanly so V8 writes the profiles, and summarizes them.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tcpRun } from './iperf.js';
import { checkConnectivity } from './measure.js';
import type { RouterName, SvrouterMode } from './modes/svrouter.js';
import { summarizeProfile, type ProfileSummary } from './profile.js';
import { sessionRate } from './sessions.js';

export type Workload = 'tcp' | 'udp-sessions';

export async function profileSvrouter(mode: SvrouterMode, dir: string, kind: Workload, seconds: number, progress: (l: string) => void, udpLoad?: string): Promise<ProfileSummary[]> {
  const profDir = join(dir, `profile-${mode.id}-${kind}`);
  mkdirSync(profDir, { recursive: true });
  const routers: RouterName[] = ['r1', 'r2'];
  for (const r of routers) await mode.stopRouter(r);
  const started: Record<string, number> = {};
  for (const r of routers) {
    started[r] = Date.now();
    await mode.start(r, ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', `${r}.cpuprofile`]);
  }
  await checkConnectivity();
  const workload = Date.now(); // start-up and the connectivity check are left out of the summaries
  if (kind === 'tcp') {
    const t = await tcpRun(seconds);
    progress(`    profiled tcp run: ${t.gbps.toFixed(3)} Gbps (profiler on)`);
  } else {
    await sessionRate('udp', seconds, mode, progress, udpLoad);
  }
  for (const r of routers) await mode.stopRouter(r);
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).sort();
  return files.map((f) => {
    const r = f.replace('.cpuprofile', '');
    const s = summarizeProfile(join(profDir, f), 15, workload - (started[r] ?? workload));
    return { ...s, file: `${mode.id} ${r} (${kind})` };
  });
}
