/** New sessions per second through r1: the session client in the client namespace, counters from r1/r2. */
import { fileURLToPath } from 'node:url';
import { runIn } from './exec.js';
import type { SvrouterMode } from './modes/svrouter.js';
import type { SessionRate } from './results.js';
import type { SessionsResult } from './sessions-client.js';
import { TCP_SESSION_PORT, UDP_SESSION_PORTS } from './svr-config.js';
import { CLIENT_EXTRA, NS, SERVER } from './topology.js';

const CLIENT_JS = fileURLToPath(new URL('./sessions-client.js', import.meta.url));

function created(stats: Record<string, unknown>): number {
  const v = stats['sessions-created'];
  return typeof v === 'number' ? v : NaN;
}

export async function sessionRate(protocol: 'udp' | 'tcp', seconds: number, svr: SvrouterMode | undefined, progress: (l: string) => void): Promise<SessionRate> {
  const args = protocol === 'udp'
    ? ['--ports', `${UDP_SESSION_PORTS.from}-${UDP_SESSION_PORTS.to}`, '--per-source', '32', '--window', '256']
    : ['--port', String(TCP_SESSION_PORT), '--window', '128'];
  const before = svr ? await Promise.all([svr.stats('r1'), svr.stats('r2')]) : undefined;
  const { stdout } = await runIn(NS.client, process.execPath, [CLIENT_JS, '--protocol', protocol, '--server', SERVER,
    '--sources', CLIENT_EXTRA.join(','), '--seconds', String(seconds), ...args], (seconds + 30) * 1000);
  const client = JSON.parse(stdout) as SessionsResult;
  const out: SessionRate = { client };
  if (svr && before) {
    const after = await Promise.all([svr.stats('r1'), svr.stats('r2')]);
    out.createdR1 = created(after[0]) - created(before[0]);
    out.createdR2 = created(after[1]) - created(before[1]);
    out.createdR1PerSecond = out.createdR1 / client.seconds;
  }
  progress(`    ${protocol} sessions: ${client.attempted} attempted, ${client.ok} answered, ${client.failed} failed in ${client.seconds.toFixed(1)} s `
    + `= ${client.okPerSecond.toFixed(0)}/s answered${out.createdR1 !== undefined ? `; r1 sessions-created +${out.createdR1} (${out.createdR1PerSecond!.toFixed(0)}/s), r2 +${out.createdR2}` : ''}`);
  return out;
}
